"""Faults injected into real processes: a full disk during an import, a store locked by another
writer, a damaged index folder. Each checks that nothing is lost and nothing is doubled: the
store stays whole, running the same command again ends with every record exactly once, and
search answers as before."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from paperscope.index.paths import index_dir
from test_kill_import import BATCH, big_snapshot, papers_in, run_import


def _count_and_distinct(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return conn.execute("SELECT count(*), count(DISTINCT arxiv_id) FROM papers").fetchone()
    finally:
        conn.close()


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MiB tmpfs (`.path`; mounting needs root, as CI's container has); `.grow()`
    enlarges it."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")

    def grow() -> None:
        subprocess.run(["mount", "-o", "remount,size=512m", str(disk)], check=True)

    try:
        yield SimpleNamespace(path=disk, grow=grow)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_disk_full_during_import(small_disk, tmp_path):
    data, db = tmp_path / "big.jsonl", small_disk.path / "papers.db"
    total = big_snapshot(data)
    first = run_import(data, db)
    assert first.wait(timeout=600) == 1
    stderr = first.stderr.read().decode()
    assert "Traceback" not in stderr, stderr
    assert "disk" in stderr and "full" in stderr and "hint:" in stderr, stderr
    landed, distinct = _count_and_distinct(db)
    assert 0 < landed < total and landed == distinct
    assert landed % BATCH == 0, "a batch landed in part"

    small_disk.grow()
    second = run_import(data, db)
    assert second.wait(timeout=600) == 0, second.stderr.read().decode()
    assert _count_and_distinct(db) == (total, total)


HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def test_import_waits_for_another_writer(tmp_path):
    data, db = tmp_path / "big.jsonl", tmp_path / "papers.db"
    total = big_snapshot(data)
    importer = run_import(data, db)
    deadline = time.monotonic() + 300
    while papers_in(db) < 2 * BATCH and time.monotonic() < deadline:
        time.sleep(0.05)
    # a second process takes the write lock mid-import and keeps it for 5 s
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db), "5"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    held_at = papers_in(db)
    time.sleep(2)
    assert papers_in(db) == held_at, "the import wrote while another process held the lock"
    assert holder.wait(timeout=60) == 0
    assert importer.wait(timeout=600) == 0, importer.stderr.read().decode()
    assert _count_and_distinct(db) == (total, total)


def _search(db: Path, text: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "paperscope", "search", text, "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    return [hit["id"] for hit in json.loads(out.stdout)]


def _damage(folder: Path, how: str) -> None:
    for i, path in enumerate(sorted(p for p in folder.rglob("*") if p.is_file())):
        if how == "truncated":
            with path.open("r+b") as fh:
                fh.truncate(path.stat().st_size // 2)
        elif how == "garbage":
            path.write_bytes(b"\xde\xad\xbe\xef" * 64)
        elif how == "half removed" and i % 2 == 0:
            path.unlink()


@pytest.mark.parametrize("how", ["truncated", "garbage", "half removed"])
def test_a_damaged_index_folder_is_rebuilt_and_search_answers_the_same(store_copy, how):
    query = "hyperspherical energy"
    before = _search(store_copy, query)
    assert before
    _damage(index_dir(store_copy), how)
    assert _search(store_copy, query) == before
    doctor = subprocess.run(
        [sys.executable, "-m", "paperscope", "doctor", "--db", str(store_copy), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    checks = {c["name"]: c["status"] for c in json.loads(doctor.stdout)["checks"]}
    assert checks["lexical index"] == checks["vector index"] == "ok"
