"""Vectors on disk (issue 15): at most 1.3x their raw bytes in a new store, migration 0012
keeps every vector of an older store, and `paperscope compact` gives it 8 KiB pages."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from paperscope.errors import StoreError
from paperscope.store.sqlite import SQLiteStore

MODEL = "test-model"
MIGRATIONS = resources.files("paperscope.store.migrations").joinpath("sqlite")


def vector_rows(papers: int, seed: int = 3) -> list[list[tuple[int, int, bytes]]]:
    """Batches as `embed` saves them: 16 papers each, in shuffled rowid order, 1-4 passages
    plus the whole-text vector (passage -1), 384 float32 each."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(np.arange(1, papers + 1)).tolist()
    batches = []
    for start in range(0, papers, 16):
        rows = []
        for rowid in order[start : start + 16]:
            for passage in range(-1, int(rng.integers(1, 5))):
                rows.append((rowid, passage, rng.standard_normal(384).astype("<f4").tobytes()))
        batches.append(rows)
    return batches


def vector_bytes(path: Path) -> tuple[int, int]:
    """(pages the vectors table and its indexes take, raw vector bytes)."""
    with sqlite3.connect(path) as conn:
        stored = conn.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'paper_vectors%' "
            "OR name LIKE 'sqlite_autoindex_paper_vectors%'"
        ).fetchone()[0]
        raw = conn.execute("SELECT sum(length(vector)) FROM paper_vectors").fetchone()[0]
    return stored, raw


def old_store(path: Path, batches) -> None:
    """A store as made before migration 0012: 4 KiB pages, the WITHOUT ROWID table."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA page_size=4096")
    conn.execute("CREATE TABLE first_write (x)")  # fixes the page size
    conn.close()
    SQLiteStore(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        "DROP TABLE paper_vectors;"
        + MIGRATIONS.joinpath("0002_vectors.sql")
        .read_text("utf-8")
        .split("CREATE INDEX papers_")[0]
        + MIGRATIONS.joinpath("0010_vectors_generation.sql").read_text("utf-8")
        + "DELETE FROM schema_migrations WHERE name = '0012_vectors_rowid'; DROP TABLE first_write;"
    )
    for rows in batches:
        conn.executemany(
            "INSERT INTO paper_vectors VALUES (?, ?, ?, ?)", [(r, p, MODEL, v) for r, p, v in rows]
        )
    conn.close()


def test_a_new_store_keeps_vectors_within_1_3_times_their_bytes(tmp_path):
    path = tmp_path / "new.db"
    with SQLiteStore(path) as store:
        assert store.page_size() == 8192
        for rows in vector_rows(600):
            store.save_vectors(MODEL, rows)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored, raw = vector_bytes(path)
    assert stored <= 1.3 * raw, stored / raw


def test_migration_0012_keeps_every_vector_and_the_generation(tmp_path):
    path = tmp_path / "old.db"
    batches = vector_rows(300)
    old_store(path, batches)
    stored, raw = vector_bytes(path)
    assert stored > 2.5 * raw  # the blow-up the issue measured (3x)
    with sqlite3.connect(path) as conn:
        generation = conn.execute(
            "SELECT value FROM store_meta WHERE key = 'vectors_generation'"
        ).fetchone()[0]
    with SQLiteStore(path) as store:  # migrates
        assert store.vectors_generation() == generation  # remembered lists stay valid
        kept = sorted(r for chunk in store.iter_vectors(MODEL) for r in chunk)
        assert kept == sorted(r for rows in batches for r in rows)
        assert store.count_embedded(MODEL) == 300
        store.save_vectors(MODEL, batches[0])  # the triggers came back with the table
        assert store.vectors_generation() > generation
        with pytest.raises(sqlite3.IntegrityError):  # still one vector per passage
            store.conn.execute(
                "INSERT INTO paper_vectors (paper_rowid, passage, model, vector) "
                "VALUES (?, ?, ?, ?)",
                (*batches[0][0][:2], MODEL, batches[0][0][2]),
            )
    stored, raw = vector_bytes(path)
    assert stored <= 1.45 * raw  # a rowid table on the old 4 KiB pages


def test_compact_gives_an_old_store_8k_pages(tmp_path):
    path = tmp_path / "old.db"
    old_store(path, vector_rows(300))
    with SQLiteStore(path) as store:
        assert store.page_size() == 4096
        reader = sqlite3.connect(path)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM papers").fetchall()  # another process reading
        with pytest.raises(StoreError, match="cannot compact"):
            store.compact()
        reader.rollback()
        reader.close()
        assert store.page_size() == 4096
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", "compact", "--db", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["page_size_before"], report["page_size"]) == (4096, 8192)
    assert report["bytes_after"] < report["bytes_before"]
    stored, raw = vector_bytes(path)
    assert stored <= 1.3 * raw
    with SQLiteStore(path) as store:
        assert store.count_embedded(MODEL) == 300
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
