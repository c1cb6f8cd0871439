"""`paperscope db copy SOURCE TARGET`: a store into another backend (SQLite <-> PostgreSQL).

Every table but the record of migrations is copied row by row in key order, in batches; each
batch commits together with the table's cursor (the last key copied) in `db_copy_state` on the
target, so a copy killed half-way resumes where it stopped and writes nothing twice. Both
stores must be at the same migrations (opening them applies what is pending).

Lossless, and shown to be: each table's row count and checksum are computed on both sides
after the copy. The checksum is the sum, modulo 2^128, of a SHA-256 of each row's values in
column order (ints, floats, text, bytes and NULL keep their types), so it does not depend on
the order either database returns rows in.

Tables written by triggers while other tables are copied in (`store_meta`, moved by writes to
paper_vectors; `author_dirty`, marked by writes to papers) are copied last, replacing what the
triggers put there, so the target ends with the source's values.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from paperscope.errors import StoreError
from paperscope.store.migrate import applied
from paperscope.store.sqlite import SQLiteStore

#: Rows per batch (one transaction on the target each).
BATCH = 2000
#: Tables triggers write while the others are copied: replaced at the end (module docstring).
#: author_meta too: migration 0017 seeds it in a new store, so it is replaced, not appended to.
TRIGGERED = ("store_meta", "author_dirty", "author_meta")
#: Tables a new store's migrations already fill: an empty target may hold rows there.
SEEDED = ("store_meta", "author_meta")
STATE_TABLE = "db_copy_state"
#: Tables other tables' foreign keys point at (migrations 0005): copied first, in this order.
PARENTS_FIRST = ("users", "tags", "digests")
_MOD = 1 << 128

Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class TableCopy:
    name: str
    rows: int = 0
    copied: int = 0
    source_count: int = 0
    target_count: int = 0
    source_checksum: str = ""
    target_checksum: str = ""

    @property
    def same(self) -> bool:
        return (self.source_count, self.source_checksum) == (
            self.target_count,
            self.target_checksum,
        )


@dataclass(slots=True)
class CopyResult:
    source: str
    target: str
    tables: list[TableCopy] = field(default_factory=list)
    resumed: bool = False
    seconds: float = 0.0

    @property
    def same(self) -> bool:
        return all(t.same for t in self.tables)


def _value_bytes(value: object) -> bytes:
    if value is None:
        return b"N"
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return b"I" + str(value).encode()
    if isinstance(value, float):
        return b"F" + struct.pack("<d", value)
    if isinstance(value, bytes | bytearray | memoryview):
        return b"B" + bytes(value)
    return b"T" + str(value).encode("utf-8")


def row_hash(row) -> int:
    h = hashlib.sha256()
    for value in row:
        part = _value_bytes(value)
        h.update(struct.pack("<I", len(part)))
        h.update(part)
    return int.from_bytes(h.digest()[:16], "little")


def table_checksum(store: SQLiteStore, table: str, columns: list[str]) -> tuple[int, str]:
    """(rows, checksum) of one table, read in key-independent batches."""
    total = 0
    count = 0
    cols = ", ".join(f'"{c}"' for c in columns)
    for row in store.conn.execute(f'SELECT {cols} FROM "{table}"'):
        total = (total + row_hash(row)) % _MOD
        count += 1
    return count, f"{total:032x}"


def checksums(store: SQLiteStore) -> dict[str, tuple[int, str]]:
    """Row count and checksum of every table of `store` (what `db copy` compares)."""
    return {
        name: table_checksum(store, name, columns)
        for name, (columns, _key) in sorted(store.tables().items())
        if name != STATE_TABLE
    }


def _cols(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


class _Copier:
    def __init__(self, source: SQLiteStore, target: SQLiteStore, progress: Progress | None):
        self.source = source
        self.target = target
        self.progress = progress
        self.resumable = False

    def check_schemas(self) -> dict[str, tuple[list[str], list[str]]]:
        if applied(self.source.conn) != applied(self.target.conn):
            raise StoreError(
                "the two stores are at different migrations",
                hint="open both with this version of paperscope (any command migrates them)",
            )
        # a refused or interrupted copy may have left its cursors in either store
        src = {n: t for n, t in self.source.tables().items() if n != STATE_TABLE}
        dst = self.target.tables()
        self.resumable = STATE_TABLE in dst
        for name, (columns, _key) in src.items():
            if name not in dst or set(columns) - set(dst[name][0]):
                raise StoreError(f"the target has no table {name} with the columns {columns}")
        return src

    def state(self) -> dict[str, list] | None:
        """The cursors of a copy in progress, None when none was started (nothing is created
        here: a copy refused for a target that holds data leaves that target as it was)."""
        if not self.resumable:
            return None
        rows = self.target.conn.execute(f"SELECT name, last_key FROM {STATE_TABLE}").fetchall()
        return {name: key if key == "done" else orjson.loads(key) for name, key in rows} or None

    def start(self) -> None:
        self.target.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (name TEXT PRIMARY KEY, last_key TEXT)"
        )

    def target_empty(self, tables) -> bool:
        for name in tables:
            if name in (*SEEDED, STATE_TABLE):
                continue
            if self.target.conn.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone():
                return False
        return True

    def copy_table(self, name: str, columns: list[str], key: list[str], last) -> TableCopy:
        result = TableCopy(name)
        total = self.source.conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        result.rows = total
        cols = _cols(columns)
        keys = _cols(key)
        at = [columns.index(k) for k in key]
        insert = (
            f'INSERT INTO "{name}" ({cols}) VALUES ({", ".join("?" * len(columns))}) '
            "ON CONFLICT DO NOTHING"
        )
        marks = ", ".join("?" * len(key))
        done = 0
        if last is not None:
            done = self.source.conn.execute(
                f'SELECT count(*) FROM "{name}" WHERE ({keys}) <= ({marks})', last
            ).fetchone()[0]
        if self.progress:
            self.progress(name, done, total)
        while True:
            if last is None:
                sql = f'SELECT {cols} FROM "{name}" ORDER BY {keys} LIMIT ?'
                params: list = [BATCH]
            else:
                sql = (
                    f'SELECT {cols} FROM "{name}" WHERE ({keys}) > ({marks}) '
                    f"ORDER BY {keys} LIMIT ?"
                )
                params = [*last, BATCH]
            rows = [tuple(r) for r in self.source.conn.execute(sql, params)]
            if not rows:
                break
            last = [rows[-1][i] for i in at]
            conn = self.target.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(insert, rows)
                self._save_cursor(name, last)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            done += len(rows)
            result.copied += len(rows)
            if self.progress:
                self.progress(name, done, total)
        self._save_cursor(name, last, finished=True)
        return result

    def replace_table(self, name: str, columns: list[str]) -> TableCopy:
        """A table triggers wrote into during the copy: the source's rows, all of them."""
        rows = [
            tuple(r) for r in self.source.conn.execute(f'SELECT {_cols(columns)} FROM "{name}"')
        ]
        conn = self.target.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f'DELETE FROM "{name}"')
            conn.executemany(
                f'INSERT INTO "{name}" ({_cols(columns)}) VALUES ({", ".join("?" * len(columns))})',
                rows,
            )
            self._save_cursor(name, None, finished=True)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if self.progress:
            self.progress(name, len(rows), len(rows))
        return TableCopy(name, rows=len(rows), copied=len(rows))

    def _save_cursor(self, name: str, last, finished: bool = False) -> None:
        value = "done" if finished else orjson.dumps(last).decode()
        if not finished and last is None:
            return
        self.target.conn.execute(
            f"INSERT INTO {STATE_TABLE} (name, last_key) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET last_key = excluded.last_key",
            (name, value),
        )


def copy_store(
    source: SQLiteStore,
    target: SQLiteStore,
    *,
    progress: Progress | None = None,
    source_name: str = "",
    target_name: str = "",
) -> CopyResult:
    """Copy every record and user table of `source` into `target` (empty, or holding an
    interrupted copy of the same source), then compare counts and checksums."""
    started = time.perf_counter()
    copier = _Copier(source, target, progress)
    tables = copier.check_schemas()
    state = copier.state()
    if state is None and not copier.target_empty(tables):
        raise StoreError(
            f"the target {target_name or 'store'} already holds data",
            hint="copy into a new, empty database or file",
        )
    copier.start()
    result = CopyResult(source_name, target_name, resumed=state is not None)
    state = state or {}
    # parents before the rows whose foreign keys point at them, triggered tables last
    first = [n for n in PARENTS_FIRST if n in tables]
    rest = [n for n in tables if n not in TRIGGERED and n not in PARENTS_FIRST]
    ordered = first + rest + [n for n in TRIGGERED if n in tables]
    for name in ordered:
        columns, key = tables[name]
        cursor = state.get(name)
        if cursor == "done":
            result.tables.append(TableCopy(name))
            continue
        if name in TRIGGERED:
            result.tables.append(copier.replace_table(name, columns))
        else:
            result.tables.append(copier.copy_table(name, columns, key, cursor))
    target.reset_sequences()
    target.conn.execute(f"DROP TABLE {STATE_TABLE}")
    src = checksums(source)
    dst = checksums(target)
    for table in result.tables:
        table.source_count, table.source_checksum = src.get(table.name, (0, ""))
        table.target_count, table.target_checksum = dst.get(table.name, (0, ""))
    result.seconds = time.perf_counter() - started
    return result
