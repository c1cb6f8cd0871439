"""Token buckets of the API rate limit, kept in the store so every worker process shares them.

The bucket arithmetic lives above (serve/web/ratelimit.py); the store only reads and writes a
client's (tokens, at) pair atomically. It uses a connection of its own with a short busy
timeout: a request must not wait behind an import's long write transaction, so when the store
is busy `update` raises `BucketsBusy` and the caller falls back to its own memory.

On PostgreSQL a client's bucket is serialised by a transaction-scoped advisory lock on the
client (not the store's writer lock, which an import holds for a whole batch), with a short
``lock_timeout`` in place of SQLite's busy timeout; nothing above the store changes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from paperscope.store.backends import open_store

#: Longest a request waits for the store's write lock (ms) before using per-process memory.
BUSY_MS = 200

Bucket = tuple[float, float]  # (tokens, at)


class BucketsBusy(Exception):
    """The store did not answer in time (another writer holds it)."""


class RateBuckets:
    def __init__(self, path: str | Path) -> None:
        self._store = open_store(path)  # applies migration 0013 on an older store
        self.conn = self._store.conn
        self._postgres = self._store.backend == "postgres"
        if not self._postgres:
            self.conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")

    def close(self) -> None:
        self._store.close()

    def update(self, client: str, change: Callable[[Bucket | None], tuple[Bucket, float]]) -> float:
        """Apply `change` to `client`'s bucket (None when it has none) in one write
        transaction; store the bucket it returns and return its result."""
        try:
            if self._postgres:
                self.conn.execute("BEGIN")
                self.conn.execute(f"SET LOCAL lock_timeout = {BUSY_MS}")
                self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", ("rate:" + client,))
            else:
                self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise BucketsBusy(str(exc)) from exc
        try:
            row = self.conn.execute(
                "SELECT tokens, at FROM rate_buckets WHERE client = ?", (client,)
            ).fetchone()
            (tokens, at), result = change((row[0], row[1]) if row else None)
            self.conn.execute(
                "INSERT INTO rate_buckets (client, tokens, at) VALUES (?, ?, ?) "
                "ON CONFLICT (client) DO UPDATE SET tokens = excluded.tokens, at = excluded.at",
                (client, tokens, at),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return result

    def forget_outside(self, since: float, until: float) -> int:
        """Delete buckets untouched since `since` (full again: the same as no row) and those
        stamped after `until` (a clock that was set back since)."""
        try:
            cur = self.conn.execute(
                "DELETE FROM rate_buckets WHERE at < ? OR at > ?", (since, until)
            )
        except sqlite3.OperationalError as exc:
            raise BucketsBusy(str(exc)) from exc
        return cur.rowcount
