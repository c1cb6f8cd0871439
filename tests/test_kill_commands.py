"""SIGKILL in the middle of `embed`, `neighbours` and `authors rebuild` (real processes): the
store stays whole, and the next run ends where an uninterrupted run would, nothing doubled."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from paperscope.index.embedder import default_embedder
from paperscope.index.paths import index_dir
from paperscope.store.sqlite import SQLiteStore
from test_kill_import import big_snapshot, run_import

#: 200 papers: embedding them (a few batches of 64) takes long enough to be killed midway.
EMBED_COPIES = 1
#: 3,000 papers with stand-in vectors for `neighbours` (embedding them would take too long).
NEIGHBOUR_COPIES = 15


def paperscope(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "paperscope", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen, timeout: float = 900) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


def query(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []  # a table not created yet
    finally:
        conn.close()


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"ended before it could be killed: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "never got far enough to be killed"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def integrity_ok(db: Path) -> None:
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


def test_sigkill_during_embed(tmp_path):
    data, db = tmp_path / "papers.jsonl", tmp_path / "papers.db"
    total = big_snapshot(data, EMBED_COPIES)
    assert run_import(data, db).wait(timeout=600) == 0

    def embedded() -> int:
        return query(db, "SELECT count(DISTINCT paper_rowid) FROM paper_vectors")[0][0]

    kill_when(paperscope("embed", "--db", str(db), "-q"), lambda: embedded() > 0)
    integrity_ok(db)
    landed = embedded()
    assert 0 < landed < total
    # every paper that has vectors has them whole: the document vector (-1) and passages 0..n
    assert query(
        db,
        "SELECT count(*) FROM (SELECT paper_rowid FROM paper_vectors GROUP BY paper_rowid "
        "HAVING max(passage) - min(passage) + 1 != count(*) OR min(passage) != -1)",
    ) == [(0,)]
    result = json.loads(finished(paperscope("embed", "--db", str(db), "--json")))
    assert result["embedded_now"] == total - landed  # the landed ones were not redone
    assert result["embedded"] == result["papers"] == total


def test_ctrl_c_during_embed_says_what_is_kept_and_the_rerun_finishes(tmp_path):
    """Ctrl-C (SIGINT) ended `embed` with exit code 130 and not a word, and its last progress
    line said "done" at 64 of 200 papers."""
    data, db = tmp_path / "papers.jsonl", tmp_path / "papers.db"
    total = big_snapshot(data, EMBED_COPIES)
    assert run_import(data, db).wait(timeout=600) == 0

    def embedded() -> int:
        return query(db, "SELECT count(DISTINCT paper_rowid) FROM paper_vectors")[0][0]

    # stderr is a pipe, so progress comes as lines; SIGINT as a terminal's Ctrl-C sends it
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperscope", "embed", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 600
    while not embedded():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    lines = err.splitlines()
    assert lines[-1] == (
        "interrupted: the vectors written so far are kept; run the same command again to continue"
    )
    assert lines[-2].startswith(tuple("0123456789")) and lines[-2].endswith(", interrupted")
    assert "Traceback" not in err
    landed = embedded()
    result = json.loads(finished(paperscope("embed", "--db", str(db), "--json")))
    assert result["embedded_now"] == total - landed
    assert result["embedded"] == total


def _standin_vectors(db: Path) -> None:
    """A random unit vector per paper, saved as the current model's (as bench/ does)."""
    with SQLiteStore(db) as store:
        embedder = default_embedder()
        rng = np.random.default_rng(5)
        rows = []
        for rowid, _ in store.iter_papers():
            vector = rng.standard_normal(embedder.dim).astype(np.float32)
            rows.append((rowid, 0, (vector / np.linalg.norm(vector)).tobytes()))
        store.save_vectors(embedder.version, rows)


def test_sigkill_during_neighbours(tmp_path):
    data, db = tmp_path / "papers.jsonl", tmp_path / "papers.db"
    total = big_snapshot(data, NEIGHBOUR_COPIES)
    assert run_import(data, db).wait(timeout=600) == 0
    _standin_vectors(db)
    lists = index_dir(db) / "neighbours.sqlite"

    def remembered() -> int:
        # no row while the file exists but its table is not created yet (query() says [])
        rows = query(lists, "SELECT count(*) FROM lists")
        return rows[0][0] if rows else 0

    kill_when(paperscope("neighbours", "--db", str(db), "-q"), lambda: remembered() > 0)
    integrity_ok(lists)
    kept = remembered()
    assert 0 < kept < total
    result = json.loads(finished(paperscope("neighbours", "--db", str(db), "--json")))
    assert result["computed"] == total - kept and result["remembered"] == total
    again = json.loads(finished(paperscope("neighbours", "--db", str(db), "--json")))
    assert again["computed"] == 0 and again["remembered"] == total


AUTHOR_TABLES = (
    "author_clusters",
    "author_anchors",
    "author_occurrences",
    "author_variants",
    "author_categories",
)


def _authors(db: Path) -> dict[str, list]:
    """The tables `authors rebuild` writes, row by row."""
    return {t: sorted(query(db, f"SELECT * FROM {t}"), key=repr) for t in AUTHOR_TABLES}


def test_sigkill_during_authors_rebuild(tmp_path):
    data, db = tmp_path / "papers.jsonl", tmp_path / "papers.db"
    big_snapshot(data)  # 30,000 papers: a rebuild takes seconds
    assert run_import(data, db).wait(timeout=600) == 0
    reference = tmp_path / "reference.db"
    shutil.copyfile(db, reference)
    for suffix in ("-wal", "-shm"):
        if Path(f"{db}{suffix}").exists():
            shutil.copyfile(f"{db}{suffix}", f"{reference}{suffix}")
    started = time.monotonic()
    finished(paperscope("authors", "rebuild", "--db", str(reference)))
    took = time.monotonic() - started
    expected = _authors(reference)

    proc = paperscope("authors", "rebuild", "--db", str(db))
    time.sleep(took / 2)
    kill_when(proc, lambda: True)
    integrity_ok(db)
    finished(paperscope("authors", "rebuild", "--db", str(db)))
    assert _authors(db) == expected
    assert expected["author_occurrences"]  # a real comparison: the rebuild wrote people
