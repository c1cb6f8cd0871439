"""pgvector on the PostgreSQL store: the `vector` columns read and written as the float32 bytes
the rest of paperscope uses, and nearest-neighbour queries inside the database.

Since migration postgres/0018 the vector columns (`VECTOR_TABLES`) are pgvector's `vector`; on
SQLite they are float32 little-endian BLOBs. The store keeps one interface: callers pass and
receive those bytes on both backends, and the connection (store/pg.py) converts at the wire:

* writing: in a statement that inserts into or updates a vector table, every bytes parameter
  is a vector (no vector table has another binary column) and goes out in pgvector's binary
  input format -- int16 dimension, int16 unused, the floats big-endian -- with no type oid,
  so the server reads it as the column's type;
* reading: a statement that names a vector table fetches its rows in binary, and a `vector`
  value comes back as float32 little-endian bytes (the text form is read too, for a statement
  that fetches text).

So `paperscope db copy` checksums a `vector` exactly as its SQLite BLOB: the canonical form is
the little-endian float32 bytes on both sides.
"""

from __future__ import annotations

import hashlib
import re
import struct
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np

#: Tables whose `vector` column is pgvector's type on PostgreSQL (migration 0018).
VECTOR_TABLES = ("paper_vectors", "aspect_vectors")
_NAMES = re.compile(r"\b(?:" + "|".join(VECTOR_TABLES) + r")\b", re.IGNORECASE)
_LE = np.dtype("<f4")
_BE = np.dtype(">f4")


class Vector:
    """float32 little-endian bytes bound for a `vector` column."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.data = data


def encode(data: bytes | bytearray | memoryview) -> bytes:
    """float32 little-endian bytes in pgvector's binary input format."""
    floats = np.frombuffer(data, dtype=_LE)
    return struct.pack(">HH", len(floats), 0) + floats.astype(_BE).tobytes()


def decode(data: bytes | bytearray | memoryview) -> bytes:
    """pgvector's binary output as float32 little-endian bytes."""
    (dim,) = struct.unpack_from(">H", data)
    return np.frombuffer(data, dtype=_BE, count=dim, offset=4).astype(_LE).tobytes()


def decode_text(data: bytes | bytearray | memoryview) -> bytes:
    """pgvector's text output (``[0.1,-2,...]``) as float32 little-endian bytes. Its floats
    are printed shortest-round-trip, so the bytes are the stored ones exactly."""
    text = bytes(data).decode("ascii").strip()[1:-1]
    return np.array(text.split(",") if text else [], dtype=_LE).tobytes()


@lru_cache(maxsize=1)
def _adapters() -> tuple[type, type, type, type]:
    """(dumper, binary loader, text loader, NUMERIC binary loader), made on first use:
    psycopg is the optional `postgres` extra, not imported with the store."""
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format
    from psycopg.types.numeric import NumericBinaryLoader

    class VectorDumper(Dumper):
        format = Format.BINARY
        oid = 0  # unknown: the server takes the type of the column the value goes into

        def dump(self, obj: Vector) -> bytes:
            return encode(obj.data)

    class VectorBinaryLoader(Loader):
        format = Format.BINARY

        def load(self, data) -> bytes:
            return decode(data)

    class VectorTextLoader(Loader):
        def load(self, data) -> bytes:
            return decode_text(data)

    class NumberBinaryLoader(NumericBinaryLoader):
        # NUMERIC (sum() of BIGINT) as an int or a float, as store/pg.py's text loader does,
        # for the statements read in binary
        def load(self, data) -> Any:
            value: Decimal = super().load(data)
            if value == value.to_integral_value():
                return int(value)
            return float(value)

    return VectorDumper, VectorBinaryLoader, VectorTextLoader, NumberBinaryLoader


@lru_cache(maxsize=4096)
def vector_statement(sql: str) -> tuple[bool, bool]:
    """(writes vectors, reads in binary) for one statement of the store."""
    if _NAMES.search(sql) is None:
        return False, False
    head = sql.lstrip()[:6].upper()
    return head in ("INSERT", "UPDATE"), True


def as_vectors(params: tuple) -> tuple:
    """The bytes parameters of a statement writing a vector table, marked as vectors."""
    return tuple(Vector(p) if isinstance(p, bytes | bytearray | memoryview) else p for p in params)


def register(conn) -> bool:
    """Teach one psycopg connection the `vector` type; False while the database has none
    (before migration 0018)."""
    dumper, binary, text, number = _adapters()
    row = conn.execute("SELECT to_regtype('vector')::oid").fetchone()
    oid = row[0] if row else None
    conn.adapters.register_dumper(Vector, dumper)
    conn.adapters.register_loader("numeric", number)
    if not oid:
        return False
    conn.adapters.register_loader(oid, text)
    conn.adapters.register_loader(oid, binary)
    return True


# ---------------------------------------------------------------------------------------------
# nearest neighbours in the database


def index_name(model: str) -> str:
    """The HNSW index of one model's whole-text vectors (a name per model: the column has no
    dimension, so each model's index casts to its own)."""
    return "paper_vectors_hnsw_" + hashlib.sha1(model.encode()).hexdigest()[:12]


def create_index(store, model: str, dim: int, *, m: int = 16, ef_construction: int = 64) -> None:
    """An HNSW index (cosine) over the whole-text vectors (passage -1) of `model`, as the
    usearch graph holds one vector per paper. DDL takes no parameters: the model is quoted
    as a literal, the numbers are ints."""
    literal = "'" + model.replace("'", "''") + "'"
    store.conn.execute(
        f"CREATE INDEX IF NOT EXISTS {index_name(model)} ON paper_vectors USING hnsw "
        f"((vector::vector({int(dim)})) vector_cosine_ops) "
        f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)}) "
        f"WHERE model = {literal} AND passage = -1"
    )


def drop_index(store, model: str) -> None:
    store.conn.execute(f"DROP INDEX IF EXISTS {index_name(model)}")


def has_index(store, model: str) -> bool:
    return (
        store.conn.execute("SELECT to_regclass(?) IS NOT NULL", (index_name(model),)).fetchone()[0]
        is True
    )


def nearest(
    store, model: str, query: np.ndarray, k: int, candidates: int
) -> list[tuple[int, float]]:
    """Up to `k` (rowid, score) nearest to `query`, best first, scored like the usearch path
    (index/vectors.py): `candidates` papers from the HNSW index over whole-text vectors, each
    re-scored by the cosine of its best passage; zero passages and deleted papers left out."""
    vector = np.asarray(query, dtype=_LE).reshape(-1)
    dim = len(vector)
    q = Vector(vector.tobytes())
    conn = store.conn
    conn.execute("BEGIN")
    try:
        # the index scan returns at most ef_search rows (pgvector's limit is 1,000)
        conn.execute("SELECT set_config('hnsw.ef_search', ?, true)", (str(min(candidates, 1000)),))
        rows = conn.execute(
            f"WITH c AS (SELECT paper_rowid FROM paper_vectors WHERE model = ? AND passage = -1 "
            f"ORDER BY vector::vector({dim}) <=> ?::vector({dim}) LIMIT ?) "
            "SELECT v.paper_rowid, max(1 - (v.vector <=> ?::vector)) AS score "
            "FROM paper_vectors v JOIN c ON c.paper_rowid = v.paper_rowid "
            "WHERE v.model = ? AND v.passage >= 0 AND vector_norm(v.vector) > 0 "
            "AND NOT EXISTS (SELECT 1 FROM papers p WHERE p.rowid = v.paper_rowid "
            "AND p.deleted != 0) "
            "GROUP BY v.paper_rowid ORDER BY score DESC, v.paper_rowid LIMIT ?",
            (model, q, candidates, q, model, k),
        ).fetchall()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return [(int(r), float(s)) for r, s in rows]
