"""Backup, restore and health checks of the SQLite store (`paperscope backup|restore|doctor`).

These are the store's side of those commands; everything above the store (the CLI, the index
rebuild after a restore) only calls `SQLiteStore.backup`, `SQLiteStore.restore` and
`SQLiteStore.check`. A PostgreSQL backend would implement the same three with `pg_dump -Fc`,
`pg_restore --clean` and its catalog checks (`amcheck`), returning the same results.

- backup: SQLite's online backup API copies the store in one step, that is inside one read
  transaction: a consistent snapshot of one moment, while writers (a running `serve`) go on,
  as WAL lets them. The copy is written beside the target, checked, synced and renamed into
  place, so a target that exists is always a whole backup.
- restore: refuses a source that fails its integrity check or was written by a newer
  paperscope, refuses a target another process has open (a running `serve`), and refuses
  to replace a target that holds papers or accounts unless forced. The pages are copied in
  through the backup API under an exclusive lock, so nothing sees a half-restored store.
- check: integrity, foreign keys and migrations, read-only (it migrates nothing).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from paperscope.errors import InputError, StoreError
from paperscope.store.migrate import migration_names

#: How long restore waits for other connections before calling the target in use (s).
IN_USE_TIMEOUT = 0.5
#: Integrity problems reported at most (SQLite would list every bad page).
MAX_PROBLEMS = 20


@dataclass(slots=True)
class StoreHealth:
    """What `SQLiteStore.check` found; `ok` when nothing needs doing."""

    path: str
    readable: bool = True
    integrity: list[str] = field(default_factory=list)  # empty: ok
    foreign_keys: int = 0  # rows whose parent is missing
    pending: list[str] = field(default_factory=list)  # migrations the store lacks
    unknown: list[str] = field(default_factory=list)  # from a newer paperscope
    papers: int = 0
    users: int = 0
    #: why the store cannot be opened when the file is not at fault: missing, or permissions
    access: str | None = None
    #: a `db copy` or `restore` into this store stopped half-way (its cursors are still there)
    unfinished_copy: bool = False

    @property
    def ok(self) -> bool:
        return (
            self.readable
            and not self.integrity
            and not self.foreign_keys
            and not self.unknown
            and not self.unfinished_copy
        )


@dataclass(slots=True)
class BackupResult:
    path: str
    bytes: int
    papers: int
    seconds: float


def access_problem(path: Path) -> str | None:
    """Why a SQLite store at `path` cannot be used for a reason other than its contents:
    it is missing, or this user may not read it or write beside it (SQLite keeps its -wal and
    -shm files in the same folder, even to read). None when there is none."""
    try:
        if not path.exists():
            return f"no store at {path}"
    except PermissionError:
        return f"no permission to reach {path}: a folder on its way may not be entered"
    if not path.is_file():
        return f"{path} is not a file"
    # a file this user may only read is fine for reading; a write to it is refused later
    if not os.access(path, os.R_OK):
        return f"no permission to read {path}"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return (
            f"no permission to write in {path.parent}, where SQLite keeps the store's "
            "-wal and -shm files"
        )
    return None


def access_error(path: str | Path, problem: str) -> StoreError:
    """The error for a store `access_problem` found unusable (not for a missing one)."""
    hint = "check the owner and permissions of the file and its folder"
    if problem.endswith("is not a file"):  # permissions are not what is wrong with a folder
        hint = "a store is a SQLite file, not a folder: name a file in it (FOLDER/papers.db)"
    return StoreError(f"cannot open the paper store {path}: {problem}", hint=hint)


def _read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise StoreError(f"no store at {path}", hint="check the path (`--db PATH`)")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _count(conn: sqlite3.Connection, table: str) -> int:
    # the table names are this module's constants, never input
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet: a store from before that migration


def copy_unfinished(tables) -> bool:
    """Whether a store's tables include the cursors of a copy into it that did not end."""
    from paperscope.store.copy import STATE_TABLE

    return STATE_TABLE in set(tables)


def check(path: Path, full: bool = True) -> StoreHealth:
    """Integrity (`integrity_check`, or the faster `quick_check`), foreign keys, migrations."""
    health = StoreHealth(str(path))
    health.access = access_problem(path)
    if health.access:
        health.readable = False
        return health
    try:
        conn = _read_only(path)
    except (sqlite3.DatabaseError, StoreError) as exc:
        health.readable, health.integrity = False, [str(exc)]
        return health
    try:
        pragma = "integrity_check" if full else "quick_check"
        rows = conn.execute(f"PRAGMA {pragma}({MAX_PROBLEMS})").fetchall()
        health.integrity = [r[0] for r in rows if r[0] != "ok"]
        health.foreign_keys = len(conn.execute("PRAGMA foreign_key_check").fetchmany(1000))
        applied = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
        known = set(migration_names())
        health.pending = sorted(known - applied)
        health.unknown = sorted(applied - known)
        health.papers = _count(conn, "papers")
        health.users = _count(conn, "users")
        health.unfinished_copy = copy_unfinished(
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        )
    except sqlite3.DatabaseError as exc:
        health.readable = False
        health.integrity = health.integrity or [f"cannot read the store: {exc}"]
    finally:
        conn.close()
    return health


def fsync_file(path: Path) -> None:
    """Flush a written file to disk before it is renamed into place."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup_name(at: datetime | None = None) -> str:
    """The file name a backup gets in a folder: paperscope-YYYYMMDDTHHMMSSZ.db (UTC)."""
    return f"paperscope-{(at or datetime.now(UTC)):%Y%m%dT%H%M%SZ}.db"


def backup_target(target: str | Path, force: bool = False) -> Path:
    """The file a backup goes to: `target`, or a new file named by `backup_name` in the
    folder `target` (one that exists, or a path ending in "/"); InputError when that file
    exists and not `force`. Its folder is created."""
    folder = str(target).endswith(("/", os.sep))
    target = Path(target)
    if folder or target.is_dir():
        target = target / backup_name()
    if target.exists() and not force:
        raise InputError(
            f"{target} exists", hint="choose a new file, or --force to replace that backup"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file on the way, a read-only disk, no permission
        raise InputError(
            f"cannot make the folder {target.parent} for the backup: {exc.strerror}",
            hint="choose a folder this user may write",
        ) from exc
    return target


@contextlib.contextmanager
def partial_file(target: Path) -> Iterator[Path]:
    """A scratch SQLite file beside `target` to write a backup into; it and its -wal/-shm
    are removed when the block fails, so a failed backup leaves nothing behind."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    leftovers = (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    try:
        yield tmp
    except BaseException:
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        raise


def seal_backup(tmp: Path, target: Path) -> None:
    """Make the written backup `tmp` one self-contained file (no -wal beside it), check it,
    flush it to disk and move it to `target`; StoreError when the check fails."""
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
    finally:
        conn.close()
    if problems != ["ok"]:
        raise StoreError(f"the backup failed its check: {'; '.join(problems[:3])}")
    fsync_file(tmp)
    os.replace(tmp, target)


def backup(conn: sqlite3.Connection, target: str | Path, force: bool = False) -> BackupResult:
    """Copy the store open on `conn` to the file `backup_target(target)`."""
    started = time.perf_counter()
    target = backup_target(target, force)
    with partial_file(target) as tmp:
        try:
            copy = sqlite3.connect(tmp, isolation_level=None)
        except sqlite3.OperationalError as exc:
            raise InputError(
                f"cannot write a backup in {target.parent}: {exc}",
                hint="choose a folder this user may write, on a disk that is not read-only",
            ) from exc
        try:
            conn.backup(copy)  # pages=-1: every page in one step, one read transaction
            papers = _count(copy, "papers")
        finally:
            copy.close()
        seal_backup(tmp, target)
    return BackupResult(str(target), target.stat().st_size, papers, time.perf_counter() - started)


@contextlib.contextmanager
def _exclusive(target: Path) -> Iterator[sqlite3.Connection]:
    """The target store, locked against every other connection; StoreError when another
    process has it open (in WAL mode every open connection holds a shared lock)."""
    conn = sqlite3.connect(target, isolation_level=None, timeout=IN_USE_TIMEOUT)
    try:
        try:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("COMMIT")  # the exclusive lock stays until the connection closes
        except sqlite3.OperationalError as exc:
            raise StoreError(
                f"{target} is in use by another process ({exc})",
                hint="stop `paperscope serve` and other paperscope commands on it first",
            ) from exc
        yield conn
    finally:
        conn.close()


def usable_backup(source: Path) -> StoreHealth:
    """The health of the backup file `source`, checked in full; StoreError when it is
    unreadable, damaged or written by a newer paperscope (restore's check on both backends)."""
    health = check(source, full=True)
    if health.access and health.access.startswith("no store"):
        raise InputError(
            f"no backup at {source}", hint="give a file `paperscope backup` wrote (check the path)"
        )
    if not health.readable or health.integrity:
        # an access problem (a folder, no permission) leaves `integrity` empty: say which
        reason = health.access or "; ".join(health.integrity[:3]) or "it cannot be read"
        raise StoreError(f"{source} is not a usable backup: {reason}", hint="choose another backup")
    if health.unknown:
        raise StoreError(
            f"{source} was written by a newer paperscope (migrations {', '.join(health.unknown)})",
            hint="upgrade paperscope before restoring it",
        )
    return health


def restore(source: Path, target: Path, force: bool = False) -> StoreHealth:
    """Replace the store at `target` with the backup `source`; returns the source's health."""
    source, target = Path(source), Path(target)
    health = usable_backup(source)
    if source.resolve() == target.resolve():
        raise InputError("the backup and the store are the same file")
    # a store that is missing is created here, but one that is a folder or out of reach
    # failed deep in sqlite3.connect with a traceback
    problem = access_problem(target)
    if problem and not problem.startswith("no store"):
        raise access_error(target, problem)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(target) as conn:
        existing = (_count(conn, "papers"), _count(conn, "users"))
        if any(existing) and not force:
            raise InputError(
                f"{target} holds {existing[0]} papers and {existing[1]} accounts",
                hint="--force replaces them with the backup (take a backup of it first)",
            )
        src = _read_only(source)
        try:
            src.backup(conn)
        finally:
            src.close()
        conn.execute("PRAGMA journal_mode=WAL")
    return health
