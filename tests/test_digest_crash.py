"""A `digest send` process killed after the SMTP server accepted its message but before the
digest was marked sent (real process, real aiosmtpd server, real SQLite file).

docs/digests.md promises at least once: the digest stays pending under its lease, no run sends
it again before the lease ends, the first run after it sends the same message (same
Message-ID) once, and nothing after that."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading

import pytest

from digesttools import FIRST, add_papers
from mailtools import Recorder, smtp_server, start_controller
from paperscope.config import is_db_url
from paperscope.store.accounts import Accounts
from paperscope.store.alerts import Alerts
from paperscope.store.backends import open_store


class LockingRecorder(Recorder):
    """Accepts the message, but first takes the store's write lock, so the sender's
    "mark sent" waits on it: the window in which the test kills the sender."""

    def __init__(self, db) -> None:
        super().__init__()
        self.db = db
        self.lock = None
        self.accepted = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        self.lock = write_lock(self.db)
        self.accepted.set()
        return reply


def write_lock(db):
    """A connection that holds the store's write lock until it rolls back: SQLite's
    BEGIN IMMEDIATE, or the writer advisory lock `BEGIN IMMEDIATE` takes on PostgreSQL."""
    if is_db_url(db):
        import psycopg

        from paperscope.store.pg import WRITER_LOCK

        conn = psycopg.connect(db, autocommit=True)
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        return conn
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def send(db, url: str) -> subprocess.Popen:
    env = {**os.environ, "PAPERSCOPE_SMTP_URL": url, "PAPERSCOPE_MAIL_FROM": "d@example.org"}
    return subprocess.Popen(
        [sys.executable, "-m", "paperscope", "digest", "send", "--db", str(db)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def digest_rows(db) -> list[tuple[str, int]]:
    with open_store(db) as store:
        ada = Accounts(store).by_email("ada@example.org")
        return [(d.status, d.attempts) for d in Alerts(store).digests(ada.id)]


@pytest.fixture
def db(store_any):
    add_papers(store_any, FIRST)
    with open_store(store_any) as store:
        ada = Accounts(store).add("ada@example.org")
        Alerts(store).follow(ada.id, "category", "quant-ph")
    return store_any


def test_killed_after_the_server_accepted_sends_the_same_message_once_after_the_lease(db):
    recorder = LockingRecorder(db)
    controller = start_controller(recorder)
    try:
        process = send(db, f"smtp://127.0.0.1:{controller.port}")
        assert recorder.accepted.wait(120), "the digest never reached the server"
        # the server said 250; the sender now waits for the lock to mark it sent: kill it
        process.send_signal(signal.SIGKILL)
        process.wait(60)
        assert process.returncode == -signal.SIGKILL
    finally:
        if recorder.lock is not None:
            recorder.lock.execute("ROLLBACK")
            recorder.lock.close()
        controller.stop()
    assert len(recorder.messages) == 1
    first_id = recorder.messages[0]["Message-ID"]
    assert digest_rows(db) == [("pending", 1)]  # accepted, but never marked sent
    with smtp_server() as server:
        # within the lease no run sends it again
        early = send(db, server.url)
        early.communicate(timeout=300)
        assert early.returncode == 0 and server.messages == []
        with open_store(db) as store:  # the lease is over (instead of waiting 10 minutes)
            store.conn.execute("UPDATE digests SET next_attempt_at = NULL")
        retry = send(db, server.url)
        _out, err = retry.communicate(timeout=300)
        assert retry.returncode == 0, err
        assert [m["Message-ID"] for m in server.messages] == [first_id]  # the same message
        again = send(db, server.url)
        again.communicate(timeout=300)
        assert again.returncode == 0 and len(server.messages) == 1  # and never a third time
    assert digest_rows(db) == [("sent", 2)]
