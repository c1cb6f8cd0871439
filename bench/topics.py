"""Topic quality on the real labelled corpus: paperscope's topics against plain k-means and a
BERTopic-style default, over 3 seeds.

Corpus: the 1,000 real abstracts of samples/corpus/arxiv-ml-abstracts-1000.csv, imported and
embedded into a temporary store (cached under bench/out). Truth: each paper's primary arXiv
category. For each seed:

- paperscope: `paperscope.rank.topics.build` (top topics; sub-topics as the finer level);
- plain k-means: sklearn KMeans(k = the same number of top topics, n_init=1) on the raw vectors;
- BERTopic-style: UMAP 5-d + HDBSCAN(min_cluster_size=10) when umap-learn is installed, else
  PCA 5-d + sklearn HDBSCAN(min_cluster_size=10); outliers (-1) count as one cluster.

Prints NMI and purity per seed and their spread, the 10 largest topics with labels, the drift
figures behind the rebuild threshold, and build time. Usage: python bench/topics.py [--synth N]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paperscope.index.embedder import default_embedder
from paperscope.index.embedding import DOC_PASSAGE
from paperscope.rank import topics as topics_rank
from paperscope.store import topics as topic_store
from paperscope.store.sqlite import SQLiteStore
from synth import OUT, embedded_corpus_store

SEEDS = (0, 1, 2)


def cached_store() -> Path:
    """The corpus with its vectors, built once (see synth.embedded_corpus_store)."""
    return embedded_corpus_store("topics-bench")


def purity(truth: list[str], labels: np.ndarray) -> float:
    total = 0
    for c in set(labels.tolist()):
        members = [truth[i] for i in np.flatnonzero(labels == c)]
        total += Counter(members).most_common(1)[0][1]
    return total / len(truth)


def scores(truth: list[str], labels: np.ndarray) -> tuple[float, float]:
    return normalized_mutual_info_score(truth, labels), purity(truth, labels)


def bertopic_style(vectors: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    try:
        import umap  # type: ignore[import-not-found]

        low = umap.UMAP(
            n_components=5, n_neighbors=15, min_dist=0.0, metric="cosine", random_state=seed
        ).fit_transform(vectors)
        how = "UMAP 5-d + HDBSCAN"
    except ImportError:
        low = PCA(n_components=5, random_state=seed).fit_transform(vectors)
        how = "PCA 5-d + sklearn HDBSCAN (umap-learn not installed)"
    return HDBSCAN(min_cluster_size=10).fit_predict(low), how


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--synth", type=int, default=0, help="also time a build at N papers")
    args = parser.parse_args()
    src = cached_store()
    work = OUT / "topics-bench.run.db"
    for old in OUT.glob("topics-bench.run.db*"):
        old.unlink()
    shutil.copyfile(src, work)
    embedder = default_embedder()
    print(f"# bench/topics.py  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    with SQLiteStore(work) as store:
        rowids, vectors = topic_store.doc_vectors(store, embedder.version, DOC_PASSAGE)
        papers = store.load_rowids(rowids.tolist())
        truth = [papers[int(r)].categories[0] for r in rowids]
        print(
            f"{len(rowids)} papers, {len(set(truth))} primary categories: "
            f"{dict(Counter(truth).most_common())}"
        )
        rows = []
        for seed in SEEDS:
            t0, c0 = time.perf_counter(), time.process_time()
            summary = topics_rank.build(store, embedder, seed=seed)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            top_of = {t.id: (t.parent or t.id) for t in topic_store.list_topics(store)}
            finest = topic_store.topics_of(store, rowids.tolist())
            fine = np.array([finest[int(r)] for r in rowids])
            top = np.array([top_of[f] for f in fine])
            k = summary["topics"]
            plain = KMeans(k, n_init=1, random_state=seed).fit_predict(vectors)
            plain_fine = KMeans(len(set(fine.tolist())), n_init=1, random_state=seed).fit_predict(
                vectors
            )
            bert, how = bertopic_style(vectors, seed)
            rows.append(
                {
                    "seed": seed,
                    "k": k,
                    "fine_k": len(set(fine.tolist())),
                    "ours": scores(truth, top),
                    "ours_fine": scores(truth, fine),
                    "kmeans": scores(truth, plain),
                    "kmeans_fine": scores(truth, plain_fine),
                    "bertopic": scores(truth, bert),
                    "bertopic_k": len(set(bert.tolist())),
                    "wall": wall,
                    "cpu": cpu,
                }
            )
        print(f"\nBERTopic-style baseline: {how}")
        print(f"{'seed':>4} {'k':>3} {'method':<34} {'NMI':>6} {'purity':>7}")
        for r in rows:
            for name, key, k in (
                ("paperscope top topics", "ours", r["k"]),
                ("plain k-means (same k)", "kmeans", r["k"]),
                ("paperscope sub-topics (finest)", "ours_fine", r["fine_k"]),
                ("plain k-means (same finest k)", "kmeans_fine", r["fine_k"]),
                ("BERTopic-style", "bertopic", r["bertopic_k"]),
            ):
                nmi, pur = r[key]
                print(f"{r['seed']:>4} {k:>3} {name:<34} {nmi:6.3f} {pur:7.3f}")
        print("\nspread over seeds (max - min):")
        for key in ("ours", "ours_fine", "kmeans", "kmeans_fine", "bertopic"):
            nmis = [r[key][0] for r in rows]
            purs = [r[key][1] for r in rows]
            print(
                f"  {key:<12} NMI {min(nmis):.3f}-{max(nmis):.3f} ({max(nmis) - min(nmis):.3f})"
                f"  purity {min(purs):.3f}-{max(purs):.3f} ({max(purs) - min(purs):.3f})"
            )
        print(
            "build (main aspect, 1,000 papers): "
            + ", ".join(f"{r['wall']:.1f} s wall / {r['cpu']:.1f} s CPU" for r in rows)
        )

        print("\n10 largest topics (seed 0 build, rebuilt):")
        topics_rank.build(store, embedder, seed=0)
        tops = [t for t in topic_store.list_topics(store) if t.level == 1]
        subs = {t.id: [] for t in tops}
        for t in topic_store.list_topics(store):
            if t.level == 2:
                subs[t.parent].append(t.label)
        for t in sorted(tops, key=lambda t: -t.size)[:10]:
            central = store.load_rowids(t.central[:1])
            title = next(iter(central.values())).title if central else ""
            print(f"  {t.size:>4}  {t.label}")
            print(f"        sub-topics: {' | '.join(subs[t.id][:4])}")
            print(f"        central: {title[:90]}")
        for aspect in ("task", "method"):
            t0 = time.perf_counter()
            topics_rank.build(store, embedder, aspect, seed=0)
            print(
                f"\naspect {aspect} ({time.perf_counter() - t0:.0f} s incl. embedding its text),"
                " 5 largest:"
            )
            for t in sorted(
                (t for t in topic_store.list_topics(store, aspect) if t.level == 1),
                key=lambda t: -t.size,
            )[:5]:
                print(f"  {t.size:>4}  {t.label}")
        # keep the embedded aspect text in the cache: the next run embeds nothing
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(work, src)
        coverage_figures(store, rowids, vectors)
        drift_figures(store, embedder, rowids, truth)
    if args.synth:
        synth_timing(args.synth)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def coverage_figures(store: SQLiteStore, rowids: np.ndarray, vectors: np.ndarray) -> None:
    """Digest coverage: 200 simulated readers, each interested in 2 random papers; their
    candidate list is the 40 papers nearest either (max cosine), best first. Distinct top
    topics among the first 10, and the mean score of those 10, before and after `diversify`."""
    rng = np.random.default_rng(0)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    tops = topics_rank.top_topics(store, rowids.tolist())
    before_n, after_n, before_s, after_s = [], [], [], []
    for _ in range(200):
        seeds = rng.choice(len(rowids), 2, replace=False)
        scores = (unit @ unit[seeds].T).max(axis=1)
        scores[seeds] = -1
        order = np.argsort(-scores)[:40]
        ranked = [int(rowids[i]) for i in order]
        score_of = {int(rowids[i]): float(scores[i]) for i in order}
        covered = topics_rank.diversify(store, ranked)
        for lst, n, sc in ((ranked, before_n, before_s), (covered, after_n, after_s)):
            n.append(len({tops[r].id for r in lst[:10] if r in tops}))
            sc.append(np.mean([score_of[r] for r in lst[:10]]))
    print(
        "\ndigest coverage (200 simulated readers, top 10 of 40 candidates): distinct topics "
        f"{np.mean(before_n):.2f} -> {np.mean(after_n):.2f}, mean similarity "
        f"{np.mean(before_s):.3f} -> {np.mean(after_s):.3f}"
    )


def drift_figures(store: SQLiteStore, embedder, rowids: np.ndarray, truth: list[str]) -> None:
    """The rebuild threshold: distance of held-out papers to their centroid, over the build's.
    Same distribution (a random 20% held out) against a shifted one (stat.ML papers held out,
    and the build never saw that field)."""
    print("\ndrift: mean cosine distance of later papers to their centroid / the build's own")
    rng = np.random.default_rng(0)
    cases = {
        "random 20% held out": rng.random(len(rowids)) < 0.2,
        "a whole category held out (stat.ML)": np.array([c == "stat.ML" for c in truth]),
        "cs.CV only at build, cs.LG later": np.array([c != "cs.CV" for c in truth]),
    }
    for name, held in cases.items():
        keep = rowids[~held]
        store.conn.execute("BEGIN")
        marks = ",".join("?" * int(held.sum()))
        store.conn.execute(
            f"UPDATE papers SET deleted = 1 WHERE rowid IN ({marks})", rowids[held].tolist()
        )
        store.conn.execute("COMMIT")
        topics_rank.build(store, embedder, seed=0)
        store.conn.execute("BEGIN")
        store.conn.execute(
            f"UPDATE papers SET deleted = 0 WHERE rowid IN ({marks})", rowids[held].tolist()
        )
        store.conn.execute("COMMIT")
        topics_rank.assign_new(store, embedder, aspects=("topic",))
        d = topics_rank.drift(store)
        print(
            f"  {name:<40} built on {len(keep)}, +{d['assigned_since']}: "
            f"{d['assigned_distance']:.3f} / {d['build_distance']:.3f} = {d['distance_ratio']:.3f}"
        )


def synth_timing(n: int) -> None:
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(60, 384)).astype(np.float32)
    vectors = centers[rng.integers(0, 60, n)] + rng.normal(scale=0.8, size=(n, 384)).astype(
        np.float32
    )
    t0, c0 = time.perf_counter(), time.process_time()
    h = topics_rank.cluster(vectors, seed=0)
    print(
        f"\nclustering {n} synthetic 384-d vectors: {len(h.top_centroids)} top topics, "
        f"{sum(len(c) for c in h.sub_centroids.values())} sub-topics in "
        f"{time.perf_counter() - t0:.1f} s wall / {time.process_time() - c0:.1f} s CPU"
    )
    new = vectors[:2000]
    topics = [
        topic_store.Topic(i, None, 1, "", 0, centroid=c) for i, c in enumerate(h.top_centroids)
    ]
    t0 = time.perf_counter()
    topics_rank._nearest(topics_rank._unit(new), topics)
    print(
        f"assigning 2,000 new papers to {len(topics)} centroids: {time.perf_counter() - t0:.3f} s"
    )


if __name__ == "__main__":
    main()
