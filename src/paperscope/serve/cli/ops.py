"""`paperscope backup`, `restore` and `doctor`: keeping a store safe and telling what it needs.

The store does the work (`backup/restore/check`: store/backup.py for SQLite, store/pg_backup.py
for PostgreSQL); these commands add the derived indexes (dropped and rebuilt after a restore,
checked by the doctor) and the advice. See docs/operations.md.
"""

from __future__ import annotations

import shlex
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import orjson
import typer
from rich.markup import escape

from paperscope.config import is_db_url, resolve_db_path
from paperscope.errors import StoreError
from paperscope.index.embedder import default_embedder
from paperscope.index.lexical import LexicalIndex
from paperscope.index.paths import index_dir, lexical_dir
from paperscope.index.vectors import VectorIndex
from paperscope.rank.search import SearchEngine
from paperscope.serve.cli import app
from paperscope.serve.cli.options import (
    DbOption,
    IndexDirOption,
    JsonOption,
    QuietOption,
    copy_progress,
    existing_db,
    index_progress,
    library_errors,
    path_argument,
)
from paperscope.serve.cli.output import console as output_console
from paperscope.store.backends import open_store, store_class
from paperscope.store.backends import shown as shown_store
from paperscope.store.backup import StoreHealth

ForceOption = Annotated[bool, typer.Option("--force", help="Replace what is there.")]


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _backup_path(value: str) -> str:
    path_argument(value)  # refuses an empty one
    return value  # as typed: a trailing "/" asks for a dated file in that folder


@app.command()
def backup(
    path: Annotated[
        str,
        typer.Argument(
            parser=_backup_path,
            help="Backup file, or a folder (ending in /) for a dated one.",
        ),
    ],
    db: DbOption = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Copy the store to PATH, consistently, while `serve` and imports go on writing.

    One self-contained SQLite file, checked before it takes the name PATH: SQLite's online
    backup API, or for a PostgreSQL store a copy (`db copy`) read from one snapshot. The
    indexes are not copied: `restore` rebuilds them.
    """
    with library_errors(), open_store(existing_db(db)) as store:
        result = store.backup(path, force=force)
    if as_json:
        typer.echo(orjson.dumps(asdict(result)))
        return
    typer.echo(
        f"backed up {result.papers} papers to {result.path} ({_mib(result.bytes)}) "
        f"in {result.seconds:.1f} s"
    )


@app.command()
def restore(
    path: Annotated[
        Path,
        typer.Argument(parser=path_argument, help="A backup written by `paperscope backup`."),
    ],
    db: DbOption = None,
    index_folder: IndexDirOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a store that holds papers or accounts.")
    ] = False,
    reindex: Annotated[
        bool,
        typer.Option("--reindex/--no-reindex", help="Rebuild the indexes now (else on first use)."),
    ] = True,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Replace the store with the backup PATH, then rebuild its indexes.

    The store may be a SQLite file or a PostgreSQL database (the backup is copied into it).
    Refused while another process (a running `serve`) has the store open, and, without
    --force, when the store holds papers or accounts.
    """
    started = time.perf_counter()
    target = resolve_db_path(db)
    try:
        with library_errors(), copy_progress(as_json or quiet) as update:
            health = store_class(target).restore(path, target, force=force, progress=update)
    except KeyboardInterrupt:
        typer.echo(
            "interrupted: the store may be partly restored; run the same command again "
            "to finish the restore",
            err=True,
        )
        raise typer.Exit(130) from None
    # the old indexes describe the replaced store: drop them, whatever their stamps say
    shutil.rmtree(index_dir(target), ignore_errors=True)
    vectors = None
    if reindex:
        with (
            library_errors(),
            index_progress(as_json or quiet) as progress,
            SearchEngine.open(target, progress=progress) as engine,
        ):
            vectors = len(engine.vectors)
    data = {
        "papers": health.papers,
        "users": health.users,
        "vectors": vectors,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if as_json:
        typer.echo(orjson.dumps(data))
        return
    built = f"; rebuilt the indexes ({vectors} papers with vectors)" if reindex else ""
    typer.echo(
        f"restored {health.papers} papers and {health.users} accounts from {path}{built} "
        f"in {data['seconds']} s"
    )


# ---------------------------------------------------------------------- doctor


@dataclass(slots=True)
class Check:
    name: str
    status: str  # "ok" | "warn" | "error"
    detail: str
    fix: str | None = None


#: The first bytes of every SQLite database file.
_SQLITE_HEADER = b"SQLite format 3\x00"


def _not_sqlite(db_path: str) -> bool:
    """Is `db_path` a file of something else than SQLite (a README saved as x.db)? Restoring
    a backup over it would destroy that file, so doctor must not advise it."""
    path = Path(db_path)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except OSError:
        return False
    return bool(head) and head != _SQLITE_HEADER


def _store_checks(health: StoreHealth, db: str, db_path: str = "") -> list[Check]:
    if health.access:  # not the file's contents: restoring a backup over it is no fix
        if health.access.startswith("no store"):
            fix = f"paperscope import FILE --db {db}, or paperscope restore BACKUP --db {db}"
        elif health.access.endswith("is not a file"):
            fix = f"--db names the store's SQLite file, not a folder: --db {db}/papers.db?"
        else:
            fix = f"give this user read and write access to {db} and its folder"
        return [Check("store", "error", health.access, fix)]
    if not health.readable or health.integrity:
        problems = "; ".join(health.integrity[:3])
        fix = f"paperscope restore BACKUP --db {db} --force"
        if db_path and _not_sqlite(db_path):
            detail = "not a paperscope store: the file does not begin as a SQLite database does"
            fix = "check --db: it names another file (restoring a backup would overwrite it)"
            return [Check("store", "error", detail, fix)]
        return [Check("store", "error", f"damaged: {problems}", fix)]
    if health.unfinished_copy:
        detail = "a `db copy` or `restore` into this store was interrupted: it is partly filled"
        fix = "the same `paperscope db copy` or `paperscope restore` command again, to finish it"
        return [Check("store", "error", detail, fix)]
    checks = [Check("store", "ok", f"integrity ok; {health.papers} papers, {health.users} users")]
    if health.foreign_keys:
        detail = f"{health.foreign_keys} rows point at missing rows"
        checks.append(Check("foreign keys", "error", detail, "restore a backup, or report it"))
    if health.unknown:
        detail = f"written by a newer paperscope: {', '.join(health.unknown)}"
        checks.append(Check("migrations", "error", detail, "pip install -U paperscope"))
    elif health.pending:
        detail = f"{len(health.pending)} pending: {', '.join(health.pending)}"
        # any command that opens the store applies them
        checks.append(Check("migrations", "warn", detail, f"paperscope stats --db {db}"))
    else:
        checks.append(Check("migrations", "ok", "all applied"))
    return checks


def _model_check() -> tuple[Check, object | None]:
    try:
        embedder = default_embedder()
        vector = np.asarray(embedder.embed_query("paperscope doctor"))
        if vector.shape != (embedder.dim,) or not np.isfinite(vector).all():
            raise ValueError(f"the model answered a {vector.shape} vector")
    except Exception as exc:  # a broken install shows in many ways; report, never crash
        fix = "pip install --force-reinstall paperscope"
        return Check("model", "error", f"cannot embed: {type(exc).__name__}: {exc}", fix), None
    return Check("model", "ok", f"{embedder.name} loads and embeds ({embedder.dim}-d)"), embedder


def _index_check(name: str, state: tuple[str, str], db: str) -> Check:
    status, why = state
    if status == "current":
        return Check(name, "ok", f"current ({why})")
    if status == "behind":
        return Check(name, "ok", f"{why}; catches up at the next search")
    return Check(
        name, "warn", f"will be rebuilt at the next search: {why}", f"paperscope reindex --db {db}"
    )


def _index_checks(db_path: Path, embedder, db: str) -> list[Check]:
    with open_store(db_path) as store:
        checks = [
            _index_check("lexical index", LexicalIndex(store, lexical_dir(db_path)).status(), db)
        ]
        if embedder is None:
            return checks
        missing = len(store.rowids_without_vectors(embedder.version))
        if missing:
            detail = (
                f"{missing} of {store.count()} papers have no vector (semantic search misses them)"
            )
            checks.append(Check("embeddings", "warn", detail, f"paperscope embed --db {db}"))
        else:
            checks.append(Check("embeddings", "ok", "every paper has its vectors"))
        vectors = VectorIndex(store, index_dir(db_path) / "vectors", embedder.version, embedder.dim)
        checks.append(_index_check("vector index", vectors.status(), db))
    return checks


@app.command()
def doctor(
    db: DbOption = None,
    index_folder: IndexDirOption = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="SQLite's quick_check instead of integrity_check; on PostgreSQL, the "
            "migrations and counts only (no read through every table and index).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the store, its migrations, the model and the indexes, and say what to run.

    Changes nothing. Exit code 1 when something is broken."""
    db_path = resolve_db_path(db)
    # pasted into the `run:` lines; a password in the URL is not printed
    shown = shlex.quote(shown_store(db if db else db_path))
    health = store_class(db_path).check(db_path, full=not quick)
    checks = _store_checks(health, shown, "" if is_db_url(db_path) else db_path)
    model, embedder = _model_check()
    checks.append(model)
    usable = health.ok and not health.pending
    if usable:
        try:
            # the node's folder, when named, goes into the `run:` lines too
            folder = f" --index-dir {shlex.quote(str(index_folder))}" if index_folder else ""
            checks += _index_checks(db_path, embedder, shown + folder)
        except StoreError as exc:  # the index folder cannot be made: a check, not a crash
            checks.append(Check("indexes", "error", str(exc), exc.hint))
    ok = all(c.status != "error" for c in checks)
    if as_json:
        typer.echo(orjson.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}))
    else:
        console = output_console(highlight=False, markup=True)  # unwrapped when piped
        marks = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "error": "[red]error[/]"}
        for c in checks:
            console.print(f"{marks[c.status]} {escape(c.name)}: {escape(c.detail)}")
            if c.fix:
                console.print(f"   run: {escape(c.fix)}")
        if not usable and health.readable:
            console.print("   (indexes not checked until the store is fixed or migrated)")
    if not ok:
        raise typer.Exit(1)
