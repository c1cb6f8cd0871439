"""The map's 2-D layout: which method, how well it keeps neighbours, how long, how much memory.

Data: synthetic "real-ish" whole-text vectors, as bench/vector_engines.py makes them (topics in
a 64-d latent space projected to 384-d, plus noise, normalised), but two-level: 40 fields of
12 sub-topics each, so the map has structure at two scales like a real field.

Parts (each in its own child process, so its peak RSS is its own):
  A. methods at --compare-size papers (default 20,000): PCA to 50 d then openTSNE, UMAP, or
     PCA alone; build time (wall and CPU) and neighbourhood preservation of the 2-D map
     against the 384-d cosine space: trustworthiness@10 and kNN recall@10 (the share of a
     paper's 10 nearest in 2-D that are among its 10 nearest in 384-d), over 1,000 papers.
  B. the chosen pipeline (paperscope.index.layout.layout_vectors) at 100k: a 50k sample laid
     out with the method, the rest placed by their neighbours among it.
  C. 1M papers: a 50k sample laid out, 950k placed; time and peak RSS (must stay < 6 GiB).
  D. incremental placement: 2,000 new papers placed into a 1M map (usearch graph of the 1M
     mean vectors, as the vector index keeps it, and a real SQLite map_points table of 1M
     rows): paperscope.index.layout.place_papers end to end; must take < 10 s.

Usage: python bench/map_layout.py [--parts ABCD] [--compare-size N] [--out FILE]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DIM = 384
LATENT = 64
FIELDS = 40
SUBTOPICS = 12
QUERIES = 1000
K = 10


def vectors(n: int, seed: int = 7) -> np.ndarray:
    """`n` unit vectors in fields and sub-topics (float32)."""
    rng = np.random.default_rng(seed)
    proj = rng.standard_normal((LATENT, DIM), dtype=np.float32)
    fields = rng.standard_normal((FIELDS, LATENT), dtype=np.float32) * 1.0
    subs = fields[:, None, :] + 0.55 * rng.standard_normal(
        (FIELDS, SUBTOPICS, LATENT), dtype=np.float32
    )
    subs = subs.reshape(-1, LATENT)
    out = np.empty((n, DIM), dtype=np.float32)
    noise = 0.3 * float(np.linalg.norm(proj, axis=0).mean())
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        topic = rng.integers(0, len(subs), m)
        latent = subs[topic] + 0.35 * rng.standard_normal((m, LATENT), dtype=np.float32)
        part = latent @ proj
        part += noise * rng.standard_normal((m, DIM), dtype=np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        out[s : s + m] = part
    return out


def preservation(x: np.ndarray, xy: np.ndarray, queries: int = QUERIES, k: int = K) -> tuple:
    """(trustworthiness@k, kNN recall@k) of the layout `xy` of `x`, over `queries` papers."""
    n = len(x)
    rng = np.random.default_rng(1)
    picked = rng.choice(n, min(queries, n), replace=False)
    trust_sum, recall_sum = 0.0, 0.0
    for q in picked:
        sims = x @ x[q]
        sims[q] = -np.inf
        hd = np.argpartition(-sims, k)[:k]
        d2 = ((xy - xy[q]) ** 2).sum(axis=1)
        d2[q] = np.inf
        low = np.argpartition(d2, k)[:k]
        recall_sum += len(np.intersect1d(hd, low)) / k
        intruders = np.setdiff1d(low, hd)
        for j in intruders:
            rank = int((sims > sims[j]).sum()) + 1  # 1-based rank of j among q's neighbours
            trust_sum += rank - k
    m = len(picked)
    trust = 1 - 2.0 / (m * k * (2 * n - 3 * k - 1)) * trust_sum
    return trust, recall_sum / m


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _run(fn, *args) -> dict:
    """`fn(*args)` in a fresh child process (its own peak RSS); returns its dict."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(fn, args)


def part_a(n: int, method: str) -> dict:
    from paperscope.index.layout import embed_2d, normalise, project

    x = vectors(n)
    (w0, c0) = _clock()
    reduced = project(x)
    xy = normalise(embed_2d(reduced, method, seed=0))
    w1, c1 = _clock()
    trust, recall = preservation(x, xy)
    return {
        "part": "A",
        "papers": n,
        "method": method,
        "wall": w1 - w0,
        "cpu": c1 - c0,
        "trust": trust,
        "recall": recall,
        "rss": _peak_gib(),
    }


def part_bc(n: int, sample: int, method: str = "tsne", queries: int = QUERIES) -> dict:
    from paperscope.index.layout import layout_vectors

    x = vectors(n)
    w0, c0 = _clock()
    xy, chosen = layout_vectors(x, method=method, sample=sample, seed=0)
    w1, c1 = _clock()
    trust, recall = preservation(x, xy, queries=queries)
    return {
        "part": "B" if n < 1_000_000 else "C",
        "papers": n,
        "method": f"{method}, sample {len(chosen):,}",
        "wall": w1 - w0,
        "cpu": c1 - c0,
        "trust": trust,
        "recall": recall,
        "rss": _peak_gib(),
    }


class _GraphIndex:
    """What place_papers asks of a VectorIndex (dim, len, nearest_papers) over a usearch graph
    built as VectorIndex builds its own (int8, cos, connectivity 16, expansion 64): the 1M
    index is built here from vectors instead of from a 1M-paper store, which would take an
    hour to embed."""

    def __init__(self, base: np.ndarray) -> None:
        from usearch.index import Index

        self.dim = base.shape[1]
        self.graph = Index(
            ndim=self.dim, metric="cos", dtype="i8", connectivity=16, expansion_add=64
        )
        self.graph.add(np.arange(len(base)), base, threads=os.cpu_count() or 1)

    def __len__(self) -> int:
        return len(self.graph)

    def nearest_papers(self, queries: np.ndarray, k: int):
        from paperscope.index.vectors import VectorIndex

        # the same code as the vector index's, on this graph
        fake = type("F", (), {})()
        fake._lock = _NoLock()
        fake._ensure_loaded = lambda: None
        fake._graph = self.graph
        return VectorIndex.nearest_papers(fake, queries, k)


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def part_d(n: int = 1_000_000, new: int = 2000) -> dict:
    """The map's positions are random here (no layout of 1M is needed to time placement)."""
    from paperscope.index.layout import assign_tiles, place_papers
    from paperscope.store import map as store_map
    from paperscope.store.sqlite import SQLiteStore

    model = "bench"
    x = vectors(n + new)
    base, fresh = x[:n], x[n:]
    w0, _ = _clock()
    graph = _GraphIndex(base)
    graph_seconds = time.perf_counter() - w0
    rng = np.random.default_rng(3)
    xy = rng.random((n, 2))
    rowids = np.arange(n, dtype=np.int64)
    levels, cells, deepest = assign_tiles(xy, rowids)
    with tempfile.TemporaryDirectory() as tmp, SQLiteStore(Path(tmp) / "map.db") as store:
        built = store_map.MapState(model, "bench", n, n, deepest, 256, 0.0, "now")
        store_map.replace_points(store, rowids, xy, levels, cells, built)
        new_ids = list(range(n, n + new))
        marks = [r for r, _, _ in store_map.landmarks(store, max_level=3)]
        store.conn.execute("BEGIN")
        store.conn.executemany(
            "INSERT INTO paper_vectors (paper_rowid, passage, model, vector) VALUES (?, -1, ?, ?)",
            [(r, model, fresh[i].tobytes()) for i, r in enumerate(new_ids)]
            + [(r, model, base[r].tobytes()) for r in marks],
        )
        store.conn.execute("COMMIT")
        w1, c1 = _clock()
        placed = place_papers(store, new_ids, model, graph)  # type: ignore[arg-type]
        w2, c2 = _clock()
        w3, c3 = _clock()
        placed_lm = place_papers(store, new_ids, model, None)
        w4, c4 = _clock()
    return {
        "part": "D",
        "papers": n,
        "method": f"place {placed:,} new (graph built in {graph_seconds:.0f} s)",
        "wall": w2 - w1,
        "cpu": c2 - c1,
        "landmarks": (placed_lm, w4 - w3, c4 - c3),
        "rss": _peak_gib(),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="ABCD")
    ap.add_argument("--compare-size", type=int, default=20_000)
    ap.add_argument("--big-sample", type=int, default=50_000, help="sample laid out at 1M")
    ap.add_argument("--place-size", type=int, default=1_000_000)
    ap.add_argument("--methods", default="tsne,umap,pca")
    ap.add_argument("--out", default=str(ROOT / "docs" / "bench" / "map_layout.txt"))
    args = ap.parse_args()
    lines = [
        "bench/map_layout.py: the map's 2-D layout (synthetic 384-d vectors, 40 fields x 12 "
        "sub-topics)",
        f"machine: {os.cpu_count()} cores, load average at start "
        f"{os.getloadavg()[0]:.1f} (shared with other jobs: wall times are noisy, CPU is "
        "the process's own, all threads)",
        "",
        f"{'part':<5}{'papers':>10}  {'method':<34}{'wall s':>9}{'cpu s':>9}"
        f"{'trust@10':>10}{'recall@10':>10}{'peak GiB':>10}",
    ]
    print("\n".join(lines), flush=True)

    def row(r: dict) -> None:
        trust = f"{r['trust']:.4f}" if "trust" in r else "-"
        recall = f"{r['recall']:.4f}" if "recall" in r else "-"
        line = (
            f"{r['part']:<5}{r['papers']:>10,}  {r['method']:<34}{r['wall']:>9.1f}"
            f"{r['cpu']:>9.1f}{trust:>10}{recall:>10}{r['rss']:>10.2f}"
        )
        if "landmarks" in r:
            count, wall, cpu = r["landmarks"]
            line += f"\n{'':<17}(without the graph, from the map's coarsest points: {count:,}"
            line += f" placed in {wall:.1f} s wall, {cpu:.1f} s CPU)"
        lines.append(line)
        print(line, flush=True)
        Path(args.out).write_text("\n".join(lines) + "\n")

    if "A" in args.parts:
        for method in args.methods.split(","):
            row(_run(part_a, args.compare_size, method))
    if "B" in args.parts:
        row(_run(part_bc, 100_000, 50_000))
    if "C" in args.parts:
        row(_run(part_bc, 1_000_000, args.big_sample, "tsne", 200))
    if "D" in args.parts:
        row(_run(part_d, args.place_size))
    lines.append(f"load average at end {os.getloadavg()[0]:.1f}")
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
