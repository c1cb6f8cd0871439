"""Similar-paper lists remembered beside the store, for one state of its vectors.

Finding a paper's similar papers (a passage search fetching hundreds of candidates, then a
re-rank by whole text) is most of a paper page's work: about 8 ms at 100k papers, against
about 4 ms for the rest of the page. The answer only changes when the vectors do (deleted
papers aside), so it is kept in ``<db>.index/neighbours.sqlite``, shared by every process on
the store and kept across restarts. Lists are stored for one `State`: the embedding model and
the store's vectors generation (moved by every vector written or removed, and by nothing
else) that the computing process's vector index had synced with. A list is served only in
that state; a writer whose index is behind (a serve worker between refreshes, a long
`paperscope neighbours` run) writes nothing.

New vectors do not throw the lists away. A state that records its *members* (the papers of
the vector index it was computed on, with a fingerprint of each one's vectors: `establish`)
is carried to the next state by `advance`, with the lists the new and re-embedded papers
enter (the reverse-kNN update in rank/search.py, `SearchEngine.follow_vectors`); until then
a writer in a newer state writes nothing. A state without members (lists remembered by page
views before any `paperscope neighbours` run) is dropped by the first writer in a newer one.
A list that lost papers (deleted or re-embedded ones) is *short*: still the best of what is
left, best first, but served only when it holds as many papers as asked for. Papers deleted
since are also dropped when a list is read (rank/search.py). Like every index, the file can
be deleted at any time.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
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
    hits BLOB NOT NULL,
    short INTEGER NOT NULL DEFAULT 0,
    -- the score a paper must beat to enter the list; NULL: any paper enters (a list holding
    -- every candidate there was)
    worst DOUBLE PRECISION
);
CREATE TABLE IF NOT EXISTS members (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    synced_at TEXT NOT NULL,
    rowids BLOB NOT NULL,
    digests BLOB NOT NULL
);
"""
_TABLES = "DROP TABLE IF EXISTS state; DROP TABLE IF EXISTS lists; DROP TABLE IF EXISTS members;"


class State(NamedTuple):
    """The vectors a list was computed on: the model and the store's vectors generation."""

    model: str
    generation: int


class Members(NamedTuple):
    """The papers a followable state's lists were computed among."""

    state: State
    #: the store clock (ISO, UTC) the vector index had synced at
    synced_at: str
    #: sorted rowids, and the `VectorIndex.digests` fingerprint of each one's vectors
    rowids: np.ndarray
    digests: np.ndarray


#: A list and whether it is short (lost papers since it was computed in full).
Entry = tuple[list[tuple[int, float]], bool]


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
                columns |= {r[1] for r in conn.execute("PRAGMA table_info(lists)")}
                if not {"generation", "short", "worst"} <= columns:  # a file of an earlier version
                    conn.executescript(_TABLES + _SCHEMA)
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
        entry = self.lookup(rowid, state)
        return None if entry is None else entry[0]

    def lookup(self, rowid: int, state: State) -> Entry | None:
        """(list, short) of paper `rowid` in `state`, or None."""
        with self._lock:
            row = (
                self._connection()
                .execute(
                    "SELECT hits, short FROM lists WHERE rowid = ? AND EXISTS (SELECT 1 FROM "
                    "state WHERE id = 0 AND model = ? AND generation = ?)",
                    (int(rowid), state.model, state.generation),
                )
                .fetchone()
            )
        if row is None:
            return None
        return _decode(row[0]), bool(row[1])

    def entries(self, rowids: Iterable[int], state: State) -> dict[int, Entry]:
        """(list, short) of each of `rowids` that has a list in `state`."""
        wanted = [int(r) for r in rowids]
        found: dict[int, Entry] = {}
        with self._lock:
            conn = self._connection()
            if self._current(conn) != state:
                return found
            for s in range(0, len(wanted), 900):
                chunk = wanted[s : s + 900]
                marks = ",".join("?" * len(chunk))
                for rowid, hits, short in conn.execute(
                    f"SELECT rowid, hits, short FROM lists WHERE rowid IN ({marks})", chunk
                ):
                    found[rowid] = (_decode(hits), bool(short))
        return found

    def thresholds(self, state: State) -> tuple[np.ndarray, np.ndarray]:
        """(sorted rowids, worst scores) of every list in `state`: the score a paper must beat
        to enter each (-inf where any paper enters)."""
        with self._lock:
            conn = self._connection()
            if self._current(conn) != state:
                return np.empty(0, dtype=np.int64), np.empty(0)
            rows = conn.execute("SELECT rowid, worst FROM lists ORDER BY rowid").fetchall()
        rowids = np.fromiter((r for r, _ in rows), dtype=np.int64, count=len(rows))
        worst = np.fromiter(
            (-np.inf if w is None else w for _, w in rows), dtype=np.float64, count=len(rows)
        )
        return rowids, worst

    def members(self) -> Members | None:
        """The members of the stored state, when it has them (it can be advanced)."""
        with self._lock:
            conn = self._connection()
            current = self._current(conn)
            row = conn.execute(
                "SELECT synced_at, rowids, digests FROM members WHERE id = 0"
            ).fetchone()
        if current is None or row is None:
            return None
        rowids = np.frombuffer(row[1], dtype="<i8")
        digests = np.frombuffer(row[2], dtype="<f8")
        return Members(current, row[0], rowids, digests)

    def establish(self, members: Members) -> None:
        """Start `members.state` afresh: every list goes, and the state can be advanced."""
        with self._lock:
            conn = self._connection()
            self._write(conn, lambda: self._reset(conn, members))

    def advance(
        self,
        members: Members,
        old: State,
        candidates: Iterable[int],
        update: Callable[
            [dict[int, Entry]], Iterable[tuple[int, Sequence[tuple[int, float]], bool]]
        ],
        drop: Iterable[int] = (),
    ) -> bool:
        """Move the lists from state `old` to `members.state`, in one transaction: the lists
        of `candidates` are read, `update(entries)` returns the (rowid, hits, short) lists to
        write, the lists of `drop` go and the new members are recorded. Reading inside the
        write lock means no list remembered meanwhile by a page view is left behind. Writes
        nothing (returns False) unless the stored state is `old`."""
        wanted = [int(r) for r in candidates]
        gone = [(int(r),) for r in drop]
        with self._lock:
            conn = self._connection()

            def write() -> bool:
                if self._current(conn) != old:
                    return False
                entries: dict[int, Entry] = {}
                for s in range(0, len(wanted), 900):
                    chunk = wanted[s : s + 900]
                    marks = ",".join("?" * len(chunk))
                    for rowid, hits, short in conn.execute(
                        f"SELECT rowid, hits, short FROM lists WHERE rowid IN ({marks})", chunk
                    ):
                        entries[rowid] = (_decode(hits), bool(short))
                rows = [
                    (int(r), _encode(h), int(short), _worst(h, short))
                    for r, h, short in update(entries)
                ]
                conn.executemany("DELETE FROM lists WHERE rowid = ?", gone)
                conn.executemany(
                    "INSERT INTO lists (rowid, hits, short, worst) VALUES (?, ?, ?, ?) ON "
                    "CONFLICT (rowid) DO UPDATE SET hits = excluded.hits, short = "
                    "excluded.short, worst = excluded.worst",
                    rows,
                )
                self._set_state(conn, members)
                return True

            return self._write(conn, write)

    def _write(self, conn: sqlite3.Connection, work):
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = work()
            conn.execute("COMMIT" if done is not False else "ROLLBACK")
            return done
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (disk full)
                conn.execute("ROLLBACK")
            raise

    def _reset(self, conn: sqlite3.Connection, members: Members | None, state=None) -> None:
        conn.execute("DELETE FROM lists")
        self._set_state(conn, members, state)

    def _set_state(
        self, conn: sqlite3.Connection, members: Members | None, state: State | None = None
    ) -> None:
        state = members.state if members is not None else state
        assert state is not None
        conn.execute(
            "INSERT INTO state (id, model, generation) VALUES (0, ?, ?) ON CONFLICT (id) "
            "DO UPDATE SET model = excluded.model, generation = excluded.generation",
            state,
        )
        conn.execute("DELETE FROM members")
        if members is not None:
            conn.execute(
                "INSERT INTO members (id, synced_at, rowids, digests) VALUES (0, ?, ?, ?)",
                (
                    members.synced_at,
                    np.ascontiguousarray(members.rowids, dtype="<i8").tobytes(),
                    np.ascontiguousarray(members.digests, dtype="<f8").tobytes(),
                ),
            )

    def put(self, state: State, lists: Iterable[tuple[int, Sequence[tuple[int, float]]]]) -> bool:
        """Store (rowid, hits) lists computed in `state`. Lists of an older state without
        members (or another model) go; lists computed in a state older than the stored one, or
        newer than a stored state that `advance` will carry forward, are not written.
        Returns whether they were."""
        rows = [(int(r), _encode(hits), _worst(hits, False)) for r, hits in lists]
        with self._lock:
            conn = self._connection()

            def write() -> bool:
                current = self._current(conn)
                if current is not None and current.model == state.model:
                    if current.generation > state.generation:
                        return False
                    followed = conn.execute("SELECT 1 FROM members").fetchone() is not None
                    if current.generation < state.generation and followed:
                        return False  # `paperscope neighbours` brings these lists forward
                if current != state:
                    self._reset(conn, None, state)
                conn.executemany(
                    "INSERT INTO lists (rowid, hits, short, worst) VALUES (?, ?, 0, ?) ON "
                    "CONFLICT (rowid) DO UPDATE SET hits = excluded.hits, short = 0, "
                    "worst = excluded.worst",
                    rows,
                )
                return True

            return self._write(conn, write)

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


def _worst(hits: Sequence[tuple[int, float]], short: bool) -> float | None:
    """What a paper must score to enter a list: its last score once it is full (or short, a
    prefix of what is left); None while it holds every candidate there was."""
    if len(hits) >= KEPT or (short and hits):
        return float(hits[-1][1])
    return None


def _decode(blob: bytes) -> list[tuple[int, float]]:
    hits = np.frombuffer(blob, dtype=_HIT)
    return list(zip(hits["rowid"].tolist(), hits["score"].tolist(), strict=True))


def _encode(hits: Sequence[tuple[int, float]]) -> bytes:
    array = np.empty(len(hits), dtype=_HIT)
    if len(hits):
        array["rowid"] = [int(r) for r, _ in hits]
        array["score"] = [float(s) for _, s in hits]
    return array.tobytes()
