"""Vector search engines for the semantic index: hnswlib, usearch and exact numpy, compared.

Data are synthetic stand-ins for 384-d MiniLM vectors (the real model embeds ~45 texts/s on
2 cores, so 1M real vectors are out of reach for a benchmark):
  - random:    i.i.d. Gaussian directions, normalised. No structure at all: the worst case for
               graph indexes (every pair is at cosine ~0), so recall here is a lower bound.
  - clustered: 2,000 topics in a 64-d latent space projected to 384-d, plus isotropic noise,
               normalised. Nearest-neighbour cosine ~0.7 and random pairs ~0, roughly like real
               sentence embeddings, whose intrinsic dimension is low.
Queries are 200 fresh draws from the same distribution (not in the index); k = 100 results.

Parts (each step that measures memory runs in its own child process, so peak RSS is that
step's alone):
  A. engines: build time, index size on disk, load time, single-thread query p50/p95,
     recall@10 against exact float32, peak RSS of a process that loads the index and queries.
  B. filtered search at the largest size: only 1% / 10% / 50% of the rowids allowed; exact
     search over the subset, hnswlib's filter callback, and usearch with growing over-fetch.
  C. passages: papers cut into 1-5 passages, a paper scored by its best passage. An ANN over
     every passage vs an ANN over one vector per paper (the passages' mean, or the head
     passage) whose candidates are re-scored by their passages.
  D. SQLite: fetching the float32 passage vectors of n papers from a paper_vectors table, the
     cost of re-scoring candidates or of an exact search over a small subset from the store.
  E. the design chosen from A-D, paperscope.index.vectors.VectorIndex, at 1M papers x 1-5
     passages (mean 3): build, folder size, load, peak RSS of a process that loads it and
     searches, and p50/p95/recall@10 unfiltered and with 1% / 10% / 50% of the papers allowed.

Usage: python bench/vector_engines.py [--sizes 100000,1000000] [--parts ABCDE] [--papers N]
The table is printed and written to docs/bench/vector_engines.txt (--out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "vectors"
DIM = 384
K = 100
QUERIES = 200
LATENT = 64
TOPICS = 2000
# Graph parameters, the same for both graph libraries: 16 links per node, 64 candidates while
# building (128+ doubles build time for no recall gain on the clustered data), and a search
# beam of 200 (it must be at least k = 100).
M = 16
EF_BUILD = 64
EF_SEARCH = 200
FRACTIONS = (0.01, 0.10, 0.50)


# ---------------------------------------------------------------------------------------------
# data


def unit(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def random_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    return unit(rng.standard_normal((n, DIM), dtype=np.float32))


class Topics:
    """The clustered distribution: topic centres in a latent space, a fixed projection."""

    def __init__(self, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.proj = rng.standard_normal((LATENT, DIM), dtype=np.float32)
        self.centres = rng.standard_normal((TOPICS, LATENT), dtype=np.float32)
        self.noise = 0.3 * float(np.linalg.norm(self.proj, axis=0).mean())

    def latent(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Latent points: a random topic centre plus a spread within the topic."""
        topic = rng.integers(0, TOPICS, n)
        return self.centres[topic] + 0.8 * rng.standard_normal((n, LATENT), dtype=np.float32)

    def embed(self, latent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.empty((len(latent), DIM), dtype=np.float32)
        for s in range(0, len(latent), 100_000):  # bounded temporaries at 1M rows
            part = latent[s : s + 100_000] @ self.proj
            part += self.noise * rng.standard_normal(part.shape, dtype=np.float32)
            out[s : s + 100_000] = unit(part)
        return out


def dataset(kind: str, n: int) -> Path:
    """A folder with base.npy (n x DIM float32), queries.npy and truth.npy (exact top-K ids)."""
    folder = OUT / f"{kind}-{n}"
    if (folder / "truth.npy").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n)
    if kind == "random":
        base, queries = random_vectors(n, rng), random_vectors(QUERIES, rng)
    else:
        topics = Topics()
        base = topics.embed(topics.latent(n, rng), rng)
        queries = topics.embed(topics.latent(QUERIES, rng), rng)
    np.save(folder / "base.npy", base)
    np.save(folder / "queries.npy", queries)
    np.save(folder / "truth.npy", exact_topk(base, queries, K))
    return folder


def exact_topk(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ base.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1)


def quantize_i8(x: np.ndarray) -> np.ndarray:
    """usearch's int8: a fixed scale of 127 for unit vectors."""
    return np.clip(np.rint(x * 127), -127, 127).astype(np.int8)


def quantize_scaled(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 with a scale per row (its largest component maps to 127): 3-5x finer steps than a
    fixed 127 for unit vectors, whose components rarely exceed 0.3. Returns (codes, 1/scale)."""
    peak = np.maximum(np.abs(x).max(axis=1), 1e-12)
    codes = np.rint(x * (127 / peak)[:, None]).astype(np.int8)
    return codes, (peak / 127).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# engines: build(base, path), load(path) -> handle, search(handle, query, k) -> ids


@dataclass(frozen=True)
class Engine:
    name: str
    build: Callable[[np.ndarray, Path], None]
    load: Callable[[Path], object]
    search: Callable[[object, np.ndarray, int], np.ndarray]
    filename: str


def _numpy_build(base: np.ndarray, path: Path) -> None:
    np.save(path, base)


def _numpy_search(matrix: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    scores = matrix @ query
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def _simd_build(dtype: str) -> Callable[[np.ndarray, Path], None]:
    def build(base: np.ndarray, path: Path) -> None:
        np.save(path, quantize_i8(base) if dtype == "i8" else base.astype(np.float16))

    return build


def _simd_search(matrix: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    from usearch.index import search

    q = quantize_i8(query[None])[0] if matrix.dtype == np.int8 else query.astype(matrix.dtype)
    return search(matrix, q, k, "ip", exact=True, threads=1).keys


def _scaled_build(base: np.ndarray, path: Path) -> None:
    np.savez(path, **dict(zip(("codes", "scales"), quantize_scaled(base), strict=True)))


def _scaled_load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as data:
        return data["codes"], data["scales"]


def _scaled_search(matrix: tuple[np.ndarray, np.ndarray], query: np.ndarray, k: int):
    codes, scales = matrix
    scores = np.empty(len(codes), dtype=np.float32)
    buffer = np.empty((4096, DIM), dtype=np.float32)  # 6 MB: stays in cache, 3x faster than 64k
    for s in range(0, len(codes), 4096):
        part = codes[s : s + 4096]
        np.copyto(buffer[: len(part)], part, casting="unsafe")
        np.matmul(buffer[: len(part)], query, out=scores[s : s + len(part)])
    scores *= scales
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def _hnsw_build(base: np.ndarray, path: Path) -> None:
    import hnswlib

    index = hnswlib.Index(space="ip", dim=DIM)
    index.init_index(len(base), M=M, ef_construction=EF_BUILD)
    index.set_num_threads(2)
    index.add_items(base, np.arange(len(base)))
    index.save_index(str(path))


def _hnsw_load(path: Path) -> object:
    import hnswlib

    index = hnswlib.Index(space="ip", dim=DIM)
    index.load_index(str(path))
    index.set_ef(EF_SEARCH)
    index.set_num_threads(1)
    return index


def _hnsw_search(index: object, query: np.ndarray, k: int) -> np.ndarray:
    labels, _ = index.knn_query(query, k=k, num_threads=1)
    return labels[0]


def _usearch_build(dtype: str) -> Callable[[np.ndarray, Path], None]:
    def build(base: np.ndarray, path: Path) -> None:
        from usearch.index import Index

        index = Index(ndim=DIM, metric="ip", dtype=dtype, connectivity=M, expansion_add=EF_BUILD)
        index.add(np.arange(len(base), dtype=np.uint64), base, threads=2)
        index.save(str(path))

    return build


def _usearch_load(path: Path) -> object:
    from usearch.index import Index

    index = Index.restore(str(path))
    index.expansion_search = EF_SEARCH
    return index


def _usearch_search(index: object, query: np.ndarray, k: int) -> np.ndarray:
    return index.search(query, k, threads=1).keys


ENGINES = {
    e.name: e
    for e in (
        Engine("numpy-f32 exact", _numpy_build, np.load, _numpy_search, "base.npy"),
        Engine("usearch-i8 exact", _simd_build("i8"), np.load, _simd_search, "i8.npy"),
        Engine("numpy-i8/row exact", _scaled_build, _scaled_load, _scaled_search, "i8row.npz"),
        Engine("hnswlib-f32", _hnsw_build, _hnsw_load, _hnsw_search, "hnsw.bin"),
        Engine("usearch-f32", _usearch_build("f32"), _usearch_load, _usearch_search, "f32.us"),
        Engine("usearch-f16", _usearch_build("f16"), _usearch_load, _usearch_search, "f16.us"),
        Engine("usearch-i8", _usearch_build("i8"), _usearch_load, _usearch_search, "i8.us"),
    )
}


def peak_rss_mib() -> float:
    """This process's peak RSS. Not ru_maxrss: Linux carries that over fork + exec from the
    parent, whose data sets would count; VmHWM is the peak of this address space alone."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_build(engine: Engine, folder: Path) -> dict:
    base = np.load(folder / "base.npy")
    start = time.perf_counter()
    engine.build(base, folder / engine.filename)
    return {"build_s": time.perf_counter() - start, "build_rss": peak_rss_mib()}


def worker_query(engine: Engine, folder: Path) -> dict:
    queries = np.load(folder / "queries.npy")
    truth = np.load(folder / "truth.npy")
    start = time.perf_counter()
    handle = engine.load(folder / engine.filename)
    load_s = time.perf_counter() - start
    engine.search(handle, queries[0], K)  # warm-up: first-touch page faults, lazy init
    times, recalls = [], []
    for query, want in zip(queries, truth, strict=True):
        t = time.perf_counter()
        ids = engine.search(handle, query, K)
        times.append(time.perf_counter() - t)
        recalls.append(len(set(ids[:10].tolist()) & set(want[:10].tolist())) / 10)
    ms = np.array(times) * 1000
    return {
        "load_s": load_s,
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "recall": float(np.mean(recalls)),
        "rss": peak_rss_mib(),
    }


def in_child(*args: str) -> dict:
    """Run `worker ...` of this script in a fresh interpreter; its JSON answer."""
    # One BLAS thread: every engine is measured on one core (the other serves lexical search),
    # and idle BLAS threads woken per query cost ~10 ms when another process holds the cores.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, __file__, "worker", *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def part_engines(kind: str, n: int, names: list[str], say: Callable[[str], None]) -> None:
    folder = dataset(kind, n)
    say(f"\nA. {kind} vectors, n = {n:,}, d = {DIM}, k = {K}, {QUERIES} queries, 1 thread")
    say(
        f"{'engine':<18} {'build s':>8} {'disk MiB':>9} {'load s':>7} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'rec@10':>7} {'RSS MiB':>8}"
    )
    for name in names:
        engine = ENGINES[name]
        built = in_child("build", name, str(folder))
        queried = in_child("query", name, str(folder))
        size = (folder / engine.filename).stat().st_size / 2**20
        say(
            f"{name:<18} {built['build_s']:>8.1f} {size:>9.0f} {queried['load_s']:>7.2f} "
            f"{queried['p50']:>7.2f} {queried['p95']:>7.2f} {queried['recall']:>7.3f} "
            f"{queried['rss']:>8.0f}"
        )


# ---------------------------------------------------------------------------------------------
# B. filtered search


def overfetch_search(
    index: object,
    query: np.ndarray,
    k: int,
    allowed_mask: np.ndarray,
    fraction: float,
    exact: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, int]:
    """usearch without a filter: fetch k / fraction x 1.5, double until k allowed are found,
    and search the subset exactly when that would fetch more than a quarter of the index.
    Returns (ids, how many were fetched); a count of 0 means it fell back to `exact`."""
    count = int(k / fraction * 1.5) + 10
    while count <= len(index) // 4:
        keys = index.search(query, count, threads=1).keys
        keys = keys[allowed_mask[keys]]
        if len(keys) >= k:
            return keys[:k], count
        count *= 2
    return exact(query), 0


def worker_filtered(folder: Path) -> dict:
    import hnswlib  # noqa: F401  (imported for _hnsw_load)

    base = np.load(folder / "base.npy")
    base_i8 = np.load(folder / "i8.npy")
    queries = np.load(folder / "queries.npy")[:100]
    usearch_i8 = _usearch_load(folder / "i8.us")
    hnsw = _hnsw_load(folder / "hnsw.bin")
    rng = np.random.default_rng(3)
    results: dict = {}
    for fraction in FRACTIONS:
        allowed = np.sort(rng.choice(len(base), int(len(base) * fraction), replace=False))
        mask = np.zeros(len(base), dtype=bool)
        mask[allowed] = True
        allowed_set = set(allowed.tolist())
        rows: dict[str, list] = {}

        def exact_f32(q: np.ndarray, allowed: np.ndarray = allowed) -> np.ndarray:
            return allowed[_numpy_search(base[allowed], q, K)]

        def exact_i8(q: np.ndarray, allowed: np.ndarray = allowed) -> np.ndarray:
            return allowed[_simd_search(base_i8[allowed], q, K).astype(np.int64)]

        def hnsw_filter(q: np.ndarray, allowed_set: set = allowed_set) -> np.ndarray:
            labels, _ = hnsw.knn_query(q, k=K, num_threads=1, filter=allowed_set.__contains__)
            return labels[0]

        fetched: list[int] = []

        def usearch_over(
            q: np.ndarray, mask: np.ndarray = mask, f: float = fraction, fetched: list = fetched
        ) -> np.ndarray:
            ids, count = overfetch_search(usearch_i8, q, K, mask, f, exact_i8)
            fetched.append(count)
            return ids

        strategies = {
            "exact f32 subset": exact_f32,
            "exact i8 subset": exact_i8,
            "hnswlib filter": hnsw_filter,
            "usearch-i8 overfetch": usearch_over,
        }
        truth = [exact_f32(q) for q in queries]
        for name, fn in strategies.items():
            times, recalls, short = [], [], 0
            for q, want in zip(queries, truth, strict=True):
                t = time.perf_counter()
                ids = fn(q)
                times.append(time.perf_counter() - t)
                short += len(ids) < K
                recalls.append(len(set(ids[:10].tolist()) & set(want[:10].tolist())) / 10)
            ms = np.array(times) * 1000
            rows[name] = [
                float(np.percentile(ms, 50)),
                float(np.percentile(ms, 95)),
                float(np.mean(recalls)),
                short,
            ]
        rows["usearch-i8 overfetch"].append(
            [int(np.median([c for c in fetched if c > 0] or [0])), fetched.count(0)]
        )
        results[str(fraction)] = rows
    return results


def part_filtered(n: int, say: Callable[[str], None]) -> None:
    folder = dataset("clustered", n)
    for name in ("usearch-i8 exact", "usearch-i8", "hnswlib-f32"):
        if not (folder / ENGINES[name].filename).exists():
            in_child("build", name, str(folder))
    results = in_child("filtered", str(folder))
    say(f"\nB. filtered search, clustered n = {n:,}, k = {K}, 100 queries, 1 thread")
    say(
        f"{'allowed':>7} {'strategy':<22} {'p50 ms':>7} {'p95 ms':>7} {'rec@10':>7} "
        f"{'short':>5}  note"
    )
    for fraction, rows in results.items():
        for name, (p50, p95, recall, short, *extra) in rows.items():
            note = ""
            if extra:
                count, fallbacks = extra[0]
                note = f"median fetch {count}, {fallbacks} fell back"
            say(
                f"{float(fraction):>7.0%} {name:<22} {p50:>7.2f} {p95:>7.2f} {recall:>7.3f} "
                f"{short:>5}  {note}"
            )


# ---------------------------------------------------------------------------------------------
# C. passages: best passage per paper


def passage_corpus(papers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(passage vectors, paper of each passage, queries): 1-5 passages a paper (mean 3), each
    near its paper's own point; a query is a fresh passage of a random paper."""
    rng = np.random.default_rng(11)
    topics = Topics()
    paper_latent = topics.latent(papers, rng)
    counts = rng.integers(1, 6, papers)
    owner = np.repeat(np.arange(papers), counts)
    latent = paper_latent[owner] + 0.7 * rng.standard_normal((len(owner), LATENT), np.float32)
    passages = topics.embed(latent, rng)
    q_owner = rng.integers(0, papers, QUERIES)
    q_latent = paper_latent[q_owner] + 0.7 * rng.standard_normal((QUERIES, LATENT), np.float32)
    return passages, owner, topics.embed(q_latent, rng)


def best_per_paper(scores: np.ndarray, owner: np.ndarray, k: int) -> np.ndarray:
    """Top-k papers by their best passage score (scores and owner aligned)."""
    order = np.argsort(-scores, kind="stable")
    _, first = np.unique(owner[order], return_index=True)
    return owner[order[np.sort(first)[:k]]]


def worker_passages(papers: int) -> dict:
    from usearch.index import Index

    passages, owner, queries = passage_corpus(papers)
    starts = np.searchsorted(owner, np.arange(papers))
    sums = np.add.reduceat(passages, starts, axis=0)
    mean = unit(sums)
    head = passages[starts]  # the first passage, standing in for the title + abstract head
    truth = [best_per_paper(passages @ q, owner, 10) for q in queries]

    def build(vectors: np.ndarray) -> tuple[Index, float]:
        index = Index(ndim=DIM, metric="ip", dtype="i8", connectivity=M, expansion_add=EF_BUILD)
        t = time.perf_counter()
        index.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=2)
        index.expansion_search = EF_SEARCH
        return index, time.perf_counter() - t

    codes, inv_scale = quantize_scaled(passages)

    def rescore(cands: np.ndarray, q: np.ndarray, matrix: str) -> np.ndarray:
        """Candidates' passages scored (float32, or int8 with a scale per row), best passage
        per paper."""
        sel = np.concatenate([np.arange(starts[c], starts[c] + n) for c, n in _runs(cands)])
        if matrix == "f32":
            scores = passages[sel] @ q
        else:
            scores = (codes[sel].astype(np.float32) @ q) * inv_scale[sel]
        return best_per_paper(scores, owner[sel], K)

    def _runs(cands: np.ndarray):
        ends = np.append(starts[1:], len(owner))
        return ((c, ends[c] - starts[c]) for c in cands)

    out = {}
    p_index, p_build = build(passages)
    m_index, m_build = build(mean)
    h_index, h_build = build(head)
    setups = {
        "passages, 300 fetched": (p_index, p_build, 300, "passages", "f32"),
        "passages, 600 fetched": (p_index, p_build, 600, "passages", "f32"),
        "mean, 200 rescored": (m_index, m_build, 200, "papers", "f32"),
        "mean, 300 rescored": (m_index, m_build, 300, "papers", "f32"),
        "mean, 300 rescored i8": (m_index, m_build, 300, "papers", "i8/row"),
        "mean, 400 rescored": (m_index, m_build, 400, "papers", "f32"),
        "head, 400 rescored": (h_index, h_build, 400, "papers", "f32"),
    }
    for name, (index, build_s, count, level, matrix) in setups.items():
        times, recalls = [], []
        for q, want in zip(queries, truth, strict=True):
            t = time.perf_counter()
            keys = index.search(q, count, threads=1).keys.astype(np.int64)
            cands = np.unique(owner[keys]) if level == "passages" else keys
            ids = rescore(cands, q, matrix)
            times.append(time.perf_counter() - t)
            recalls.append(len(set(ids[:10].tolist()) & set(want.tolist())) / 10)
        ms = np.array(times) * 1000
        out[name] = [
            len(index),
            build_s,
            float(np.percentile(ms, 50)),
            float(np.percentile(ms, 95)),
            float(np.mean(recalls)),
        ]
    return out


def part_passages(papers: int, say: Callable[[str], None]) -> None:
    rows = in_child("passages", str(papers))
    say(
        f"\nC. best passage per paper: {papers:,} clustered papers x 1-5 passages; usearch-i8 "
        f"candidates re-scored by their passages (float32, or int8 with a scale per row "
        f"where it says i8); recall@10 of papers vs exact, k = {K}"
    )
    say(f"{'ANN over':<24} {'vectors':>8} {'build s':>8} {'p50 ms':>7} {'p95 ms':>7} {'rec@10':>7}")
    for name, (size, build_s, p50, p95, recall) in rows.items():
        say(f"{name:<24} {size:>8,} {build_s:>8.1f} {p50:>7.2f} {p95:>7.2f} {recall:>7.3f}")


# ---------------------------------------------------------------------------------------------
# D. SQLite passage fetches


def part_sqlite(papers: int, say: Callable[[str], None]) -> None:
    path = OUT / f"vectors-{papers}.db"
    if not path.exists():
        rng = np.random.default_rng(5)
        conn = sqlite3.connect(path)
        conn.execute(
            "CREATE TABLE paper_vectors (paper_rowid INTEGER NOT NULL, passage INTEGER NOT NULL,"
            " model TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (paper_rowid, passage))"
            " WITHOUT ROWID"
        )
        for start in range(1, papers + 1, 10_000):
            rows = [
                (r, p, "m", random_vectors(1, rng).tobytes())
                for r in range(start, min(start + 10_000, papers + 1))
                for p in range(3)
            ]
            conn.executemany("INSERT INTO paper_vectors VALUES (?, ?, ?, ?)", rows)
        conn.commit()
        conn.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA cache_size=-65536")
    # warm the OS page cache (a server's store is warm): the parts before evict it
    conn.execute("SELECT sum(length(vector)) FROM paper_vectors").fetchone()
    rng = np.random.default_rng(6)
    say(f"\nD. SQLite: float32 passage vectors of n random papers ({papers:,} papers x 3 passages)")
    say(f"{'papers':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for n in (100, 300, 1000, min(10_000, papers)):
        times = []
        for _ in range(20):
            ids = np.sort(rng.choice(papers, n, replace=False) + 1).tolist()
            t = time.perf_counter()
            got = []
            for s in range(0, n, 900):
                chunk = ids[s : s + 900]
                got += conn.execute(
                    "SELECT paper_rowid, vector FROM paper_vectors WHERE paper_rowid IN "
                    f"({','.join('?' * len(chunk))}) AND model = ?",
                    (*chunk, "m"),
                ).fetchall()
            np.frombuffer(b"".join(v for _, v in got), dtype=np.float32)
            times.append(time.perf_counter() - t)
        ms = np.array(times) * 1000
        say(f"{n:>7,} {np.percentile(ms, 50):>7.2f} {np.percentile(ms, 95):>7.2f}")
    conn.close()


# ---------------------------------------------------------------------------------------------
# E. the chosen design: VectorIndex


DESIGN_CHUNK = 20_000  # papers generated at a time


def design_chunks(papers: int):
    """(rowids, passage groups) for `papers` synthetic papers, chunk by chunk, the same on every
    call (so the index and the exact truth see the same vectors without 4.6 GB of float32)."""
    topics = Topics()
    for first in range(0, papers, DESIGN_CHUNK):
        rng = np.random.default_rng(1000 + first)
        m = min(DESIGN_CHUNK, papers - first)
        counts = rng.integers(1, 6, m)
        paper_latent = topics.latent(m, rng)
        owner = np.repeat(np.arange(m), counts)
        noise = 0.7 * rng.standard_normal((len(owner), LATENT), dtype=np.float32)
        vectors = topics.embed(paper_latent[owner] + noise, rng)
        yield np.arange(first + 1, first + m + 1), np.split(vectors, np.cumsum(counts)[:-1])


def design_queries() -> np.ndarray:
    rng = np.random.default_rng(77)
    topics = Topics()
    return topics.embed(topics.latent(QUERIES, rng), rng)


def design_allowed(papers: int, fraction: float) -> np.ndarray:
    rng = np.random.default_rng(int(fraction * 1000))
    return np.sort(rng.choice(papers, int(papers * fraction), replace=False) + 1)


def design_truth(papers: int, folder: Path) -> np.ndarray:
    """Exact float32 best-passage top-10 per query: unfiltered, then each allowed fraction."""
    path = folder / "truth.npy"
    if path.exists():
        return np.load(path)
    queries = design_queries()
    best = np.empty((papers, len(queries)), dtype=np.float32)
    for rowids, groups in design_chunks(papers):
        counts = np.array([len(g) for g in groups])
        scores = np.concatenate(groups) @ queries.T
        best[rowids - 1] = np.maximum.reduceat(scores, np.cumsum(counts) - counts, axis=0)
    out = []
    for fraction in (None, *FRACTIONS):
        ids = np.arange(1, papers + 1) if fraction is None else design_allowed(papers, fraction)
        sub = best[ids - 1]
        top = np.argsort(-sub, axis=0)[:10].T
        out.append(ids[top])
    np.save(path, np.stack(out))
    return np.stack(out)


def worker_design_build(papers: int, folder: Path) -> dict:
    from paperscope.index.vectors import VectorIndex
    from paperscope.store.sqlite import SQLiteStore

    store = SQLiteStore(folder / "papers.db")  # empty: vectors go straight into the index
    index = VectorIndex(store, folder / "vectors", "synthetic", DIM)
    index.ensure()
    start = time.perf_counter()
    for rowids, groups in design_chunks(papers):
        index.add(rowids.tolist(), groups)
    added = time.perf_counter() - start
    index.save()
    return {
        "build_s": added,
        "save_s": time.perf_counter() - start - added,
        "passages": index.passages,
        "rss": peak_rss_mib(),
    }


def worker_design_query(papers: int, folder: Path) -> dict:
    from paperscope.index.vectors import VectorIndex
    from paperscope.store.sqlite import SQLiteStore

    truth = np.load(folder / "truth.npy")
    queries = design_queries()
    store = SQLiteStore(folder / "papers.db")
    start = time.perf_counter()
    index = VectorIndex(store, folder / "vectors", "synthetic", DIM)
    assert index.ensure() is False, index.rebuild_reason  # loaded, not rebuilt
    out = {"load_s": time.perf_counter() - start, "rows": {}}
    for i, fraction in enumerate((None, *FRACTIONS)):
        allowed = None if fraction is None else design_allowed(papers, fraction)
        index.search(queries[0], K, allowed=allowed)  # warm-up
        times, recalls, short = [], [], 0
        for q, want in zip(queries, truth[i], strict=True):
            t = time.perf_counter()
            found = index.search(q, K, allowed=allowed)
            times.append(time.perf_counter() - t)
            short += len(found) < K
            got = {r for r, _ in found[:10]}
            recalls.append(len(got & set(want.tolist())) / 10)
        ms = np.array(times) * 1000
        out["rows"]["all" if fraction is None else f"{fraction:.0%}"] = [
            float(np.percentile(ms, 50)),
            float(np.percentile(ms, 95)),
            float(np.mean(recalls)),
            short,
        ]
    out["rss"] = peak_rss_mib()
    return out


def part_design(papers: int, say: Callable[[str], None]) -> None:
    folder = OUT / f"design-{papers}"
    folder.mkdir(parents=True, exist_ok=True)
    design_truth(papers, folder)
    for stale in ("papers.db", "papers.db-wal", "papers.db-shm"):
        (folder / stale).unlink(missing_ok=True)
    shutil.rmtree(folder / "vectors", ignore_errors=True)  # else the build replaces every paper
    built = in_child("design-build", str(papers), str(folder))
    queried = in_child("design-query", str(papers), str(folder))
    size = sum(p.stat().st_size for p in (folder / "vectors").iterdir()) / 2**20
    say(
        f"\nE. VectorIndex (int8 passages + usearch-i8 graph of paper means), {papers:,} "
        f"clustered papers, {built['passages']:,} passages, k = {K}, {QUERIES} queries"
    )
    say(
        f"build {built['build_s']:.0f} s (+ {built['save_s']:.1f} s to save, peak RSS "
        f"{built['rss']:.0f} MiB); folder {size:.0f} MiB; load {queried['load_s']:.1f} s; "
        f"peak RSS loading + searching {queried['rss']:.0f} MiB"
    )
    say(f"{'allowed':>7} {'p50 ms':>7} {'p95 ms':>7} {'rec@10':>7} {'short':>5}")
    for name, (p50, p95, recall, short) in queried["rows"].items():
        say(f"{name:>7} {p50:>7.2f} {p95:>7.2f} {recall:>7.3f} {short:>5}")


# ---------------------------------------------------------------------------------------------


def worker(args: list[str]) -> None:
    kind = args[0]
    if kind == "build":
        result = worker_build(ENGINES[args[1]], Path(args[2]))
    elif kind == "query":
        result = worker_query(ENGINES[args[1]], Path(args[2]))
    elif kind == "filtered":
        result = worker_filtered(Path(args[1]))
    elif kind == "design-build":
        result = worker_design_build(int(args[1]), Path(args[2]))
    elif kind == "design-query":
        result = worker_design_query(int(args[1]), Path(args[2]))
    else:
        result = worker_passages(int(args[1]))
    print(json.dumps(result))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--parts", default="ABCDE")
    ap.add_argument("--papers", type=int, default=1_000_000, help="papers for part E")
    ap.add_argument("--passage-papers", type=int, default=100_000)
    default_out = ROOT.parent / "docs" / "bench" / "vector_engines.txt"
    ap.add_argument("--out", type=Path, default=default_out)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    lines: list[str] = []

    def say(line: str) -> None:
        line = "\n".join(part.rstrip() for part in line.split("\n"))
        print(line, flush=True)
        lines.append(line)

    say(f"# bench/vector_engines.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    say(
        f"# {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"hnswlib {_version('hnswlib')}, usearch {_version('usearch')}"
    )
    say(f"# graphs: M/connectivity {M}, ef_construction/expansion_add {EF_BUILD}, ef {EF_SEARCH}")
    say(
        "# data: synthetic unit vectors, random (i.i.d.) or clustered (2,000 topics in a 64-d "
        "latent space\n# projected to 384-d, plus noise); see the docstring"
    )
    start = time.perf_counter()
    if "A" in args.parts:
        for n in sizes:
            small = n <= 100_000
            kinds = ["random", "clustered"] if small else ["clustered"]
            for kind in kinds:
                names = list(ENGINES)
                if not small or kind == "random":
                    names.remove("usearch-f32")  # hnswlib-f32's memory, slower to build
                part_engines(kind, n, names, say)
    if "B" in args.parts:
        part_filtered(max(sizes), say)
    if "C" in args.parts:
        part_passages(args.passage_papers, say)
    if "D" in args.parts:
        part_sqlite(args.passage_papers, say)
    if "E" in args.parts:
        part_design(args.papers, say)
    say(f"\n# total {time.perf_counter() - start:.0f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
