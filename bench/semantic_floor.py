"""Calibrating the semantic relevance floor (paperscope.rank.search.SEMANTIC_FLOOR).

Below the floor, semantic and hybrid search say "no papers match" and offer the nearest papers
as "related" only. The floor must sit above what queries that mean nothing reach, and below
what real queries give the papers they are after. Corpus: the one of bench/search_quality.py
(every paper in samples/ plus the 1,000 real abstracts of samples/corpus as distractors).

Real queries, each with the paper(s) it should find:
  (a) known items: 300 corpus papers, queried by their title less one content word and by
      one sentence from the middle of their abstract (search_quality's queries);
  (b) the Hugging Face search page for "global normalization": the papers it listed.
Queries that mean nothing:
  (c) 100 random letter strings (seeded), zzqqxxnonexistentword, and 20 phrases from outside
      the field (cooking, sport, travel).

For each candidate floor: how many real queries lose their known item (its best-passage cosine
is below the floor), how many page papers of (b) fall below it, and how many nonsense queries
still have a paper above it. Prints the figures; never asserts.

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
from paperscope.rank.search import SEMANTIC_FLOOR, SearchEngine
from search_quality import OUT, build, corpus_rowids, known_item_queries
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


def nonsense_queries() -> list[str]:
    rng = random.Random(SEED)
    words = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(6, 14)))
        for _ in range(100)
    ]
    return ["zzqqxxnonexistentword", *words, *OFF_FIELD]


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
    known = known_item_queries(papers)
    titles = [item_score(engine, title, r) for r, title, _ in known]
    sentences = [item_score(engine, sentence, r) for r, _, sentence in known]
    page = hf_page_scores(engine)
    junk = {text: best_score(engine, text) for text in nonsense_queries()}
    print(f"corpus: {store.count()} papers, {store.count_embedded()} embedded")
    print(
        f"known items: {len(known)} title queries, {len(known)} sentence queries; "
        f"Hugging Face page: {len(page)} papers; nonsense: {len(junk)} queries"
    )
    for name, values in (("title", titles), ("sentence", sentences)):
        print(
            f"known-item cosine, {name} queries: min {min(values):.3f}, "
            f"p5 {np.percentile(values, 5):.3f}, median {np.median(values):.3f}"
        )
    scores = sorted(junk.values())
    worst = max(junk, key=junk.get)
    print(
        f"nonsense best-paper cosine: median {np.median(scores):.3f}, p95 "
        f"{np.percentile(scores, 95):.3f}, max {scores[-1]:.3f} ({worst!r}); "
        f"zzqqxxnonexistentword {junk['zzqqxxnonexistentword']:.3f}\n"
    )
    print("floor  title queries  sentence queries  HF page papers  nonsense queries")
    print("       losing item    losing item       below floor     with a match")
    for floor in sorted({*FLOORS, SEMANTIC_FLOOR}):
        mark = "  <- SEMANTIC_FLOOR" if floor == SEMANTIC_FLOOR else ""
        print(
            f"{floor:.2f}   {sum(s < floor for s in titles):>3} of {len(titles)}"
            f"      {sum(s < floor for s in sentences):>3} of {len(sentences)}"
            f"         {sum(s < floor for s in page):>3} of {len(page)}"
            f"       {sum(s >= floor for s in scores):>3} of {len(scores)}{mark}"
        )


if __name__ == "__main__":
    main()
