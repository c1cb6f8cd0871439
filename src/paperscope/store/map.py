"""The map's tables (0016_map.sql): a 2-D position per paper, its tile, and the build's state.

The layout itself is computed in paperscope.index.layout; this module only reads and writes
rows. Positions lie in the unit square. Topic labels come from the topic tables (migration
0015, built by `paperscope topics`) when they exist; without them the map has no labels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from paperscope.store.sqlite import SQLiteStore

_CHUNK = 900
#: The aspect of paper_topics that holds a paper's topic (0015_topics.sql).
TOPIC_ASPECT = "topic"


@dataclass(frozen=True, slots=True)
class MapState:
    model: str
    method: str
    papers: int
    sample: int
    deepest: int
    tile_points: int
    seconds: float
    built_at: str


@dataclass(frozen=True, slots=True)
class Point:
    rowid: int
    id: str
    x: float
    y: float


def cell_key(level: int, tx: int, ty: int) -> int:
    """One number for tile (tx, ty) of zoom `level`, distinct across levels."""
    return (4**level - 1) // 3 + ty * (1 << level) + tx


def state(store: SQLiteStore) -> MapState | None:
    row = store.conn.execute(
        "SELECT model, method, papers, sample, deepest, tile_points, seconds, built_at "
        "FROM map_state WHERE id = 0"
    ).fetchone()
    return None if row is None else MapState(*row)


def iter_doc_vectors(
    store: SQLiteStore, model: str, passage: int, batch: int = 20_000
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(rowids, float32 bytes joined) of passage `passage` of every live paper, in rowid
    order, `batch` papers at a time."""
    last = -1
    while True:
        rows = store.conn.execute(
            "SELECT v.paper_rowid, v.vector FROM paper_vectors v "
            "JOIN papers p ON p.rowid = v.paper_rowid "
            "WHERE v.model = ? AND v.passage = ? AND p.deleted = 0 AND v.paper_rowid > ? "
            "ORDER BY v.paper_rowid LIMIT ?",
            (model, passage, last, batch),
        ).fetchall()
        if not rows:
            return
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        yield rowids, [r[1] for r in rows]
        last = int(rowids[-1])


def replace_points(
    store: SQLiteStore,
    rowids: np.ndarray,
    xy: np.ndarray,
    levels: np.ndarray,
    cells: np.ndarray,
    built: MapState,
) -> None:
    """Replace the whole map in one transaction: readers see the old map until it commits."""
    conn = store.conn
    rows = zip(
        rowids.tolist(),
        xy[:, 0].tolist(),
        xy[:, 1].tolist(),
        levels.tolist(),
        cells.tolist(),
        strict=True,
    )
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM map_points")
        conn.executemany(
            "INSERT INTO map_points (paper_rowid, x, y, level, cell, placed) "
            "VALUES (?, ?, ?, ?, ?, 0)",
            rows,
        )
        conn.execute("DELETE FROM map_state")
        conn.execute(
            "INSERT INTO map_state (id, model, method, papers, sample, deepest, tile_points, "
            "seconds, built_at) VALUES (0, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                built.model,
                built.method,
                built.papers,
                built.sample,
                built.deepest,
                built.tile_points,
                built.seconds,
                built.built_at,
            ),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def add_points(store: SQLiteStore, rows: Sequence[tuple[int, float, float, int, int]]) -> None:
    """Insert or move placed points: (rowid, x, y, level, cell)."""
    conn = store.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO map_points (paper_rowid, x, y, level, cell, placed) "
            "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (paper_rowid) DO UPDATE SET "
            "x = excluded.x, y = excluded.y, level = excluded.level, cell = excluded.cell, "
            "placed = 1",
            rows,
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def positions(store: SQLiteStore, rowids: Sequence[int]) -> dict[int, tuple[float, float]]:
    """The (x, y) of each of `rowids` that has a point."""
    found: dict[int, tuple[float, float]] = {}
    ids = list(rowids)
    for s in range(0, len(ids), _CHUNK):
        chunk = ids[s : s + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for r, x, y in store.conn.execute(
            f"SELECT paper_rowid, x, y FROM map_points WHERE paper_rowid IN ({marks})", chunk
        ):
            found[r] = (x, y)
    return found


def count_points(store: SQLiteStore) -> tuple[int, int]:
    """(points, of which placed after the build)."""
    row = store.conn.execute("SELECT count(*), coalesce(sum(placed), 0) FROM map_points").fetchone()
    return int(row[0]), int(row[1])


def landmarks(store: SQLiteStore, max_level: int) -> list[tuple[int, float, float]]:
    """(rowid, x, y) of the points drawn at zoom `max_level` and coarser: a sample spread over
    the whole map (cells of those levels number below (4^(max_level+1) - 1) / 3)."""
    top = (4 ** (max_level + 1) - 1) // 3
    return [
        (r[0], r[1], r[2])
        for r in store.conn.execute(
            "SELECT paper_rowid, x, y FROM map_points WHERE cell < ? AND placed = 0", (top,)
        )
    ]


def unplaced(store: SQLiteStore, model: str, passage: int) -> list[int]:
    """Live papers with a `passage` vector of `model` and no point yet."""
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT v.paper_rowid FROM paper_vectors v JOIN papers p ON p.rowid = v.paper_rowid "
            "WHERE v.model = ? AND v.passage = ? AND p.deleted = 0 AND NOT EXISTS "
            "(SELECT 1 FROM map_points m WHERE m.paper_rowid = v.paper_rowid) "
            "ORDER BY v.paper_rowid",
            (model, passage),
        )
    ]


def points_in_cells(
    store: SQLiteStore, cells: Sequence[int], bbox: tuple[float, float, float, float]
) -> list[Point]:
    """Live papers' points of `cells` inside `bbox` (x0, y0, x1, y1, inclusive)."""
    x0, y0, x1, y1 = bbox
    out: list[Point] = []
    keys = list(cells)
    for s in range(0, len(keys), _CHUNK):
        chunk = keys[s : s + _CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = store.conn.execute(
            "SELECT m.paper_rowid, p.id, m.x, m.y FROM map_points m "
            "JOIN papers p ON p.rowid = m.paper_rowid "
            f"WHERE m.cell IN ({marks}) AND p.deleted = 0 "
            "AND m.x >= ? AND m.x <= ? AND m.y >= ? AND m.y <= ?",
            (*chunk, x0, x1, y0, y1),
        ).fetchall()
        out.extend(Point(*r) for r in rows)
    return out


def points_of(store: SQLiteStore, rowids: Sequence[int]) -> list[Point]:
    """The points of the live papers among `rowids`, in their order."""
    found: dict[int, Point] = {}
    ids = list(rowids)
    for s in range(0, len(ids), _CHUNK):
        chunk = ids[s : s + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for r in store.conn.execute(
            "SELECT m.paper_rowid, p.id, m.x, m.y FROM map_points m "
            "JOIN papers p ON p.rowid = m.paper_rowid "
            f"WHERE m.paper_rowid IN ({marks}) AND p.deleted = 0",
            chunk,
        ):
            found[r[0]] = Point(*r)
    return [found[r] for r in ids if r in found]


# ---------------------------------------------------------------------------------- topics


def has_topics(store: SQLiteStore) -> bool:
    """Whether the topic tables exist (they come with migration 0015)."""
    if getattr(store, "backend", "sqlite") == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)"
    else:  # the catalogue every SQL database has (the PostgreSQL backend)
        sql = "SELECT table_name FROM information_schema.tables WHERE table_name IN (?, ?)"
    names = {r[0] for r in store.conn.execute(sql, ("topics", "paper_topics"))}
    return names == {"topics", "paper_topics"}


@dataclass(frozen=True, slots=True)
class Topic:
    id: int
    parent: int | None
    level: int
    label: str
    size: int


def topic_tree(store: SQLiteStore) -> dict[int, Topic]:
    """Every topic of the `topic` aspect by id (empty without the topic tables)."""
    if not has_topics(store):
        return {}
    return {
        r[0]: Topic(*r)
        for r in store.conn.execute(
            "SELECT id, parent, level, label, size FROM topics WHERE aspect = ?",
            (TOPIC_ASPECT,),
        )
    }


def roots_of(tree: dict[int, Topic]) -> dict[int, int]:
    """Each topic's top-level ancestor (itself at the top)."""
    roots: dict[int, int] = {}
    for tid in tree:
        seen, at = set(), tid
        while (parent := tree[at].parent) is not None and parent in tree and at not in seen:
            seen.add(at)
            at = parent
        roots[tid] = at
    return roots


def paper_topics(store: SQLiteStore, rowids: Sequence[int]) -> dict[int, int]:
    """Each paper's finest topic, for those of `rowids` that have one."""
    if not has_topics(store):
        return {}
    found: dict[int, int] = {}
    ids = list(rowids)
    for s in range(0, len(ids), _CHUNK):
        chunk = ids[s : s + _CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(
            store.conn.execute(
                f"SELECT paper_rowid, topic FROM paper_topics WHERE aspect = ? "
                f"AND paper_rowid IN ({marks})",
                (TOPIC_ASPECT, *chunk),
            ).fetchall()
        )
    return found


def topic_sums(store: SQLiteStore) -> list[tuple[int, float, float, int]]:
    """(finest topic, sum of x, sum of y, points) over the live papers' points."""
    if not has_topics(store):
        return []
    return [
        (r[0], float(r[1]), float(r[2]), int(r[3]))
        for r in store.conn.execute(
            "SELECT t.topic, sum(m.x), sum(m.y), count(*) FROM map_points m "
            "JOIN paper_topics t ON t.paper_rowid = m.paper_rowid AND t.aspect = ? "
            "JOIN papers p ON p.rowid = m.paper_rowid WHERE p.deleted = 0 GROUP BY t.topic",
            (TOPIC_ASPECT,),
        )
    ]
