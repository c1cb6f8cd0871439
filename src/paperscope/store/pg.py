"""The shared store: PostgreSQL through psycopg 3 and a connection pool.

`PostgresStore` is the SQLite store's code on another connection: every store module writes the
portable SQL subset (``?`` placeholders, ``ON CONFLICT``, ``RETURNING``, no sqlite-only
functions), and `PgConnection` gives that SQL the part of the ``sqlite3.Connection`` interface
the store uses -- ``execute`` returning rows readable by index and by name, ``executemany``,
``in_transaction``, explicit ``BEGIN``/``COMMIT``/``ROLLBACK`` -- and raises the ``sqlite3``
exception classes, so ``except sqlite3.IntegrityError`` means the same on both backends.

Concurrency: a statement outside a transaction borrows a pooled connection for itself; a
``BEGIN`` pins one connection to the calling thread until ``COMMIT``/``ROLLBACK``. The store
assumes one writer at a time where SQLite's ``BEGIN IMMEDIATE`` gave it that: here the same
statement takes a transaction-scoped advisory lock, so two nodes importing at once take turns
instead of racing for the next rowid.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from paperscope.errors import StoreError, StoreUnavailableError
from paperscope.store import pgvector
from paperscope.store.migrate import apply_pending
from paperscope.store.sqlite import SQLiteStore

#: The advisory lock key `BEGIN IMMEDIATE` takes: one writer at a time, as on SQLite.
WRITER_LOCK = 0x70617065  # "pape"
#: Connections per store (per process): the web server's threads share them.
POOL_MAX = 16


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def database_name(url: str) -> str:
    """The database a URL names (``postgresql://u@h/db?host=/dir`` -> ``db``)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or parse_qs(parts.query).get("dbname", [""])[0]
    return name or "postgres"


#: The password of a URL (`postgresql://user:PASSWORD@host/db`), after the user name.
# the password runs to the last "@" before the host: one left unencoded may hold "@" itself
_URL_PASSWORD_RE = re.compile(r"(://[^:/@\s]*):([^/\s]*)@")


def redact(url: str) -> str:
    """The URL without its password, for messages and `stats`."""
    return _URL_PASSWORD_RE.sub(r"\1:***@", url)


_TOKENS = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?|%|::|:[A-Za-z_]\w*|[^'\"?%:-]+|[-:]"
)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """``?`` and ``:name`` placeholders to psycopg's ``%s`` and ``%(name)s`` (not inside
    literals or quoted names), and every literal ``%`` doubled, since psycopg reads ``%``
    everywhere in a query with parameters."""
    out = []
    for token in _TOKENS.findall(sql):
        if token == "?":
            out.append("%s")
        elif token[0] == ":" and len(token) > 1 and token != "::":
            out.append(f"%({token[1:]})s")  # sqlite3's named parameter, :name
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out)


_IN_OPEN = re.compile(r"(?i)\b(NOT\s+)?IN\s*\(\s*$")
_IN_NEXT = re.compile(r"^\s*,\s*$")
_IN_CLOSE = re.compile(r"^\s*\)")


@lru_cache(maxsize=4096)
def in_lists(sql: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``IN (?, ?, ...)`` lists of two or more placeholders as ``= ANY(?)``: (the new SQL,
    (first parameter, count) of each list).

    The store reads rows by rowid in chunks of hundreds of placeholders, as SQLite wants.
    PostgreSQL plans such a list afresh for every length and binds each value alone: a
    900-value IN took about 10 ms where one array parameter takes 1.4 ms, and a search page
    at 1M papers sends dozens of them."""
    tokens = _TOKENS.findall(sql)
    out: list[str] = []
    groups: list[tuple[int, int]] = []
    param = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token[0] not in "'\"-" and _IN_OPEN.search(token):
            # count `?` `,` `?` ... up to a token opening with `)`
            j, count = i + 1, 0
            while j < len(tokens) and tokens[j] == "?":
                count += 1
                if j + 1 < len(tokens) and _IN_NEXT.match(tokens[j + 1]):
                    j += 2
                else:
                    j += 1
                    break
            if count >= 2 and j < len(tokens) and _IN_CLOSE.match(tokens[j]):
                out.append(_IN_OPEN.sub(_any_or_all, token) + "?")
                groups.append((param, count))
                param += count
                i = j
                continue
        if token == "?":
            param += 1
        out.append(token)
        i += 1
    return "".join(out), tuple(groups)


def _any_or_all(found: re.Match) -> str:
    return "<> ALL(" if found.group(1) else "= ANY("


def collapse_in_lists(sql: str, params: tuple) -> tuple[str, tuple]:
    """`sql` and `params` with each IN list of placeholders made one array parameter."""
    new_sql, groups = in_lists(sql)
    if not groups:
        return sql, params
    out: list = []
    at = 0
    for first, count in groups:
        out.extend(params[at:first])
        out.append(list(params[first : first + count]))
        at = first + count
    out.extend(params[at:])
    return new_sql, tuple(out)


class Row(tuple):
    """A result row read by position or by column name, like ``sqlite3.Row``."""

    __slots__ = ()
    _index: ClassVar[dict[str, int]] = {}
    _names: ClassVar[tuple[str, ...]] = ()

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._index[key.lower()])
            except KeyError:
                raise IndexError(f"no such column: {key}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name.lower(), i)
    return type("Row", (Row,), {"__slots__": (), "_index": index, "_names": names})


def _row_factory(cursor):
    names = tuple(c.name for c in cursor.description) if cursor.description else ()
    cls = _row_class(names)
    return cls


class Cursor:
    """The rows of one statement, read into memory so its connection goes back to the pool."""

    lastrowid = None

    def __init__(self, rows: list[Row], rowcount: int, description) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount
        self.description = description

    def fetchone(self) -> Row | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list[Row]:
        rows = self._rows[self._at :]
        self._at = len(self._rows)
        return rows

    def fetchmany(self, size: int = 1) -> list[Row]:
        rows = self._rows[self._at : self._at + size]
        self._at += len(rows)
        return rows

    def __iter__(self) -> Iterator[Row]:
        while (row := self.fetchone()) is not None:
            yield row


_INT64 = (-(1 << 63), (1 << 63) - 1)


def _param(p: Any) -> Any:
    # SQLite stores True as 1; PostgreSQL refuses a boolean for an INTEGER column
    if p is True or p is False:
        return int(p)
    # sqlite3 refuses an int beyond 64 bits with OverflowError (the web app answers 422);
    # psycopg would send it as NUMERIC and compare it, so the same input behaved otherwise
    if type(p) is int and not _INT64[0] <= p <= _INT64[1]:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")
    return p


def _params(params: Sequence) -> tuple:
    return tuple(_param(p) for p in params)


class PgIntegrityError(sqlite3.IntegrityError):
    pass


class PgOperationalError(sqlite3.OperationalError):
    pass


class PgDatabaseError(sqlite3.DatabaseError):
    pass


def _sqlite_error(exc: BaseException) -> BaseException:
    import psycopg

    if isinstance(exc, psycopg.errors.IntegrityError):
        cls: type[sqlite3.Error] = PgIntegrityError
    elif isinstance(exc, psycopg.OperationalError | psycopg.ProgrammingError):
        cls = PgOperationalError
    else:
        cls = PgDatabaseError
    new = cls(str(exc).strip())
    new.sqlstate = getattr(exc, "sqlstate", None)  # type: ignore[attr-defined]
    return new


def _configure(conn) -> None:
    from psycopg.adapt import Loader

    class NumericLoader(Loader):
        # sum() of BIGINT is NUMERIC in PostgreSQL; SQLite gives an int (or a float)
        def load(self, data):
            text = bytes(data).decode()
            try:
                return int(text)
            except ValueError:
                return float(text)

    conn.adapters.register_loader("numeric", NumericLoader)
    conn.row_factory = _row_factory


#: Seconds a statement waits for a pooled connection before the store is called unreachable.
POOL_WAIT = 30.0
#: Seconds the first connection may take before the store is called unreachable (unless the
#: URL sets its own connect_timeout).
CONNECT_TIMEOUT = 10


def _probe(psycopg, url: str) -> None:
    """One plain connection before the pool opens: a server that refuses, a host that does
    not resolve or a database that does not exist is one error line at once, not 30 s of
    the pool retrying in the background, logging each attempt."""
    timeout = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT}
    try:
        psycopg.connect(url, **timeout).close()
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split("\n", 1)[0].split()) or type(exc).__name__
        # libpq quotes pieces of a malformed connection string back: never the password
        for secret in _passwords(url):
            reason = reason.replace(secret, "***")
        raise StoreError(
            f"cannot connect to the paper store {redact(url)}: {reason}",
            hint="is PostgreSQL running, and does the URL name its database, user and host?",
        ) from exc


def _passwords(url: str) -> list[str]:
    """The passwords a URL or key=value connection string holds (to keep out of messages)."""
    found = [match.group(2) for match in _URL_PASSWORD_RE.finditer(url)]
    found += re.findall(r"password\s*=\s*('(?:[^']|\\')*'|\S+)", url)
    return [secret.strip("'") for secret in found if secret.strip("'")]


class PgConnection:
    """The subset of ``sqlite3.Connection`` the store uses, over a psycopg connection pool."""

    def __init__(self, url: str, *, max_size: int = POOL_MAX) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self._psycopg = psycopg
        _probe(psycopg, url)
        self._local = threading.local()
        # connections that read and write pgvector's type as float32 bytes (store/pgvector.py)
        self._vector_ready: weakref.WeakSet = weakref.WeakSet()
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
            name="paperscope",
        )
        try:
            self.pool.open(wait=True, timeout=30)
        except Exception as exc:
            self.pool.close()
            raise StoreError(
                f"cannot connect to the paper store {redact(url)}: {exc}",
                hint="is PostgreSQL running, and does the URL name its database, user and host?",
            ) from exc

    # -- transactions

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "conn", None) is not None

    def _begin(self, immediate: bool, statement: str = "BEGIN") -> Cursor:
        if self.in_transaction:
            raise PgOperationalError("cannot start a transaction within a transaction")
        conn = self._borrow()
        try:
            self._vectors(conn)
            conn.execute(statement)
            if immediate:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        except self._psycopg.Error as exc:
            self._release(conn, rollback=True)
            raise self._error(conn, exc) from exc
        self._local.conn = conn
        return Cursor([], -1, None)

    def _end(self, statement: str) -> Cursor:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            raise PgOperationalError(f"cannot {statement.lower()} - no transaction is active")
        self._local.conn = None
        try:
            conn.execute(statement)
        except self._psycopg.Error as exc:
            self._release(conn, rollback=True)
            raise self._error(conn, exc) from exc
        self._release(conn)
        return Cursor([], -1, None)

    def _borrow(self):
        try:
            return self.pool.getconn(timeout=POOL_WAIT)
        except self._psycopg.OperationalError as exc:  # PoolTimeout: no connection was made
            raise self.unreachable(exc) from exc

    def _error(self, conn, exc: BaseException) -> BaseException:
        """A statement's error as the store raises it: the connection lost (the server
        stopped, the network dropped) is the store unreachable, not a failed statement."""
        return self.unreachable(exc) if conn.broken else _sqlite_error(exc)

    def unreachable(self, exc: BaseException) -> StoreUnavailableError:
        """`exc`, a connection that failed or broke, as the store's error (also raised by the
        job leases' own connections, store/jobs.py)."""
        reason = " ".join(str(exc).split()) or type(exc).__name__
        for secret in _passwords(self.url):  # libpq may quote the connection string back
            reason = reason.replace(secret, "***")
        return StoreUnavailableError(
            f"cannot reach the paper store {redact(self.url)}: {reason}",
            hint="is PostgreSQL running and reachable from here? Requests are served again "
            "once it is; `paperscope doctor` checks the connection",
        )

    def _vectors(self, conn) -> None:
        # outside a transaction only: a type created by a transaction that then rolls back
        # would leave its oid behind
        if conn not in self._vector_ready and pgvector.register(conn):
            self._vector_ready.add(conn)

    def _release(self, conn, rollback: bool = False) -> None:
        if rollback and not conn.closed:
            with contextlib.suppress(self._psycopg.Error):
                conn.rollback()
        self.pool.putconn(conn)

    def commit(self) -> None:
        if self.in_transaction:
            self._end("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self._end("ROLLBACK")

    # -- statements

    def execute(self, sql: str, params: Sequence | None = None) -> Cursor:
        head = sql.lstrip()[:24].upper().rstrip("; \n")
        if head.startswith("BEGIN"):
            if "ISOLATION" in sql.upper():  # PostgreSQL's own form, passed as written
                return self._begin(immediate=False, statement=sql.strip().rstrip(";"))
            return self._begin(immediate="IMMEDIATE" in head or "EXCLUSIVE" in head)
        if head in ("COMMIT", "END", "ROLLBACK", "COMMIT TRANSACTION", "ROLLBACK TRANSACTION"):
            return self._end("ROLLBACK" if head.startswith("ROLLBACK") else "COMMIT")
        args = (
            {k: _param(v) for k, v in params.items()}
            if isinstance(params, dict)
            else _params(params or ())
        )
        writes, binary = pgvector.vector_statement(sql)
        if not isinstance(args, dict):
            if writes:
                args = pgvector.as_vectors(args)
            sql, args = collapse_in_lists(sql, args)
        return self._run(lambda cur: cur.execute(translate(sql), args, binary=binary or None))

    def executemany(self, sql: str, seq: Sequence[Sequence] | Iterator[Sequence]) -> Cursor:
        rows = [_params(p) for p in seq]
        if not rows:
            return Cursor([], 0, None)
        if pgvector.vector_statement(sql)[0]:
            rows = [pgvector.as_vectors(r) for r in rows]
        return self._run(lambda cur: cur.executemany(translate(sql), rows))

    def executescript(self, script: str) -> Cursor:
        """A script of statements without parameters, run as one string."""
        return self._run(lambda cur: cur.execute(script))

    def _run(self, call) -> Cursor:
        pinned = getattr(self._local, "conn", None)
        conn = pinned if pinned is not None else self._borrow()
        try:
            if pinned is None:
                self._vectors(conn)
            with conn.cursor() as cur:
                call(cur)
                rows = cur.fetchall() if cur.description is not None else []
                return Cursor(rows, cur.rowcount, cur.description)
        except self._psycopg.Error as exc:
            raise self._error(conn, exc) from exc
        finally:
            if pinned is None:
                self.pool.putconn(conn)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            self._release(conn, rollback=True)
        self.pool.close()


def _privilege_hint(message: str, url: str) -> str:
    """What to run when a migration lacks a privilege (SQLSTATE 42501): docs/postgres.md."""
    database = database_name(url)
    if 'extension "vector"' in message:
        return (
            f"a superuser runs `CREATE EXTENSION vector;` in the database {database} once "
            "(pgvector is not a trusted extension); then run the same command again"
        )
    user = urlsplit(url).username or "the store's user"
    return (
        f"the store's user needs CREATE on the schema: a superuser or the owner runs "
        f"`GRANT CREATE ON SCHEMA public TO {user};` in the database {database}"
    )


class PostgresStore(SQLiteStore):
    """Papers in a PostgreSQL database; the same interface as `SQLiteStore`."""

    backend = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        # `path` names the store in messages and keys its index folder (index/paths.py)
        self.path = url  # type: ignore[assignment]
        self.conn = PgConnection(url)  # type: ignore[assignment]
        try:
            apply_pending(self.conn, "postgres")
        except StoreError as exc:
            self.conn.close()
            if getattr(exc.__cause__, "sqlstate", None) == "42501" and exc.hint is None:
                exc.hint = _privilege_hint(str(exc), url)
            raise
        except BaseException:
            self.conn.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresStore({redact(self.url)!r})"

    def stats(self) -> dict:
        data = super().stats()
        data["db_path"] = redact(self.url)  # `stats` output is pasted into tickets and logs
        return data

    def tables(self) -> dict[str, tuple[list[str], list[str]]]:
        """As `SQLiteStore.tables`: columns and key columns of every table but the record of
        migrations."""
        found: dict[str, tuple[list[str], list[str]]] = {}
        rows = self.conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name != 'schema_migrations' "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
        for table, column in rows:
            found.setdefault(table, ([], []))[0].append(column)
        keys = self.conn.execute(
            "SELECT c.relname, i.indisprimary, i.indexrelid, a.attname, k.n "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_namespace s ON s.oid = c.relnamespace AND s.nspname = current_schema() "
            "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
            "WHERE i.indisunique ORDER BY c.relname, i.indisprimary DESC, i.indexrelid, k.n"
        ).fetchall()
        chosen: dict[str, int] = {}
        for table, _primary, index, column, _n in keys:
            if table not in found or chosen.setdefault(table, index) != index:
                continue
            found[table][1].append(column)
        for _table, (columns, key) in found.items():
            if not key:
                key.extend(columns)
        return found

    def reset_sequences(self) -> None:
        """After rows were copied in with their ids: ids handed out next follow them."""
        rows = self.conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES'"
        ).fetchall()
        for table, column in rows:
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f'coalesce((SELECT max("{column}") FROM "{table}"), 0) + 1, false)'
            )

    # -- pgvector (store/pgvector.py): nearest neighbours inside the database

    def create_vector_index(
        self, model: str, dim: int, *, m: int = 16, ef_construction: int = 64
    ) -> None:
        """An HNSW index (cosine) over `model`'s whole-text vectors, for `nearest_vectors`."""
        pgvector.create_index(self, model, dim, m=m, ef_construction=ef_construction)

    def drop_vector_index(self, model: str) -> None:
        pgvector.drop_index(self, model)

    def nearest_vectors(
        self, model: str, query, k: int, candidates: int = 300
    ) -> list[tuple[int, float]]:
        """Up to `k` (rowid, best-passage cosine) nearest to `query`, from the HNSW index
        (`candidates` papers re-scored), best first, deleted papers left out."""
        return pgvector.nearest(self, model, query, k, candidates)

    def data_state(self) -> tuple[str, int]:
        """Changes whenever any transaction that wrote (on any node) started or ended: the
        current snapshot (xmin, xmax and the transactions in progress)."""
        return str(self.conn.execute("SELECT pg_current_snapshot()").fetchone()[0]), 0

    def job_lease(self, name: str):
        """As `SQLiteStore.job_lease`, across every node on this database: a session-level
        advisory lock on a connection held for the job's life (store/jobs.py)."""
        from paperscope.store.jobs import postgres_lease

        return postgres_lease(self, name)

    def job_lease_held(self, name: str) -> bool:
        from paperscope.store.jobs import postgres_held

        return postgres_held(self, name)

    def page_size(self) -> int:
        return int(self.conn.execute("SHOW block_size").fetchone()[0])

    def compact(self, page_size: int = 8192) -> None:
        """PostgreSQL's VACUUM: free space inside the tables goes back to reuse."""
        self.conn.execute("VACUUM (ANALYZE)")

    def db_bytes(self) -> int:
        return int(self.conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every statement of this thread inside the block reads one snapshot of the database
        (REPEATABLE READ), whatever commits meanwhile; nothing is written."""
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try:
            yield
        finally:
            self.conn.rollback()

    # backup, restore and doctor (store/pg_backup.py): the same results as SQLite's

    def backup(self, target, *, force: bool = False):
        """A consistent SQLite copy of the store in the file `target` (pg_backup.backup)."""
        from paperscope.store import pg_backup

        return pg_backup.backup(self, target, force=force)

    @classmethod
    def restore(cls, source, target, *, force: bool = False, progress=None):
        """The SQLite backup `source` copied into the database `target`."""
        from paperscope.store import pg_backup

        return pg_backup.restore(source, str(target), force=force, progress=progress)

    @classmethod
    def check(cls, path, *, full: bool = True):
        """Migrations, tables and indexes of the database at `path`, read-only."""
        from paperscope.store import pg_backup

        return pg_backup.check(str(path), full=full)
