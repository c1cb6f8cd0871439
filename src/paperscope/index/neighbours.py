"""Similar-paper lists remembered beside the store, for one state of the store and its vectors.

Finding a paper's similar papers (a passage search fetching hundreds of candidates, then a
re-rank by whole text) is most of a paper page's work: about 8 ms at 100k papers, against
about 4 ms for the rest of the page. The answer only changes when the papers or their vectors
do, so it is kept in ``<db>.index/neighbours.sqlite``, shared by every process on the store
and kept across restarts. Each list is stored with the state of the vectors it was computed
on: the embedding model, the store's vectors generation (moved by every vector written or
removed, and by nothing else: upvotes, new versions and library stubs leave the lists valid)
and the number of papers in the vector index. A list from another state is never served; the
first write in a new state drops the old lists. Papers deleted since are dropped when a list
is read (rank/search.py). Like every index, the file can be deleted at any time.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

#: Neighbours kept per paper: the paper page shows 6 and the API's default is 10; longer
#: requests are computed afresh (with the same result a longer list would give).
KEPT = 30

_HIT = np.dtype([("rowid", "<i8"), ("score", "<f8")])

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lists (
    rowid INTEGER PRIMARY KEY,
    hits BLOB NOT NULL
);
"""


def state_key(model: str, vectors_generation: int, indexed: int) -> str:
    return f"{model}|{vectors_generation}|{indexed}"


class NeighbourCache:
    """Lists of (rowid, score), best first, per paper rowid, valid for one state key."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        # one connection shared by the threads of a process (the event loop, a CLI's workers)
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            # a cache: losing the last writes to a power cut costs recomputing them
            conn.execute("PRAGMA synchronous = OFF")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def get(self, rowid: int, key: str) -> list[tuple[int, float]] | None:
        """The list of paper `rowid` computed in state `key`, or None."""
        with self._lock:
            row = (
                self._connection()
                .execute(
                    "SELECT hits FROM lists WHERE rowid = ? "
                    "AND (SELECT key FROM state WHERE id = 0) = ?",
                    (int(rowid), key),
                )
                .fetchone()
            )
        if row is None:
            return None
        hits = np.frombuffer(row[0], dtype=_HIT)
        return list(zip(hits["rowid"].tolist(), hits["score"].tolist(), strict=True))

    def put(self, key: str, lists: Iterable[tuple[int, Sequence[tuple[int, float]]]]) -> None:
        """Store (rowid, hits) lists computed in state `key`; lists of any other state go."""
        rows = [(int(r), _encode(hits)) for r, hits in lists]
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                current = conn.execute("SELECT key FROM state WHERE id = 0").fetchone()
                if current is None or current[0] != key:
                    conn.execute("DELETE FROM lists")
                    conn.execute("INSERT OR REPLACE INTO state (id, key) VALUES (0, ?)", (key,))
                conn.executemany("INSERT OR REPLACE INTO lists (rowid, hits) VALUES (?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def forget(self, rowids: Iterable[int]) -> None:
        """Drop the lists of `rowids` (whatever their state)."""
        with self._lock:
            self._connection().executemany(
                "DELETE FROM lists WHERE rowid = ?", [(int(r),) for r in rowids]
            )

    def missing(self, rowids: Iterable[int], key: str) -> list[int]:
        """The rowids among `rowids` with no list for state `key`, in their given order."""
        wanted = [int(r) for r in rowids]
        with self._lock:
            conn = self._connection()
            current = conn.execute("SELECT key FROM state WHERE id = 0").fetchone()
            if current is None or current[0] != key:
                return wanted
            have = {r[0] for r in conn.execute("SELECT rowid FROM lists")}
        return [r for r in wanted if r not in have]

    def count(self, key: str) -> int:
        """How many papers have a list for state `key`."""
        with self._lock:
            conn = self._connection()
            current = conn.execute("SELECT key FROM state WHERE id = 0").fetchone()
            if current is None or current[0] != key:
                return 0
            return conn.execute("SELECT COUNT(*) FROM lists").fetchone()[0]


def _encode(hits: Sequence[tuple[int, float]]) -> bytes:
    array = np.empty(len(hits), dtype=_HIT)
    if len(hits):
        array["rowid"] = [int(r) for r, _ in hits]
        array["score"] = [float(s) for _, s in hits]
    return array.tobytes()
