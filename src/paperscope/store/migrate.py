"""Numbered .sql migrations, each applied once, in the same transaction as its record."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from importlib import resources

from paperscope.errors import StoreError

MIGRATIONS_PACKAGE = "paperscope.store.migrations"


def _migration_files(backend: str) -> list[tuple[str, str]]:
    folder = resources.files(MIGRATIONS_PACKAGE).joinpath(backend)
    files = [p for p in folder.iterdir() if p.name.endswith(".sql") and p.name[:1].isdigit()]
    return [(p.name.removesuffix(".sql"), p.read_text("utf-8")) for p in sorted(files, key=str)]


def migration_names(backend: str = "sqlite") -> list[str]:
    """Every migration this version of paperscope knows, in order."""
    return [name for name, _ in _migration_files(backend)]


def applied(conn: sqlite3.Connection) -> set[str]:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, at TEXT)")
    return {name for (name,) in conn.execute("SELECT name FROM schema_migrations")}


def apply_pending(conn: sqlite3.Connection, backend: str = "sqlite") -> list[str]:
    """Run each pending migration; a failed one leaves no trace and stays pending.

    The connection must be in autocommit mode (isolation_level=None) so the script's own
    BEGIN keeps the DDL and the schema_migrations row in one transaction.
    """
    done = applied(conn)
    ran = []
    for name, script in _migration_files(backend):
        if name in done:
            continue
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}")
            conn.execute(
                "INSERT INTO schema_migrations (name, at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"migration {name} failed: {exc}") from exc
        ran.append(name)
    return ran
