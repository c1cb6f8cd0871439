"""`paperscope backup`, `restore` and `doctor` as real processes: a backup taken while `serve`
and an import write is one consistent moment; restore refuses a live store and rebuilds the
indexes; doctor says what is wrong and what to run."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

from backends import with_database
from conftest import XSS_ID
from paperscope.config import is_db_url
from paperscope.index.paths import index_dir
from paperscope.store.accounts import Accounts
from paperscope.store.backends import open_store
from paperscope.store.copy import checksums
from paperscope.store.sqlite import SQLiteStore
from servetools import serving
from test_kill_import import BATCH, big_snapshot, papers_in

#: A second writer: a big Kaggle snapshot into the store, BATCH papers per transaction, the
#: store only. (`paperscope import` would also catch up the lexical index at its end, which
#: races serve's own catch-up of that folder: a separate finding, see docs/operations.md.)
WRITER = """
import sys
from pathlib import Path
from paperscope.ingest.pipeline import import_file
from paperscope.store.backends import open_store
with open_store(sys.argv[2]) as store:
    import_file(store, Path(sys.argv[1]), batch_size=int(sys.argv[3]))
"""


def write_papers(data, db) -> subprocess.Popen:
    cmd = [sys.executable, "-c", WRITER, str(data), str(db), str(BATCH)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def paperscope(*args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "paperscope", *args]
    environ = {**os.environ, **env}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=environ)


def papers_now(db) -> int:
    """Papers in the store while another process writes it (0 before it is created)."""
    if not is_db_url(db):
        return papers_in(db)
    import psycopg

    with psycopg.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM papers").fetchone()[0]


def sql(db, statement: str) -> None:
    with open_store(db) as store:
        store.conn.execute(statement)


def _papers_and_tags(db) -> tuple[int, list[int]]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        papers = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
        names = [r[0] for r in conn.execute("SELECT name FROM tags WHERE name LIKE 'w%'")]
    finally:
        conn.close()
    return papers, sorted(int(name[1:]) for name in names)


class TagWriter(threading.Thread):
    """Saves a paper under a new tag w0, w1, ... through serve's API, one after another."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(daemon=True)
        self.base, self.token = base, token
        self.acknowledged = 0
        self.failure: str | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=60) as client:
            while not self.stop.is_set():
                body = {"tag": f"w{self.acknowledged}"}
                response = client.post(f"/api/v1/library/papers/{XSS_ID}", json=body)
                if response.status_code == 429:
                    # the API's rate limit, as a client meets it: wait as told, write the same tag
                    self.stop.wait(float(response.headers.get("Retry-After", "1")))
                    continue
                if response.status_code != 200:
                    # the main thread fails the test with it (an assert here only warned)
                    self.failure = f"{response.status_code}: {response.text}"
                    return
                self.acknowledged += 1


def test_backup_while_serve_and_an_import_write(store_any, tmp_path):
    # on PostgreSQL the backup is a SQLite file too, read from one snapshot of the database
    store_copy = store_any
    with open_store(store_copy) as store:
        accounts = Accounts(store)
        token = accounts.create_token(accounts.local_user().id, "backup test")
        before = store.count()
    data = tmp_path / "big.jsonl"
    total = big_snapshot(data)
    with serving(store_copy) as server:
        writer = TagWriter(server.base, token)
        writer.start()
        importer = write_papers(data, store_copy)
        try:
            deadline = time.monotonic() + 300
            while papers_now(store_copy) < before + 2 * BATCH and time.monotonic() < deadline:
                time.sleep(0.05)
            backups = []
            # one on PostgreSQL, where the import runs faster than a backup of the growing
            # store: all three would outlast it
            for n in range(1 if is_db_url(store_copy) else 3):
                acknowledged = writer.acknowledged
                target = tmp_path / f"backup-{n}.db"
                done = paperscope("backup", str(target), "--db", str(store_copy), "--json")
                assert done.returncode == 0, done.stderr
                assert json.loads(done.stdout)["path"] == str(target)
                backups.append((target, acknowledged, writer.acknowledged))
            assert importer.poll() is None, "the import ended before the backups: no overlap"
        finally:
            writer.stop.set()
            writer.join(timeout=60)
            importer.wait(timeout=600)
    assert importer.returncode == 0, importer.stderr.read().decode()
    assert writer.failure is None, writer.failure
    assert writer.acknowledged > 0
    for target, acknowledged_before, acknowledged_after in backups:
        assert not (tmp_path / f"{target.name}-wal").exists()  # one self-contained file
        papers, tags = _papers_and_tags(target)
        # one moment of the store: whole import batches, and the tags a prefix of those written
        assert (papers - before) % BATCH == 0 and before < papers < before + total
        assert tags == list(range(len(tags)))
        assert acknowledged_before <= len(tags) <= acknowledged_after


def test_restore_refuses_a_live_store_and_rebuilds_the_indexes(store_any, tmp_path, request):
    store_copy = store_any
    backup = tmp_path / "backup.db"
    assert paperscope("backup", str(backup), "--db", str(store_copy)).returncode == 0
    # the store moves on after the backup: a paper that the restore must take away
    extra = tmp_path / "extra.bib"
    extra.write_text("@article{k, title={Zygomorphic quokka lattices}, author={Ann Other}}\n")
    assert paperscope("import", str(extra), "--db", str(store_copy), "-q").returncode == 0

    refused = paperscope("restore", str(backup), "--db", str(store_copy))
    assert refused.returncode == 1
    assert "holds" in refused.stderr and "--force" in refused.stderr
    with serving(store_copy):
        busy = paperscope("restore", str(backup), "--db", str(store_copy), "--force")
        assert busy.returncode == 1 and "in use" in busy.stderr, busy.stderr
    assert _search(store_copy, "quokka") == ["Zygomorphic quokka lattices"]

    done = paperscope("restore", str(backup), "--db", str(store_copy), "--force", "--json")
    assert done.returncode == 0, done.stderr
    restored = json.loads(done.stdout)
    with open_store(backup) as original:
        assert restored["papers"] == original.count()
    assert (index_dir(store_copy) / "lexical").is_dir()
    assert (index_dir(store_copy) / "vectors").is_dir()
    assert _search(store_copy, "quokka") == []  # the rebuilt index holds the backup's papers
    assert _search(store_copy, '"hyperspherical energy"')
    doctor = paperscope("doctor", "--db", str(store_copy), "--json")
    assert doctor.returncode == 0 and json.loads(doctor.stdout)["ok"]

    # into a new place: no --force needed (on PostgreSQL, an empty database)
    if is_db_url(store_copy):
        fresh = request.getfixturevalue("pg_server").fresh(migrated=False)
        env = {"PAPERSCOPE_INDEX_DIR": str(tmp_path / "elsewhere-index")}
    else:
        fresh, env = tmp_path / "elsewhere" / "papers.db", {}
    done = paperscope("restore", str(backup), "--db", str(fresh), **env)
    assert done.returncode == 0, done.stderr
    assert _search(fresh, '"hyperspherical energy"', **env)


def test_restore_refuses_a_damaged_backup(store_any, db_target, tmp_path):
    backup = tmp_path / "backup.db"
    assert paperscope("backup", str(backup), "--db", str(store_any)).returncode == 0
    with backup.open("r+b") as fh:
        fh.truncate(backup.stat().st_size // 2)
    target = db_target
    refused = paperscope("restore", str(backup), "--db", str(target))
    assert refused.returncode == 1 and "not a usable backup" in refused.stderr


def test_restore_from_a_missing_or_unusable_file_says_why(db_target, tmp_path):
    """Not `is not a usable backup: ` with nothing after the colon."""
    missing = tmp_path / "typo.db"
    refused = paperscope("restore", str(missing), "--db", str(db_target))
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.splitlines()[0] == f"error: no backup at {missing}"
    folder = paperscope("restore", str(tmp_path), "--db", str(db_target))
    assert folder.returncode == 1
    assert folder.stderr.splitlines()[0] == (
        f"error: {tmp_path} is not a usable backup: {tmp_path} is not a file"
    )


def test_restore_onto_a_folder_is_an_error_not_a_traceback(tmp_path):
    """`restore BACKUP --db FOLDER` failed in sqlite3.connect with a traceback."""
    backup = tmp_path / "backup.db"
    with open_store(tmp_path / "source.db"):
        pass
    assert paperscope("backup", str(backup), "--db", str(tmp_path / "source.db")).returncode == 0
    folder = tmp_path / "folder.db"
    folder.mkdir()
    refused = paperscope("restore", str(backup), "--db", str(folder), "--json")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "Traceback" not in refused.stderr
    assert refused.stderr.splitlines() == [
        f"error: cannot open the paper store {folder}: {folder} is not a file",
        "hint: a store is a SQLite file, not a folder: name a file in it (FOLDER/papers.db)",
    ]
    # every other command says the same
    stats = paperscope("stats", "--db", str(folder))
    assert stats.returncode == 1 and stats.stderr == refused.stderr
    doctor = paperscope("doctor", "--quick", "--db", str(folder), "--json")
    store_check = json.loads(doctor.stdout)["checks"][0]
    assert doctor.returncode == 1 and "permission" not in store_check["fix"]
    assert "not a folder" in store_check["fix"]


def _search(db, query: str, **env: str) -> list[str]:
    out = paperscope("search", query, "--db", str(db), "--mode", "lexical", "--json", **env)
    assert out.returncode == 0, out.stderr
    return [hit["title"] for hit in json.loads(out.stdout)]


def _doctor(db) -> tuple[int, dict[str, dict]]:
    out = paperscope("doctor", "--db", str(db), "--json")
    return out.returncode, {c["name"]: c for c in json.loads(out.stdout)["checks"]}


def test_doctor_says_what_to_run(store_any):
    store_copy = store_any
    code, checks = _doctor(store_copy)
    assert code == 0
    assert {c["status"] for c in checks.values()} == {"ok"}
    assert set(checks) >= {"store", "migrations", "model", "lexical index", "vector index"}

    # a damaged index folder: rebuilt at the next search, or now with reindex
    (index_dir(store_copy) / "vectors" / "graph.usearch").write_bytes(b"\0" * 100)
    (index_dir(store_copy) / "lexical" / "meta.json").write_text("{")
    code, checks = _doctor(store_copy)
    assert code == 0  # nothing is lost: the indexes are rebuilt from the store
    for name in ("vector index", "lexical index"):
        assert checks[name]["status"] == "warn" and "reindex" in checks[name]["fix"]

    # papers without vectors, and a migration not applied yet
    sql(
        store_copy,
        "DELETE FROM paper_vectors WHERE paper_rowid IN (SELECT rowid FROM papers LIMIT 3)",
    )
    code, checks = _doctor(store_copy)
    assert (
        checks["embeddings"]["status"] == "warn"
        and "paperscope embed" in checks["embeddings"]["fix"]
    )
    sql(store_copy, "DELETE FROM schema_migrations WHERE name = '0013_rate_buckets'")
    code, checks = _doctor(store_copy)
    assert code == 0 and checks["migrations"]["status"] == "warn"
    assert "0013_rate_buckets" in checks["migrations"]["detail"]


def test_doctor_reports_a_store_it_cannot_read(db_target, tmp_path):
    # a SQLite file that is not there, a PostgreSQL database that does not exist
    missing = (
        with_database(str(db_target), "no_such_database")
        if is_db_url(db_target)
        else tmp_path / "missing.db"
    )
    code, checks = _doctor(missing)
    assert code == 1 and checks["store"]["status"] == "error"
    assert "paperscope restore" in checks["store"]["fix"]


# SQLite only: PostgreSQL keeps its pages to itself (doctor reads every table through, and
# checks the indexes with amcheck where it is installed; a test cannot damage its files)
def test_doctor_reports_a_damaged_store(store_copy):
    with SQLiteStore(store_copy) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = store_copy.stat().st_size
    with store_copy.open("r+b") as fh:
        fh.seek(size // 2)
        fh.write(b"\xff" * 8192)  # pages of the tables overwritten
    code, checks = _doctor(store_copy)
    assert code == 1
    assert checks["store"]["status"] == "error"
    assert "paperscope restore" in checks["store"]["fix"]


def test_restore_shows_its_progress_and_ctrl_c_says_how_to_finish(store_any, tmp_path):
    """A restore into PostgreSQL copies table by table, as `db copy` does, and said nothing
    until it ended (minutes for a large store); Ctrl-C left a half-restored database with
    only `interrupted` said, though the same command finishes it."""
    if not is_db_url(store_any):
        pytest.skip("SQLite restores the file's pages in one step")
    backup = tmp_path / "backup.db"
    assert paperscope("backup", str(backup), "--db", str(store_any)).returncode == 0
    restore = ["restore", str(backup), "--db", str(store_any), "--force", "--no-reindex"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperscope", *restore],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first = proc.stderr.readline()  # a pipe: progress as lines, the first when a table starts
    assert re.search(r"Z copying \w+: .*started$", first), first
    proc.send_signal(signal.SIGINT)  # as Ctrl-C
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == (
        "interrupted: the store may be partly restored; run the same command again to finish "
        "the restore"
    )
    done = paperscope(*restore)
    assert done.returncode == 0, done.stderr
    assert re.search(r"copying papers: (\d+)/\1 rows \(100%\), .* done", done.stderr)
    with open_store(backup) as original, open_store(store_any) as restored:
        assert checksums(original) == checksums(restored)
