"""Options shared by every command, so `--db` and `--json` read the same everywhere."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Annotated

import typer

from paperscope.config import is_db_url, resolve_db_path
from paperscope.errors import InputError, NotFoundError, PaperscopeError
from paperscope.serve.cli.output import progress
from paperscope.store.backends import open_store as open_store_at
from paperscope.store.backup import access_error, access_problem
from paperscope.store.sqlite import SQLiteStore

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Paper store: a SQLite file, or a PostgreSQL URL (postgresql://user@host/db). "
        "Default: $PAPERSCOPE_DB, else paperscope/paperscope.db in $XDG_DATA_HOME "
        "(~/.local/share).",
        show_default=False,
    ),
]


def path_argument(value: str | Path) -> Path:
    """A file or folder named on the command line (`parser=` of a Path parameter).

    An empty string is refused: Path("") is ".", so `import ''` imported the working folder,
    `restore ''` read it as the backup and `--index-dir ''` put the indexes there."""
    if isinstance(value, Path):
        return value
    if not value.strip():
        raise InputError(
            "a path given on the command line is empty",
            hint="name a file or folder; `.` is the working folder",
        )
    return Path(value)


def paper_id_argument(value: str) -> str:
    """A paper id named on the command line (`parser=` of show's and similar's ID): an empty
    one was looked up, and "no paper '' in the store" did not say what was wrong."""
    if not value.strip():
        raise InputError(
            "the paper id is empty",
            hint="give an arXiv id (2301.12345), a DOI or an id search results give",
        )
    return value


def _use_index_dir(value: Path | None) -> Path | None:
    # read through config.resolve_index_dir by everything this process (and its children)
    # opens, as `serve --index-dir` does
    if value is not None:
        os.environ["PAPERSCOPE_INDEX_DIR"] = str(value.expanduser().resolve())
    return value


IndexDirOption = Annotated[
    Path | None,
    typer.Option(
        "--index-dir",
        parser=path_argument,
        help="The node's folder of index caches, as given to `serve --index-dir`. "
        "Default: $PAPERSCOPE_INDEX_DIR, else beside a SQLite file, else under the data "
        "folder for PostgreSQL.",
        callback=_use_index_dir,
        show_default=False,
    ),
]
#: The largest id a command takes: SQLite's integers are 64-bit.
MAX_ID = 2**63 - 1
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def command(words: str, db: str | Path | None) -> str:
    """A command to suggest in a message, in backquotes: with `--db` when the user gave one,
    so it runs as printed on the same store (`paperscope embed --db 'my store.db'`)."""
    on_db = f" --db {shlex.quote(str(db))}" if db else ""
    return f"`paperscope {words}{on_db}`"


def open_store(db: str | Path | None) -> SQLiteStore:
    """The store `--db` names, created when it does not exist (commands that add to it)."""
    return open_store_at(resolve_db_path(db))


def existing_db(db: str | Path | None) -> Path | str:
    """The store `--db` names, which must exist: a command that only reads, given a mistyped
    path, says so instead of creating an empty store there and finding nothing in it."""
    target = resolve_db_path(db)
    problem = None if is_db_url(str(target)) else access_problem(Path(target))
    if problem and problem.startswith("no store"):
        raise NotFoundError(
            problem,
            hint="`paperscope import FILE --db PATH` creates one; "
            "--db or $PAPERSCOPE_DB names another",
        )
    if problem:
        raise access_error(target, problem)
    return target


def open_existing_store(db: str | Path | None) -> SQLiteStore:
    """`open_store` for commands that only read (see `existing_db`)."""
    return open_store_at(existing_db(db))


def report_error(exc: PaperscopeError) -> None:
    """A library error as the CLI shows it: `error: ...` and, when it has one, `hint: ...`."""
    typer.secho(f"error: {exc}", err=True, fg="red")
    if exc.hint:
        typer.echo(f"hint: {exc.hint}", err=True)


@contextmanager
def library_errors() -> Iterator[None]:
    """Library errors become `error:`/`hint:` and their exit code inside a command, so they
    do under CliRunner too (which does not go through `main`)."""
    try:
        yield
    except PaperscopeError as exc:
        report_error(exc)
        raise typer.Exit(exc.exit_code) from None


@contextmanager
def resumable(kept: str) -> Iterator[None]:
    """Ctrl-C in a command that commits as it goes: one line saying what is kept and that
    the same command continues, exit code 130 (typer would exit 130 without a word)."""
    try:
        yield
    except KeyboardInterrupt:
        typer.echo(f"interrupted: {kept}; run the same command again to continue", err=True)
        raise typer.Exit(130) from None


#: `progress(stage, done, total)`, as long jobs of the library report themselves
StageCallback = Callable[[str, int, int], None]


@contextmanager
def stage_progress(
    unit: str, label: Callable[[str], str] = str, quiet: bool = False
) -> Iterator[StageCallback]:
    """A `progress(stage, done, total)` callback showing each stage of a long job as a bar on
    stderr, named by `label(stage)` and counted in `unit`."""
    with progress(None, unit, quiet=quiet) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(label(stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def copy_progress(quiet: bool = False) -> AbstractContextManager[StageCallback]:
    """A copy (`db copy`, `restore`): a bar per table."""
    return stage_progress("rows", lambda table: f"copying {table}", quiet)


def index_progress(quiet: bool = False) -> AbstractContextManager[StageCallback]:
    """Index rebuilds: a bar per index. Nothing shows when the indexes are current, which is
    the usual case."""
    # entries: a paper in the lexical index, a passage's vector in the vector index
    return stage_progress("entries", lambda stage: f"rebuilding the {stage} index", quiet)
