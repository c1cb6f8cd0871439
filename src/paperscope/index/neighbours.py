"""Similar-paper lists remembered beside the store, for one state of its vectors.

Finding a paper's similar papers (a passage search fetching hundreds of candidates, then a
re-rank by whole text) is most of a paper page's work: about 8 ms at 100k papers, against
about 4 ms for the rest of the page. The answer only changes when the vectors do (deleted
papers aside), so it is kept in ``<db>.index/neighbours.sqlite``, shared by every process on
the store and kept across restarts. Lists are stored for one `State`: the embedding model and
the store's vectors generation (moved by every vector written or removed, and by nothing
else) that the computing process's vector index had synced with. A list is served only in
that state; a writer in a newer state drops the older lists, and a writer whose index is
behind (a serve worker between refreshes, a long `paperscope neighbours` run) writes nothing.
Papers deleted since are dropped when a list is read (rank/search.py). Like every index, the
file can be deleted at any time.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

#: Neighbours kept per paper: the paper page shows 6 and the API's default is 10; longer
#: requests are computed afresh (with the same result a longer list would give).
KEPT = 30

_HIT = np.dtype([("rowid", "<i8"), ("score", "<f8")])

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    model TEXT NOT NULL,
    generation INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS lists (
    rowid INTEGER PRIMARY KEY,
    hits BLOB NOT NULL
);
"""


class State(NamedTuple):
    """The vectors a list was computed on: the model and the store's vectors generation."""

    model: str
    generation: int


class NeighbourCache:
    """Lists of (rowid, score), best first, per paper rowid, valid for one `State`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        # one connection shared by the threads of a process (the event loop, a CLI's workers)
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            # a cache: losing the last writes to a power cut costs recomputing them
            conn.execute("PRAGMA synchronous = OFF")
            try:
                conn.executescript(_SCHEMA)
                columns = {r[1] for r in conn.execute("PRAGMA table_info(state)")}
                if "generation" not in columns:  # a file from a development version
                    conn.executescript("DROP TABLE state; DROP TABLE lists;" + _SCHEMA)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _current(self, conn: sqlite3.Connection) -> State | None:
        row = conn.execute("SELECT model, generation FROM state WHERE id = 0").fetchone()
        return State(*row) if row else None

    def get(self, rowid: int, state: State) -> list[tuple[int, float]] | None:
        """The list of paper `rowid` computed in `state`, or None."""
        with self._lock:
            row = (
                self._connection()
                .execute(
                    "SELECT hits FROM lists WHERE rowid = ? AND EXISTS (SELECT 1 FROM state "
                    "WHERE id = 0 AND model = ? AND generation = ?)",
                    (int(rowid), state.model, state.generation),
                )
                .fetchone()
            )
        if row is None:
            return None
        hits = np.frombuffer(row[0], dtype=_HIT)
        return list(zip(hits["rowid"].tolist(), hits["score"].tolist(), strict=True))

    def put(self, state: State, lists: Iterable[tuple[int, Sequence[tuple[int, float]]]]) -> bool:
        """Store (rowid, hits) lists computed in `state`. Lists of an older state (or another
        model) go; lists computed in a state older than the stored one are not written.
        Returns whether they were."""
        rows = [(int(r), _encode(hits)) for r, hits in lists]
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                current = self._current(conn)
                stale = current is not None and current.model == state.model
                if stale and current.generation > state.generation:
                    conn.execute("ROLLBACK")
                    return False
                if current != state:
                    conn.execute("DELETE FROM lists")
                    conn.execute(
                        "INSERT OR REPLACE INTO state (id, model, generation) VALUES (0, ?, ?)",
                        state,
                    )
                conn.executemany("INSERT OR REPLACE INTO lists (rowid, hits) VALUES (?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back already (disk full)
                    conn.execute("ROLLBACK")
                raise
        return True

    def forget(self, rowids: Iterable[int]) -> None:
        """Drop the lists of `rowids` (whatever their state)."""
        with self._lock:
            self._connection().executemany(
                "DELETE FROM lists WHERE rowid = ?", [(int(r),) for r in rowids]
            )

    def missing(self, rowids: Iterable[int], state: State) -> list[int]:
        """The rowids among `rowids` with no list for `state`, in their given order."""
        wanted = [int(r) for r in rowids]
        have: set[int] = set()
        with self._lock:
            conn = self._connection()
            if self._current(conn) != state:
                return wanted
            for s in range(0, len(wanted), 900):
                chunk = wanted[s : s + 900]
                marks = ",".join("?" * len(chunk))
                have.update(
                    r[0]
                    for r in conn.execute(
                        f"SELECT rowid FROM lists WHERE rowid IN ({marks})", chunk
                    )
                )
        return [r for r in wanted if r not in have]

    def count(self, state: State) -> int:
        """How many papers have a list for `state`."""
        with self._lock:
            conn = self._connection()
            if self._current(conn) != state:
                return 0
            return conn.execute("SELECT COUNT(*) FROM lists").fetchone()[0]


def _encode(hits: Sequence[tuple[int, float]]) -> bytes:
    array = np.empty(len(hits), dtype=_HIT)
    if len(hits):
        array["rowid"] = [int(r) for r, _ in hits]
        array["score"] = [float(s) for _, s in hits]
    return array.tobytes()
