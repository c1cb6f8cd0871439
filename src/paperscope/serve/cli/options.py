"""Options shared by every command, so `--db` and `--json` read the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paperscope.config import resolve_db_path
from paperscope.store.sqlite import SQLiteStore

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Paper store (SQLite file). Default: $PAPERSCOPE_DB, else "
        "~/.local/share/paperscope/paperscope.db.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def open_store(db: Path | None) -> SQLiteStore:
    return SQLiteStore(resolve_db_path(db))
