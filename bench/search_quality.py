"""Search quality on real data only, lexical vs semantic vs hybrid side by side.

Corpus: every paper in samples/ (formats and pages) plus the 1,000 real abstracts of
samples/corpus/arxiv-ml-abstracts-1000.csv as distractors.

(a) `global normalization` against the Hugging Face search page it came from: overlap@10,
    overlap@20, and nDCG@10 where a paper at page rank r (of N) has graded relevance N + 1 - r.
(b) known-item search over 300 corpus papers: query = the title with stop words removed and one
    content word dropped; query = one sentence from the middle of the abstract. MRR@10.
(c) similar papers on the labelled corpus: share of the 10 nearest corpus papers that have the
    same first category.

Usage: python bench/search_quality.py [--db PATH] [--sweep]
"""

from __future__ import annotations

import argparse
import math
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import paperscope.rank.search as search_module
from paperscope.index.embedding import embed_missing
from paperscope.ingest.pipeline import expand_paths, import_file
from paperscope.model import Paper
from paperscope.normalize import title_key
from paperscope.rank import fusion
from paperscope.rank.search import SearchEngine
from paperscope.store.sqlite import SQLiteStore
from synth import OUT, ROOT, load_corpus

SAMPLES = ROOT / "samples"
MODES = ("lexical", "semantic", "hybrid")
STOP = set(
    "a an the of for and or in on to with by from at as is are be via into its it this that "
    "using towards toward based we our their over under than not no can do does".split()
)
SEED = 11


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


def plain(text: str) -> str:
    """Words only, so a sentence is never read as query syntax (fields, operators, quotes)."""
    words = re.findall(r"\w[\w'-]*", text)
    return " ".join(w.lower() if w in {"AND", "OR", "NOT", "ANDNOT"} else w for w in words)


def ndcg10(ranked_ranks: list[int | None], n_page: int) -> float:
    gains = [(n_page + 1 - r) if r else 0 for r in ranked_ranks[:10]]
    ideal = [n_page + 1 - r for r in range(1, 11)]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    return dcg / sum(g / math.log2(i + 2) for i, g in enumerate(ideal))


def hf_page(engine: SearchEngine, mode: str) -> tuple[float, float, float]:
    hits = engine.search("global normalization", mode=mode, limit=20).hits
    ranks = []
    for hit in hits:
        rank = hit.paper.external_ids.get("page_rank")
        on_page = "page-hf-search" in hit.paper.sources and rank
        ranks.append(int(rank) if on_page else None)
    n_page = engine.store.conn.execute(
        "SELECT count(*) FROM papers WHERE sources LIKE '%page-hf-search%'"
    ).fetchone()[0]
    o10 = sum(1 for r in ranks[:10] if r and r <= 10) / 10
    o20 = sum(1 for r in ranks[:20] if r and r <= 20) / 20
    return o10, o20, ndcg10(ranks, n_page)


def corpus_rowids(store: SQLiteStore) -> dict[int, Paper]:
    rows = store.conn.execute(
        "SELECT rowid FROM papers WHERE sources LIKE '%corpus-csv%' AND NOT deleted"
    ).fetchall()
    return store.load_rowids([r[0] for r in rows])


def known_item_queries(papers: dict[int, Paper]) -> list[tuple[int, str, str]]:
    rng = random.Random(SEED)
    by_title: dict[str, list[int]] = {}
    for rowid, p in papers.items():
        by_title.setdefault(title_key(p.title), []).append(rowid)
    unique = sorted(r for rows in by_title.values() if len(rows) == 1 for r in rows)
    out = []
    for rowid in rng.sample(unique, 300):
        paper = papers[rowid]
        words = [w for w in re.findall(r"\w[\w'-]*", paper.title) if w.lower() not in STOP]
        if len(words) > 1:
            words.pop(rng.randrange(len(words)))
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", paper.abstract) if len(s) > 30]
        sentence = sentences[len(sentences) // 2] if sentences else paper.abstract
        out.append((rowid, plain(" ".join(words)), plain(sentence)))
    return out


def mrr10(engine: SearchEngine, mode: str, queries: list[tuple[int, str]]) -> float:
    total = 0.0
    for rowid, text in queries:
        hits = engine.search(text, mode=mode, limit=10).hits
        for i, hit in enumerate(hits, start=1):
            if hit.rowid == rowid:
                total += 1 / i
                break
    return total / len(queries)


def similar_share(engine: SearchEngine, mode: str, papers: dict[int, Paper], n: int) -> float:
    rng = random.Random(SEED)
    allowed = np.asarray(sorted(papers), dtype=np.int64)
    shares = []
    for rowid in rng.sample(sorted(papers), n):
        hits = engine.similar_rowid(rowid, limit=10, mode=mode, within=allowed)
        label = papers[rowid].categories[0]
        shares.append(sum(1 for h in hits if h.paper.categories[:1] == [label]) / 10)
    return sum(shares) / len(shares)


def evaluate(engine: SearchEngine, modes=MODES, similar_n: int = 300) -> dict[str, dict]:
    papers = corpus_rowids(engine.store)
    queries = known_item_queries(papers)
    out = {}
    for mode in modes:
        t = time.perf_counter()
        o10, o20, nd = hf_page(engine, mode)
        title_mrr = mrr10(engine, mode, [(r, t_) for r, t_, _ in queries])
        sentence_mrr = mrr10(engine, mode, [(r, s) for r, _, s in queries])
        share = similar_share(engine, mode, papers, similar_n)
        out[mode] = {
            "overlap@10": o10,
            "overlap@20": o20,
            "nDCG@10": nd,
            "MRR@10 title-1": title_mrr,
            "MRR@10 sentence": sentence_mrr,
            "similar same-cat@10": share,
            "seconds": time.perf_counter() - t,
        }
    return out


def print_table(results: dict[str, dict]) -> None:
    metrics = [m for m in next(iter(results.values())) if m != "seconds"]
    print(f"{'metric':<24}" + "".join(f"{m:>10}" for m in results))
    for metric in metrics:
        print(f"{metric:<24}" + "".join(f"{results[m][metric]:>10.3f}" for m in results))
    print(f"{'seconds':<24}" + "".join(f"{results[m]['seconds']:>10.1f}" for m in results))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=OUT / "quality.db")
    ap.add_argument("--sweep", action="store_true", help="also try fusion weights")
    args = ap.parse_args()
    store = build(args.db)
    engine = SearchEngine(store)
    print(f"corpus: {store.count()} papers, {store.count_embedded()} embedded")
    print(
        f"fusion: weighted sum of max-scaled scores, lexical share {fusion.LEXICAL_SHARE}; "
        f"similar: {search_module.SIMILAR_MODE}\n"
    )
    results = evaluate(engine)
    print_table(results)
    best = {m: max(results[x][m] for x in ("lexical", "semantic")) for m in results["hybrid"]}
    gaps = [
        f"{m}: hybrid {results['hybrid'][m]:.3f} vs best single {best[m]:.3f}"
        for m in best
        if m != "seconds" and results["hybrid"][m] < best[m] - 0.01
    ]
    verdict = "yes" if not gaps else "no"
    print("\nhybrid within 1 point of the best single mode everywhere:", verdict)
    for gap in gaps:
        print("  ", gap)
    if args.sweep:
        # hybrid with other fusions: (a) and (b) only, since `similar` fuses separately
        default = fusion.LEXICAL_SHARE
        variants = [
            (f"weighted sum, lexical share {x}", x, False) for x in (0.4, 0.5, 0.6, 0.7, 0.8)
        ]
        variants.append((f"RRF k={fusion.RRF_K}", default, True))
        weighted = fusion.weighted_sum
        for name, share, use_rrf in variants:
            fusion.LEXICAL_SHARE = share
            fusion.weighted_sum = (lambda a, b, share: fusion.rrf([a, b])) if use_rrf else weighted
            r = evaluate(engine, modes=("hybrid",), similar_n=1)["hybrid"]
            shown = " ".join(
                f"{k} {v:.3f}" for k, v in r.items() if "similar" not in k and k != "seconds"
            )
            print(f"{name:<34} {shown}")
        fusion.LEXICAL_SHARE, fusion.weighted_sum = default, weighted


if __name__ == "__main__":
    main()
