"""Search quality on real data only, lexical vs semantic vs hybrid side by side, per query set.

Corpus: every paper in samples/ (formats and pages) plus the 1,000 real abstracts of
samples/corpus/arxiv-ml-abstracts-1000.csv as distractors.

Query sets (every figure is printed per set, never only a mean):

- ``hf-page``: `global normalization` against the Hugging Face search page it came from.
  nDCG@10 with gain 1/log2(r+1) for the paper at page rank r <= 20 (0 for the rest; the ideal
  is the page's own top 10), beside the old gain N + 1 - r; overlap@10 and overlap@20.
- ``hf-kazakh``: `kazakh` against the Hugging Face search API answer it came from
  (samples/formats/huggingface-papers, 9 papers, all holding the word): the same metrics, the
  ideal being the page's own top 10 (here 9). It only measures the order among the 9, but it
  is the one other query with Hugging Face's own ranking that is available offline.
- ``s2-turing``: `turing` against Semantic Scholar's search answer (the recorded cassette in
  samples/formats/semantic-scholar, 100 papers, all holding the word), the same metrics. Its
  order mixes text match with citations, which paperscope's relevance does not use, so it is a
  third engine's opinion rather than a judgement; it is reported, as the issue asks of any
  public relevance data available offline.
- ``arxiv-testing``: `testing` against arXiv's own search answer (`sortBy=relevance`, the
  recorded cassette in samples/formats/arxiv-api-atom): arXiv's first 10 of 214,881 matches,
  the same metrics. Added after every parameter was fitted (2026-12-07), so no setting was
  chosen on it: the one visible set that is held back from tuning.
- ``titles``: 300 corpus papers with a unique title, the full title as typed. MRR@10.
- ``title-1``: the same papers, title without stop words and one content word dropped. MRR@10.
- ``sentences``: one sentence from the middle of each abstract, words only. MRR@10.
- ``hostile``: every abstract sentence that holds a colon, a bracket, ``$...$``, ``--`` or a
  quote, pasted as is; sentences with a quoted part lose the closing quote (unbalanced).
  MRR@10, and how many queries were errors (none without strict; with strict, for reference).
- ``pasted``: every abstract sentence of the whole collection (corpus and sample papers) with
  any character besides letters, digits, spaces, commas, full stops and hyphens (TeX accents
  and macros, math, cited arXiv ids, "-C" in "ImageNet-A, -C, and -R"), pasted as is. MRR@10.
- ``topics``: the arXiv names of the corpus ``terms`` labels (categories) held by 4+ papers
  ("Robotics", "Information Retrieval"); relevant = papers of the whole collection with that
  label (the corpus and the sample papers that carry categories). nDCG@10.
- ``phrases``: keyphrases of the corpus titles ("object detection", "time series"; see
  `phrase_set`); relevant = papers of the whole collection whose title holds the phrase.
  nDCG@10. Its relevance leans lexical where the category names' leans semantic, so a setting
  has to hold on both.
- similar papers on the labelled corpus: share of the 10 nearest corpus papers that have the
  same first category (unchanged).

Public relevance data: the two Hugging Face answers, the Semantic Scholar answer and the arXiv
answer above (the other recorded answers hold 3 papers each); no other is available offline
(``ir_datasets`` and BEIR fetch their collections at run time).

``--sweep`` scores every lexical setting (proximity and adjacency boosts, slop, relaxed
lexical side) at the default fusion and every fusion setting (weighted-sum share and scaling,
RRF, neighbourhood seeds and share) at the default lexical setting and at the previous one,
then runs a leave-one-set-out check: for each set, the setting that does best on the *other*
sets, and how it does on the set left out. "Best" is, in order: keeps the page targets
(nDCG@10 >= 0.72, overlap@20 >= 0.55), most sets within 0.01 of the best setting, the best
mean of their main figure. Beside it, "met" counts the sets where the setting meets issue 10's
per-set target (hybrid at most 0.01 below the better single mode of the same setting, above
both on the topic sets); it is not used to choose, as it rewards a weaker lexical mode. The
figures of every setting go to bench/out/search_sweep.json.

Each query's lexical and semantic candidate lists are computed once (the query embedding is
the expensive part) and fused here exactly as `SearchEngine._semantic_or_hybrid` fuses and
re-ranks them (whole-text vectors loaded once for the neighbourhood step);
the run checks that on a sample against `SearchEngine.search`.

Usage: python bench/search_quality.py [--db PATH] [--sweep]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import paperscope.index.lexical as lexical_module
import paperscope.rank.search as search_module
import text_baselines
from paperscope.errors import QueryError
from paperscope.index.embedding import DOC_PASSAGE, embed_missing
from paperscope.index.spelling import british_spelling
from paperscope.ingest.pipeline import expand_paths, import_file
from paperscope.model import Paper
from paperscope.normalize import title_key
from paperscope.rank import fusion
from paperscope.rank import query as q
from paperscope.rank.search import CANDIDATES, SearchEngine
from paperscope.store.sqlite import SQLiteStore
from synth import OUT, ROOT, load_corpus

SAMPLES = ROOT / "samples"
MODES = ("lexical", "semantic", "hybrid")
STOP = set(
    "a an the of for and or in on to with by from at as is are be via into its it this that "
    "using towards toward based we our their over under than not no can do does".split()
)
SEED = 11
#: Resamples of the queries for a set's paired-bootstrap interval.
BOOTSTRAP = 10_000
HF_QUERY = "global normalization"
HF_API_QUERY = "kazakh"
HF_API_ANSWER = SAMPLES / "formats" / "huggingface-papers" / "papers-search-q-kazakh-9-results.json"
ARXIV_QUERY = "testing"
ARXIV_ANSWER = (
    SAMPLES / "formats" / "arxiv-api-atom" / "cassette-query-testing-10-entries-2026.json"
)
S2_QUERY = "turing"
S2_ANSWER = (
    SAMPLES
    / "formats"
    / "semantic-scholar"
    / "cassette-paper-search-turing-100-full-fields-2023-12.yaml"
)
#: arXiv's names of the corpus labels (cs.IT and math.IT share one, as do math.ST and stat.TH).
CATEGORY_NAMES = {
    "cs.CV": "Computer Vision and Pattern Recognition",
    "cs.LG": "Machine Learning",
    "stat.ML": "Machine Learning",
    "eess.IV": "Image and Video Processing",
    "cs.AI": "Artificial Intelligence",
    "cs.CL": "Computation and Language",
    "cs.NE": "Neural and Evolutionary Computing",
    "cs.DC": "Distributed, Parallel, and Cluster Computing",
    "cs.RO": "Robotics",
    "cs.IR": "Information Retrieval",
    "cs.IT": "Information Theory",
    "math.IT": "Information Theory",
    "eess.SP": "Signal Processing",
    "stat.ME": "Methodology",
    "cs.CR": "Cryptography and Security",
    "cs.DB": "Databases",
    "math.OC": "Optimization and Control",
    "math.ST": "Statistics Theory",
    "stat.TH": "Statistics Theory",
    "cs.SI": "Social and Information Networks",
    "cs.GR": "Graphics",
    "cs.HC": "Human-Computer Interaction",
    "cs.MA": "Multiagent Systems",
    "cs.NI": "Networking and Internet Architecture",
    "cs.SY": "Systems and Control",
    "cs.MM": "Multimedia",
}
MIN_TOPIC = 4
MIN_PHRASE = 4
MAX_PHRASE = 60
FRAGMENT = 0.75
GENERIC = set("approach approaches method methods model models framework frameworks".split())
KNOWN = 300


def build(db: Path) -> SQLiteStore:
    fresh = not db.exists()
    store = SQLiteStore(db)
    if fresh:
        for path in expand_paths([SAMPLES / "formats", SAMPLES / "pages"]):
            import_file(store, path)
        corpus = [
            Paper(
                title=" ".join(r["titles"].split()),
                abstract=" ".join(r["summaries"].split()),
                categories=list(r["categories"]),
                sources=["corpus-csv"],
            )
            for r in load_corpus()
        ]
        store.write_batch(corpus, origin="arxiv-ml-abstracts-1000.csv")
    t = time.perf_counter()
    engine = SearchEngine(store)
    done = embed_missing(store, engine.embedder, index=engine.vectors)
    if done:
        print(f"embedded {len(done)} papers in {time.perf_counter() - t:.0f} s")
    return store


# ---------------------------------------------------------------- query sets


@dataclass
class QuerySet:
    name: str
    kind: str  # "hf", "known" or "topic"
    queries: list[tuple[str, object]]  # (text, target rowid | {rowid: gain} | page ranks)
    strict_errors: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def plain(text: str) -> str:
    """Words only, so a sentence is never read as query syntax (fields, operators, quotes)."""
    words = re.findall(r"\w[\w'-]*", text)
    return " ".join(w.lower() if w in {"AND", "OR", "NOT", "ANDNOT"} else w for w in words)


def corpus_rowids(store: SQLiteStore) -> dict[int, Paper]:
    rows = store.conn.execute(
        "SELECT rowid FROM papers WHERE sources LIKE '%corpus-csv%' AND NOT deleted"
    ).fetchall()
    return store.load_rowids([r[0] for r in rows])


def collection_rowids(store: SQLiteStore) -> dict[int, Paper]:
    """Every paper searched: the corpus and the samples (the topic sets are judged on all)."""
    rows = store.conn.execute("SELECT rowid FROM papers WHERE NOT deleted").fetchall()
    return store.load_rowids([r[0] for r in rows])


def abstract_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 30]


def known_item_sets(papers: dict[int, Paper]) -> list[QuerySet]:
    rng = random.Random(SEED)
    by_title: dict[str, list[int]] = {}
    for rowid, p in papers.items():
        by_title.setdefault(title_key(p.title), []).append(rowid)
    unique = sorted(r for rows in by_title.values() if len(rows) == 1 for r in rows)
    titles, title_1, sentences = [], [], []
    for rowid in rng.sample(unique, KNOWN):
        paper = papers[rowid]
        words = [w for w in re.findall(r"\w[\w'-]*", paper.title) if w.lower() not in STOP]
        if len(words) > 1:
            words.pop(rng.randrange(len(words)))
        found = abstract_sentences(paper.abstract)
        sentence = found[len(found) // 2] if found else paper.abstract
        titles.append((paper.title, rowid))
        title_1.append((plain(" ".join(words)), rowid))
        sentences.append((plain(sentence), rowid))
    hostile = []
    for rowid in unique:
        for sentence in abstract_sentences(papers[rowid].abstract):
            if not re.search(r':|\[|\$|--|"', sentence):
                continue
            if sentence.count('"') >= 2:  # cut the closing quote: unbalanced, as selected
                cut = sentence.rfind('"')
                sentence = sentence[:cut] + sentence[cut + 1 :]
            hostile.append((sentence, rowid))
    return [
        QuerySet("titles", "known", titles),
        QuerySet("title-1", "known", title_1),
        QuerySet("sentences", "known", sentences),
        QuerySet("hostile", "known", hostile),
    ]


#: A sentence with any other character is pasted text: TeX, math, symbols, cited ids, quotes.
PASTED = re.compile(r"[^A-Za-z0-9 ,.\-]")


def pasted_set(collection: dict[int, Paper]) -> QuerySet:
    """Every abstract sentence of the whole collection (corpus and sample papers) holding a
    character besides letters, digits, spaces, commas, full stops and hyphens, pasted as is;
    a sentence found in two papers is left out (it names no one paper)."""
    owners: dict[str, set[int]] = {}
    for rowid, paper in sorted(collection.items()):
        for sentence in abstract_sentences(paper.abstract or ""):
            if PASTED.search(sentence):
                owners.setdefault(sentence, set()).add(rowid)
    queries = [(text, min(rows)) for text, rows in owners.items() if len(rows) == 1]
    return QuerySet("pasted", "known", queries)


def _by_category_name(papers: dict[int, Paper]) -> dict[str, set[int]]:
    by_name: dict[str, set[int]] = {}
    for rowid, paper in papers.items():
        for code in paper.categories:
            if code in CATEGORY_NAMES:
                by_name.setdefault(CATEGORY_NAMES[code], set()).add(rowid)
    return by_name


def topic_set(papers: dict[int, Paper], collection: dict[int, Paper]) -> QuerySet:
    """The category names held by MIN_TOPIC or more corpus papers; relevant are the papers of
    the whole `collection` that carry the category (sample papers from arXiv listings carry
    categories too, and a paper that meets the label must not count as a miss)."""
    judged = _by_category_name(collection)
    queries = [
        (name, {r: 1.0 for r in judged[name]})
        for name, rows in sorted(_by_category_name(papers).items())
        if len(rows) >= MIN_TOPIC
    ]
    return QuerySet("topics", "topic", queries)


def _phrase_key(a: str, b: str) -> tuple[str, str]:
    """Singular and plural title bigrams are one phrase ("point cloud", "point clouds")."""
    return (a.removesuffix("s"), b.removesuffix("s"))


def _title_words(paper: Paper) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]*", paper.title)]


def phrase_set(papers: dict[int, Paper], collection: dict[int, Paper]) -> QuerySet:
    """Keyphrases of the corpus titles: two adjacent content words (no stop word, both of three
    letters or more) in no fewer than MIN_PHRASE and no more than MAX_PHRASE titles, singular
    and plural taken as one. Left out: fragments of a longer phrase (the same word follows or
    precedes it in FRAGMENT of its titles: "convolutional neural", "series forecasting") and
    phrases ending in a generic word ("learning approach"). The query is the phrase's most
    frequent form; relevant are the papers of the whole `collection` whose title holds the
    phrase in any form (the phrases are chosen on the corpus, as before; judging only the corpus
    counted sample papers with the phrase in their title as misses)."""
    holders: dict[tuple[str, str], set[int]] = {}
    forms: dict[tuple[str, str], dict[str, int]] = {}
    around: dict[tuple[str, str], dict[tuple[int, str], int]] = {}
    for rowid, paper in papers.items():
        words = _title_words(paper)
        for i, (a, b) in enumerate(itertools.pairwise(words)):
            if a in STOP or b in STOP or len(a) < 3 or len(b) < 3 or b in GENERIC:
                continue
            key = _phrase_key(a, b)
            holders.setdefault(key, set()).add(rowid)
            counts = forms.setdefault(key, {})
            counts[f"{a} {b}"] = counts.get(f"{a} {b}", 0) + 1
            near = around.setdefault(key, {})
            for side, j in ((-1, i - 1), (1, i + 2)):
                if 0 <= j < len(words):
                    near[(side, words[j])] = near.get((side, words[j]), 0) + 1
    chosen = [
        key
        for key, rows in sorted(holders.items())
        if MIN_PHRASE <= len(rows) <= MAX_PHRASE
        and max(around[key].values(), default=0) < FRAGMENT * sum(forms[key].values())
    ]
    judged: dict[tuple[str, str], set[int]] = {key: set() for key in chosen}
    for rowid, paper in collection.items():
        for a, b in itertools.pairwise(_title_words(paper)):
            key = _phrase_key(a, b)
            if key in judged:
                judged[key].add(rowid)
    queries = [
        (max(sorted(forms[key]), key=forms[key].get), {r: 1.0 for r in judged[key]})
        for key in chosen
    ]
    return QuerySet("phrases", "topic", queries)


def hf_set(store: SQLiteStore) -> QuerySet:
    ranks = {}
    for rowid, paper in store.iter_papers():
        rank = paper.external_ids.get("page_rank")
        if "page-hf-search" in paper.sources and rank:
            ranks[rowid] = int(rank)
    return QuerySet("hf-page", "hf", [(HF_QUERY, ranks)])


def hf_api_set(store: SQLiteStore) -> QuerySet:
    """The Hugging Face search API's answer to `kazakh`, in its order (imported by `build`)."""
    answer = json.loads(HF_API_ANSWER.read_text(encoding="utf-8"))
    ranks = {}
    for rank, item in enumerate(answer, start=1):
        rowid = store.resolve(item["paper"]["id"])
        if rowid is not None:
            ranks[rowid] = rank
    return QuerySet("hf-kazakh", "hf", [(HF_API_QUERY, ranks)])


@cache
def _s2_answer() -> list[dict]:
    """The papers of the recorded Semantic Scholar answer, in its order (read once: the set
    and its reference line both need it)."""
    cassette = yaml.safe_load(S2_ANSWER.read_text(encoding="utf-8"))
    return json.loads(cassette["interactions"][0]["response"]["content"])["data"]


def s2_set(store: SQLiteStore) -> QuerySet:
    """Semantic Scholar's search answer to `turing`, in its order (the recorded cassette,
    imported by `build`): 100 papers, every one holding the word. Matched by title among the
    papers read from Semantic Scholar (the answer carries no id the store resolves)."""
    answer = _s2_answer()
    by_title: dict[str, int] = {}
    for rowid, paper in store.iter_papers():
        if "semantic-scholar" in paper.sources:
            by_title.setdefault(title_key(paper.title), rowid)
    ranks: dict[int, int] = {}
    for rank, item in enumerate(answer, start=1):
        rowid = by_title.get(title_key(item["title"]))
        if rowid is not None and rowid not in ranks:
            ranks[rowid] = rank
    return QuerySet("s2-turing", "hf", [(S2_QUERY, ranks)])


def arxiv_set(store: SQLiteStore) -> QuerySet:
    """arXiv's search answer to `testing`, in its order (imported by `build`). The recorder
    stored the body's UTF-8 bytes decoded as Latin-1."""
    body = json.loads(ARXIV_ANSWER.read_text(encoding="utf-8"))["body"]
    entries = re.findall(r"<entry>.*?</entry>", body.encode("latin-1").decode("utf-8"), re.S)
    ranks = {}
    for rank, entry in enumerate(entries, start=1):
        arxiv_id = re.search(r"<id>https?://arxiv\.org/abs/([^<]+?)(?:v\d+)?</id>", entry)
        rowid = store.resolve(arxiv_id.group(1)) if arxiv_id else None
        if rowid is not None:
            ranks[rowid] = rank
    return QuerySet("arxiv-testing", "hf", [(ARXIV_QUERY, ranks)])


def order_references(sets: list[QuerySet]) -> str:
    """What each answer's order alone is worth: its own papers in random orders (all the right
    papers, in no particular order), and for Semantic Scholar's, sorted by citations."""
    lines = ["each answer's own papers in random orders, nDCG@10 mean and 5-95th percentile:"]
    for qs in sets:
        if qs.kind != "hf":
            continue
        _, ranks = qs.queries[0]
        rng, shuffled, chance = random.Random(SEED), sorted(ranks), []
        for _ in range(1000):
            rng.shuffle(shuffled)
            chance.append(hf_metrics(shuffled, ranks)["nDCG@10"])
        low, high = np.percentile(chance, [5, 95])
        lines.append(f"  {qs.name:<13} {np.mean(chance):.3f} [{low:.3f}, {high:.3f}]")
    turing = next(qs for qs in sets if qs.name == "s2-turing")
    _, ranks = turing.queries[0]
    by_rank = {rank: rowid for rowid, rank in ranks.items()}
    cites = {
        by_rank[rank]: item.get("citationCount") or 0
        for rank, item in enumerate(_s2_answer(), start=1)
        if rank in by_rank
    }
    by_cites = sorted(cites, key=lambda r: (-cites[r], ranks[r]))
    lines.append(
        f"s2-turing: the answer's own papers sorted by citation count score nDCG@10 "
        f"{hf_metrics(by_cites, ranks)['nDCG@10']:.3f}: its order is mostly popularity, which "
        f"paperscope's relevance does not use"
    )
    return "\n".join(lines)


# ---------------------------------------------------------------- candidate lists


@dataclass
class Sides:
    semantic: list[tuple[int, float]]  # the nearest papers, floor or not (hybrid's candidates)
    passed: list[tuple[int, float]] = field(default_factory=list)  # above the semantic floor
    lexical: list[tuple[int, float]] = field(default_factory=list)  # lexical mode
    relaxed: list[tuple[int, float]] = field(default_factory=list)  # hybrid's lexical side


class Runner:
    """Computes each query's candidate lists once per lexical configuration."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine
        self.semantic: dict[str, tuple[list, list]] = {}

    def sides(self, text: str) -> Sides | None:
        try:
            node = q.parse_query(text).node
        except QueryError:
            return None
        free, filters = q.split_query(node)
        if free is None:
            semantic, passed = [], []
        else:
            key = q.free_text(free) + repr(filters)
            if key not in self.semantic:
                self.semantic[key] = self.engine._semantic_matches(free, filters, CANDIDATES)
            semantic, passed = self.semantic[key]
        lexical, _ = self.engine.lexical.search(node, limit=CANDIDATES)
        relaxed, _ = self.engine._lexical_side(node, CANDIDATES)
        return Sides(semantic, passed, lexical, relaxed)


def doc_vectors(store: SQLiteStore, engine: SearchEngine) -> dict[int, np.ndarray]:
    """Every paper's whole-text vector, loaded once (the engine reads a query's from the store)."""
    rowids = [r for (r,) in store.conn.execute("SELECT rowid FROM papers WHERE NOT deleted")]
    blobs = store.passage_vectors(engine.embedder.version, DOC_PASSAGE, rowids)
    return {r: np.frombuffer(blob, dtype=np.float32) for r, blob in blobs.items()}


@dataclass(frozen=True)
class Fusion:
    """How hybrid combines the two sides: a weighted sum (`share`, `scale`) or RRF (`rrf_k`),
    then the neighbourhood re-ranking (`seeds`, `near`; 0 is off)."""

    share: float = fusion.LEXICAL_SHARE
    scale: str = fusion.SEMANTIC_SCALE
    seeds: int = fusion.NEIGHBOURHOOD_SEEDS
    near: float = fusion.NEIGHBOURHOOD_SHARE
    rrf_k: int = 0

    def __str__(self) -> str:
        first = (
            f"rrf {self.share} k{self.rrf_k}" if self.rrf_k else f"sum {self.share} {self.scale}"
        )
        return first + (f", near {self.seeds}/{self.near}" if self.near else ", near off")


DEFAULT = Fusion()
VECTORS: dict[int, np.ndarray] = {}


def ranked(sides: Sides | None, mode: str, how: Fusion = DEFAULT) -> list[int]:
    if sides is None:
        return []
    if mode == "lexical":
        return [r for r, _ in sides.lexical]
    if mode == "semantic":  # only papers above the relevance floor are listed
        return [r for r, _ in sides.passed]
    if how.rrf_k:
        weights = [how.share, 1 - how.share]
        fused = fusion.rrf([sides.relaxed, sides.semantic], weights, k=how.rrf_k)
    else:
        fused = fusion.weighted_sum(
            sides.relaxed, sides.semantic, share=how.share, semantic_scale=how.scale
        )
    # as the engine: ranked over every candidate, listed when a lexical match or above the floor
    members = {r for r, _ in sides.relaxed} | {r for r, _ in sides.passed}
    listed = [item for item in fused if item[0] in members]
    listed = fusion.neighbourhood(listed, VECTORS, seeds=how.seeds, share=how.near)
    return [r for r, _ in listed]


# ---------------------------------------------------------------- metrics


def _dcg(gains: list[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def hf_metrics(rows: list[int], ranks: dict[int, int]) -> dict[str, float]:
    """The page's own top 10 is the ideal; a page shorter than 10 (20) has fewer to find."""
    page = [ranks.get(r) for r in rows[:20]]
    n = len(ranks)
    new = [1 / math.log2(r + 1) if r and r <= 20 else 0.0 for r in page[:10]]
    ideal_new = [1 / math.log2(r + 1) for r in range(1, min(10, n) + 1)]
    old = [(n + 1 - r) if r else 0 for r in page[:10]]
    ideal_old = [n + 1 - r for r in range(1, min(10, n) + 1)]
    return {
        "nDCG@10": _dcg(new) / _dcg(ideal_new),
        "nDCG@10 old gain": _dcg(old) / _dcg(ideal_old),
        "overlap@10": sum(1 for r in page[:10] if r and r <= 10) / min(10, n),
        "overlap@20": sum(1 for r in page if r and r <= 20) / min(20, n),
    }


def reciprocal_rank(rows: list[int], target: int) -> float:
    for i, rowid in enumerate(rows[:10], start=1):
        if rowid == target:
            return 1 / i
    return 0.0


def topic_ndcg(rows: list[int], relevant: dict[int, float]) -> float:
    gains = [relevant.get(r, 0.0) for r in rows[:10]]
    ideal = sorted(relevant.values(), reverse=True)[:10]
    return _dcg(gains) / _dcg(ideal)


MAIN = {"hf": "nDCG@10", "known": "MRR@10", "topic": "nDCG@10"}


def score_set(qs: QuerySet, sides: list[Sides | None], mode: str, how: Fusion = DEFAULT) -> dict:
    return score_rows(qs, [ranked(side, mode, how) for side in sides])


def score_rows(qs: QuerySet, lists: list[list[int]]) -> dict:
    """A set's figures from each query's ranked rowids."""
    if qs.kind == "hf":
        return hf_metrics(lists[0], qs.queries[0][1])
    values = query_values(qs, lists)
    return {MAIN[qs.kind]: sum(values) / len(values)}


def query_values(qs: QuerySet, lists: list[list[int]]) -> list[float]:
    """Each query's main figure (a set of many queries: known items or labels)."""
    return [
        reciprocal_rank(rows, target) if qs.kind == "known" else topic_ndcg(rows, target)
        for (_, target), rows in zip(qs.queries, lists, strict=True)
    ]


def paired_interval(diffs: np.ndarray, rounds: int = BOOTSTRAP) -> tuple[float, float]:
    """95% interval of the mean of per-query differences, resampling the queries (paired
    bootstrap): how far a set's margin could move with other queries of the same kind."""
    rng = np.random.default_rng(SEED)
    means = diffs[rng.integers(0, len(diffs), size=(rounds, len(diffs)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def count_errors(qs: QuerySet) -> None:
    for strict in (False, True):
        errors = 0
        for text, _ in qs.queries:
            try:
                q.parse_query(text, strict=strict)
            except QueryError:
                errors += 1
        qs.errors["strict" if strict else "default"] = errors


def similar_share(engine: SearchEngine, mode: str, papers: dict[int, Paper], n: int) -> float:
    rng = random.Random(SEED)
    allowed = np.asarray(sorted(papers), dtype=np.int64)
    shares = []
    for rowid in rng.sample(sorted(papers), n):
        hits = engine.similar_rowid(rowid, limit=10, mode=mode, within=allowed)
        label = papers[rowid].categories[0]
        shares.append(sum(1 for h in hits if h.paper.categories[:1] == [label]) / 10)
    return sum(shares) / len(shares)


# ---------------------------------------------------------------- runs


LEXICAL_PARAMS = (
    "TITLE_PAIR_BOOST",
    "ABSTRACT_PAIR_BOOST",
    "PAIR_SLOP",
    "TITLE_EXACT_PAIR_BOOST",
    "ABSTRACT_EXACT_PAIR_BOOST",
    "RELAX_BELOW",
)
#: The lexical setting before issue 10's adjacency evidence: its fusion grid is swept too.
PREVIOUS_LEXICAL = (2.0, 1.0, 1, 0.0, 0.0, 0)
#: Lexical settings swept at the default fusion (beside the default and PREVIOUS_LEXICAL).
LEXICAL_GRID = (
    (0.0, 0.0, 1, 0.0, 0.0, 0),  # no pair evidence
    (2.0, 1.0, 2, 0.0, 0.0, 0),  # slop 2 alone
    (2.0, 1.0, 0, 0.0, 0.0, 0),  # adjacency alone, at the pair boosts
    (0.0, 0.0, 1, 2.0, 1.0, 0),  # adjacency alone, at the exact boosts
    (2.0, 1.0, 1, 2.0, 1.0, 0),
    (2.0, 1.0, 3, 2.0, 1.0, 0),
    (2.0, 1.0, 2, 1.0, 0.5, 0),
    (2.0, 1.0, 2, 4.0, 2.0, 0),
    (2.0, 1.0, 2, 2.0, 0.0, 0),  # titles only for adjacency
    (2.0, 1.0, 2, 2.0, 1.0, 1),  # relaxed side when nothing holds every word
    (2.0, 1.0, 2, 2.0, 1.0, 20),
)


def lexical_config() -> tuple:
    return tuple(getattr(lexical_module, name) for name in LEXICAL_PARAMS)


def set_lexical(config: tuple) -> None:
    for name, value in zip(LEXICAL_PARAMS, config, strict=True):
        setattr(lexical_module, name, value)


def all_sides(runner: Runner, sets: list[QuerySet]) -> dict[str, list[Sides | None]]:
    return {qs.name: [runner.sides(text) for text, _ in qs.queries] for qs in sets}


def table(sets: list[QuerySet], sides: dict) -> dict[tuple[str, str], dict]:
    return {(qs.name, mode): score_set(qs, sides[qs.name], mode) for qs in sets for mode in MODES}


def print_table(sets: list[QuerySet], results: dict) -> None:
    print(f"{'set':<13} {'metric':<18} {'queries':>7}" + "".join(f"{m:>10}" for m in MODES))
    for qs in sets:
        for metric in results[(qs.name, "hybrid")]:
            row = "".join(f"{results[(qs.name, m)][metric]:>10.3f}" for m in MODES)
            print(f"{qs.name:<13} {metric:<18} {len(qs.queries):>7}{row}")


def verdicts(sets: list[QuerySet], results: dict, sides: dict) -> None:
    print("\nper set, main figure: hybrid against the better single mode; on a set of many")
    print("queries, the 95% paired-bootstrap interval of that margin and the queries where")
    print("hybrid is ahead / behind (a set of one query has no interval)")
    for qs in sets:
        metric = MAIN[qs.kind]
        lex, sem, hyb = (results[(qs.name, m)][metric] for m in MODES)
        best = max(lex, sem)
        state = "beats both" if hyb > best else ("within 0.01" if hyb >= best - 0.01 else "BELOW")
        # the margin in full: a lead of 0.0007 prints as 0.201 against 0.201
        line = (
            f"  {qs.name:<13} {metric:<8} hybrid {hyb:.3f}  best single {best:.3f}  {state} "
            f"({hyb - best:+.4f})"
        )
        if len(qs.queries) > 1:
            rival = "lexical" if lex >= sem else "semantic"
            per = {
                m: np.array(query_values(qs, [ranked(sd, m) for sd in sides[qs.name]]))
                for m in ("hybrid", rival)
            }
            diffs = per["hybrid"] - per[rival]
            low, high = paired_interval(diffs)
            line += (
                f"  against {rival}: [{low:+.4f}, {high:+.4f}], "
                f"{int((diffs > 0).sum())} ahead / {int((diffs < 0).sum())} behind"
            )
        print(line)


def reference_rankers(sets: list[QuerySet], collection: dict[int, Paper], results: dict) -> None:
    """Hybrid against issue 10's two reference rankers (bench/text_baselines.py)."""
    texts = {r: f"{p.title} {p.abstract or ''}" for r, p in collection.items()}
    rankers = {"BM25": text_baselines.bm25(texts), "TF-IDF 1-2": text_baselines.tfidf_pairs(texts)}
    print(
        "\nissue 10's reference rankers (title + abstract as one text; bench/text_baselines.py), "
        "main figure"
    )
    print(f"  {'set':<13} {'metric':<8}" + "".join(f"{n:>12}" for n in rankers) + f"{'hybrid':>10}")
    for qs in sets:
        metric = MAIN[qs.kind]
        figures = [
            score_rows(qs, [rank(text) for text, _ in qs.queries])[metric]
            for rank in rankers.values()
        ]
        hyb = results[(qs.name, "hybrid")][metric]
        margin = hyb - max(figures)
        print(
            f"  {qs.name:<13} {metric:<8}"
            + "".join(f"{f:>12.3f}" for f in figures)
            + f"{hyb:>10.3f}  ({margin:+.4f} against the better)"
        )


def respelled(
    runner: Runner, sets: list[QuerySet], heading: str, column: str, rewrite: Callable[[str], str]
) -> None:
    """The queries of the label sets and the HF page that `rewrite` changes, as rewritten: no
    set of its own, a check that a way of writing does not change what is found
    (docs/search.md). The last column is hybrid on the same queries as the sets have them."""
    print(f"\n{heading}, main figure")
    print(f"  {'set':<13} {'queries':>7}" + "".join(f"{m:>10}" for m in MODES) + f"   {column}")
    for qs in sets:
        if qs.name not in ("hf-page", "topics", "phrases"):
            continue
        changed = [(new, t, rel) for t, rel in qs.queries if (new := rewrite(t)) != t]
        if not changed:
            print(f"  {qs.name:<13} {0:>7}")
            continue
        variant = QuerySet(qs.name, qs.kind, [(new, rel) for new, _, rel in changed])
        sides = [runner.sides(new) for new, _, _ in changed]
        figures = [score_set(variant, sides, mode)[MAIN[qs.kind]] for mode in MODES]
        typed = [runner.sides(old) for _, old, _ in changed]
        plain = score_set(variant, typed, "hybrid")[MAIN[qs.kind]]
        print(
            f"  {qs.name:<13} {len(changed):>7}"
            + "".join(f"{f:>10.3f}" for f in figures)
            + f"{plain:>10.3f}"
        )


def hyphenated(text: str) -> str:
    """A multi-word query written with hyphens ("global-normalization"), as people write
    compounds (docs/search.md, hyphenated words)."""
    return text.replace(" ", "-")


def in_british(collection: dict[int, Paper]) -> Callable[[str], str]:
    """A rewrite of a query into British spelling ("global normalisation"), word by word, where
    some paper of `collection` writes the British form (a rule alone also makes words nobody
    writes, "factour")."""
    held = {
        token
        for paper in collection.values()
        for token in lexical_module.FOLD.analyze(f"{paper.title} {paper.abstract or ''}")
    }

    def word(match: re.Match) -> str:
        text = match[0]
        british = british_spelling(text.lower())
        if british is None or british not in held:
            return text
        return british.capitalize() if text[0].isupper() else british

    return lambda text: re.sub(r"[A-Za-z]+", word, text)


def check_against_engine(engine: SearchEngine, sets: list[QuerySet]) -> None:
    """The fusion here must be the engine's: compare the top 10 on a sample of queries."""
    rng = random.Random(SEED)
    sample = [text for qs in sets for text, _ in rng.sample(qs.queries, min(5, len(qs.queries)))]
    runner = Runner(engine)
    same = 0
    for text in sample:
        mine = ranked(runner.sides(text), "hybrid")[:10]
        theirs = [h.rowid for h in engine.search(text, mode="hybrid", limit=10, strict=False).hits]
        same += mine == theirs
    print(f"engine check: {same}/{len(sample)} sampled queries give the engine's hybrid top 10")


def fusion_grid() -> list[Fusion]:
    """Weighted sums with and without the neighbourhood re-ranking, min-max scaling, RRF."""
    grid = []
    for share in (0.6, 0.7, 0.75, 0.8):
        grid.append(Fusion(share, "max", near=0.0))
        for seeds, near in itertools.product((5, 10, 20), (0.2, 0.3, 0.4)):
            grid.append(Fusion(share, "max", seeds, near))
    for share in (0.6, 0.75):
        grid += [Fusion(share, "minmax", near=0.0), Fusion(share, "minmax")]
    for share, k in itertools.product((0.5, 0.7), (20, 60)):
        grid += [Fusion(share, rrf_k=k, near=0.0), Fusion(share, rrf_k=k)]
    return grid


def sweep(engine: SearchEngine, sets: list[QuerySet], sides: dict) -> None:
    """Every lexical configuration at the default fusion, every fusion at the default lexical
    configuration and at the previous one; then the leave-one-set-out check over all of them."""
    default_lexical = lexical_config()
    runner = Runner(engine)
    names = [qs.name for qs in sets]
    scores: dict[tuple, dict[str, float]] = {}
    #: per lexical configuration: the better single mode's main figure on each set
    single: dict[tuple, dict[str, float]] = {}

    def run(key: tuple, sides: dict, how: Fusion) -> None:
        figures = {}
        for qs in sets:
            got = score_set(qs, sides[qs.name], "hybrid", how)
            figures[qs.name] = got[MAIN[qs.kind]]
            if qs.name == "hf-page":
                figures["hf ov@20"] = got["overlap@20"]
        scores[key] = figures

    def singles(config: tuple, sides: dict) -> None:
        single[config] = {
            qs.name: {
                m: score_set(qs, sides[qs.name], m)[MAIN[qs.kind]] for m in ("lexical", "semantic")
            }
            for qs in sets
        }

    kinds = {qs.name: qs.kind for qs in sets}
    previous_sides = None
    for config in (*LEXICAL_GRID, PREVIOUS_LEXICAL):
        if config == default_lexical:
            continue
        set_lexical(config)
        config_sides = all_sides(runner, sets)
        singles(config, config_sides)
        run((config, DEFAULT), config_sides, DEFAULT)
        if config == PREVIOUS_LEXICAL:
            previous_sides = config_sides
    set_lexical(default_lexical)
    singles(default_lexical, sides)
    for how in fusion_grid():
        run((default_lexical, how), sides, how)
        if previous_sides is not None:
            run((PREVIOUS_LEXICAL, how), previous_sides, how)
    default = (default_lexical, DEFAULT)
    run(default, sides, DEFAULT)
    previous = (PREVIOUS_LEXICAL, Fusion(seeds=10, near=0.4))

    def label(key: tuple) -> str:
        mark = " *" if key == default else (" (previous)" if key == previous else "")
        return f"{key[0]} {key[1]}" + mark

    def keeps(key: tuple, among: list[str]) -> bool:
        """The issue's targets on the page: nDCG@10 >= 0.72 and overlap@20 >= 0.55."""
        s = scores[key]
        return "hf-page" not in among or (s["hf-page"] >= 0.72 and s["hf ov@20"] >= 0.55)

    def meets(key: tuple, among: list[str]) -> int:
        """Sets of `among` where hybrid meets issue 10's target: at most 0.01 below the better
        single mode, and above both on the topic sets."""
        best_single = single[key[0]]
        met = 0
        for n in among:
            top = max(best_single[n].values())
            met += scores[key][n] > top if kinds[n] == "topic" else scores[key][n] >= top - 0.01
        return met

    (OUT / "search_sweep.json").write_text(
        json.dumps([{"setting": label(k), **v} for k, v in scores.items()], indent=1)
    )
    best_per_set = {n: max(s[n] for s in scores.values()) for n in names}

    def wins(key: tuple, among: list[str]) -> int:
        return sum(scores[key][n] >= best_per_set[n] - 0.01 for n in among)

    def mean(key: tuple, among: list[str]) -> float:
        return float(np.mean([scores[key][n] for n in among]))

    def rank(key: tuple, among: list[str]) -> tuple:
        return (keeps(key, among), wins(key, among), mean(key, among))

    print(
        f"\nsweep: {len(scores)} settings: (title, abstract pair boost, pair slop, title, abstract"
    )
    print("adjacency boost, relax below), fusion (weighted sum share and semantic scaling, or RRF")
    print("weight and k; neighbourhood seeds/share); main figure of hybrid per set; met = sets")
    print("meeting the issue's per-set target; wins = sets within 0.01 of the best setting on that")
    print("set; * the default. Order: keeps the page targets, wins, mean (met is not used)")
    width = {n: max(10, len(n) + 1) for n in names}  # a column per set, its name in full
    head = "".join(f"{n:>{width[n]}}" for n in names)
    print(f"{'setting':<66}{head}{'hf ov@20':>9}{'mean':>7}{'met':>4}{'wins':>5}")
    order = sorted(scores, key=lambda k: rank(k, names), reverse=True)
    shown = order[:25] + [k for k in (default, previous) if k in scores and k not in order[:25]]
    for key in shown:
        s = scores[key]
        row = "".join(f"{s[n]:>{width[n]}.3f}" for n in names)
        print(
            f"{label(key):<66}{row}{s['hf ov@20']:>9.2f}{mean(key, names):>7.3f}"
            f"{meets(key, names):>4}{wins(key, names):>5}"
            + ("" if keeps(key, names) else "  misses a page target")
        )
    print("\nleave one set out: the best setting on the other sets (same order), and its figure")
    print("on the set left out")
    print(
        f"{'left out':<13} {'chosen':<66} {'left-out':>9} {'default':>8} "
        f"{'previous':>9} {'best':>6}"
    )
    for name in names:
        others = [n for n in names if n != name]
        chosen = max(scores, key=lambda k: rank(k, others))
        print(
            f"{name:<13} {label(chosen):<66} {scores[chosen][name]:>9.3f} "
            f"{scores[default][name]:>8.3f} {scores[previous][name]:>9.3f} "
            f"{best_per_set[name]:>6.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=OUT / "quality.db")
    ap.add_argument("--sweep", action="store_true", help="also fit and check the parameters")
    args = ap.parse_args()
    store = build(args.db)
    engine = SearchEngine(store)
    VECTORS.update(doc_vectors(store, engine))
    papers = corpus_rowids(store)
    collection = collection_rowids(store)
    sets = [
        hf_set(store),
        hf_api_set(store),
        s2_set(store),
        arxiv_set(store),
        *known_item_sets(papers),
        pasted_set(collection),
        topic_set(papers, collection),
        phrase_set(papers, collection),
    ]
    print(f"corpus: {store.count()} papers, {store.count_embedded()} embedded")
    print(
        f"ranking: {DEFAULT}; title/abstract pair boost "
        f"{lexical_module.TITLE_PAIR_BOOST}/{lexical_module.ABSTRACT_PAIR_BOOST} "
        f"(slop {lexical_module.PAIR_SLOP}), adjacent "
        f"{lexical_module.TITLE_EXACT_PAIR_BOOST}/{lexical_module.ABSTRACT_EXACT_PAIR_BOOST}; "
        f"relaxed lexical side below "
        f"{lexical_module.RELAX_BELOW} full matches (share {lexical_module.RELAX_SHARE}); "
        f"similar: {search_module.SIMILAR_MODE}\n"
    )
    t, cpu = time.perf_counter(), time.process_time()
    sides = all_sides(Runner(engine), sets)
    results = table(sets, sides)
    print_table(sets, results)
    print("\n" + order_references(sets))
    for qs in sets:
        count_errors(qs)
    print(
        "\nqueries answered with an error, default / --strict: "
        + ", ".join(f"{qs.name} {qs.errors['default']}/{qs.errors['strict']}" for qs in sets)
    )
    verdicts(sets, results, sides)
    shares = {m: similar_share(engine, m, papers, 300) for m in MODES}
    print(
        "\nsimilar, same first category@10: " + ", ".join(f"{m} {v:.3f}" for m, v in shares.items())
    )
    print(f"({time.perf_counter() - t:.0f} s, {time.process_time() - cpu:.0f} s CPU)")
    reference_rankers(sets, collection, results)
    respelled(
        Runner(engine),
        sets,
        "written with hyphens (spaces of multi-word queries as '-')",
        "as spaced",
        hyphenated,
    )
    respelled(
        Runner(engine),
        sets,
        "written in British spelling where papers write it (normalisation, behaviour)",
        "American",
        in_british(collection),
    )
    check_against_engine(engine, sets)
    if args.sweep:
        sweep(engine, sets, sides)
        print(f"(all: {time.perf_counter() - t:.0f} s, {time.process_time() - cpu:.0f} s CPU)")


if __name__ == "__main__":
    main()
