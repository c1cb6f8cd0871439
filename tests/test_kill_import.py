"""Killing an import with SIGKILL mid-run loses at most the batch in flight: no half-written
paper, no corrupt database, and the next run completes the import."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import FORMATS

SNAPSHOT = FORMATS / "kaggle-snapshot" / "arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl"
BATCH = 500
COPIES = 150  # 30,000 papers: long enough to be killed in the middle


def big_snapshot(path, copies: int = COPIES) -> int:
    records = [json.loads(line) for line in SNAPSHOT.read_text().splitlines()]
    with path.open("w") as fh:
        for copy in range(copies):
            for i, record in enumerate(records):
                record = dict(record, id=f"{1001 + copy:04d}.{i + 1:05d}")
                record["title"] = f"{record['title']} (copy {copy})"
                record["doi"] = None  # a shared DOI would (rightly) merge the copies
                fh.write(json.dumps(record) + "\n")
    return copies * len(records)


def papers_in(db) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM papers").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0  # not created or migrated yet


def run_import(data, db) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "paperscope",
        "import",
        str(data),
        "--db",
        str(db),
        "--quiet",
        "--batch-size",
        str(BATCH),
        "--no-embed",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_mid_import_leaves_a_consistent_store(tmp_path):
    data, db = tmp_path / "big.jsonl", tmp_path / "papers.db"
    total = big_snapshot(data)
    proc = run_import(data, db)
    deadline = time.monotonic() + 120
    while papers_in(db) < 3 * BATCH and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "import finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    landed = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
    assert 0 < landed < total
    assert landed % BATCH == 0, "a batch landed in part"
    # every paper that landed is whole: its authors, aliases, source and index entry with it
    orphans = conn.execute(
        "SELECT count(*) FROM papers p WHERE authors != '[]' AND NOT EXISTS "
        "(SELECT 1 FROM paper_authors a WHERE a.paper_rowid = p.rowid)"
    ).fetchone()[0]
    assert orphans == 0
    for table in ("paper_aliases", "paper_sources"):
        count = conn.execute(f"SELECT count(DISTINCT paper_rowid) FROM {table}").fetchone()[0]
        assert count == landed
    conn.close()

    second = run_import(data, db)
    assert second.wait(timeout=300) == 0, second.stderr.read().decode()
    assert papers_in(db) == total
