"""Settings from the environment (PAPERSCOPE_*), resolved once and passed in."""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """Per-user data folder: $XDG_DATA_HOME/paperscope, else ~/.local/share/paperscope."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "paperscope"


def is_db_url(target: object) -> bool:
    """Whether a `--db` target is a PostgreSQL URL rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def resolve_db_path(explicit: str | Path | None = None) -> Path | str:
    """--db PATH, else $PAPERSCOPE_DB, else paperscope.db in the per-user data folder.

    A PostgreSQL URL (``postgresql://...``) is returned as the string it is; anything else is
    the path of a SQLite file."""
    for value in (explicit, os.environ.get("PAPERSCOPE_DB")):
        if value:
            return str(value) if is_db_url(str(value)) else Path(value).expanduser()
    return default_data_dir() / "paperscope.db"


def resolve_index_dir(db: str | Path) -> Path:
    """Where the store's derived indexes live: $PAPERSCOPE_INDEX_DIR (`--index-dir`), else
    beside a SQLite file (``papers.db.index``), else ``index-<database>`` in the data folder
    for a PostgreSQL store (each serve node keeps its own copy of these caches)."""
    env = os.environ.get("PAPERSCOPE_INDEX_DIR")
    if env:
        return Path(env).expanduser()
    if is_db_url(db):
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(str(db))
        name = parts.path.lstrip("/") or parse_qs(parts.query).get("dbname", [""])[0]
        host = parts.hostname or "local"
        return default_data_dir() / f"index-{host}-{parts.port or 5432}-{name or 'postgres'}"
    return Path(f"{db}.index")
