"""The semantic index: nearest papers to a query vector, a paper scored by its best passage.

Two structures, chosen by bench/vector_engines.py (docs/bench/vector_engines.txt):

- every passage vector as int8 with a scale per row (384 bytes a passage: 1M papers x ~3
  passages is 1.15 GB, where float32 would be 4.6 GB), the rows of a paper contiguous. It gives
  a paper's best-passage score exactly (to the quantisation), for ANN candidates and for
  exact search over an allowed subset, and it is the whole search while that is cheap
  (`Tuning`);
- a usearch HNSW graph with one vector per paper, the mean of its passages (int8 too), that
  finds candidates in a few milliseconds at 1M papers; candidates are then re-scored by their
  best passage.

The folder is a cache of the store's paper_vectors table: `ensure()` rebuilds it when it is
missing, unreadable, made for another model or format, and catches it up with the store when it
is behind (a stamp holds the store's generation and vector count it was synced at). Searches
never return deleted papers: candidates are checked against `papers.deleted`.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from paperscope.store.backup import fsync_file
from paperscope.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from usearch.index import Index

FORMAT = 1
#: ANN candidates re-scored per result wanted, and at least this many (bench part C: 3 x k
#: candidates of the mean vector find 99%+ of the exact best-passage top 10).
OVERSAMPLE = 3
MIN_CANDIDATES = 200
#: Rows scored per numpy step: 6 MB of float32 stays in cache, 3x faster than 32k-row steps.
CHUNK_ROWS = 4096
#: Rebuild the graph on save when this share of its nodes are removed ones.
GRAPH_GARBAGE = 0.25
#: Papers modified this long before a sync are re-read on the next catch-up: a write that took
#: its timestamp before the sync may commit after it.
CLOCK_MARGIN = timedelta(minutes=5)


def _change_since(change: int) -> str:
    """How the store's vectors moved since the folder's last sync, for `doctor`: an import
    that changes a paper's text drops its vectors until `embed` runs, so the count can fall."""
    if change > 0:
        return f"{change} more embedded papers than at the last sync"
    if change < 0:
        return f"{-change} fewer embedded papers than at the last sync (new text, not embedded yet)"
    return "papers changed since the last sync"


@dataclass(frozen=True, slots=True)
class Tuning:
    """When a search is exact and when it walks the graph (bench parts B and E)."""

    #: Up to this many passages (all, or the allowed subset's) a search is exact: 50k int8
    #: rows score in ~6-12 ms on one core; past that the graph is faster.
    exact_passages: int = 50_000
    #: A paper fetched from the graph costs about as much as scoring this many rows exactly
    #: (~2.3 us against ~0.15 us): a subset is searched exactly when that is cheaper than
    #: fetching enough papers for `OVERSAMPLE x k` of them to pass the filter.
    fetch_cost: float = 15
    #: Over-fetching stops (and the search goes exact) past this share of the papers.
    max_fetch_share: float = 0.25


#: progress(stage, done, total) while rebuilding or catching up; the stage is "vectors" (rows
#: read and indexed, graph included).
IndexProgress = Callable[[str, int, int], None]

_FILES = ("codes.npy", "scales.npy", "owners.npy", "graph.usearch", "stamp.json")


@dataclass(slots=True)
class Stamp:
    """What the folder holds and the store state it was last synced with."""

    format: int
    model: str
    dim: int
    papers: int
    passages: int
    graph: int  # papers in the graph (a paper whose passages are all zero has no direction)
    generation: int  # store.generation() at the last sync
    embedded: int  # store.count_embedded(model) at the last sync
    synced_at: str  # store clock (ISO, UTC) at the last sync
    # store.vectors_generation() at the last sync (-1: a stamp from before it existed)
    vectors_generation: int = -1


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    """The store's timestamp format (papers.modified_at)."""
    return moment.isoformat().replace("+00:00", "Z")


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes with a scale per row, its largest component at +-127, and the scales.

    Components of a unit 384-d vector rarely pass 0.3, so this is 3-5x finer than usearch's
    fixed x127: exact recall@10 0.993 against 0.947 at 1M clustered vectors (bench part A).
    """
    peak = np.abs(vectors).max(axis=1)
    scale = np.where(peak > 0, peak / 127, 1.0).astype(np.float32)
    codes = np.rint(vectors / scale[:, None]).astype(np.int8)
    return codes, scale


class VectorIndex:
    """Passage vectors of one embedding model for the papers of `store`, kept in `path`.

    Call `ensure()` before searching. Thread-safe: one lock serialises every operation (a
    search takes milliseconds; the store's connection is shared anyway).
    """

    def __init__(
        self,
        store: SQLiteStore,
        path: str | Path,
        model_version: str,
        dim: int,
        *,
        tuning: Tuning | None = None,
    ) -> None:
        self.store = store
        self.path = Path(path)
        self.model_version = model_version
        self.dim = dim
        self.tuning = tuning or Tuning()
        #: Why the last `ensure()` rebuilt ("missing", "unreadable: ...", "built for <model>
        #: (<dim>-d)", "format <n>, not <m>"), or None when it loaded the folder.
        self.rebuild_reason: str | None = None
        self._lock = threading.RLock()
        self._loaded = False
        self._stamp: Stamp | None = None
        self._clear(0)

    # ------------------------------------------------------------------ state

    def _clear(self, capacity: int) -> None:
        self._codes = np.zeros((capacity, self.dim), dtype=np.int8)
        self._scales = np.zeros(capacity, dtype=np.float32)
        self._owners = np.full(capacity, -1, dtype=np.int64)  # paper of each row, -1 removed
        self._size = 0  # rows in use, removed ones included
        self._dead = 0  # removed rows not yet compacted away
        self._start = np.full(0, -1, dtype=np.int64)  # by rowid: its first row, -1 = absent
        self._count = np.zeros(0, dtype=np.int32)  # by rowid: its number of rows
        self._papers = 0
        self._graph = self._new_graph()
        self._graph_removed = 0

    def _new_graph(self) -> Index:
        from usearch.index import Index

        # cos, not ip: usearch's int8 kernels normalise, and the mean vectors are not unit.
        # Connectivity 16, 64 build candidates: 63 s for 1M vectors on 2 cores (bench part A).
        return Index(ndim=self.dim, metric="cos", dtype="i8", connectivity=16, expansion_add=64)

    def __len__(self) -> int:
        """Papers in the index."""
        return self._papers

    @property
    def passages(self) -> int:
        return self._size - self._dead

    # ------------------------------------------------------------------ keeping in sync

    def ensure(self, progress: IndexProgress | None = None) -> bool:
        """Open the index, rebuilding or catching up with the store as needed.

        Returns True when it changed anything (rebuilt, or caught up and saved), False when the
        folder was current.
        """
        with self._lock:
            self.rebuild_reason = None
            if not self._loaded:
                reason = self._load()
                if reason is not None:
                    self.rebuild_reason = reason
                    self.rebuild(progress)
                    return True
            assert self._stamp is not None
            if self._current(self._stamp):
                return False
            self._catch_up(progress)
            return True

    def status(self) -> tuple[str, str]:
        """What `ensure()` would do, without doing it: ("current" | "behind" | "rebuild",
        why). Loads the folder when it can."""
        with self._lock:
            if not self._loaded:
                reason = self._load()
                if reason is not None:
                    return "rebuild", reason
            assert self._stamp is not None
            stamp = self._stamp
            if self._current(stamp):
                return "current", f"{stamp.papers} papers"
            return "behind", _change_since(
                self.store.count_embedded(self.model_version) - stamp.embedded
            )

    def rebuild(self, progress: IndexProgress | None = None) -> None:
        """Rebuild the folder from every vector of the model in the store."""
        with self._lock:
            synced_at = _now()
            fingerprint = self._fingerprint()
            total = self.store.conn.execute(
                "SELECT count(*) FROM paper_vectors WHERE model = ?", (self.model_version,)
            ).fetchone()[0]
            top = self.store.conn.execute(
                "SELECT max(paper_rowid) FROM paper_vectors WHERE model = ?",
                (self.model_version,),
            ).fetchone()[0]
            deleted = self._deleted_rowids()
            self._clear(total)
            self._reserve(total, (top or 0) + 1)
            done = 0
            pending: list[tuple[int, int, bytes]] = []
            for chunk in self.store.iter_vectors(self.model_version):
                # a paper's passages may straddle two chunks: hold back the last paper
                pending.extend(chunk)
                last = pending[-1][0]
                ready = [r for r in pending if r[0] != last]
                pending = [r for r in pending if r[0] == last]
                self._append_rows(ready, deleted)
                done += len(ready)
                if progress is not None:
                    progress("vectors", done, total)
            self._append_rows(pending, deleted)
            if progress is not None:
                progress("vectors", total, total)
            self._stamp = self._make_stamp(fingerprint, synced_at)
            self._loaded = True
            self.save()

    def _append_rows(self, rows: list[tuple[int, int, bytes]], deleted: set[int]) -> None:
        rowids, groups = _group_rows(rows, self.dim, deleted)
        if rowids:
            self._insert(rowids, groups)

    def _catch_up(self, progress: IndexProgress | None) -> None:
        """Bring the index level with the store: drop papers that lost their vectors or were
        deleted, add papers that gained vectors, and re-read papers modified since the last
        sync, replacing those whose vectors changed (new text, embedded by another process).
        """
        assert self._stamp is not None
        synced_at = _now()
        fingerprint = self._fingerprint()
        live = self._live_rowids()
        indexed = np.flatnonzero(self._start >= 0)
        since = datetime.fromisoformat(self._stamp.synced_at) - CLOCK_MARGIN
        modified = np.array(self.store.rowids_modified_since(_iso(since)), dtype=np.int64)
        self.remove(np.setdiff1d(indexed, live))
        missing = np.setdiff1d(live, indexed)
        suspects = np.intersect1d(modified, np.intersect1d(indexed, live))
        todo = np.concatenate([missing, suspects])
        for start in range(0, len(todo), 900):
            chunk = todo[start : start + 900].tolist()
            marks = ",".join("?" * len(chunk))
            rows = self.store.conn.execute(
                f"SELECT paper_rowid, passage, vector FROM paper_vectors WHERE model = ? AND "
                f"paper_rowid IN ({marks}) ORDER BY paper_rowid, passage",
                (self.model_version, *chunk),
            ).fetchall()
            rowids, groups = _group_rows([tuple(r) for r in rows], self.dim, set())
            changed = [i for i, r in enumerate(rowids) if not self._holds(r, groups[i])]
            self.add([rowids[i] for i in changed], [groups[i] for i in changed])
            if progress is not None:
                progress("vectors", start + len(chunk), len(todo))
        self._stamp = self._make_stamp(fingerprint, synced_at)
        self.save()

    def _holds(self, rowid: int, vectors: np.ndarray) -> bool:
        """Does the index hold exactly these vectors (as quantised) for `rowid`?"""
        if rowid >= len(self._start) or self._start[rowid] < 0:
            return False
        start, count = int(self._start[rowid]), int(self._count[rowid])
        codes, _ = quantize(vectors)
        return count == len(codes) and np.array_equal(self._codes[start : start + count], codes)

    def _current(self, stamp: Stamp) -> bool:
        """Whether the store is as the stamp saw it. The generation and the vectors generation
        (a trigger moves it on every vector written or removed) say so in two cheap reads; the
        embedded count, a count over every vector row (0.8-1 s on PostgreSQL at 1M papers,
        paid by a request every REFRESH_EVERY seconds), is only read for a stamp written
        before the vectors generation existed."""
        if stamp.vectors_generation >= 0:
            return (self.store.generation(), self.store.vectors_generation()) == (
                stamp.generation,
                stamp.vectors_generation,
            )
        return self._fingerprint() == (stamp.generation, stamp.embedded, stamp.vectors_generation)

    def _fingerprint(self) -> tuple[int, int, int]:
        """(generation, embedded papers, vectors generation) of the store, read before a sync
        reads anything else: a write during the sync leaves the stamp behind, not ahead."""
        return (
            self.store.generation(),
            self.store.count_embedded(self.model_version),
            self.store.vectors_generation(),
        )

    @property
    def vectors_generation(self) -> int:
        """The store's vectors generation this index last synced with (after `ensure`):
        results computed on it stay valid while the store's stands still."""
        return self._stamp.vectors_generation if self._stamp is not None else -1

    @property
    def synced_at(self) -> str | None:
        """The store clock (ISO, UTC) of the last sync: papers modified since may have new
        vectors the next sync picks up."""
        return self._stamp.synced_at if self._stamp is not None else None

    def rowids(self) -> np.ndarray:
        """Sorted rowids of the papers in the index."""
        with self._lock:
            self._ensure_loaded()
            return np.flatnonzero(self._start >= 0).astype(np.int64)

    def digests(self, rowids: np.ndarray) -> np.ndarray:
        """A float64 fingerprint of each indexed paper's vectors (NaN for papers not in the
        index): a random projection of its rows, weighted by their order, so re-embedding a
        paper changes it. Caches of search results (index/neighbours.py) compare them to find
        the papers whose vectors changed."""
        ids = np.asarray(rowids, dtype=np.int64)
        out = np.full(len(ids), np.nan)
        # any fixed direction will do: the same in every process
        axis = np.random.default_rng(20261206).standard_normal(self.dim).astype(np.float32)
        with self._lock:
            self._ensure_loaded()
            inside = (ids >= 0) & (ids < len(self._start))
            inside[inside] = self._start[ids[inside]] >= 0
            where = np.flatnonzero(inside)
            step = 32_768  # papers per step: bounds the float copy of their rows
            for s in range(0, len(where), step):
                chunk = ids[where[s : s + step]]
                rows, offsets = self._rows_of(chunk)
                counts = self._count[chunk].astype(np.int64)
                order = np.arange(len(rows)) - np.repeat(offsets, counts) + 1
                projected = (self._codes[rows].astype(np.float32) @ axis).astype(np.float64) * (
                    self._scales[rows] * order
                )
                out[where[s : s + step]] = np.add.reduceat(projected, offsets)
        return out

    def _live_rowids(self) -> np.ndarray:
        """Sorted rowids of the papers that have vectors of the model and are not deleted."""
        rows = self.store.conn.execute(
            "SELECT DISTINCT paper_rowid FROM paper_vectors WHERE model = ? AND paper_rowid "
            "NOT IN (SELECT rowid FROM papers WHERE deleted != 0) ORDER BY paper_rowid",
            (self.model_version,),
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def _deleted_rowids(self) -> set[int]:
        return {
            r[0] for r in self.store.conn.execute("SELECT rowid FROM papers WHERE deleted != 0")
        }

    def _make_stamp(self, fingerprint: tuple[int, int, int], synced_at: datetime) -> Stamp:
        generation, embedded, vectors_generation = fingerprint
        return Stamp(
            format=FORMAT,
            model=self.model_version,
            dim=self.dim,
            papers=self._papers,
            passages=self.passages,
            graph=len(self._graph),
            generation=generation,
            embedded=embedded,
            synced_at=_iso(synced_at),
            vectors_generation=vectors_generation,
        )

    # ------------------------------------------------------------------ changes

    def add(self, rowids: Sequence[int], vectors: Sequence[np.ndarray]) -> None:
        """Add or replace papers: `vectors[i]` holds the passage vectors (rows, unit float32) of
        `rowids[i]`. In memory; `save()` (or the next `ensure()`) writes the folder."""
        if len(rowids) != len(vectors):
            raise ValueError(f"{len(rowids)} rowids but {len(vectors)} vector groups")
        keep = [i for i, v in enumerate(vectors) if len(v)]
        with self._lock:
            self._ensure_loaded()
            self.remove(rowids)
            if keep:
                groups = [np.asarray(vectors[i], dtype=np.float32) for i in keep]
                for g in groups:
                    if g.ndim != 2 or g.shape[1] != self.dim:
                        raise ValueError(f"expected (passages, {self.dim}) vectors, got {g.shape}")
                self._insert([int(rowids[i]) for i in keep], groups)

    def remove(self, rowids: Iterable[int]) -> None:
        """Drop papers from the index (unknown rowids are ignored)."""
        with self._lock:
            ids = np.fromiter((int(r) for r in rowids), dtype=np.int64)
            ids = _distinct(ids[(ids >= 0) & (ids < len(self._start))])
            ids = ids[self._start[ids] >= 0]
            if not len(ids):
                return
            rows, _ = self._rows_of(ids)
            self._owners[rows] = -1
            self._dead += len(rows)
            self._start[ids] = -1
            self._count[ids] = 0
            self._papers -= len(ids)
            in_graph = ids[np.asarray(self._graph.contains(ids.astype(np.uint64)), dtype=bool)]
            if len(in_graph):
                self._graph.remove(in_graph.astype(np.uint64))
                self._graph_removed += len(in_graph)

    def _insert(self, rowids: list[int], groups: list[np.ndarray]) -> None:
        """Append papers that are not in the index (rowids distinct)."""
        counts = np.array([len(g) for g in groups], dtype=np.int64)
        matrix = np.concatenate(groups) if len(groups) > 1 else groups[0]
        self._reserve(self._size + len(matrix), max(rowids) + 1)
        codes, scales = quantize(matrix)
        end = self._size + len(matrix)
        self._codes[self._size : end] = codes
        self._scales[self._size : end] = scales
        ids = np.array(rowids, dtype=np.int64)
        self._owners[self._size : end] = np.repeat(ids, counts)
        self._start[ids] = self._size + np.cumsum(counts) - counts
        self._count[ids] = counts
        self._size = end
        self._papers += len(ids)
        offsets = np.cumsum(counts) - counts
        means = np.add.reduceat(matrix, offsets, axis=0)  # cos: no need to divide
        directed = np.linalg.norm(means, axis=1) > 1e-6
        if directed.any():
            # one thread for small batches: the graph comes out the same every time
            threads = 0 if directed.sum() >= 5000 else 1
            self._graph.add(ids[directed].astype(np.uint64), means[directed], threads=threads)

    def _reserve(self, rows: int, rowids: int) -> None:
        """Room for `rows` rows and rowids below `rowids`: grown by a quarter at a time, so a
        stream of small adds copies the big arrays rarely."""
        if rows > len(self._codes):
            capacity = max(rows, len(self._codes) * 5 // 4 + 1024)
            self._codes = _grown(self._codes, capacity, 0)
            self._scales = _grown(self._scales, capacity, 0)
            self._owners = _grown(self._owners, capacity, -1)
        if rowids > len(self._start):
            capacity = max(rowids, len(self._start) * 5 // 4 + 1024)
            self._start = _grown(self._start, capacity, -1)
            self._count = _grown(self._count, capacity, 0)

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self.ensure()

    # ------------------------------------------------------------------ files

    def save(self) -> None:
        """Write the folder (a new one beside it, then swapped in: a killed save leaves either
        the old folder or none, and `ensure()` rebuilds when none)."""
        with self._lock:
            if self._stamp is None:
                raise RuntimeError("nothing to save: call ensure() or rebuild() first")
            self._compact()
            if self._graph_removed > GRAPH_GARBAGE * max(len(self._graph), 1):
                self._rebuild_graph()
            self._stamp.papers, self._stamp.passages = self._papers, self.passages
            self._stamp.graph = len(self._graph)
            tmp = self.path.with_name(f"{self.path.name}.new-{os.getpid()}")
            old = self.path.with_name(f"{self.path.name}.old-{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            n = self._size
            np.save(tmp / "codes.npy", self._codes[:n])
            np.save(tmp / "scales.npy", self._scales[:n])
            np.save(tmp / "owners.npy", self._owners[:n])
            self._graph.save(str(tmp / "graph.usearch"))
            (tmp / "stamp.json").write_text(json.dumps(asdict(self._stamp), indent=1))
            for name in _FILES:
                fsync_file(tmp / name)
            shutil.rmtree(old, ignore_errors=True)
            if self.path.exists():
                self.path.rename(old)
            tmp.rename(self.path)
            shutil.rmtree(old, ignore_errors=True)

    def _load(self) -> str | None:
        """Read the folder; the reason it cannot be used, or None when loaded."""
        try:
            stamp = Stamp(**json.loads((self.path / "stamp.json").read_text()))
        except FileNotFoundError:
            return "missing"
        except (OSError, ValueError, TypeError) as exc:
            return f"unreadable stamp: {exc}"
        if stamp.format != FORMAT:
            return f"format {stamp.format}, not {FORMAT}"
        if stamp.model != self.model_version or stamp.dim != self.dim:
            return f"built for {stamp.model} ({stamp.dim}-d)"
        from usearch.index import Index

        try:
            n = stamp.passages
            codes = _read_npy(self.path / "codes.npy", np.int8, (n, self.dim))
            scales = _read_npy(self.path / "scales.npy", np.float32, (n,))
            owners = _read_npy(self.path / "owners.npy", np.int64, (n,))
            graph = Index.restore(str(self.path / "graph.usearch"))
        except (OSError, EOFError, ValueError, RuntimeError) as exc:
            return f"unreadable: {exc}"
        if graph is None or len(graph) != stamp.graph or graph.ndim != self.dim:
            return "unreadable: the graph does not match the stamp"
        if n and owners.min() < 0:
            return "unreadable: bad row owners"
        self._clear(0)
        self._codes, self._scales, self._owners = codes, scales, owners
        self._size = n
        firsts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if n else owners[:0]
        ids = owners[firsts].astype(np.int64)
        if len(_distinct(ids)) != len(ids):
            return "unreadable: a paper's rows are not contiguous"
        counts = np.diff(np.r_[firsts, n]).astype(np.int32)
        self._start = np.full(int(ids.max()) + 1 if len(ids) else 0, -1, dtype=np.int64)
        self._count = np.zeros(len(self._start), dtype=np.int32)
        self._start[ids] = firsts
        self._count[ids] = counts
        self._papers = len(ids)
        if self._papers != stamp.papers:
            return "unreadable: paper count does not match the stamp"
        graph.expansion_add = 64
        self._graph = graph
        self._stamp = stamp
        self._loaded = True
        return None

    def _compact(self) -> None:
        """Drop removed rows, keeping each paper's rows together and in order."""
        if not self._dead:
            return
        keep = np.flatnonzero(self._owners[: self._size] >= 0)
        self._codes = self._codes[keep]
        self._scales = self._scales[keep]
        self._owners = self._owners[keep]
        self._size = len(keep)
        self._dead = 0
        if self._size:
            firsts = np.flatnonzero(np.r_[True, self._owners[1:] != self._owners[:-1]])
            self._start[self._owners[firsts]] = firsts

    def _rebuild_graph(self) -> None:
        """A fresh graph from the rows: usearch only marks removed nodes, and a graph full of
        them searches slower and finds less."""
        self._graph = self._new_graph()
        self._graph_removed = 0
        ids = np.flatnonzero(self._start >= 0)
        for s in range(0, len(ids), 20_000):
            chunk = ids[s : s + 20_000]
            rows, offsets = self._rows_of(chunk)
            vectors = self._codes[rows].astype(np.float32) * self._scales[rows, None]
            means = np.add.reduceat(vectors, offsets, axis=0)
            directed = np.linalg.norm(means, axis=1) > 1e-6
            if directed.any():
                self._graph.add(chunk[directed].astype(np.uint64), means[directed], threads=0)

    # ------------------------------------------------------------------ search

    def search(
        self, query_vec: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Up to `k` (rowid, score) of the papers nearest to `query_vec`, best first; a paper's
        score is the cosine of its best passage.

        `allowed` (rowids passing a filter) restricts the result; it still holds `k` papers when
        `k` allowed papers have vectors: exact over a small subset, otherwise an ANN search
        fetching more until `k` allowed are found, exact when that grows too large.
        """
        query = np.asarray(query_vec, dtype=np.float32).reshape(-1)
        if k <= 0 or not np.any(query):
            return []
        with self._lock:
            self._ensure_loaded()
            known = None if allowed is None else self._known(allowed)
            return self._search(query[None], k, known, set())

    def similar(
        self,
        rowid: int,
        k: int,
        exclude: Iterable[int] = (),
        allowed: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """Up to `k` (rowid, score) of the papers most like paper `rowid`, best first, without
        itself and `exclude` (say, its merged duplicates).

        The score is the mean over the paper's passages of each one's best match among the
        other paper's passages: every part of the paper should find its counterpart. The
        paper's vectors come from the store, so a paper not yet in the index works too.
        """
        queries = self._store_vectors(rowid)
        if queries is None or k <= 0:
            return []
        excluded = {int(r) for r in exclude} | {int(rowid)}
        with self._lock:
            self._ensure_loaded()
            known = None if allowed is None else self._known(allowed)
            return self._search(queries, k, known, excluded)

    def nearest_papers(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """For each row of `queries`, the rowids (-1 when fewer are found) and cosine
        similarities of the `k` papers whose mean vectors are nearest, from the graph (one
        batch call: the map places thousands of new papers at once this way)."""
        with self._lock:
            self._ensure_loaded()
            n = len(queries)
            keys = np.full((n, k), -1, dtype=np.int64)
            sims = np.zeros((n, k), dtype=np.float32)
            if not len(self._graph) or not n:
                return keys, sims
            self._graph.expansion_search = max(k, 64)
            found = self._graph.search(np.ascontiguousarray(queries, dtype=np.float32), k)
            got = found.keys.reshape(n, -1).astype(np.int64)
            dist = found.distances.reshape(n, -1)
            width = min(k, got.shape[1])
            # one query comes back as Matches (no counts), several as BatchMatches
            counts = getattr(found, "counts", None)
            if counts is None:
                counts = np.array([len(found.keys)])
            valid = np.arange(width)[None, :] < np.asarray(counts).reshape(n, 1)
            keys[:, :width] = np.where(valid, got[:, :width], -1)
            sims[:, :width] = np.where(valid, 1.0 - dist[:, :width], 0.0)
            return keys, sims

    def _search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None, excluded: set[int]
    ) -> list:
        """Exact when that is cheap (few passages, or an allowed subset smaller than what the
        graph would have to fetch), else the graph, fetching more until `k` papers are found
        (`OVERSAMPLE x k` allowed ones under a filter), else exact after all."""
        papers = self._papers if allowed is None else len(allowed)
        if not papers:
            return []
        tuning = self.tuning
        wanted = max(k * OVERSAMPLE, MIN_CANDIDATES) + len(excluded)
        if allowed is None:
            count, rows = wanted, self.passages
        else:
            # enough papers that `wanted` of them are expected to pass the filter
            count = int(wanted * self._papers / papers * 1.25)
            rows = int(self._count[allowed].sum())
        if papers <= wanted or rows <= max(tuning.exact_passages, tuning.fetch_cost * count):
            return self._exact(queries, allowed, k, excluded)
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self._start), dtype=bool)
            mask[allowed] = True
        while count <= tuning.max_fetch_share * self._papers:
            fetched = self._ann(queries, count)
            cands = fetched if mask is None else fetched[mask[fetched]]
            if len(cands) >= (k if mask is None else wanted):
                found = self._rank(queries, cands, k, excluded)
                if len(found) >= k:
                    return found
            if len(fetched) < count:
                break  # the graph has no more to give
            count *= 2  # too few allowed, or deleted and excluded papers took places
        return self._exact(queries, allowed, k, excluded)

    def _known(self, allowed: np.ndarray) -> np.ndarray:
        """The allowed rowids that are in the index, distinct and sorted."""
        ids = _distinct(np.asarray(allowed, dtype=np.int64))
        ids = ids[(ids >= 0) & (ids < len(self._start))]
        return ids[self._start[ids] >= 0]

    def _ann(self, queries: np.ndarray, count: int) -> np.ndarray:
        """Candidate rowids for the mean of `queries` from the graph."""
        mean = queries.mean(axis=0)
        if not len(self._graph) or not np.any(mean):
            return np.empty(0, dtype=np.int64)
        # the search beam must be at least as wide as what it returns
        self._graph.expansion_search = max(count, 64)
        keys = self._graph.search(mean, count, threads=1).keys.astype(np.int64)
        keys = keys[keys < len(self._start)]
        return keys[self._start[keys] >= 0]

    def _exact(self, queries: np.ndarray, rowids: np.ndarray | None, k: int, excluded: set) -> list:
        if rowids is None:
            rowids = np.flatnonzero(self._start >= 0)
        scores = np.empty(len(rowids), dtype=np.float32)
        step = 16_384  # papers per step: bounds the row lists and scores held at once
        for s in range(0, len(rowids), step):
            scores[s : s + step] = self._paper_scores(queries, rowids[s : s + step])
        return self._top(rowids, scores, k, excluded)

    def _rank(self, queries: np.ndarray, rowids: np.ndarray, k: int, excluded: set) -> list:
        rowids = _distinct(rowids)
        if not len(rowids):
            return []
        return self._top(rowids, self._paper_scores(queries, rowids), k, excluded)

    def _paper_scores(self, queries: np.ndarray, rowids: np.ndarray) -> np.ndarray:
        """For each paper, the mean over `queries` of its best passage's cosine (one query:
        the best passage)."""
        rows, offsets = self._rows_of(rowids)
        sims = np.empty((len(rows), len(queries)), dtype=np.float32)
        buffer = np.empty((min(len(rows), CHUNK_ROWS), self.dim), dtype=np.float32)
        for s in range(0, len(rows), CHUNK_ROWS):
            part = self._codes[rows[s : s + CHUNK_ROWS]]
            chunk = buffer[: len(part)]
            np.copyto(chunk, part, casting="unsafe")  # int8 -> float32 without a new array
            np.matmul(chunk, queries.T, out=sims[s : s + len(part)])
        sims *= self._scales[rows, None]
        return np.maximum.reduceat(sims, offsets, axis=0).mean(axis=1)

    def _rows_of(self, rowids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the (indexed) papers in `rowids`, paper after paper, and where each
        paper's rows begin in that list."""
        starts = self._start[rowids]
        counts = self._count[rowids].astype(np.int64)
        offsets = np.cumsum(counts) - counts
        rows = np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))
        return rows, offsets

    def _top(self, rowids: np.ndarray, scores: np.ndarray, k: int, excluded: set) -> list:
        """The best `k` papers by score, best first, without excluded and deleted ones."""
        if excluded:
            keep = ~np.isin(rowids, np.fromiter(excluded, dtype=np.int64))
            rowids, scores = rowids[keep], scores[keep]
        take = min(len(rowids), k + 16)
        while True:
            if take < len(rowids):
                part = np.argpartition(-scores, take - 1)[:take]
            else:
                part = np.arange(len(rowids))
            part = part[np.lexsort((rowids[part], -scores[part]))]  # ties: lower rowid first
            chosen = rowids[part]
            gone = self.store.deleted_among(chosen.tolist())
            found = [
                (int(r), float(scores[i]))
                for r, i in zip(chosen.tolist(), part.tolist(), strict=True)
                if r not in gone
            ]
            if len(found) >= k or take >= len(rowids):
                return found[:k]
            take = min(len(rowids), take + 2 * len(gone) + k)

    def _store_vectors(self, rowid: int) -> np.ndarray | None:
        """The float32 passage vectors of one paper from the store (None if it has none)."""
        rows = self.store.conn.execute(
            "SELECT vector FROM paper_vectors WHERE paper_rowid = ? AND model = ? "
            "AND passage >= 0 ORDER BY passage",
            (int(rowid), self.model_version),
        ).fetchall()
        blobs = [r[0] for r in rows if len(r[0]) == 4 * self.dim]
        if not blobs:
            return None
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, self.dim)
        vectors = vectors[np.any(vectors, axis=1)]
        return vectors if len(vectors) else None


# ---------------------------------------------------------------------------------------------
# helpers


def _group_rows(
    rows: Sequence[tuple[int, int, bytes]], dim: int, skip: set[int]
) -> tuple[list[int], list[np.ndarray]]:
    """(rowid, passage, float32 bytes) rows, ordered by rowid, as rowids and a matrix each.
    Rows of the wrong size (another dimension) and zero rows are ignored, as are papers in
    `skip` and papers left with no row."""
    rowids: list[int] = []
    groups: list[np.ndarray] = []
    width = 4 * dim
    i = 0
    while i < len(rows):
        rowid = rows[i][0]
        j = i
        while j < len(rows) and rows[j][0] == rowid:
            j += 1
        # passage -1 is the whole-text vector (`embedding.DOC_PASSAGE`), used by `similar`
        blobs = [r[2] for r in rows[i:j] if len(r[2]) == width and r[1] >= 0]
        if blobs and rowid not in skip:
            matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, dim)
            matrix = matrix[np.any(matrix, axis=1)]  # a zero row marks "nothing to embed"
            if len(matrix):
                rowids.append(rowid)
                groups.append(matrix)
        i = j
    return rowids, groups


def _distinct(ids: np.ndarray) -> np.ndarray:
    """`ids` sorted without repeats. Not np.unique: numpy 2's hash-based unique took 110 ms
    for 500k rowids, where an allowed set from the filter is usually sorted already."""
    if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
        ids = np.sort(ids)
        ids = ids[np.r_[True, ids[1:] != ids[:-1]]]
    return ids


def _grown(array: np.ndarray, capacity: int, fill: int) -> np.ndarray:
    out = np.full((capacity, *array.shape[1:]), fill, dtype=array.dtype)
    out[: len(array)] = array
    return out


def _read_npy(path: Path, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    """A .npy file that must hold exactly `dtype` and `shape` (a truncated or foreign file
    raises ValueError)."""
    array = np.load(path, allow_pickle=False)
    if array.dtype != np.dtype(dtype) or array.shape != shape:
        raise ValueError(f"{path.name}: {array.dtype} {array.shape}, expected {shape}")
    return array
