"""Every live paper's whole-text vector as one float32 matrix in memory, for scoring all
papers with a linear model in one matrix-vector product (100k papers: 154 MB, ~5 ms).

Loaded once per process (per SearchEngine) and caught up with the store when it moves: the
store generation is checked on every call (one-row query); the count of whole-text vectors,
which also moves when another process embeds papers without changing any paper, at most every
`CHECK_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from paperscope.dates import iso_utc
from paperscope.store.ratings import Ratings

#: How often the (costlier) vector count is compared with the store's.
CHECK_SECONDS = 5.0
#: Papers modified this long before a sync are re-read on catch-up (a write may take its
#: timestamp before the sync and commit after it), as in index/vectors.py.
CLOCK_MARGIN = timedelta(minutes=5)


def _day(published: str | None) -> int:
    """'YYYY-MM-DD' -> YYYYMMDD as an int (0 = unknown), for `since` masks."""
    if not published or len(published) < 10:
        return 0
    try:
        return int(published[:4] + published[5:7] + published[8:10])
    except ValueError:
        return 0


class DocMatrix:
    """Rowids (sorted), unit whole-text vectors and publication days of the live papers."""

    def __init__(self, ratings: Ratings, model: str, dim: int) -> None:
        self.ratings = ratings
        self.store = ratings.store
        self.model = model
        self.dim = dim
        self.rowids = np.zeros(0, dtype=np.int64)
        self.vectors = np.zeros((0, dim), dtype=np.float32)
        self.days = np.zeros(0, dtype=np.int32)
        self._where = np.zeros(0, dtype=np.int64)  # by rowid: its row, -1 = absent
        self._generation: int | None = None
        self._count = -1
        self._checked = 0.0
        self._synced_at: datetime | None = None
        self._lock = threading.RLock()
        #: Full loads and catch-ups done (tests and benchmarks read it).
        self.loads = 0

    def __len__(self) -> int:
        return len(self.rowids)

    # ------------------------------------------------------------------ sync

    def ensure(self) -> bool:
        """Catch up with the store if it moved; True when anything was re-read."""
        with self._lock:
            generation = self.store.generation()
            now = time.monotonic()
            if generation == self._generation and now - self._checked < CHECK_SECONDS:
                return False
            count = self.ratings.doc_vector_count(self.model)
            self._checked = now
            if generation == self._generation and count == self._count:
                return False
            if self._synced_at is None:
                self._load_all(generation, count)
            else:
                self._catch_up(generation, count)
            self.loads += 1
            return True

    def _load_all(self, generation: int, count: int) -> None:
        synced_at = datetime.now(UTC)
        rowids: list[np.ndarray] = []
        vectors: list[np.ndarray] = []
        days: list[np.ndarray] = []
        for chunk in self.ratings.iter_doc_vectors(self.model):
            r, v, d = self._decode(chunk)
            rowids.append(r)
            vectors.append(v)
            days.append(d)
        self._set(rowids, vectors, days)
        self._generation, self._count, self._synced_at = generation, count, synced_at

    def _catch_up(self, generation: int, count: int) -> None:
        """Drop deleted papers and those without a vector now, add new ones, re-read papers
        modified since the last sync (new text means a new vector and maybe a new date)."""
        assert self._synced_at is not None
        synced_at = datetime.now(UTC)
        live = np.asarray(self.ratings.live_doc_rowids(self.model), dtype=np.int64)
        modified = np.asarray(
            self.store.rowids_modified_since(iso_utc(self._synced_at - CLOCK_MARGIN)),
            dtype=np.int64,
        )
        keep = np.isin(self.rowids, live) & ~np.isin(self.rowids, modified)
        fetch = np.setdiff1d(live, self.rowids[keep])
        r, v, d = self._decode(self.ratings.doc_vectors(self.model, fetch.tolist()))
        self._set([self.rowids[keep], r], [self.vectors[keep], v], [self.days[keep], d])
        self._generation, self._count, self._synced_at = generation, count, synced_at

    def _decode(
        self, rows: list[tuple[int, str | None, bytes]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        width = 4 * self.dim
        rows = [r for r in rows if len(r[2]) == width]  # another dimension: not this model's
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        days = np.fromiter((_day(r[1]) for r in rows), dtype=np.int32, count=len(rows))
        if rows:
            matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32)
            matrix = matrix.reshape(len(rows), self.dim)
        else:
            matrix = np.zeros((0, self.dim), dtype=np.float32)
        return rowids, matrix, days

    def _set(self, rowids: list, vectors: list, days: list) -> None:
        ids = np.concatenate(rowids) if rowids else np.zeros(0, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        self.rowids = ids[order]
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, self.dim), np.float32)
        self.vectors = np.ascontiguousarray(matrix[order], dtype=np.float32)
        self.days = (np.concatenate(days) if days else np.zeros(0, np.int32))[order]
        top = int(self.rowids[-1]) + 1 if len(self.rowids) else 0
        self._where = np.full(top, -1, dtype=np.int64)
        self._where[self.rowids] = np.arange(len(self.rowids))

    # ------------------------------------------------------------------ lookups

    def positions(self, rowids) -> np.ndarray:
        """Rows of those of `rowids` that are in the matrix (others are dropped), in order."""
        ids = np.asarray(list(rowids) if not isinstance(rowids, np.ndarray) else rowids)
        ids = ids.astype(np.int64, copy=False)
        ids = ids[(ids >= 0) & (ids < len(self._where))]
        rows = self._where[ids]
        return rows[rows >= 0]
