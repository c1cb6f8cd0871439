"""`paperscope db copy`: move a store between backends (store/copy.py does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from paperscope.config import resolve_db_path
from paperscope.errors import InputError, NotFoundError
from paperscope.serve.cli import HELP_MARKUP, app
from paperscope.serve.cli.options import (
    JsonOption,
    QuietOption,
    copy_progress,
    existing_db,
    library_errors,
    resumable,
)
from paperscope.serve.cli.output import console
from paperscope.store.backends import open_store
from paperscope.store.copy import copy_store
from paperscope.store.pg import redact

db_app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    help="The store itself: copy it between SQLite and PostgreSQL.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


def _same_store(a: Path | str, b: Path | str) -> bool:
    if isinstance(a, Path) and isinstance(b, Path):
        return a.resolve() == b.resolve()
    return str(a) == str(b)


@db_app.command("copy")
def copy(
    source: Annotated[str, typer.Argument(help="A SQLite file or a postgresql:// URL.")],
    target: Annotated[
        str, typer.Argument(help="A new SQLite file or an empty PostgreSQL database.")
    ],
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Copy a store into another (SQLite or PostgreSQL), then compare both sides.

    Every record and user table of SOURCE goes into TARGET; then the row counts and
    checksums of every table are compared on both sides (exit 1 when any differs). A copy that was
    interrupted resumes where it stopped when run again. The indexes of TARGET rebuild on
    first use (or now: `paperscope reindex --db TARGET`)."""
    with library_errors():  # a mistyped SOURCE used to be created empty, and copied: nothing
        try:
            src_target = existing_db(source)
        except NotFoundError as exc:  # its hint told how to create a store with --db
            raise NotFoundError(
                str(exc), hint="SOURCE is the store to copy from: check its path or URL"
            ) from None
        dst_target = resolve_db_path(target)
        if _same_store(src_target, dst_target):
            raise InputError(
                f"SOURCE and TARGET are the same store: {redact(str(src_target))}",
                hint="copy into a new SQLite file or an empty PostgreSQL database",
            )
    with (
        library_errors(),
        resumable("every batch copied so far is kept"),
        open_store(src_target) as src,
        open_store(dst_target) as dst,
        copy_progress(as_json or quiet) as update,
    ):
        result = copy_store(
            src,
            dst,
            progress=update,
            source_name=redact(str(src_target)),
            target_name=redact(str(dst_target)),
        )
    rows = [
        {
            "table": t.name,
            "copied": t.copied,
            "source_rows": t.source_count,
            "target_rows": t.target_count,
            "source_checksum": t.source_checksum,
            "target_checksum": t.target_checksum,
            "same": t.same,
        }
        for t in result.tables
    ]
    if as_json:
        data = {
            "source": result.source,
            "target": result.target,
            "resumed": result.resumed,
            "same": result.same,
            "seconds": round(result.seconds, 3),
            "tables": rows,
        }
        typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
    else:
        table = Table("table", "rows", "copied", "checksum", "same", box=None)
        for r in rows:
            same = "yes" if r["same"] else f"NO (target: {r['target_rows']} rows)"
            table.add_row(
                r["table"],
                str(r["source_rows"]),
                str(r["copied"]),
                r["source_checksum"][:16],
                same,
            )
        console().print(table)
        verdict = "identical" if result.same else "DIFFERENT"
        typer.echo(
            f"copied {result.source} -> {result.target} in {result.seconds:.1f} s: "
            f"every table {verdict}"
            if result.same
            else f"tables differ: {verdict}",
            err=True,
        )
    if not result.same:
        raise typer.Exit(1)
