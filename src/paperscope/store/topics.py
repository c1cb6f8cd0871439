"""The topics tables (0015_topics.sql): clusters of papers per aspect, and each paper's topic.

Derived data like the indexes, but kept in the store: pages, the API and search filters read
them by SQL. `paperscope.rank.topics` computes them; this module only reads and writes rows.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import orjson

from paperscope.store.sqlite import SQLiteStore, _chunks

#: The main hierarchy's aspect; others ('task', 'method') group the same papers differently.
MAIN_ASPECT = "topic"


@dataclass
class Topic:
    id: int
    parent: int | None
    level: int
    label: str
    size: int
    aspect: str = MAIN_ASPECT
    centroid: np.ndarray | None = None
    central: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "size": self.size, "parent": self.parent}


@dataclass
class BuildInfo:
    aspect: str
    built_at: str
    model: str
    seed: int
    papers: int
    build_distance: float
    assigned: int
    assigned_distance: float


def doc_vectors(store: SQLiteStore, model: str, passage: int) -> tuple[np.ndarray, np.ndarray]:
    """(rowids, matrix) of every live paper's vector of `passage` for `model`, rowid order;
    zero vectors (papers with no text) are left out."""
    rowids: list[int] = []
    blobs: list[bytes] = []
    for rowid, blob in store.conn.execute(
        "SELECT v.paper_rowid, v.vector FROM paper_vectors v JOIN papers p "
        "ON p.rowid = v.paper_rowid WHERE v.model = ? AND v.passage = ? AND p.deleted = 0 "
        "ORDER BY v.paper_rowid",
        (model, passage),
    ):
        rowids.append(rowid)
        blobs.append(blob)
    if not blobs:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)
    keep = np.linalg.norm(matrix, axis=1) > 0
    return np.asarray(rowids, np.int64)[keep], np.ascontiguousarray(matrix[keep])


def next_topic_id(store: SQLiteStore) -> int:
    """Ids are never reused: a link to a topic of an earlier build finds nothing rather than
    a different topic."""
    row = store.conn.execute("SELECT max(id) FROM topics").fetchone()
    last = row[0] or 0
    kept = store.conn.execute(
        "SELECT value FROM store_meta WHERE key = 'topics_last_id'"
    ).fetchone()
    return max(last, kept[0] if kept else 0) + 1


def save_build(
    store: SQLiteStore,
    aspect: str,
    topics: Sequence[Topic],
    assignments: Sequence[tuple[int, int]],
    info: BuildInfo,
) -> None:
    """Replace every topic and assignment of `aspect` in one transaction."""
    conn = store.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
        last = max([t.id for t in topics] + [next_topic_id(store) - 1])
        conn.execute(
            "INSERT INTO store_meta (key, value) VALUES ('topics_last_id', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (last,),
        )
        conn.execute("DELETE FROM paper_topics WHERE aspect = ?", (aspect,))
        conn.execute("DELETE FROM topics WHERE aspect = ?", (aspect,))
        conn.executemany(
            "INSERT INTO topics (id, parent, level, label, size, aspect, centroid, central) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    t.id,
                    t.parent,
                    t.level,
                    t.label,
                    t.size,
                    aspect,
                    None if t.centroid is None else t.centroid.astype(np.float32).tobytes(),
                    orjson.dumps(t.central).decode(),
                )
                for t in topics
            ],
        )
        conn.executemany(
            "INSERT INTO paper_topics (paper_rowid, aspect, topic) VALUES (?, ?, ?)",
            [(r, aspect, t) for r, t in assignments],
        )
        conn.execute(
            "INSERT INTO topic_builds (aspect, built_at, model, seed, papers, build_distance, "
            "assigned, assigned_distance) VALUES (?, ?, ?, ?, ?, ?, 0, 0) "
            "ON CONFLICT (aspect) DO UPDATE SET built_at = excluded.built_at, "
            "model = excluded.model, seed = excluded.seed, papers = excluded.papers, "
            "build_distance = excluded.build_distance, assigned = 0, assigned_distance = 0",
            (aspect, info.built_at, info.model, info.seed, info.papers, info.build_distance),
        )
        conn.execute(_BUMP)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def assign(store: SQLiteStore, aspect: str, rows: Sequence[tuple[int, int, float]]) -> None:
    """Put papers ((rowid, finest topic, cosine distance to it)) in topics of `aspect`, grow
    the sizes of the topic and its parent, and add the distances to the drift record."""
    if not rows:
        return
    conn = store.conn
    parents = dict(
        conn.execute("SELECT id, parent FROM topics WHERE aspect = ?", (aspect,)).fetchall()
    )
    try:
        conn.execute("BEGIN IMMEDIATE")
        before = dict(
            _select_in(
                conn,
                "SELECT paper_rowid, topic FROM paper_topics WHERE aspect = ? AND paper_rowid IN",
                (aspect,),
                [r for r, _, _ in rows],
            )
        )
        grow: Counter[int] = Counter()
        for rowid, topic, _ in rows:
            old = before.get(rowid)
            if old == topic:
                continue
            for t, step in ((topic, 1), (old, -1)):
                while t is not None:
                    grow[t] += step
                    t = parents.get(t)
        conn.executemany(
            "INSERT INTO paper_topics (paper_rowid, aspect, topic) VALUES (?, ?, ?) "
            "ON CONFLICT (paper_rowid, aspect) DO UPDATE SET topic = excluded.topic",
            [(r, aspect, t) for r, t, _ in rows],
        )
        conn.executemany(
            "UPDATE topics SET size = size + ? WHERE id = ?",
            [(n, t) for t, n in grow.items() if n],
        )
        fresh = [d for r, _, d in rows if r not in before]
        if fresh:
            conn.execute(
                "UPDATE topic_builds SET assigned_distance = (assigned_distance * assigned + ?)"
                " / (assigned + ?), assigned = assigned + ? WHERE aspect = ?",
                (float(sum(fresh)), len(fresh), len(fresh), aspect),
            )
        conn.execute(_BUMP)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


#: Moved by every write of topics or assignments (save_build, assign), in their transaction:
#: `topic_array` reads the assignments again when it moved.
_BUMP = (
    "INSERT INTO store_meta (key, value) VALUES ('topics_generation', 1) "
    "ON CONFLICT (key) DO UPDATE SET value = store_meta.value + 1"
)
_ARRAYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ARRAYS_LOCK = threading.Lock()


def _topics_state(store: SQLiteStore, aspect: str) -> tuple:
    """What `topic_array`'s copy is valid for: the topics generation, and the aspect's build
    time and assigned count (a store copied from one written before the generation existed)."""
    return tuple(
        store.conn.execute(
            "SELECT (SELECT value FROM store_meta WHERE key = 'topics_generation'), "
            "(SELECT built_at FROM topic_builds WHERE aspect = ?), "
            "(SELECT assigned FROM topic_builds WHERE aspect = ?)",
            (aspect, aspect),
        ).fetchone()
    )


def topic_array(store: SQLiteStore, aspect: str = MAIN_ASPECT) -> np.ndarray:
    """Every paper's finest topic of `aspect` by rowid (-1: none; rowids past the end have
    none), kept per store object until the topics change.

    A search's topic facet counts the topics of every match, tens of thousands of papers at
    1M: read from this copy it costs a lookup, where reading the rows of the matches cost
    hundreds of statements (each a round trip on PostgreSQL)."""
    state = _topics_state(store, aspect)
    with _ARRAYS_LOCK:
        cached = _ARRAYS.get(store, {}).get(aspect)
    if cached is not None and cached[0] == state:
        return cached[1]
    array = np.full(0, -1, dtype=np.int64)
    if state[1] is not None:
        rows = store.conn.execute(
            "SELECT paper_rowid, topic FROM paper_topics WHERE aspect = ?", (aspect,)
        ).fetchall()
        if rows:
            pairs = np.asarray(rows, dtype=np.int64)
            array = np.full(int(pairs[:, 0].max()) + 1, -1, dtype=np.int64)
            array[pairs[:, 0]] = pairs[:, 1]
    with _ARRAYS_LOCK:
        _ARRAYS.setdefault(store, {})[aspect] = (state, array)
    return array


def count_topics(store: SQLiteStore, rowids, aspect: str = MAIN_ASPECT) -> dict[int, int]:
    """Papers per finest topic of `aspect` among `rowids` (those without a topic left out)."""
    array = topic_array(store, aspect)
    if not len(array):
        return {}
    ids = np.asarray(rowids, dtype=np.int64)
    ids = ids[(ids >= 0) & (ids < len(array))]
    topics = array[ids]
    found, counts = np.unique(topics[topics >= 0], return_counts=True)
    return {int(t): int(n) for t, n in zip(found, counts, strict=True)}


def _select_in(conn, sql: str, head: tuple, ids: Iterable[int]) -> list[tuple]:
    out: list[tuple] = []
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        out.extend(tuple(r) for r in conn.execute(f"{sql} ({marks})", (*head, *chunk)))
    return out


def _topic(row) -> Topic:
    blob = row["centroid"]
    return Topic(
        id=row["id"],
        parent=row["parent"],
        level=row["level"],
        label=row["label"],
        size=row["size"],
        aspect=row["aspect"],
        centroid=None if blob is None else np.frombuffer(blob, dtype=np.float32),
        central=orjson.loads(row["central"]),
    )


def list_topics(store: SQLiteStore, aspect: str = MAIN_ASPECT) -> list[Topic]:
    """Every topic of `aspect`: top topics largest first, each followed by its sub-topics,
    largest first."""
    rows = [
        _topic(r)
        for r in store.conn.execute(
            "SELECT * FROM topics WHERE aspect = ? ORDER BY level, size DESC, id", (aspect,)
        )
    ]
    children: dict[int | None, list[Topic]] = {}
    for t in rows:
        children.setdefault(t.parent, []).append(t)
    ordered: list[Topic] = []

    def walk(parent: int | None) -> None:
        for t in children.get(parent, []):
            ordered.append(t)
            walk(t.id)

    walk(None)
    return ordered


def get_topic(store: SQLiteStore, topic_id: int) -> Topic | None:
    row = store.conn.execute("SELECT * FROM topics WHERE id = ?", (topic_id,)).fetchone()
    return _topic(row) if row else None


def aspects(store: SQLiteStore) -> list[str]:
    """The aspects that have topics, the main one first."""
    found = [r[0] for r in store.conn.execute("SELECT DISTINCT aspect FROM topics")]
    return sorted(found, key=lambda a: (a != MAIN_ASPECT, a))


def labels(store: SQLiteStore, topic_ids: Iterable[int]) -> dict[int, Topic]:
    return {
        r[0]: _topic(r)
        for r in _select_rows(store, "SELECT * FROM topics WHERE id IN", (), topic_ids)
    }


def _select_rows(store: SQLiteStore, sql: str, head: tuple, ids: Iterable[int]) -> list:
    out: list = []
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        out.extend(store.conn.execute(f"{sql} ({marks})", (*head, *chunk)).fetchall())
    return out


def topics_of(
    store: SQLiteStore, rowids: Iterable[int], aspect: str = MAIN_ASPECT
) -> dict[int, int]:
    """rowid -> finest topic id of `aspect`, for the papers that have one."""
    return dict(
        _select_in(
            store.conn,
            "SELECT paper_rowid, topic FROM paper_topics WHERE aspect = ? AND paper_rowid IN",
            (aspect,),
            rowids,
        )
    )


def topic_of(store: SQLiteStore, rowid: int, aspect: str = MAIN_ASPECT) -> int | None:
    return topics_of(store, [rowid], aspect).get(rowid)


def children(store: SQLiteStore, topic_id: int) -> list[Topic]:
    return [
        _topic(r)
        for r in store.conn.execute(
            "SELECT * FROM topics WHERE parent = ? ORDER BY size DESC, id", (topic_id,)
        )
    ]


def topic_rowids(store: SQLiteStore, topic_id: int) -> list[int]:
    """The live papers in a topic or any of its sub-topics, rowid order."""
    ids = [topic_id, *(t.id for t in children(store, topic_id))]
    marks = ",".join("?" * len(ids))
    return [
        r[0]
        for r in store.conn.execute(
            f"SELECT pt.paper_rowid FROM paper_topics pt JOIN papers p ON p.rowid = "
            f"pt.paper_rowid WHERE pt.topic IN ({marks}) AND p.deleted = 0 "
            f"ORDER BY pt.paper_rowid",
            ids,
        )
    ]


def published_and_authors(
    store: SQLiteStore, rowids: Sequence[int]
) -> tuple[list[str | None], Counter[str]]:
    """The publication dates of `rowids` and how many of them each author name is on."""
    dates = [
        r[0] for r in _select_rows(store, "SELECT published FROM papers WHERE rowid IN", (), rowids)
    ]
    names: Counter[str] = Counter(
        r[0]
        for r in _select_rows(
            store, "SELECT name FROM paper_authors WHERE paper_rowid IN", (), rowids
        )
    )
    return dates, names


def build_info(store: SQLiteStore, aspect: str = MAIN_ASPECT) -> BuildInfo | None:
    row = store.conn.execute("SELECT * FROM topic_builds WHERE aspect = ?", (aspect,)).fetchone()
    return BuildInfo(**dict(row)) if row else None


def unassigned_rowids(store: SQLiteStore, model: str, passage: int, aspect: str) -> list[int]:
    """Live papers with a `passage` vector of `model` but no topic of `aspect`."""
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT v.paper_rowid FROM paper_vectors v JOIN papers p ON p.rowid = v.paper_rowid "
            "LEFT JOIN paper_topics pt ON pt.paper_rowid = v.paper_rowid AND pt.aspect = ? "
            "WHERE v.model = ? AND v.passage = ? AND p.deleted = 0 AND pt.topic IS NULL "
            "ORDER BY v.paper_rowid",
            (aspect, model, passage),
        )
    ]


def utc_now() -> str:
    # to the microsecond: `topics_built_at` names the build for an open /map page (two builds
    # in one second had one name)
    return datetime.now(UTC).isoformat(timespec="microseconds")


def aspect_vectors(store: SQLiteStore, aspect: str, model: str) -> tuple[np.ndarray, np.ndarray]:
    """(rowids, matrix) of the live papers' embedded `aspect` text, rowid order."""
    rows = store.conn.execute(
        "SELECT a.paper_rowid, a.vector FROM aspect_vectors a JOIN papers p ON p.rowid = "
        "a.paper_rowid WHERE a.aspect = ? AND a.model = ? AND p.deleted = 0 "
        "ORDER BY a.paper_rowid",
        (aspect, model),
    ).fetchall()
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
    return np.asarray([r[0] for r in rows], np.int64), matrix.reshape(len(rows), -1)


def rowids_without_aspect_vector(store: SQLiteStore, aspect: str, model: str) -> list[int]:
    """Live papers with a whole-text vector of `model` but no `aspect` vector of it."""
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT v.paper_rowid FROM paper_vectors v JOIN papers p ON p.rowid = v.paper_rowid "
            "LEFT JOIN aspect_vectors a ON a.paper_rowid = v.paper_rowid AND a.aspect = ? "
            "AND a.model = ? WHERE v.model = ? AND v.passage = -1 AND p.deleted = 0 "
            "AND a.paper_rowid IS NULL ORDER BY v.paper_rowid",
            (aspect, model, model),
        )
    ]


def save_aspect_vectors(
    store: SQLiteStore, aspect: str, model: str, rows: Sequence[tuple[int, bytes]]
) -> None:
    conn = store.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO aspect_vectors (paper_rowid, aspect, model, vector) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (paper_rowid, aspect) DO UPDATE SET model = excluded.model, "
            "vector = excluded.vector",
            [(r, aspect, model, v) for r, v in rows],
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _matrix(rows: list) -> tuple[np.ndarray, np.ndarray]:
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
    return np.asarray([r[0] for r in rows], np.int64), matrix.reshape(len(rows), -1)


def _nonzero(rows: list) -> tuple[np.ndarray, np.ndarray]:
    """(rowids, matrix) of `rows` ((rowid, float32 bytes)) by rowid, without all-zero vectors
    (a paper with nothing to embed has one)."""
    found, matrix = _matrix(sorted(rows, key=lambda r: r[0]))
    if not len(found):
        return found, matrix
    keep = np.linalg.norm(matrix, axis=1) > 0
    return found[keep], np.ascontiguousarray(matrix[keep])


def passage_matrix(
    store: SQLiteStore, model: str, passage: int, rowids: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """(rowids, matrix) of the non-zero `passage` vectors of `rowids`."""
    rows = _select_rows(
        store,
        "SELECT paper_rowid, vector FROM paper_vectors WHERE model = ? AND passage = ? "
        "AND paper_rowid IN",
        (model, passage),
        rowids,
    )
    return _nonzero(rows)


def aspect_matrix_of(
    store: SQLiteStore, aspect: str, model: str, rowids: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    rows = _select_rows(
        store,
        "SELECT paper_rowid, vector FROM aspect_vectors WHERE aspect = ? AND model = ? "
        "AND paper_rowid IN",
        (aspect, model),
        rowids,
    )
    return _nonzero(rows)


def unassigned_aspect_rowids(store: SQLiteStore, aspect: str, model: str) -> list[int]:
    """Live papers with an `aspect` vector but no topic of that aspect."""
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT a.paper_rowid FROM aspect_vectors a JOIN papers p ON p.rowid = a.paper_rowid "
            "LEFT JOIN paper_topics pt ON pt.paper_rowid = a.paper_rowid AND pt.aspect = ? "
            "WHERE a.aspect = ? AND a.model = ? AND p.deleted = 0 AND pt.topic IS NULL "
            "ORDER BY a.paper_rowid",
            (aspect, aspect, model),
        )
    ]


def paper_topic(store: SQLiteStore, ident: str, aspect: str = MAIN_ASPECT) -> int | None:
    """The finest topic id of the paper `ident` names (None without one)."""
    rowid = store.resolve(ident)
    return None if rowid is None else topic_of(store, rowid, aspect)


def topic_chain(store: SQLiteStore, rowid: int, aspect: str = MAIN_ASPECT) -> list[Topic]:
    """A paper's topic and sub-topic, outermost first (empty without topics)."""
    finest = topic_of(store, rowid, aspect)
    chain: list[Topic] = []
    t = get_topic(store, finest) if finest is not None else None
    while t is not None and len(chain) < 4:
        chain.insert(0, t)
        t = get_topic(store, t.parent) if t.parent else None
    return chain
