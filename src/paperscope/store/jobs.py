"""Job leases: a background job (the embedding worker, the digest scheduler) runs in one
process of the whole cluster at a time.

`store.job_lease(name)` tries once to take the lease and returns a `JobLease` (release it, or
use it as a context manager) or None when another process holds it. The backend decides how:

* SQLite: an exclusive ``flock`` on ``<store>.jobs/<name>.lock`` beside the database file (not
  in an index folder: two serve processes with separate index folders on one file still
  exclude each other). The kernel drops the lock when the holding process ends, however it
  ends.
* PostgreSQL: a session-level ``pg_try_advisory_lock`` on a connection of its own, opened for
  the lease and held for the job's life. A killed node's connection closes, PostgreSQL ends
  its session and the lock goes with it; another node takes the job over on its next try.

Either way the lock is the truth. The `job_leases` table (migration 0019) only records which
node took each lease last (host, pid, since), so an operator can see where a job runs
(`paperscope jobs`); `holders()` says whether that lease is still held.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from paperscope.dates import iso_utc

#: Seconds between checks that a PostgreSQL lease's connection is still up (`alive`).
ALIVE_EVERY = 5.0


def lease_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a job name (the same on every node)."""
    digest = hashlib.sha256(f"paperscope-job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def this_node() -> tuple[str, str, int]:
    """(holder, host, pid) of the calling process."""
    host, pid = socket.gethostname(), os.getpid()
    return f"{host}:{pid}", host, pid


@dataclass(frozen=True, slots=True)
class Holder:
    name: str
    holder: str
    host: str
    pid: int
    since: str
    #: whether the lease is held right now (the row may name a holder that was killed)
    held: bool


class JobLease:
    """A lease taken; `release()` (or leaving the `with` block) gives it back."""

    def __init__(self, store: Any, name: str) -> None:
        self.store = store
        self.name = name
        self.holder, self.host, self.pid = this_node()
        self._released = False

    def __enter__(self) -> JobLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def alive(self) -> bool:
        """Whether this process still holds the lease (False once the lock was lost)."""
        return not self._released

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        # a row only another holder has overwritten stays theirs
        with contextlib.suppress(Exception):
            self.store.conn.execute(
                "DELETE FROM job_leases WHERE name = ? AND holder = ?", (self.name, self.holder)
            )
        self._unlock()

    def recorded(self) -> Self:
        """This lease, once `job_leases` names this process its holder; a lease that cannot
        be recorded is given back, not kept unnamed."""
        try:
            self._record()
        except BaseException:
            self.release()
            raise
        return self

    def _record(self) -> None:
        since = iso_utc()
        self.store.conn.execute(
            "INSERT INTO job_leases (name, holder, host, pid, since) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, host = excluded.host, "
            "pid = excluded.pid, since = excluded.since",
            (self.name, self.holder, self.host, self.pid, since),
        )

    def _unlock(self) -> None:
        raise NotImplementedError


# ------------------------------------------------------------------ SQLite: a file lock

#: `:memory:` stores have no file to lock beside; their leases are this process's.
_memory_leases: set[str] = set()
_memory_lock = threading.Lock()


def lock_folder(db_path: Path) -> Path:
    """``papers.db`` -> ``papers.db.jobs/``, beside the database file."""
    return Path(f"{db_path}.jobs")


class FileLease(JobLease):
    def __init__(self, store: Any, name: str, handle: Any) -> None:
        super().__init__(store, name)
        self._handle = handle

    def _unlock(self) -> None:
        if self._handle is None:
            with _memory_lock:
                _memory_leases.discard(self.name)
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()


def _file_held(path: Path) -> bool:
    """Whether some process holds the flock on `path` (a try on a new open file, undone)."""
    try:
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def sqlite_lease(store: Any, name: str) -> FileLease | None:
    if str(store.path) == ":memory:":
        with _memory_lock:
            if name in _memory_leases:
                return None
            _memory_leases.add(name)
        lease = FileLease(store, name, None)
    else:
        folder = lock_folder(store.path)
        folder.mkdir(parents=True, exist_ok=True)
        # a new open file description per try: flock conflicts between two of them even in
        # one process, so two workers of one process exclude each other too
        handle = open(folder / f"{name}.lock", "a")  # noqa: SIM115 - kept open while held
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        lease = FileLease(store, name, handle)
    return lease.recorded()


def sqlite_held(store: Any, name: str) -> bool:
    if str(store.path) == ":memory:":
        return name in _memory_leases
    return _file_held(lock_folder(store.path) / f"{name}.lock")


# ------------------------------------------------------------ PostgreSQL: an advisory lock


class AdvisoryLease(JobLease):
    def __init__(self, store: Any, name: str, conn: Any) -> None:
        super().__init__(store, name)
        self._conn = conn
        self._checked = time.monotonic()

    def alive(self) -> bool:
        if self._released:
            return False
        now = time.monotonic()
        if now - self._checked < ALIVE_EVERY:
            return True
        self._checked = now
        try:
            # the session lock lasts as long as the session: a live connection still holds it
            self._conn.execute("SELECT 1")
            return True
        except Exception:
            return False

    def _unlock(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (lease_key(self.name),))
        with contextlib.suppress(Exception):
            self._conn.close()


def postgres_lease(store: Any, name: str) -> AdvisoryLease | None:
    import psycopg

    # not a pooled connection: the pool would hand it to other statements, and the lock
    # must live exactly as long as this session
    try:
        conn = psycopg.connect(
            store.url, autocommit=True, application_name=f"paperscope-job-{name}"
        )
    except psycopg.OperationalError as exc:  # the server stopped or cannot be reached
        raise store.conn.unreachable(exc) from exc
    try:
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (lease_key(name),)).fetchone()[0]
    except psycopg.OperationalError as exc:
        broken = conn.broken  # the server went away between connecting and asking
        conn.close()
        if broken:
            raise store.conn.unreachable(exc) from exc
        raise
    except BaseException:
        conn.close()
        raise
    if not got:
        conn.close()
        return None
    return AdvisoryLease(store, name, conn).recorded()


def postgres_held(store: Any, name: str) -> bool:
    key = lease_key(name)
    # pg_locks splits a bigint advisory key into classid (high half) and objid (low half)
    high, low = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
    row = store.conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 1",
        (high, low),
    ).fetchone()
    return bool(row[0])


# ------------------------------------------------------------------------------ records


def holders(store: Any) -> list[Holder]:
    """The recorded holder of every job lease taken, and whether it is held now."""
    rows = store.conn.execute(
        "SELECT name, holder, host, pid, since FROM job_leases ORDER BY name"
    ).fetchall()
    return [
        Holder(r[0], r[1], r[2], int(r[3]), r[4], held=store.job_lease_held(r[0])) for r in rows
    ]
