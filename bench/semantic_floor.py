"""Calibrating the semantic relevance floor (paperscope.rank.search.SEMANTIC_FLOOR).

Below the floor, semantic and hybrid search say "no papers match" and offer the nearest papers
as "related" only. The floor must sit above what queries that mean nothing reach, and below
what real queries give the papers they are after. Corpus: the one of bench/search_quality.py
(every paper in samples/ plus the 1,000 real abstracts of samples/corpus as distractors).

Real queries, each with the paper(s) it should find:
  (a) known items: 300 corpus papers, queried by their title less one content word and by
      one sentence from the middle of their abstract (search_quality's queries);
  (b) the Hugging Face search page for "global normalization": the papers it listed;
  (c) 25 short topic queries ("LLM", "protein", "graph neural networks"): any paper left?
Queries that mean nothing:
  (d) zzqqxxnonexistentword, 100 random letter strings (seeded), and 20 phrases from outside
      the field (cooking, sport, travel).

For each candidate floor: how many known-item queries lose their paper in semantic mode (its
best-passage cosine is below the floor) and in hybrid mode (below the floor and no lexical
match either), how many page papers of (b) fall below it, how many topics of (c) keep no paper,
and how many nonsense queries still have a paper above it. Prints the figures; never asserts.

Usage: python bench/semantic_floor.py [--db PATH]
"""

from __future__ import annotations

import argparse
import random
import string
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paperscope.rank import query as q
from paperscope.rank.search import SEMANTIC_FLOOR, SearchEngine
from search_quality import OUT, build, corpus_rowids, known_item_sets
from synth import ROOT

FLOORS = (0.20, 0.22, 0.24, 0.26, 0.28, 0.30, 0.32, 0.34, 0.36, 0.40)
OFF_FIELD = (
    "banana bread recipe",
    "football world cup results",
    "cheap flights to lisbon",
    "how to knit a scarf",
    "best pizza in naples",
    "tennis grand slam winners",
    "gardening tips for tomatoes",
    "wedding dress shopping",
    "used car prices",
    "chocolate cake without eggs",
    "marathon training plan",
    "hotel booking paris",
    "dog grooming near me",
    "red wine pairing cheese",
    "yoga for beginners",
    "kitchen renovation ideas",
    "baseball batting average",
    "ski resorts in the alps",
    "vegetable soup",
    "birthday party games",
)
SEED = 7
TOPICS = (
    "transformer", "reinforcement learning", "graph neural networks", "diffusion models",
    "federated learning", "GAN", "image segmentation", "attention", "LLM", "optimizer",
    "clustering", "learning", "normalization", "robotics", "speech recognition",
    "machine translation", "anomaly detection", "time series forecasting", "point cloud",
    "few-shot learning", "adversarial examples", "knowledge distillation",
    "contrastive learning", "recommendation", "protein",
)  # fmt: skip


def random_strings() -> list[str]:
    rng = random.Random(SEED)
    return [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(6, 14)))
        for _ in range(100)
    ]


def lexical_match(engine: SearchEngine, text: str, rowid: int) -> bool:
    return any(r == rowid for r, _ in engine.lexical.search(q.parse(text), limit=2000)[0])


def best_score(engine: SearchEngine, text: str) -> float:
    found = engine.vectors.search(engine._embed_query(text), 1)
    return found[0][1] if found else 0.0


def item_score(engine: SearchEngine, text: str, rowid: int) -> float:
    """The best-passage cosine of paper `rowid` for the query `text`."""
    allowed = np.array([rowid], dtype=np.int64)
    found = engine.vectors.search(engine._embed_query(text), 1, allowed=allowed)
    return found[0][1] if found else 0.0


def hf_page_scores(engine: SearchEngine) -> list[float]:
    page = ROOT / "samples" / "pages" / "hf-search-global-normalization.txt"
    rowids = [
        r[0]
        for r in engine.store.conn.execute(
            "SELECT p.rowid FROM papers p WHERE p.rowid IN (SELECT paper_rowid FROM "
            "paper_sources WHERE origin LIKE '%' || ?)",
            (page.name,),
        )
    ]
    if not rowids:  # stores that do not keep origins per paper: match on the page's titles
        text = page.read_text("utf-8")
        rowids = [r for r, p in engine.store.iter_papers() if p.title and p.title in text]
    return [item_score(engine, "global normalization", r) for r in rowids]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=OUT / "quality.db")
    args = ap.parse_args()
    store = build(args.db)
    engine = SearchEngine(store)
    papers = corpus_rowids(store)
    sets = {qs.name: qs for qs in known_item_sets(papers)}
    known = [  # (rowid, full title, sentence): the same sampled papers in both sets
        (rowid, title, sentence)
        for (title, rowid), (sentence, _) in zip(
            sets["titles"].queries, sets["sentences"].queries, strict=True
        )
    ]
    titles = [item_score(engine, title, r) for r, title, _ in known]
    sentences = [item_score(engine, sentence, r) for r, _, sentence in known]
    # a known item a hybrid search still finds by its words, whatever its cosine
    worded = [lexical_match(engine, t, r) for r, t, _ in known] + [
        lexical_match(engine, s_, r) for r, _, s_ in known
    ]
    page = hf_page_scores(engine)
    topics = {text: best_score(engine, text) for text in TOPICS}
    junk = best_score(engine, "zzqqxxnonexistentword")
    strings = [best_score(engine, text) for text in random_strings()]
    phrases = [best_score(engine, text) for text in OFF_FIELD]
    print(f"corpus: {store.count()} papers, {store.count_embedded()} embedded")
    print(
        f"known items: {len(known)} title queries, {len(known)} sentence queries; Hugging Face "
        f"page: {len(page)} papers; topics: {len(topics)}; nonsense: zzqqxxnonexistentword, "
        f"{len(strings)} random strings, {len(phrases)} off-field phrases"
    )
    for name, values in (("title", titles), ("sentence", sentences)):
        print(
            f"known-item cosine, {name} queries: min {min(values):.3f}, "
            f"p5 {np.percentile(values, 5):.3f}, median {np.median(values):.3f}"
        )
    weakest = min(topics, key=topics.get)
    print(f"topic queries, best paper: min {topics[weakest]:.3f} ({weakest!r})")
    for name, values in (("random strings", strings), ("off-field phrases", phrases)):
        print(
            f"{name}, best paper: median {np.median(values):.3f}, "
            f"p95 {np.percentile(values, 95):.3f}, max {max(values):.3f}"
        )
    print(f"zzqqxxnonexistentword, best paper: {junk:.3f}\n")
    n = len(known)
    print(
        "floor | semantic: title / sentence | hybrid: known | HF page | topics  | random "
        "strings | off-field | zzqq"
    )
    print(
        "      | queries losing their paper  | items lost    | below   | no paper| with a "
        "match  | w. match  | match"
    )
    for floor in sorted({*FLOORS, SEMANTIC_FLOOR}):
        mark = "  <- SEMANTIC_FLOOR" if floor == SEMANTIC_FLOOR else ""
        hybrid_lost = sum(
            not word and score < floor
            for word, score in zip(worded, titles + sentences, strict=True)
        )
        print(
            f"{floor:.2f}  | {sum(v < floor for v in titles):>3}/{n}    "
            f"{sum(v < floor for v in sentences):>3}/{n}       | {hybrid_lost:>3}/{2 * n}"
            f"       | {sum(v < floor for v in page):>2}/{len(page)}   "
            f"| {sum(v < floor for v in topics.values()):>2}/{len(topics)}   "
            f"| {sum(v >= floor for v in strings):>3}/{len(strings)}        "
            f"| {sum(v >= floor for v in phrases):>2}/{len(phrases)}     "
            f"| {'yes' if junk >= floor else 'no'}{mark}"
        )


if __name__ == "__main__":
    main()
