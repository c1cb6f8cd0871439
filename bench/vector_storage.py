"""Vectors in the store: bytes on disk per vector against the raw float32 bytes, and read speed.

Layouts, each holding the same vectors written the way `paperscope embed` writes them
(batches of 64 papers in longest-text-first order, so rowids arrive shuffled; 1-4 passages
plus the whole-text vector per paper, 384 float32 = 1,536 bytes each):

  before     the paper_vectors table of migrations 0002/0010: WITHOUT ROWID, 4 KiB pages
  migrated   that file opened by paperscope (migration 0012: a rowid table), still 4 KiB pages
  compacted  the migrated file after `paperscope compact` (8 KiB pages)
  new        a store created by paperscope now (8 KiB pages), vectors saved by save_vectors

Bytes are SQLite's own page counts (dbstat) of the table and its indexes. Reads: every vector
of the model in rowid order (the SQL of SQLiteStore.iter_vectors, what a vector index rebuild
reads), and the whole-text vectors of 200 random papers (SQLiteStore.passage_vectors, what
`similar` reads), warm OS cache. Timings on a shared machine are noisy. Never asserts.

Usage: python bench/vector_storage.py [--papers 12000]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paperscope.index.embedding import DOC_PASSAGE
from paperscope.store.sqlite import SQLiteStore
from synth import OUT

MIGRATIONS = resources.files("paperscope.store.migrations").joinpath("sqlite")
DIM = 384
MODEL = "bench-model-v1"
BATCH = 64
OLD_DDL = """
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE paper_vectors (
    paper_rowid INTEGER NOT NULL,
    passage     INTEGER NOT NULL,
    model       TEXT    NOT NULL,
    vector      BLOB    NOT NULL,
    PRIMARY KEY (paper_rowid, passage)
) WITHOUT ROWID;
CREATE INDEX paper_vectors_model ON paper_vectors (model, paper_rowid);
"""
SCAN_SQL = (
    "SELECT paper_rowid, passage, vector FROM paper_vectors WHERE model = ? AND "
    "(paper_rowid, passage) > (?, ?) ORDER BY paper_rowid, passage LIMIT ?"
)


def batches(papers: int, seed: int = 5):
    """Lists of (rowid, passage, bytes) per saved batch, papers in a shuffled order."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(np.arange(1, papers + 1))
    for start in range(0, papers, BATCH):
        rows = []
        for rowid in order[start : start + BATCH].tolist():
            count = int(rng.integers(1, 5))
            vectors = rng.standard_normal((count + 1, DIM)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            rows.append((rowid, DOC_PASSAGE, vectors[-1].tobytes()))
            rows.extend((rowid, p, vectors[p].tobytes()) for p in range(count))
        yield rows


def write_old(path: Path, papers: int) -> None:
    """A store as paperscope made them before migration 0012: 4 KiB pages, the vectors table
    of 0002 (with the triggers of 0010), 0012 not applied yet."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA page_size=4096")  # the file's first write fixes its page size
    conn.execute("CREATE TABLE bench_marker (x)")
    conn.close()
    SQLiteStore(path).close()  # every migration, 0012 included
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE paper_vectors")
    conn.executescript(OLD_DDL)
    conn.executescript(MIGRATIONS.joinpath("0010_vectors_generation.sql").read_text("utf-8"))
    conn.execute("DELETE FROM schema_migrations WHERE name = '0012_vectors_rowid'")
    conn.execute("DROP TABLE bench_marker")
    for rows in batches(papers):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO paper_vectors VALUES (?, ?, ?, ?)", [(r, p, MODEL, v) for r, p, v in rows]
        )
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def write_new(path: Path, papers: int) -> None:
    with SQLiteStore(path) as store:
        for rows in batches(papers):
            store.save_vectors(MODEL, rows)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def measure(name: str, path: Path) -> dict:
    conn = sqlite3.connect(path)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    stored = conn.execute(
        "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'paper_vectors%' "
        "OR name LIKE 'sqlite_autoindex_paper_vectors%'"
    ).fetchone()[0]
    count, raw = conn.execute("SELECT count(*), sum(length(vector)) FROM paper_vectors").fetchone()
    top = conn.execute("SELECT max(paper_rowid) FROM paper_vectors").fetchone()[0]
    scan = []
    for _ in range(3):
        started, last, seen = time.perf_counter(), (-1, -1), 0
        while rows := conn.execute(SCAN_SQL, (MODEL, *last, 20_000)).fetchall():
            seen += len(rows)
            last = (rows[-1][0], rows[-1][1])
        scan.append(seen / (time.perf_counter() - started))
    rng = np.random.default_rng(1)
    lookups = []
    for _ in range(20):
        ids = rng.integers(1, top + 1, 200).tolist()
        marks = ",".join("?" * len(ids))
        started = time.perf_counter()
        conn.execute(
            f"SELECT paper_rowid, vector FROM paper_vectors WHERE model = ? AND passage = ? "
            f"AND paper_rowid IN ({marks})",
            (MODEL, DOC_PASSAGE, *ids),
        ).fetchall()
        lookups.append((time.perf_counter() - started) * 1000)
    conn.close()
    return {
        "name": name,
        "page": page,
        "vectors": count,
        "raw": raw,
        "stored": stored,
        "file": path.stat().st_size,
        "scan": statistics.median(scan),
        "lookup": statistics.median(lookups),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", type=int, default=12_000)
    args = ap.parse_args()
    folder = OUT / "vector-storage"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    before, migrated, compacted, new = (folder / f"{n}.db" for n in ("b", "m", "c", "n"))
    write_old(before, args.papers)
    results = [measure("before", before)]
    shutil.copyfile(before, migrated)
    started = time.perf_counter()
    SQLiteStore(migrated).close()  # applies the pending migrations, 0012 among them
    migration_s = time.perf_counter() - started
    results.append(measure("migrated", migrated))
    shutil.copyfile(migrated, compacted)
    started = time.perf_counter()
    with SQLiteStore(compacted) as store:
        store.compact()
    compact_s = time.perf_counter() - started
    results.append(measure("compacted", compacted))
    write_new(new, args.papers)
    results.append(measure("new", new))
    first = results[0]
    print(
        f"{first['vectors']} vectors of {DIM} float32 ({first['raw'] / 1e6:.1f} MB raw) "
        f"for {args.papers} papers; migration 0012 took {migration_s:.1f} s, "
        f"compact {compact_s:.1f} s\n"
    )
    print(
        "layout     page   table+indexes  bytes/vector  x raw   file MB  "
        "scan vectors/s  200 lookups ms"
    )
    for r in results:
        print(
            f"{r['name']:<10} {r['page']:>5}  {r['stored'] / 1e6:>9.1f} MB  "
            f"{r['stored'] / r['vectors']:>12.0f}  {r['stored'] / r['raw']:>5.2f}  "
            f"{r['file'] / 1e6:>7.1f}  {r['scan']:>14.0f}  {r['lookup']:>14.1f}"
        )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
