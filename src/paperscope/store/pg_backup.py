"""Backup, restore and health checks of a PostgreSQL store (`paperscope backup|restore|doctor`).

The same three a SQLite store has (store/backup.py), with the same results, so the commands
above never ask which backend they run on:

- backup: the store copied into a new SQLite file by the `db copy` machinery (store/copy.py),
  every table read inside one REPEATABLE READ transaction: a snapshot of one moment while
  serve nodes go on writing. The file is written beside the target, its counts and checksums
  compared with the snapshot's, synced and renamed into place. It is an ordinary SQLite store:
  `restore` takes it back into PostgreSQL (or into a SQLite file), `--db backup.db` opens it.
  `pg_dump -Fc` remains the tool for PostgreSQL-level backups (roles, the whole cluster).
- restore: a backup file (checked and migrated in a temporary copy, the file itself is never
  changed) copied into the database by `db copy`. Refused while another session is connected
  to the database (a running `serve`), and, unless forced, when it holds papers or accounts;
  forced, every table but the record of migrations is emptied first (one TRUNCATE). A restore
  that was interrupted is finished by running it again with --force.
- check: what applies on PostgreSQL, read-only: migrations applied or pending (without
  applying them), every table read through (PostgreSQL verifies its page checksums as it
  reads them, when the cluster has them) and, with the `amcheck` extension installed, every
  B-tree index verified; the row counts. Foreign keys are enforced by PostgreSQL itself.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from paperscope.errors import InputError, StoreError
from paperscope.store.backup import (
    IN_USE_TIMEOUT,
    MAX_PROBLEMS,
    BackupResult,
    StoreHealth,
    backup_target,
    copy_unfinished,
    partial_file,
    seal_backup,
    usable_backup,
)
from paperscope.store.migrate import migration_names

#: Tables a restore never empties: the record of migrations (the schema stays).
KEPT = ("schema_migrations",)


def _connect(url: str):
    """A plain psycopg connection (autocommit): no pool, no migrations applied."""
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=30)


def _count(conn, table: str) -> int:
    row = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL", (f'"{table}"',)
    ).fetchone()  # a store from before that migration has no such table
    if not row[0]:
        return 0
    return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def _tables(conn) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
    ]


def check(url: str, full: bool = True) -> StoreHealth:
    """Migrations, tables read through (full) and B-tree indexes (full, with amcheck)."""
    from paperscope.store.pg import redact

    health = StoreHealth(redact(url))
    try:
        conn = _connect(url)
    except Exception as exc:  # unreachable server, unknown database, refused log-in
        health.readable, health.integrity = False, [f"cannot connect: {exc}".strip()]
        return health
    try:
        with conn:
            tables = _tables(conn)
            applied = set()
            if "schema_migrations" in tables:
                applied = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            known = set(migration_names("postgres"))
            health.pending = sorted(known - applied)
            health.unknown = sorted(applied - known)
            if full:
                health.integrity = _read_through(conn, tables)
            health.papers = _count(conn, "papers")
            health.users = _count(conn, "users")
            health.unfinished_copy = copy_unfinished(tables)
    except Exception as exc:
        health.readable = False
        health.integrity = health.integrity or [f"cannot read the store: {exc}".strip()]
    return health


def _read_through(conn, tables: list[str]) -> list[str]:
    """Problems met reading every row of every table, then checking every B-tree index
    when amcheck is installed; empty when all is well."""
    import psycopg

    problems: list[str] = []
    for table in tables:
        try:
            # every heap page read (and its checksum verified, when the cluster has them)
            conn.execute(f'SELECT count(*) FROM (SELECT * FROM "{table}") AS t')
        except psycopg.Error as exc:
            problems.append(f"{table}: {str(exc).strip()}")
        if len(problems) >= MAX_PROBLEMS:
            return problems
    has_amcheck = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'").fetchone()
    if not has_amcheck:
        return problems
    indexes = conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() "
        "JOIN pg_am a ON a.oid = c.relam AND a.amname = 'btree' ORDER BY c.relname"
    ).fetchall()
    for (index,) in indexes:
        try:
            conn.execute("SELECT bt_index_check(%s::regclass)", (f'"{index}"',))
        except psycopg.Error as exc:
            problems.append(f"index {index}: {str(exc).strip()}")
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems


def backup(store, target: str | Path, force: bool = False) -> BackupResult:
    """Copy the PostgreSQL store `store` into the SQLite file `target`, or into a new file
    named by `backup_name` in the folder `target`, from one snapshot."""
    from paperscope.store.copy import copy_store
    from paperscope.store.sqlite import SQLiteStore

    started = time.perf_counter()
    target = backup_target(target, force)
    with partial_file(target) as tmp:
        with SQLiteStore(tmp) as copy:
            with store.snapshot():
                result = copy_store(store, copy, source_name=str(store), target_name=str(target))
            if not result.same:
                differ = [t.name for t in result.tables if not t.same]
                raise StoreError(f"the backup differs from the store in {', '.join(differ)}")
            papers = copy.count()
        seal_backup(tmp, target)
    return BackupResult(str(target), target.stat().st_size, papers, time.perf_counter() - started)


def _others_connected(url: str) -> int:
    """Sessions connected to the database other than this check's own; a session that was
    just closed is given IN_USE_TIMEOUT to leave."""
    deadline = time.monotonic() + IN_USE_TIMEOUT
    with _connect(url) as conn:
        while True:
            others = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchone()[0]
            if not others or time.monotonic() > deadline:
                return others
            time.sleep(0.05)


def restore(source: str | Path, url: str, force: bool = False, progress=None) -> StoreHealth:
    """Replace the PostgreSQL store at `url` with the SQLite backup `source`; returns the
    source's health."""
    from paperscope.store.copy import copy_store
    from paperscope.store.pg import PostgresStore, redact
    from paperscope.store.sqlite import SQLiteStore

    source = Path(source)
    health = usable_backup(source)
    try:
        others = _others_connected(url)
    except Exception as exc:
        raise StoreError(
            f"cannot connect to the paper store {redact(url)}: {exc}",
            hint="is PostgreSQL running, and does the URL name its database, user and host?",
        ) from exc
    if others:
        raise StoreError(
            f"{redact(url)} is in use by {others} other session(s)",
            hint="stop `paperscope serve` and other paperscope commands on it first",
        )
    with tempfile.TemporaryDirectory(prefix="paperscope-restore-") as folder:
        # the backup is migrated (opening a store does) in a copy: the file stays as it was
        work = Path(folder) / "backup.db"
        shutil.copyfile(source, work)
        with SQLiteStore(work) as src, PostgresStore(url) as dst:
            existing = (dst.count(), _count_users(dst))
            if any(existing) and not force:
                raise InputError(
                    f"{redact(url)} holds {existing[0]} papers and {existing[1]} accounts",
                    hint="--force replaces them with the backup (take a backup of it first)",
                )
            if force:
                _empty(dst)
            result = copy_store(
                src, dst, progress=progress, source_name=str(source), target_name=redact(url)
            )
            if not result.same:
                differ = [t.name for t in result.tables if not t.same]
                raise StoreError(f"the restored store differs from the backup in {differ}")
    return health


def _count_users(store) -> int:
    return store.conn.execute("SELECT count(*) FROM users").fetchone()[0]


def _empty(store) -> None:
    """Every table emptied in one statement (a forced restore starts from nothing, as the
    SQLite restore replaces every page), but the record of migrations and the tables the
    migrations seed: triggers read those while rows are copied in, and the copy replaces
    them with the backup's at its end."""
    from paperscope.store.copy import SEEDED

    names = [t for t in store.tables() if t not in (*KEPT, *SEEDED)]
    if names:
        store.conn.execute(
            "TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"
        )
