"""The tantivy lexical index on a real store filled from the fixtures: every query construct
against a brute-force check over the stored papers, sorts, filters, facets, snippets, and the
index's life cycle (missing, corrupt, stale, incremental updates, deletions)."""

from __future__ import annotations

import gc
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from backends import wanted
from paperscope.index import lexical
from paperscope.index.lexical import EN, STAMP, LexicalIndex, author_keys, snippet
from paperscope.index.paths import index_dir
from paperscope.ingest.pipeline import import_file
from paperscope.model import Author, Paper
from paperscope.normalize import fold
from paperscope.rank import query as q
from paperscope.store.backends import open_store
from paperscope.store.sqlite import SQLiteStore

SAMPLES = Path(__file__).parent.parent / "samples"
FORMATS = SAMPLES / "formats"
KAGGLE = FORMATS / "kaggle-snapshot" / "arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl"
FILES = [
    *sorted((SAMPLES / "pages").glob("*.txt")),  # 20 + 12 + 86 papers
    KAGGLE,  # 200, with comments, journal refs and Bal\'azs
    FORMATS / "arxiv-api-atom" / "query-au-del_maestro-10-entries-2016.xml",
    FORMATS / "huggingface-papers" / "daily-papers-2026-02-25-50-papers.json",  # upvotes
    FORMATS / "semantic-scholar" / "cassette-paper-search-turing-100-full-fields-2023-12.yaml",
]
TOTAL = 478
MANY = 1000


def fill(store: SQLiteStore, files=FILES) -> None:
    for path in files:
        summary = import_file(store, path)
        assert summary.error is None, summary.error


@pytest.fixture(scope="module", params=wanted())
def env(request, tmp_path_factory):
    """One store and index shared by the read-only tests, on each backend."""
    if request.param == "sqlite":
        db = tmp_path_factory.mktemp("lexical") / "papers.db"
    else:
        db = request.getfixturevalue("pg_server").fresh()
    store = open_store(db)
    fill(store)
    index = LexicalIndex(store, index_dir(db) / "lexical")
    assert index.ensure() is True
    papers = dict(store.iter_papers())
    yield index, papers
    store.close()


@pytest.fixture
def fresh(db_target):
    """A store and index of their own, for tests that change them, on each backend."""
    db = db_target
    store = open_store(db)
    fill(store, FILES[:4])
    index = LexicalIndex(store, index_dir(db) / "lexical")
    index.ensure()
    held = [store, index]  # a list, so a test can let go of the index
    yield held
    store.close()


def found(index: LexicalIndex, text: str, **kwargs) -> list[int]:
    hits, total = index.search(q.parse(text), limit=kwargs.pop("limit", MANY), **kwargs)
    assert total == len(hits) or len(hits) == MANY
    return [rowid for rowid, _ in hits]


def where(papers: dict[int, Paper], test) -> set[int]:
    return {rowid for rowid, paper in papers.items() if test(paper)}


def words(paper: Paper, fields=("title", "abstract", "comment", "journal_ref")) -> str:
    parts = [getattr(paper, f) or "" for f in fields]
    if "authors" in fields or fields == ("title", "abstract", "comment", "journal_ref"):
        parts.append(" ".join(a.name for a in paper.authors))
    return fold(" ".join(parts))


def test_every_paper_is_indexed(env):
    index, papers = env
    assert len(index) == len(papers) == TOTAL


# ---------------------------------------------------------------- authors


@pytest.mark.parametrize("text", ['au:"Juhua Hu"', 'au:"Hu, Juhua"', 'au:"J. Hu"', "au:hu_j"])
def test_author_spellings_find_the_listing_page(env, text):
    index, papers = env
    juhua = q.author_from_name("Juhua Hu")
    expected = where(papers, lambda p: any(juhua.matches(a.name) for a in p.authors))
    assert len(expected) == 20
    assert set(found(index, text)) == expected


def test_family_name_alone_is_broader(env):
    index, papers = env
    hu = q.Author("hu")
    expected = where(papers, lambda p: any(hu.matches(a.name) for a in p.authors))
    assert set(found(index, "au:Hu")) == expected and len(expected) == 24
    assert found(index, 'au:"Jun Hu"') == []  # a spelt-out given name must agree


def test_author_keys_agree_with_author_matches(env):
    """For stored names that share a family name with another stored name, the full,
    initial and family forms find exactly the papers `Author.matches` accepts."""
    index, papers = env
    names = sorted({a.name for p in papers.values() for a in p.authors})
    assert len(names) > 1000
    families: dict[str, list[str]] = {}
    for name in names:
        families.setdefault(q.author_from_name(name).family, []).append(name)
    shared = [n for f, ns in families.items() if f and len(ns) > 1 for n in ns]
    picked = shared[:: max(1, len(shared) // 40)]
    checked = 0
    for name in picked:
        full = q.author_from_name(name)
        for author in {full, q.Author(full.family, full.initial), q.Author(full.family)}:
            accepted = {n for n in names if author.matches(n)}
            expected = where(papers, lambda p, ok=accepted: any(a.name in ok for a in p.authors))
            hits, total = index.search(author, limit=MANY)
            assert {r for r, _ in hits} == expected, (name, author)
            assert total == len(expected)
            checked += 1
    assert checked > 90


def test_author_key_tokens():
    assert author_keys("Juhua Hu") == ("hu", "hu_j", "hu_j_juhua")
    assert author_keys("Hu, Juhua") == ("hu", "hu_j", "hu_j_juhua")
    assert author_keys("J. Hu") == ("hu", "hu_j", "hu_j_")
    assert author_keys("Ludwig van Beethoven") == (
        "vanbeethoven",
        "vanbeethoven_l",
        "vanbeethoven_l_ludwig",
    )


@pytest.mark.parametrize(
    "text", ["au:Balázs", "au:Bal\\'azs", "au:balazs", 'au:"C. Balázs"', "Balazs", "Balázs"]
)
def test_accents_fold(env, text):
    index, papers = env
    (rowid,) = found(index, text)
    assert papers[rowid].arxiv_id == "0704.0001"


# ---------------------------------------------------------------- text fields


def test_bare_words_search_every_field_and_title_ranks_first(env):
    index, papers = env
    hits = found(index, "learning")
    expected = where(papers, lambda p: re.search(r"\blearn(?:s|ed|ing)?\b", words(p)))
    assert set(hits) == expected
    # title matches outrank abstract-only matches
    first = papers[hits[0]]
    assert "learn" in fold(first.title)


@pytest.mark.parametrize(
    ("field", "attr", "word"),
    [
        ("ti", "title", "quantum"),
        ("abs", "abstract", "magnetic"),
        ("co", "comment", "pages"),
        ("jr", "journal_ref", "phys"),
    ],
)
def test_fielded_terms(env, field, attr, word):
    """A field searches that field only; the check tokenizes each field as the index does."""
    index, papers = env
    (stem,) = EN.analyze(word)
    expected = where(papers, lambda p: stem in EN.analyze(getattr(p, attr) or ""))
    assert len(expected) >= 3
    assert set(found(index, f"{field}:{word}")) == expected
    assert set(found(index, word)) > expected  # other fields too


def test_stemming_matches_plural_and_verb_forms(env):
    index, _ = env
    assert set(found(index, "ti:network")) == set(found(index, "ti:networks"))
    assert found(index, "ti:network")


def test_arxiv_id(env):
    index, papers = env
    (rowid,) = found(index, "id:0704.0001v2")
    assert papers[rowid].arxiv_id == "0704.0001"
    # a bare id finds the paper first
    assert papers[found(index, "0704.0002")[0]].arxiv_id == "0704.0002"
    assert found(index, "arxiv:hep-th/9901001") == []


def test_phrase_is_adjacent_words(env):
    index, papers = env
    phrase = set(found(index, '"magnetic field"'))
    both = set(found(index, "magnetic field"))
    expected = where(papers, lambda p: re.search(r"\bmagnetic\W+field", words(p)))
    assert phrase == expected and len(phrase) == 11
    assert phrase < both  # some papers have both words apart
    assert set(found(index, '"neural network"')) == where(
        papers, lambda p: re.search(r"\bneural\W+network", words(p))
    )


def named_papers(
    tmp_path: Path, texts: dict[str, tuple[str, str]]
) -> tuple[SQLiteStore, LexicalIndex, dict[int, str]]:
    """A store of papers (title, abstract) under names, its lexical index, and each rowid's
    name."""
    store = SQLiteStore(tmp_path / "p.db")
    store.write_batch(
        [Paper(title=t, abstract=a, sources=["test"]) for t, a in texts.values()], origin="t"
    )
    index = LexicalIndex(store, index_dir(tmp_path / "p.db") / "lexical")
    index.ensure()
    name = {r: k for r, p in store.iter_papers() for k, (t, _) in texts.items() if p.title == t}
    return store, index, name


def test_adjacent_query_words_rank_papers_that_hold_them_together_higher(tmp_path, monkeypatch):
    # the same words, the same lengths: side by side (or one word between) in the abstract
    # or the title beats apart, and the words still match apart
    texts = {
        "apart": ("Layers for vision one", "A global view of deep batch normalization."),
        "abstract": ("Layers for vision two", "A deep view of global batch normalization."),
        "title": ("Global normalization layers", "A deep view of batch vision in for."),
        "none": ("Batch layers for vision", "A deep view of regularization in layers."),
    }
    store, index, name = named_papers(tmp_path, texts)
    ranked = [name[r] for r in found(index, "global normalization")]
    assert ranked == ["title", "abstract", "apart"]
    # without the evidence, "abstract" and "apart" score the same (same words, same lengths)
    monkeypatch.setattr(lexical, "ABSTRACT_PAIR_BOOST", 0.0)
    scores = {name[r]: s for r, s in index.search(q.parse("global normalization"), limit=9)[0]}
    assert scores["abstract"] == pytest.approx(scores["apart"])
    store.close()


def test_a_hyphenated_word_no_paper_writes_is_searched_as_its_words(tmp_path):
    """`global-normalization` was the phrase "global normalization" only: where no paper
    writes it, lexical search found nothing, while `global normalization` found papers. A
    word whose parts some paper writes side by side stays that phrase."""
    texts = {
        "apart": ("Self-training under supervised constraints", "A global view of normalization."),
        "phrase": ("Self-supervised learning of vision", "Nothing else in common here."),
        "neither": ("Batch layers for vision", "A deep view of regularization in layers."),
    }
    store, index, name = named_papers(tmp_path, texts)
    for query, expected in [
        ("global-normalization", ["apart"]),  # no paper has the phrase: its words
        ("Global-Normalization", ["apart"]),
        ("global_normalization", ["apart"]),
        ("view global-normalization", ["apart"]),
        ("ti:global-normalization", []),  # its words, in the title: none has both
        ("self-supervised", ["phrase"]),  # a paper has the phrase: the phrase alone
        ('"global normalization"', []),  # quoted: always the phrase
        ("global-normalization -constraints", []),
    ]:
        node = q.parse(query)
        hits, total = index.search(node, limit=9)
        assert sorted(name[r] for r, _ in hits) == expected, query
        # the count and the facets read the query as the results do
        assert total == index.count(node) == index.count_matches(node) == len(expected), query
        assert sum(index.facets(node)["year"].values()) <= len(expected)
        assert len(index.match_rowids(node)) == len(expected), query
    store.close()


def assert_found(index: LexicalIndex, name: dict[int, str], cases: list) -> None:
    """Each query of `cases` (query, names) finds exactly the papers of those names, and the
    count and the match set read it alike."""
    for query, expected in cases:
        node = q.parse_query(query).node
        hits, total = index.search(node, limit=9)
        assert sorted(name[r] for r, _ in hits) == expected, query
        assert total == index.count_matches(node) == len(expected), query
        assert len(index.match_rowids(node)) == len(expected), query


def test_a_possessive_finds_the_name_written_either_way(tmp_path):
    """`Turing's` was the phrase "turing s": 18 of the 105 papers on Turing in the quality
    store, those that write his name possessive."""
    store, index, name = named_papers(
        tmp_path,
        {
            "possessive": ("Turing's legacy in logic", "A look back."),
            "plain": ("Turing machines with atoms", "Nominal sets."),
            "other": ("Batch layers for vision", "A deep view of layers."),
        },
    )
    cases = [
        ("Turing's", ["plain", "possessive"]),
        ("Turing\u2019s", ["plain", "possessive"]),  # the typographic apostrophe
        ("turing's legacy", ["possessive"]),
        ("ti:Turing's", ["plain", "possessive"]),
        ('"Turing\'s"', ["possessive"]),  # quoted: as written
    ]
    assert_found(index, name, cases)
    store.close()


def test_a_closed_compound_no_paper_holds_is_the_phrase_of_its_parts(tmp_path):
    """`superresolution` and `reidentification` found nothing on the quality store, where
    24 and 9 papers write "super-resolution" and "re-identification"."""
    store, index, name = named_papers(
        tmp_path,
        {
            "hyphen": ("Image super-resolution by diffusion", "Person re-identification too."),
            "spaced": ("Super resolution of faces", "A study."),
            "apart": ("Resolution of a super problem", "Identification."),
            "closed": ("Multimodal learning", "Vision and text."),
        },
    )
    cases = [
        ("superresolution", ["hyphen", "spaced"]),  # side by side, not apart
        ("reidentification", ["hyphen"]),
        ("ti:superresolution", ["hyphen", "spaced"]),
        ("multimodal", ["closed"]),  # a paper holds it: as written
        ("zzqqxxyy", []),  # no cut is written either
        ('"superresolution"', []),  # quoted: as written
    ]
    assert_found(index, name, cases)
    store.close()


def test_a_word_papers_write_closed_and_open_finds_both(tmp_path):
    """`pretraining` missed every paper that writes "pre-training" (33 of the quality store's
    papers, 15 write "pretraining"), and `pre-training` every paper that writes it closed."""
    store, index, name = named_papers(
        tmp_path,
        {
            "closed": ("Pretraining of multimodal encoders", "Forgetting less."),
            "hyphen": ("Pre-training for multi-modal retrieval", "Notable gains."),
            "spaced": ("Pre training at scale", "Not able to generalise for getting there."),
            "apart": ("Training before a pre step", "Modal logic, multi agents."),
            "stemmed": ("Competitors of a kind", "A study."),
            "wrong": ("Methods of a kind", "Competitive or better."),
        },
    )
    cases = [
        ("pretraining", ["closed", "hyphen", "spaced"]),
        ("pre-training", ["closed", "hyphen", "spaced"]),
        ("ti:pretraining", ["closed", "hyphen", "spaced"]),
        ("multimodal", ["closed", "hyphen"]),
        ("multi-modal retrieval", ["hyphen"]),
        ("pretraining multimodal", ["closed", "hyphen"]),
        ("pretraining -multimodal", ["spaced"]),
        ('"pretraining"', ["closed"]),  # quoted: as written
        ("forgetting", ["closed"]),  # "for getting": not a spelling of it (a glue word)
        ("notable", ["hyphen"]),
        ("competitors", ["stemmed"]),  # not "competitive or": the cut's stem "or" is glue
    ]
    assert_found(index, name, cases)
    store.close()


def test_the_spelling_typed_ranks_first_on_otherwise_equal_texts(tmp_path):
    """`pretraining` scored a paper writing "pre-training" 1.71 and one writing "pretraining"
    0.92 on the same abstract: the phrase of the other spelling scored both its words, and
    its two words side by side earned the proximity evidence too."""
    store, index, name = named_papers(
        tmp_path,
        {
            "closed": ("Alpha language models", "Pretraining at scale."),
            "hyphen": ("Beta language models", "Pre-training at scale."),
            "other": ("Training a language model", "A pre study."),
        },
    )
    for typed, first in [
        ("pretraining", "closed"),
        ("pretraining language", "closed"),
        ("pre-training", "hyphen"),
        ("pre-training language", "hyphen"),
    ]:
        ranked = [name[r] for r, _ in index.search(q.parse(typed), limit=9)[0]]
        assert ranked[:2] == [first, "hyphen" if first == "closed" else "closed"], typed
    store.close()


def test_british_and_american_spellings_find_each_other(tmp_path):
    """`normalisation` found the 2 papers of the quality store that write it, not the 88 that
    write "normalization"."""
    store, index, name = named_papers(
        tmp_path,
        {
            "british": ("Global normalisation of colour", "Behaviour of tumours."),
            "american": ("Global normalization of color", "Behavior of tumors."),
            "other": ("Four layers of vision", "A study of all."),
            "for": ("Layers for vision", "A study."),
            "parametric": ("Non-parametric estimators", "A study."),
            "parameters": ("Estimated parameters", "A study."),
        },
    )
    cases = [
        ("normalisation", ["american", "british"]),
        ("normalization", ["american"]),  # one way: see spelling.american_spelling
        ("global normalisation", ["american", "british"]),
        ("ti:colour", ["american", "british"]),
        ("behaviour tumours", ["american", "british"]),
        ("normalisation -colour", []),  # the exclusion takes either spelling too
        ("colour -four", ["american", "british"]),
        ('"normalisation"', ["british"]),  # quoted: as written
        ("four", ["other"]),  # not "for": no rule makes it
        ("parameters", ["parameters"]),  # not "parametres", the stem of "parametric" too
    ]
    assert_found(index, name, cases)
    store.close()


def test_the_other_spelling_of_a_word_stands_beside_its_neighbours_too(tmp_path):
    """`global normalisation` gave the proximity evidence to "global normalis..." only: the
    papers that write "global normalization" side by side ranked as if the words were apart."""
    store, index, name = named_papers(
        tmp_path,
        {
            "side": ("Global normalization for vision", "A study."),
            "apart": ("Normalization for global vision", "A study."),
            "british": ("Normalisation of a kind", "A study."),
        },
    )
    for query in ("global normalisation", "global normalization"):
        scores = {name[r]: s for r, s in index.search(q.parse(query), limit=9)[0]}
        assert scores["side"] > scores["apart"], query
    store.close()


def test_another_spelling_needs_a_share_of_the_papers(tmp_path, monkeypatch):
    """A cut few papers write beside a common word is not its spelling: a line-broken
    "mod-els" beside 458 papers with "models" on the quality store."""
    texts = {f"closed{i}": (f"Dataset number {i}", "A study.") for i in range(25)}
    texts["spaced"] = ("A data set of faces", "A study.")
    store, index, _ = named_papers(tmp_path, texts)
    assert len(found(index, "dataset")) == 25  # 1 of 25 is below the share
    monkeypatch.setattr(lexical, "SPELLING_SHARE", 0.04)
    assert len(found(index, "dataset")) == 26
    store.close()


#: Abstract sentences (from the corpus of bench/search_quality.py) that a lexical search pasted
#: with their TeX missed before the index decoded TeX as queries are decoded.
TEX_SENTENCES = [
    "We use the hafnian inequality to improve the lower bound of R\\'ev\\'esz and "
    "Sarantopoulos on the norm of a product of linear functionals.",
    "By combining these remedies, we improve the state-of-the-art Fr\\'{e}chet Inception "
    "Distance (FID) by at least 17.5% on several benchmarks.",
    "The probability density functions of the disaggregated T$_{\\textrm{B}}$ were similar "
    "to the SMAP-T$_{\\textrm{B}}$.",
    "Our regret significantly improves upon the baseline $\\tilde{O}(Md\\sqrt{T})$ achieved "
    "by solving each task independently.",
    "Based on the works of \\v{S}penko and Van den Bergh [Invent.",
]


@pytest.mark.parametrize("stored", ["as written", "decoded by an importer"])
def test_a_sentence_pasted_with_its_tex_finds_its_paper(tmp_path, stored):
    # the bench corpus stores abstracts as written; importers store them decoded
    # (tex_to_unicode): either way the sentence pasted as written, or as displayed, finds it
    from paperscope.normalize import tex_to_unicode

    decode = tex_to_unicode if stored != "as written" else (lambda text: text)
    store = SQLiteStore(tmp_path / "p.db")
    papers = [
        Paper(title=f"Paper {i}", abstract=decode(f"Intro. {text} More."), sources=["t"])
        for i, text in enumerate(TEX_SENTENCES)
    ]
    store.write_batch(papers, origin="t")
    index = LexicalIndex(store, index_dir(tmp_path / "p.db") / "lexical")
    index.ensure()
    rowid = {p.title: r for r, p in store.iter_papers()}
    for i, text in enumerate(TEX_SENTENCES):
        for pasted in (text, tex_to_unicode(text)):
            hits, _ = index.search(q.parse_query(pasted).node, limit=10)
            assert [r for r, _ in hits] == [rowid[f"Paper {i}"]], pasted
    (renyi,) = [r for r, _ in index.search(q.parse("Révész"), limit=10)[0]]
    assert renyi == rowid["Paper 0"] and found(index, "revesz") == [renyi]
    if stored == "as written":  # the source's words, without its TeX, still find it
        assert found(index, "lower bound of R ev esz") == [rowid["Paper 0"]]
        assert found(index, "baseline tilde O Md sqrt T") == [rowid["Paper 3"]]
    store.close()


def test_query_words_side_by_side_beat_words_a_few_apart(tmp_path, monkeypatch):
    # the same abstract words, permuted: side by side beats one or two words between (the
    # PAIR_SLOP evidence), which beats further apart; only the adjacency evidence tells the
    # first from the second
    abstracts = {
        "adjacent": "a deep view of batch in global normalization",
        "one": "a deep view of in global batch normalization",
        "two": "a deep view of global batch in normalization",
        "apart": "a global deep view of batch in normalization",
    }
    store = SQLiteStore(tmp_path / "p.db")
    store.write_batch(
        [
            Paper(title=f"Layers for vision {n}", abstract=a, sources=["test"])
            for n, a in zip(("one", "two", "three", "four"), abstracts.values(), strict=True)
        ],
        origin="t",
    )
    index = LexicalIndex(store, index_dir(tmp_path / "p.db") / "lexical")
    index.ensure()
    name = {r: k for r, p in store.iter_papers() for k, a in abstracts.items() if p.abstract == a}

    def scores() -> dict[str, float]:
        hits, _ = index.search(q.parse("global normalization"), limit=9)
        return {name[r]: s for r, s in hits}

    got = scores()
    assert got["adjacent"] > got["one"] > got["apart"]
    assert got["two"] == pytest.approx(got["one"]) and got["two"] > got["apart"]
    monkeypatch.setattr(lexical, "ABSTRACT_EXACT_PAIR_BOOST", 0.0)
    got = scores()
    assert got["adjacent"] == pytest.approx(got["one"])
    store.close()


def test_relaxed_search_ranks_most_of_the_words_after_all_of_them(env, monkeypatch):
    monkeypatch.setattr(lexical, "RELAX_BELOW", 20)  # off by default (see its comment)
    index, papers = env
    text = "magnetic field xylophonequartz"  # no paper has the last word
    assert found(index, text) == []
    hits, total = index.search(q.parse(text), limit=MANY, relax=True)
    assert total == 0  # the count stays the papers matching the query
    assert {r for r, _ in hits} == set(found(index, "magnetic field"))
    # every word present beats most of them, whatever the BM25 scores
    full = [r for r, _ in index.search(q.parse("magnetic field"), limit=MANY, relax=True)[0]]
    partial = found(index, "magnetic OR field")
    hits, _ = index.search(q.parse("magnetic field"), limit=MANY, relax=True)
    assert [r for r, _ in hits] == full
    assert len(partial) > len(full)  # relaxing only happens below RELAX_BELOW full matches
    # filters stay hard constraints when relaxed
    hits, _ = index.search(
        q.parse("magnetic field xylophonequartz year:2007"), limit=MANY, relax=True
    )
    assert hits and all(papers[r].published.startswith("2007") for r, _ in hits)


def test_prefix(env):
    index, papers = env
    expected = where(papers, lambda p: re.search(r"\btransform", words(p)))
    assert set(found(index, "transform*")) == expected
    # longer than the stem it was indexed as ("learning" -> "learn"), or not a prefix of it
    assert set(found(index, "learning*")) == set(found(index, "learn*"))
    assert set(found(index, "study*")) >= set(found(index, "study"))


def test_booleans(env):
    index, _ = env
    a, b = set(found(index, "quantum")), set(found(index, "magnetic"))
    assert a and b and a & b
    assert set(found(index, "quantum magnetic")) == a & b
    assert set(found(index, "quantum AND magnetic")) == a & b
    assert set(found(index, "quantum OR magnetic")) == a | b
    assert set(found(index, "quantum ANDNOT magnetic")) == a - b
    assert set(found(index, "quantum -magnetic")) == a - b
    assert set(found(index, "quantum NOT magnetic")) == a - b
    c = set(found(index, "field"))
    assert set(found(index, "quantum -(magnetic OR field)")) == a - b - c
    assert set(found(index, "(quantum OR magnetic) ANDNOT field")) == (a | b) - c


def test_words_without_tokens_constrain_nothing(env):
    index, _ = env
    assert found(index, "quantum _") == found(index, "quantum")


# ---------------------------------------------------------------- filters


@pytest.mark.parametrize("text", ["cat:hep-th", "cat:HEP-TH", "cat:cond-mat.str-el", "cat:cs.LG"])
def test_category(env, text):
    index, papers = env
    node = q.parse(text)
    expected = where(papers, lambda p: any(node.matches(c) for c in p.categories))
    assert expected
    assert set(found(index, text)) == expected


@pytest.mark.parametrize("text", ["cat:cs.*", "cat:cond-mat.*", "cat:physics.*"])
def test_category_archive(env, text):
    index, papers = env
    node = q.parse(text)
    expected = where(papers, lambda p: any(node.matches(c) for c in p.categories))
    assert len(expected) > len(where(papers, lambda p: node.code in p.categories))
    assert set(found(index, text)) == expected


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("year:2023", "2023-01-01", "2023-12-31"),
        ("year:2014..2016", "2014-01-01", "2016-12-31"),
        ("after:2024-06", "2024-06-01", "9999"),
        ("before:2007-04-02", "0000", "2007-04-02"),
        ("after:2013 before:2013", "2013-01-01", "2013-12-31"),
        ("submittedDate:[200704010000 TO 200704031200]", "2007-04-01", "2007-04-03"),
    ],
)
def test_dates(env, text, low, high):
    index, papers = env
    # a year-only or month-only date ("2014", "2014-06") matches when its whole period lies in
    # the range (docs/merging.md)
    expected = where(
        papers,
        lambda p: p.published and low <= first_day(p.published) and last_day(p.published) <= high,
    )
    assert expected
    assert set(found(index, text)) == expected


def first_day(published: str) -> str:
    return (published[:10] + "-01-01"[len(published[:10]) - 4 :])[:10]


def last_day(published: str) -> str:
    return (published[:10] + "-12-31"[len(published[:10]) - 4 :])[:10]


def test_filter_only_query_comes_newest_first(env):
    index, papers = env
    hits, total = index.search(q.parse("cat:hep-ph"), limit=5)
    assert total == 22
    dates = [papers[r].published for r, _ in hits]
    assert dates == sorted(dates, reverse=True)


def test_filters_inside_the_query_fill_the_page(env):
    """A rare filter never leaves the page short while enough papers match."""
    index, papers = env
    text = "model cat:astro-ph year:2007"
    expected = where(
        papers,
        lambda p: "astro-ph" in p.categories and p.year == 2007 and re.search(r"\bmodel", words(p)),
    )
    assert len(expected) >= 3
    hits, total = index.search(q.parse(text), limit=3)
    assert len(hits) == 3 and total == len(expected)
    assert {r for r, _ in hits} <= expected
    assert index.count(q.parse(text)) == len(expected)


def test_filter_rowids_and_count(env):
    index, papers = env
    node = q.parse("cat:cond-mat.* year:2007")
    expected = where(
        papers, lambda p: p.year == 2007 and any(c.startswith("cond-mat") for c in p.categories)
    )
    rowids = index.filter_rowids(node)
    assert rowids.dtype == np.int64
    assert rowids.tolist() == sorted(expected)
    assert index.count(node) == len(expected)
    # the filter half of "graph -survey" is a bare negation: every other paper
    assert len(index.filter_rowids(q.Not(q.Term("all", "quantum")))) == TOTAL - len(
        found(index, "quantum")
    )
    assert len(index.filter_rowids(q.parse("cat:nosuch.cat"))) == 0


def test_a_filter_set_is_kept_until_the_store_changes(tmp_path):
    """Every page of a filtered search gathered the filter's papers afresh (100-120 ms for a
    category and a year at 1,000,000 papers); a kept set must not outlive a change."""
    store, index, _ = named_papers(tmp_path, {"a": ("Graph layers", "Zebra.")})
    node = q.parse("zebra")
    first = index.filter_rowids(node)
    again = index.filter_rowids(node)
    assert index.filter_rowids(node) is again  # kept
    assert again.tolist() == first.tolist() and len(first) == 1
    with pytest.raises(ValueError):
        again[0] = 0  # shared: read-only
    store.write_batch([Paper(title="Zebra crossings", sources=["test"])], origin="t")
    assert len(index.filter_rowids(node)) == 2  # the store moved: gathered again
    other = LexicalIndex(store, index.path)  # another process writes the index...
    store.write_batch([Paper(title="Zebra stripes", sources=["test"])], origin="t")
    other.update([])
    assert len(index.filter_rowids(node)) == 3  # ...and this one sees it
    # a topic's papers change with the topics, not the index: never kept
    first, second = q.TopicRef(7, rowids=(1,)), q.TopicRef(7, rowids=(1, 2))
    assert first == second  # its papers are not part of the node's identity
    assert index.filter_rowids(first).tolist() == [1]
    assert index.filter_rowids(second).tolist() == [1, 2]
    store.close()


# ---------------------------------------------------------------- sorts and pages


def test_sorts(env):
    index, papers = env
    newest = found(index, "model", sort="newest")
    assert set(newest) == set(found(index, "model"))
    dates = [papers[r].published or "" for r in newest]
    assert dates == sorted(dates, reverse=True)
    hits, _ = index.search(q.parse("model OR learning"), limit=30, sort="upvotes")
    votes = [papers[r].upvotes for r, _ in hits]
    assert votes[0] and votes == sorted(votes, key=lambda v: -1 if v is None else v, reverse=True)
    assert [s for _, s in hits[:3]] == [float(v) for v in votes[:3]]
    hits, _ = index.search(q.parse("turing"), limit=10, sort="citations")
    cites = [papers[r].citations for r, _ in hits]
    assert cites[0] > 100 and cites == sorted(cites, reverse=True)


def test_offset_pages(env):
    index, _ = env
    node = q.parse("learning")
    whole, total = index.search(node, limit=20)
    page, total2 = index.search(node, limit=10, offset=10)
    assert page == whole[10:20] and total == total2
    scores = [s for _, s in whole]
    assert scores == sorted(scores, reverse=True)


def test_bad_sort(env):
    index, _ = env
    with pytest.raises(Exception, match="unknown sort"):
        index.search(q.parse("x"), limit=5, sort="oldest")


# ---------------------------------------------------------------- facets and snippets


def test_facets_count_every_match(env):
    index, papers = env
    facets = index.facets(q.parse("cat:cond-mat.*"), top=5)
    matches = where(papers, lambda p: any(c.startswith("cond-mat") for c in p.categories))
    counts: dict[str, int] = {}
    years: dict[str, int] = {}
    for rowid in matches:
        for c in papers[rowid].categories:
            counts[c] = counts.get(c, 0) + 1
        if papers[rowid].year:
            years[str(papers[rowid].year)] = years.get(str(papers[rowid].year), 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:5]
    assert list(facets["categories"].values()) == [n for _, n in top]
    assert all(counts[c] == n for c, n in facets["categories"].items())
    assert facets["year"] == dict(sorted(years.items()))


def test_snippet_marks_stemmed_words_prefixes_and_phrases():
    filler = "filler words here. " * 30
    text = f"We study résumé parsing. Our <b>Networks</b> transform Élan data; {filler}The end."
    node = q.parse('network transf* "graph neural" -data')
    s = snippet(node, text, max_chars=120)
    assert [s.fragment[a:b] for a, b in s.highlights] == ["Networks", "transform"]
    assert s.start == 0 and s.end < len(text)
    html = s.to_html()
    assert html.startswith("We study résumé parsing. Our &lt;b&gt;<b>Networks</b>&lt;/b&gt; ")
    assert html.endswith(" …")
    # the window with the most distinct query words wins; a phrase marks only adjacent words
    text = f"{text} Neural nets learn a graph neural network. {filler}"
    tail = snippet(node, text, max_chars=80)
    assert [tail.fragment[a:b] for a, b in tail.highlights] == ["graph", "neural", "network"]
    assert tail.start > 0 and tail.to_html().startswith("… ")
    # offsets are characters, accents fold
    accents = snippet(q.parse("elan resume"), text, max_chars=200)
    assert [accents.fragment[a:b] for a, b in accents.highlights] == ["résumé", "Élan"]
    assert snippet(q.parse("zzz"), "short text").fragment == "short text"
    assert snippet(q.parse("ti:parsing"), text, fields=("all", "abs")).highlights == ()


# ---------------------------------------------------------------- life cycle


def titles(index: LexicalIndex, text: str) -> set[int]:
    return set(found(index, text))


def test_second_ensure_does_nothing(fresh):
    store, index = fresh
    assert index.ensure() is False
    again = LexicalIndex(store, index.path)
    assert again.ensure() is False and len(again) == store.count()


def test_rebuilds_when_folder_deleted(fresh):
    store, index = fresh
    before = titles(index, 'au:"Juhua Hu"')
    shutil.rmtree(index.path)
    index = LexicalIndex(store, index.path)
    assert index.ensure() is True
    assert titles(index, 'au:"Juhua Hu"') == before and len(before) == 20


def test_rebuilds_when_a_file_is_truncated(fresh):
    store, index = fresh
    before = titles(index, "learning")
    path = index.path
    # nothing may have the files mapped while they are cut short (that is a SIGBUS)
    del fresh[1], index
    gc.collect()
    biggest = max(
        (p for p in path.iterdir() if p.suffix in (".idx", ".pos", ".term", ".fast")),
        key=lambda p: p.stat().st_size,
    )
    with biggest.open("r+b") as fh:
        fh.truncate(biggest.stat().st_size // 2)
    index = LexicalIndex(store, path)
    assert index.ensure() is True
    assert titles(index, "learning") == before


def test_rebuilds_on_another_schema_version_or_store(fresh, tmp_path):
    store, index = fresh
    stamp = index.path / STAMP
    stamp.write_text(stamp.read_text().replace('"schema": ', '"schema": 9'))
    assert LexicalIndex(store, index.path).ensure() is True
    # a different store at the same place: the stamp names the store it was built from
    other = SQLiteStore(tmp_path / "other.db")
    fill(other, FILES[4:5])
    index = LexicalIndex(other, index.path)
    assert index.ensure() is True
    assert len(index) == other.count() == 10
    other.close()


def test_catches_up_with_a_store_changed_behind_it(fresh):
    store, index = fresh
    assert found(index, "au:del_maestro") == []
    fill(store, FILES[4:6])  # written with no index open
    later = LexicalIndex(store, index.path)
    assert later.ensure() is False  # incremental, not a rebuild
    assert len(found(later, "au:del_maestro")) == 10
    assert len(later) == store.count()
    # the first object notices the store moved and reloads by itself
    assert len(found(index, "au:del_maestro")) == 10


def test_update_after_import_and_merge_and_delete(fresh):
    store, index = fresh
    store.write_batch(
        [Paper("Zebrafish fins regrow", authors=[Author("Ann Lee")], arxiv_id="2401.00001")],
        origin="t",
    )
    rowid = store.resolve("2401.00001")
    index.update([rowid])
    assert found(index, "zebrafish") == [rowid]
    # a merge adds an abstract: the new words are found
    store.write_batch(
        [
            Paper(
                "Zebrafish fins regrow",
                abstract="Axolotl limbs too.",
                authors=[Author("Ann Lee")],
                arxiv_id="2401.00001",
            )
        ],
        origin="u",
    )
    assert found(index, "axolotl") == [rowid]  # search caught up without update()
    store.write_batch([], origin="oai", deletions=["2401.00001", "0704.0001"])
    assert found(index, "zebrafish") == []
    assert found(index, "au:Balázs") == []
    assert len(index) == store.count()
