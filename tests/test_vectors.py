"""The vector index (best-passage search, filters, rebuild and catch-up) and embed_missing.

A real store throughout, on each backend (`backend`: a SQLite file in tmp_path, a PostgreSQL
database whose vectors are pgvector's type, read back as float32 bytes). Where the model is
not the point the vectors are deterministic synthetic ones (a seeded generator, or a hash of
the text); one test runs the real int8 MiniLM model on a handful of short papers.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from paperscope.index.embedder import default_embedder, passages
from paperscope.index.embedding import embed_missing
from paperscope.index.paths import index_dir
from paperscope.index.vectors import Tuning, VectorIndex
from paperscope.model import Author, Paper
from paperscope.store.backends import open_store
from paperscope.store.sqlite import SQLiteStore

MODEL = "synthetic/1"
DIM = 32
#: Always exact, and the graph wherever it can be used (the defaults pick by cost).
EXACT = Tuning(exact_passages=10**9)
ANN = Tuning(exact_passages=0, fetch_cost=0, max_fetch_share=1.0)
TUNINGS = pytest.mark.parametrize("tuning", [EXACT, ANN], ids=["exact", "ann"])


@pytest.fixture
def store(db_target):
    with open_store(db_target) as s:
        yield s


def vectors_dir(store: SQLiteStore):
    return index_dir(store.path) / "vectors"


def add_papers(store: SQLiteStore, n: int, start: int = 0) -> list[int]:
    """n papers with distinct arXiv ids and titles; their rowids in order."""
    papers = [
        Paper(
            title=f"Synthetic paper number {i} on topic {i % 7}",
            abstract=f"Abstract of paper {i}. It studies topic {i % 7} in depth.",
            authors=[Author(f"Author {i}")],
            arxiv_id=f"2401.{i:05d}",
        )
        for i in range(start, start + n)
    ]
    store.write_batch(papers, origin="test")
    return [store.resolve(p.arxiv_id) for p in papers]


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def random_groups(n: int, seed: int = 1, dim: int = DIM) -> list[np.ndarray]:
    """Clustered passage vectors: 1-4 passages per paper around the paper's own point."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((8, dim))
    groups = []
    for i in range(n):
        point = centres[i % 8] + 0.8 * rng.standard_normal(dim)
        groups.append(unit(point + 0.6 * rng.standard_normal((int(rng.integers(1, 5)), dim))))
    return groups


def save(store: SQLiteStore, rowids: Sequence[int], groups: Sequence[np.ndarray], model=MODEL):
    store.save_vectors(
        model,
        [(r, p, v.tobytes()) for r, g in zip(rowids, groups, strict=True) for p, v in enumerate(g)],
    )


def truth(query: np.ndarray, rowids, groups, k: int, allowed=None) -> list[tuple[int, float]]:
    """Exact float32 best-passage ranking."""
    scored = [
        (r, float((g @ query).max()))
        for r, g in zip(rowids, groups, strict=True)
        if allowed is None or r in allowed
    ]
    return sorted(scored, key=lambda t: (-t[1], t[0]))[:k]


def assert_near_truth(found, want, query, rowids, groups, tuning) -> None:
    """`found` ranks papers by their true best-passage score (int8 keeps it within ~1e-3):
    the exact ranking when exact, most of its top 10 through the graph."""
    assert len(found) == len(want)
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True)
    best = {r: float((g @ query).max()) for r, g in zip(rowids, groups, strict=True)}
    assert all(abs(best[r] - s) < 0.01 for r, s in found)
    if tuning is EXACT:
        assert np.allclose(scores, [s for _, s in want], atol=0.01)
    else:
        assert len({r for r, _ in found[:10]} & {r for r, _ in want[:10]}) >= 8


def corpus(store: SQLiteStore, n: int, **kwargs) -> tuple[VectorIndex, list[int], list]:
    rowids = add_papers(store, n)
    groups = random_groups(n)
    save(store, rowids, groups)
    index = VectorIndex(store, vectors_dir(store), MODEL, DIM, **kwargs)
    index.ensure()
    return index, rowids, groups


# ---------------------------------------------------------------------------------------------
# search


@TUNINGS
def test_a_paper_scores_by_its_best_passage(store, tuning):
    rowids = add_papers(store, 3)
    e = np.eye(4, dtype=np.float32)
    groups = [
        np.stack([e[0], e[1]]),  # one passage is the query itself; the mean is 45 degrees off
        unit(np.array([[0.9, 0.436, 0, 0]])),  # one passage, closer on average, not at best
        np.stack([e[2]]),
    ]
    save(store, rowids, groups)
    index = VectorIndex(store, vectors_dir(store), MODEL, 4, tuning=tuning)
    assert index.ensure() is True and index.rebuild_reason == "missing"
    found = index.search(e[0], 10)
    assert [r for r, _ in found] == rowids
    assert [round(s, 2) for _, s in found] == [1.0, 0.9, 0.0]
    assert len(index) == 3 and index.passages == 4
    assert index.search(e[0], 1) == found[:1]
    assert index.search(np.zeros(4), 5) == []  # an empty query matches nothing


@TUNINGS
def test_search_matches_exact_ranking(store, tuning):
    index, rowids, groups = corpus(store, 600, tuning=tuning)
    rng = np.random.default_rng(9)
    for _ in range(5):
        query = unit(groups[int(rng.integers(600))][0] + 0.3 * rng.standard_normal(DIM))
        found = index.search(query, 20)
        assert_near_truth(found, truth(query, rowids, groups, 20), query, rowids, groups, tuning)


@pytest.mark.parametrize("share", [0.01, 0.1, 0.5])
@TUNINGS
def test_allowed_subset_returns_k(store, share, tuning):
    n = 2000
    index, rowids, groups = corpus(store, n, tuning=tuning)
    rng = np.random.default_rng(int(share * 100))
    allowed = np.sort(rng.choice(rowids, int(n * share), replace=False))
    allowed_set = set(allowed.tolist())
    query = unit(rng.standard_normal(DIM))
    k = 50
    found = index.search(query, k, allowed=allowed)
    assert len(found) == min(k, len(allowed))
    assert {r for r, _ in found} <= allowed_set
    want = truth(query, rowids, groups, k, allowed_set)
    assert_near_truth(found, want, query, rowids, groups, tuning)


def test_allowed_far_from_the_query_still_fills_k(store):
    """The allowed papers are the half furthest from the query: over-fetching finds too few of
    them near the top, and the search must fall back to an exact pass, not come back short."""
    n = 2000
    index, rowids, groups = corpus(store, n, tuning=ANN)
    query = groups[0][0]
    ranked = truth(query, rowids, groups, n)
    far = {r for r, _ in ranked[n // 2 :]}
    found = index.search(query, 40, allowed=np.array(sorted(far)))
    want = truth(query, rowids, groups, 40, far)
    assert len(found) == 40 and {r for r, _ in found} <= far
    assert np.allclose([s for _, s in found], [s for _, s in want], atol=0.01)


def test_allowed_ignores_unknown_rowids_and_papers_without_vectors(store):
    rowids = add_papers(store, 10)
    groups = random_groups(10)
    save(store, rowids[:6], groups[:6])
    index = VectorIndex(store, vectors_dir(store), MODEL, DIM)
    index.ensure()
    allowed = np.array([rowids[1], rowids[1], rowids[8], 99_999, -3, rowids[4]])
    found = index.search(groups[1][0], 10, allowed=allowed)
    assert sorted(r for r, _ in found) == sorted([rowids[1], rowids[4]])
    assert index.search(groups[1][0], 10, allowed=np.array([], dtype=np.int64)) == []


def test_deleted_papers_are_never_returned(store):
    index, rowids, groups = corpus(store, 300, tuning=ANN)
    query = groups[5][0]
    top = [r for r, _ in index.search(query, 10)]
    assert top[0] == rowids[5]
    store.write_batch([], origin="test", deletions=["2401.00005"])
    # the index has not synced yet: the search itself checks papers.deleted
    found = index.search(query, 10)
    assert rowids[5] not in {r for r, _ in found} and len(found) == 10
    assert len(index.search(query, 300)) == 299
    assert rowids[5] not in {r for r, _ in index.search(query, 5, allowed=np.array(rowids))}
    assert rowids[5] not in {r for r, _ in index.similar(rowids[6], 300)}
    assert index.ensure() is True and len(index) == 299


def test_similar_excludes_itself_and_duplicates(store):
    rowids = add_papers(store, 5)
    e = np.eye(DIM, dtype=np.float32)
    groups = [
        np.stack([e[0], e[1]]),
        np.stack([e[0], e[1]]),  # a duplicate the caller excludes
        np.stack([e[1], unit(e[0] + e[2])]),  # matches both passages of paper 0, one fully
        np.stack([e[0]]),  # matches one passage only
        np.stack([e[5]]),
    ]
    save(store, rowids, groups)
    index = VectorIndex(store, vectors_dir(store), MODEL, DIM)
    index.ensure()
    found = index.similar(rowids[0], 10, exclude={rowids[1]})
    assert [r for r, _ in found] == [rowids[2], rowids[3], rowids[4]]
    assert [round(s, 3) for _, s in found] == [round((1 + 0.5**0.5) / 2, 3), 0.5, 0.0]
    assert (
        index.similar(rowids[0], 1, allowed=np.array([rowids[3], rowids[4]]))[0][0] == (rowids[3])
    )
    assert index.similar(99_999, 5) == []  # no vectors: nothing to compare


def test_add_replaces_and_remove_drops(store):
    index, rowids, _groups = corpus(store, 50)
    e = unit(np.ones(DIM))
    index.add([rowids[7]], [np.stack([e])])
    assert index.search(e, 1)[0][0] == rowids[7]
    assert len(index) == 50
    index.remove([rowids[7], 123_456])
    assert len(index) == 49 and rowids[7] not in {r for r, _ in index.search(e, 50)}
    with pytest.raises(ValueError, match="vectors"):
        index.add([rowids[7]], [np.zeros((2, DIM + 1), dtype=np.float32)])


# ---------------------------------------------------------------------------------------------
# keeping the folder in step with the store


def test_reopening_a_current_folder_loads_it(store):
    index, _, groups = corpus(store, 100, tuning=ANN)
    before = index.search(groups[3][0], 10)
    again = VectorIndex(store, vectors_dir(store), MODEL, DIM, tuning=ANN)
    assert again.ensure() is False and again.rebuild_reason is None
    assert again.search(groups[3][0], 10) == before
    assert sorted(p.name for p in vectors_dir(store).iterdir()) == [
        "codes.npy",
        "graph.usearch",
        "owners.npy",
        "scales.npy",
        "stamp.json",
    ]


def test_status_says_how_the_vectors_moved_in_words(store):
    # `doctor` printed "+0 embedded papers since the last sync" after a removal and "-1 ..."
    # after an import changed a paper's text
    index, rowids, _ = corpus(store, 30, tuning=ANN)
    assert index.status() == ("current", "30 papers")
    store.write_batch([], origin="test", deletions=["2401.00005"])
    assert index.status() == ("behind", "papers changed since the last sync")
    index.ensure()
    # what an import that changes a paper's text does to its vectors
    store.conn.execute("DELETE FROM paper_vectors WHERE paper_rowid = ?", (rowids[7],))
    assert index.status() == (
        "behind",
        "1 fewer embedded papers than at the last sync (new text, not embedded yet)",
    )
    index.ensure()
    save(store, add_papers(store, 2, start=100), random_groups(2, seed=9))
    assert index.status() == ("behind", "2 more embedded papers than at the last sync")


def test_an_empty_store_gives_an_empty_index_that_reopens(store):
    index = VectorIndex(store, vectors_dir(store), MODEL, DIM)
    assert index.ensure() is True and len(index) == 0
    assert index.search(unit(np.ones(DIM)), 10) == []
    assert index.search(unit(np.ones(DIM)), 10, allowed=np.array([1, 2])) == []
    again = VectorIndex(store, vectors_dir(store), MODEL, DIM)
    assert again.ensure() is False and again.rebuild_reason is None and len(again) == 0


def test_rebuilds_when_the_folder_is_deleted(store):
    index, _, groups = corpus(store, 100)
    before = index.search(groups[3][0], 10)
    for child in vectors_dir(store).iterdir():
        child.unlink()
    vectors_dir(store).rmdir()
    again = VectorIndex(store, vectors_dir(store), MODEL, DIM)
    assert again.ensure() is True and again.rebuild_reason == "missing"
    assert again.search(groups[3][0], 10) == before
    assert (vectors_dir(store) / "stamp.json").exists()


@pytest.mark.parametrize("name", ["codes.npy", "owners.npy", "graph.usearch", "stamp.json"])
@pytest.mark.parametrize("keep", [0.5, 0.0])
def test_rebuilds_when_a_file_is_truncated(store, name, keep):
    index, _, groups = corpus(store, 100, tuning=ANN)
    before = index.search(groups[3][0], 10)
    path = vectors_dir(store) / name
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    again = VectorIndex(store, vectors_dir(store), MODEL, DIM, tuning=ANN)
    assert again.ensure() is True
    assert again.rebuild_reason.startswith("unreadable"), again.rebuild_reason
    assert again.search(groups[3][0], 10) == before
    third = VectorIndex(store, vectors_dir(store), MODEL, DIM, tuning=ANN)
    assert third.ensure() is False  # the rebuilt folder is whole again


def test_rebuilds_for_another_model_version(store):
    _index, rowids, _ = corpus(store, 40)
    new_groups = random_groups(25, seed=2)
    save(store, rowids[:25], new_groups, model="synthetic/2")
    other = VectorIndex(store, vectors_dir(store), "synthetic/2", DIM)
    assert other.ensure() is True
    assert other.rebuild_reason == f"built for {MODEL} ({DIM}-d)"
    assert len(other) == 25
    assert other.search(new_groups[4][0], 1)[0][0] == rowids[4]


def test_catches_up_with_a_store_that_moved_on(store):
    _index, rowids, groups = corpus(store, 100, tuning=ANN)
    # another process: 20 new papers embedded, one paper deleted, one re-worded (its vectors
    # are dropped by the store), one re-embedded with different vectors
    new = add_papers(store, 20, start=100)
    new_groups = random_groups(20, seed=3)
    save(store, new, new_groups)
    store.write_batch([], origin="test", deletions=["2401.00010"])
    longer = "A longer abstract replaces the old one, so the paper's text has changed."
    store.write_batch([Paper(title="T", abstract=longer, arxiv_id="2401.00011")], origin="test")
    assert (
        store.conn.execute(
            "SELECT count(*) FROM paper_vectors WHERE paper_rowid = ?", (rowids[11],)
        ).fetchone()[0]
        == 0
    )
    changed = random_groups(1, seed=4)
    save(store, [rowids[12]], changed)

    again = VectorIndex(store, vectors_dir(store), MODEL, DIM, tuning=ANN)
    assert again.ensure() is True and again.rebuild_reason is None  # caught up, not rebuilt
    assert len(again) == 100 + 20 - 2
    assert again.search(new_groups[3][0], 1)[0][0] == new[3]
    assert again.search(changed[0][0], 1)[0][0] == rowids[12]
    everyone = {r for r, _ in again.search(groups[10][0], 200)}
    assert rowids[10] not in everyone and rowids[11] not in everyone
    assert again.ensure() is False
    fresh = VectorIndex(store, vectors_dir(store), MODEL, DIM, tuning=ANN)
    assert fresh.ensure() is False and len(fresh) == 118


# ---------------------------------------------------------------------------------------------
# embed_missing


class HashEmbedder:
    """Deterministic stand-in for the model: a text's vector is seeded by its CRC32. Records
    every text it embeds."""

    name = "hash"
    version = "hash/1"
    dim = DIM

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed_documents(self, texts, batch_size: int = 8, progress=None) -> np.ndarray:
        self.seen.extend(texts)
        return np.stack([self.embed_query(t) for t in texts]) if texts else np.zeros((0, DIM))

    def embed_query(self, text: str) -> np.ndarray:
        rng = np.random.default_rng(zlib.crc32(text.encode()))
        return unit(rng.standard_normal(DIM))


class FailingEmbedder(HashEmbedder):
    """Raises on its `fail_on`-th call, like a run killed in the middle of a batch."""

    def __init__(self, fail_on: int) -> None:
        super().__init__()
        self.calls = 0
        self.fail_on = fail_on

    def embed_documents(self, texts, batch_size: int = 8, progress=None) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("interrupted")
        return super().embed_documents(texts, batch_size, progress)


def vector_counts(store: SQLiteStore, model: str) -> dict[int, int]:
    return dict(
        store.conn.execute(
            "SELECT paper_rowid, count(*) FROM paper_vectors WHERE model = ? GROUP BY 1", (model,)
        ).fetchall()
    )


def test_embed_missing_resumes_after_a_failed_batch(store):
    rowids = add_papers(store, 11)
    failing = FailingEmbedder(fail_on=3)
    done_before: list[int] = []
    with pytest.raises(RuntimeError, match="interrupted"):
        embed_missing(store, failing, batch=4, progress=lambda n: done_before.append(n))
    assert done_before == [4, 4]  # two batches finished and saved before the third failed
    saved = set(vector_counts(store, "hash/1"))
    assert len(saved) == 8

    embedder = HashEmbedder()
    progress: list[int] = []
    index = VectorIndex(store, vectors_dir(store), "hash/1", DIM)
    index.ensure()
    assert len(index) == 8
    done = embed_missing(store, embedder, batch=4, index=index, progress=progress.append)
    assert sorted(done) == sorted(set(rowids) - saved)  # only what was missing
    assert progress == [3]
    # every paper embedded exactly once: one row per passage plus its whole text, never twice
    counts = vector_counts(store, "hash/1")
    papers = store.load_rowids(rowids)
    assert counts == {r: len(passages(papers[r].title, papers[r].abstract)) + 1 for r in rowids}
    assert len(embedder.seen) == sum(counts[r] for r in done)
    assert embed_missing(store, embedder) == []  # nothing left
    assert len(index) == 11
    assert VectorIndex(store, vectors_dir(store), "hash/1", DIM).ensure() is False
    # the index finds a paper by one of its passages
    title = papers[rowids[5]].title
    assert index.search(embedder.embed_query(title), 1)[0][0] == rowids[5]


def test_embed_missing_longest_first_and_limit(store):
    short = Paper(title="Short one", arxiv_id="2402.00001")
    long = Paper(title="A long one", abstract="Many words here. " * 20, arxiv_id="2402.00002")
    empty = Paper(title=" ", arxiv_id="2402.00003")
    store.write_batch([short, long, empty], origin="test")
    embedder = HashEmbedder()
    first = embed_missing(store, embedder, limit=1)
    assert first == [store.resolve("2402.00002")]
    rest = embed_missing(store, embedder)
    assert len(rest) == 2
    # the blank paper is stored as one zero row, so it is not tried again
    assert embed_missing(store, embedder) == []


def test_embed_missing_with_the_real_model(store):
    papers = [
        ("Graph neural networks for molecule property prediction",
         "We learn message passing networks over molecular graphs to predict properties."),
        ("A survey of reinforcement learning for robot control",
         "Policies for robotic manipulation are trained with deep reinforcement learning."),
        ("Protein structure prediction with attention",
         "We predict three-dimensional protein folds from amino acid sequences."),
        ("Dark matter halos in cosmological simulations",
         "N-body simulations show how dark matter halos form and merge over cosmic time."),
        ("Speech recognition with end-to-end transformers",
         "An encoder-decoder transformer transcribes spoken audio directly to text."),
    ]  # fmt: skip
    store.write_batch(
        [
            Paper(title=t, abstract=a, arxiv_id=f"2403.{i:05d}")
            for i, (t, a) in enumerate(papers, start=1)
        ],
        origin="test",
    )
    embedder = default_embedder()
    index = VectorIndex(store, vectors_dir(store), embedder.version, embedder.dim)
    index.ensure()
    done = embed_missing(store, embedder, index=index)
    assert len(done) == 5 and len(index) == 5
    queries = {
        "transcribing audio to text": "2403.00005",
        "how galaxies' dark matter clumps form": "2403.00004",
        "folding proteins": "2403.00003",
        "chemistry with GNNs": "2403.00001",
    }
    for text, arxiv_id in queries.items():
        found = index.search(embedder.embed_query(text), 5)
        assert found[0][0] == store.resolve(arxiv_id), text
        assert len(found) == 5
    similar = index.similar(store.resolve("2403.00001"), 4)
    assert store.resolve("2403.00001") not in {r for r, _ in similar}
    assert len(similar) == 4


def test_progress_reports_while_rebuilding(store):
    rowids = add_papers(store, 30)
    save(store, rowids, random_groups(30))
    seen: list[tuple[str, int, int]] = []
    index = VectorIndex(store, vectors_dir(store), MODEL, DIM)
    index.ensure(progress=lambda *a: seen.append(a))
    assert seen and seen[-1][0] == "vectors" and seen[-1][1] == seen[-1][2]
    assert len(index) == 30


def test_embed_missing_shares_one_pass_for_the_whole_text(store):
    """With the real model, the whole-text row is pooled from the passages without the title
    passage that the next passage repeats, and the passage rows are the passages' vectors."""
    from paperscope.index.embedder import MiniLMEmbedder
    from paperscope.index.embedding import DOC_PASSAGE

    paper = Paper(
        title="Graph neural networks for molecules",
        abstract="We predict molecule properties with message passing. " * 30,
        arxiv_id="2402.00009",
    )
    store.write_batch([paper], origin="test")
    rowid = store.resolve("2402.00009")
    embedder = MiniLMEmbedder(threads=2, shared_pass=True)
    assert embed_missing(store, embedder) == [rowid]
    rows = dict(
        store.conn.execute(
            "SELECT passage, vector FROM paper_vectors WHERE paper_rowid = ? AND model = ?",
            (rowid, embedder.version),
        ).fetchall()
    )
    stored = {k: np.frombuffer(v, dtype=np.float32) for k, v in rows.items()}
    cut = passages(paper.title, paper.abstract)
    assert sorted(stored) == [DOC_PASSAGE, *range(len(cut))] and len(cut) >= 3
    np.testing.assert_allclose(
        np.stack([stored[i] for i in range(len(cut))]), embedder.embed_documents(cut), atol=1e-5
    )
    pooled = embedder.embed_papers([cut[1:]], [""])[0][-1]
    np.testing.assert_allclose(stored[DOC_PASSAGE], pooled, atol=1e-5)
