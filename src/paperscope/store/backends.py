"""Which store a `--db` target names: a PostgreSQL URL, else a SQLite file (the default)."""

from __future__ import annotations

from pathlib import Path

from paperscope.config import is_db_url
from paperscope.store.sqlite import SQLiteStore

is_postgres = is_db_url


def open_store(target: str | Path) -> SQLiteStore:
    """The store at `target`: ``postgresql://user:pass@host:port/db`` (libpq URIs such as
    ``postgresql://user@/db?host=/socket/dir`` too) opens PostgreSQL, anything else is the
    path of a SQLite file. Both answer the same interface; callers never branch on which."""
    if is_postgres(target):
        from paperscope.store.pg import PostgresStore

        return PostgresStore(str(target))
    return SQLiteStore(target)


def store_class(target: str | Path) -> type[SQLiteStore]:
    """The class whose `check`/`restore` apply to `target`, without opening it."""
    if is_postgres(target):
        from paperscope.store.pg import PostgresStore

        return PostgresStore
    return SQLiteStore


def shown(target: str | Path) -> str:
    """A store as output and logs name it: a PostgreSQL URL without its password."""
    if is_postgres(target):
        from paperscope.store.pg import redact

        return redact(str(target))
    return str(target)
