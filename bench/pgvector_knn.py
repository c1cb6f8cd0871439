"""pgvector on PostgreSQL against the node-local usearch index, for semantic search (issue 12).

    python bench/pgvector_knn.py [--papers 100000] [--queries 100] [--url postgresql://...]

Without --url it starts a PostgreSQL 18 + pgvector (pgserver, the `test` extra) in
bench/out/pgvector-pg. Parts:

A. Vector I/O through the store's connection (store/pg.py): rows/s writing the passage vectors
   in `save_vectors`-sized transactions and reading them back in keyset pages of 20,000, into
   pgvector's `vector` column (migration 0018) and into a BYTEA table of the same shape (the
   column before 0018).
B. k=100 semantic search, p50/p95 and recall@100 against the exact best-passage top 100:
   - usearch: index/vectors.py's VectorIndex (graph of mean vectors, re-scored by best passage),
     built from the PostgreSQL store;
   - pgvector: HNSW (m 16, ef_construction 64, cosine) over the whole-text vectors, candidates
     re-scored by best passage in the same SQL statement (store/pgvector.py `nearest`), at
     the default 300 candidates and at 1,000.

Vectors: not random ones (their neighbourhoods say nothing of recall on text). The 1,000
corpus abstracts of samples/ are embedded by the default model (bench/synth.py
`embedded_corpus_store`); each synthetic paper takes a real paper's passages (and whole-text
vector), mixes in a quarter of another real paper's whole-text vector and adds Gaussian noise
of norm ~0.35, then normalises. Queries are made the same way from a real passage. So the data
lie near the real embeddings' manifold with real passage counts (3.6 a paper).
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import OUT, embedded_corpus_store

MODEL = "bench-model"
DIM = 384
K = 100
BATCH_PAPERS = 500  # papers per save_vectors call (embed writes ~this many per batch)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def real_vectors() -> tuple[np.ndarray, list[np.ndarray]]:
    """(whole-text vectors, passage matrices) of the embedded corpus."""
    db = sqlite3.connect(embedded_corpus_store("topics-bench"))
    rows = db.execute(
        "SELECT paper_rowid, passage, vector FROM paper_vectors ORDER BY paper_rowid, passage"
    ).fetchall()
    docs: dict[int, np.ndarray] = {}
    passages: dict[int, list[np.ndarray]] = {}
    for rowid, passage, blob in rows:
        v = np.frombuffer(blob, dtype="<f4")
        if passage < 0:
            docs[rowid] = v
        elif np.any(v):
            passages.setdefault(rowid, []).append(v)
    ids = sorted(set(docs) & set(passages))
    return np.stack([docs[i] for i in ids]), [np.stack(passages[i]) for i in ids]


class Synth:
    def __init__(self, seed: int = 7) -> None:
        self.docs, self.passages = real_vectors()
        self.rng = np.random.default_rng(seed)
        self.sigma = 0.35 / np.sqrt(DIM)

    def paper(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.rng.integers(len(self.docs), size=2)
        mix = 0.25 * self.docs[b]
        p = self.passages[a]
        noise = self.rng.normal(0, self.sigma, size=(len(p) + 1, DIM))
        doc = unit(0.75 * self.docs[a] + mix + noise[0])
        return doc, unit(0.75 * p + mix + noise[1:])

    def query(self) -> np.ndarray:
        a, b = self.rng.integers(len(self.docs), size=2)
        p = self.passages[a][self.rng.integers(len(self.passages[a]))]
        return unit(0.75 * p + 0.25 * self.docs[b] + self.rng.normal(0, self.sigma, DIM))


def cpu() -> float:
    return time.process_time()


def server_url(args) -> str:
    if args.url:
        return args.url
    import pgserver

    folder = OUT / "pgvector-pg"
    folder.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(folder), cleanup_mode=None)
    return server.get_uri()


def fresh_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    head, _, query = admin_url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def part_a(
    store, synth: Synth, n: int, bytea: bool = True
) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Write n papers' vectors (pgvector and BYTEA), read them back; returns the figures and
    the passage matrix, its owners, and the whole-text matrix for the exact search."""
    store.conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_bytea (paper_rowid BIGINT NOT NULL, "
        "passage INTEGER NOT NULL, model TEXT NOT NULL, vector BYTEA NOT NULL, "
        "PRIMARY KEY (paper_rowid, passage))"
    )
    # the same secondary index (0002) and trigger (0010) as paper_vectors, so the two writes
    # differ by the column's type only
    store.conn.execute(
        "CREATE INDEX IF NOT EXISTS bench_bytea_model ON bench_bytea (model, paper_rowid)"
    )
    store.conn.execute(
        "CREATE OR REPLACE TRIGGER bench_bytea_changed AFTER INSERT OR UPDATE OR DELETE ON "
        "bench_bytea FOR EACH STATEMENT EXECUTE FUNCTION paper_vectors_changed()"
    )
    mats, owners, docs = [], [], []
    spent = {"pgvector_write": [0.0, 0.0], "bytea_write": [0.0, 0.0]}
    rows_written = 0
    for start in range(1, n + 1, BATCH_PAPERS):
        rows = []
        for rowid in range(start, min(n + 1, start + BATCH_PAPERS)):
            doc, passages = synth.paper()
            docs.append(doc)
            mats.append(passages)
            owners.extend([rowid] * len(passages))
            rows.append((rowid, -1, doc.tobytes()))
            rows.extend((rowid, i, v.tobytes()) for i, v in enumerate(passages))
        rows_written += len(rows)
        t, c = time.perf_counter(), cpu()
        store.save_vectors(MODEL, rows)
        spent["pgvector_write"][0] += time.perf_counter() - t
        spent["pgvector_write"][1] += cpu() - c
        if not bytea:
            continue
        t, c = time.perf_counter(), cpu()
        conn = store.conn
        conn.execute("BEGIN IMMEDIATE")
        # what save_vectors does: the papers' old vectors go, the new ones come
        conn.executemany(
            "DELETE FROM bench_bytea WHERE paper_rowid = ?",
            [(r,) for r in range(start, min(n + 1, start + BATCH_PAPERS))],
        )
        conn.executemany(
            "INSERT INTO bench_bytea (paper_rowid, passage, model, vector) VALUES (?, ?, ?, ?)",
            [(r, p, MODEL, v) for r, p, v in rows],
        )
        conn.execute("COMMIT")
        spent["bytea_write"][0] += time.perf_counter() - t
        spent["bytea_write"][1] += cpu() - c
    figures = {
        key: {"rows_per_s": rows_written / wall, "cpu_s": cpu_s, "wall_s": wall}
        for key, (wall, cpu_s) in spent.items()
        if wall
    }
    tables = [("pgvector_read", "paper_vectors")] + [("bytea_read", "bench_bytea")] * bytea
    for key, table in tables:
        t, c = time.perf_counter(), cpu()
        got, last = 0, (-1, -1)
        while True:
            rows = store.conn.execute(
                f"SELECT paper_rowid, passage, vector FROM {table} WHERE model = ? AND "
                "(paper_rowid, passage) > (?, ?) ORDER BY paper_rowid, passage LIMIT 20000",
                (MODEL, *last),
            ).fetchall()
            if not rows:
                break
            assert len(rows[0][2]) == 4 * DIM
            got += len(rows)
            last = (rows[-1][0], rows[-1][1])
        wall = time.perf_counter() - t
        figures[key] = {"rows_per_s": got / wall, "cpu_s": cpu() - c, "wall_s": wall}
    sizes = store.conn.execute(
        "SELECT pg_total_relation_size('paper_vectors'), pg_total_relation_size('bench_bytea')"
    ).fetchone()
    figures["bytes"] = {"pgvector": sizes[0], "bytea": sizes[1]}
    figures["rows"] = rows_written
    store.conn.execute("DROP TABLE bench_bytea")
    return figures, np.concatenate(mats), np.array(owners, dtype=np.int64), np.stack(docs)


def exact_top(matrix: np.ndarray, owners: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    sims = matrix @ query
    firsts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    best = np.maximum.reduceat(sims, firsts)
    ids = owners[firsts]
    top = np.argpartition(-best, k)[:k]
    return ids[top].tolist()


def timed(fn, queries) -> tuple[list, list[float]]:
    results, times = [], []
    fn(queries[0])  # warm
    for q in queries:
        t = time.perf_counter()
        results.append(fn(q))
        times.append((time.perf_counter() - t) * 1000)
    return results, times


def summary(name: str, results, times, truths) -> dict:
    pairs = zip(results, truths, strict=True)
    recall = np.mean([len({r for r, _ in got} & set(truth)) / len(truth) for got, truth in pairs])
    return {
        "path": name,
        "p50_ms": float(np.percentile(times, 50)),
        "p95_ms": float(np.percentile(times, 95)),
        "recall@100": float(recall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--url", help="an admin URL of a PostgreSQL server with pgvector")
    parser.add_argument("--no-bytea", action="store_true", help="skip the BYTEA half of part A")
    args = parser.parse_args()
    from paperscope.index.vectors import MIN_CANDIDATES, OVERSAMPLE, VectorIndex
    from paperscope.store import pgvector
    from paperscope.store.pg import PostgresStore

    load = os.getloadavg()[0]
    url = fresh_database(server_url(args), f"bench_knn_{args.papers}")
    store = PostgresStore(url)
    synth = Synth()
    print(f"{args.papers:,} papers, load {load:.1f} on {os.cpu_count()} cores", flush=True)
    io, matrix, owners, _docs = part_a(store, synth, args.papers, not args.no_bytea)
    print(f"A. vector I/O, {io['rows']:,} rows of {DIM} float32 (whole-text + passages)")
    for key in ("pgvector_write", "bytea_write", "pgvector_read", "bytea_read"):
        if key not in io:
            continue
        f = io[key]
        print(
            f"   {key:15s} {f['rows_per_s']:9,.0f} rows/s  "
            f"(wall {f['wall_s']:6.1f} s, client CPU {f['cpu_s']:6.1f} s)"
        )
    print(
        f"   table size: pgvector {io['bytes']['pgvector'] / 2**20:,.0f} MiB, "
        f"bytea {io['bytes']['bytea'] / 2**20:,.0f} MiB",
        flush=True,
    )

    t = time.perf_counter()
    pgvector.create_index(store, MODEL, DIM)
    hnsw_s = time.perf_counter() - t
    store.conn.execute("ANALYZE paper_vectors")
    folder = Path(tempfile.mkdtemp(prefix="knn-usearch-", dir=OUT))
    index = VectorIndex(store, folder, MODEL, DIM)
    t, c = time.perf_counter(), cpu()
    index.ensure()
    usearch_s, usearch_cpu = time.perf_counter() - t, cpu() - c
    print(
        f"B. build: pgvector HNSW {hnsw_s:.0f} s (server); usearch index from the store "
        f"{usearch_s:.0f} s (CPU {usearch_cpu:.0f} s)",
        flush=True,
    )
    queries = [synth.query() for _ in range(args.queries)]
    truths = [exact_top(matrix, owners, q, K) for q in queries]
    candidates = max(K * OVERSAMPLE, MIN_CANDIDATES)
    plan = store.conn.execute(
        "EXPLAIN SELECT paper_rowid FROM paper_vectors WHERE model = ? AND passage = -1 "
        f"ORDER BY vector::vector({DIM}) <=> ?::vector({DIM}) LIMIT 300",
        (MODEL, pgvector.Vector(queries[0].tobytes())),
    ).fetchall()
    uses_index = any(pgvector.index_name(MODEL) in r[0] for r in plan)
    rows = [
        summary("usearch (VectorIndex)", *timed(lambda q: index.search(q, K), queries), truths),
        summary(
            f"pgvector HNSW, {candidates} candidates",
            *timed(lambda q: pgvector.nearest(store, MODEL, q, K, candidates), queries),
            truths,
        ),
        summary(
            "pgvector HNSW, 1000 candidates",
            *timed(lambda q: pgvector.nearest(store, MODEL, q, K, 1000), queries),
            truths,
        ),
    ]
    print(f"   k={K}, {args.queries} queries; the HNSW index in the plan: {uses_index}")
    for r in rows:
        print(
            f"   {r['path']:34s} p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
            f"recall@100 {r['recall@100']:.3f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"   bench process peak RSS {peak:,.0f} MiB; load at the end {os.getloadavg()[0]:.1f}")
    store.close()


if __name__ == "__main__":
    main()
