"""Settings from the environment (PAPERSCOPE_*), resolved once and passed in."""

from __future__ import annotations

import os
import re
from pathlib import Path

from paperscope.errors import InputError

#: A URL scheme or SQLite's "file:" URI form, which would otherwise name a file of that name
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


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
    the path of a SQLite file. An empty `explicit`, or one that is neither (``sqlite:///x``,
    ``file:x``), is an error: it used to create a store of that odd name, or the default one."""
    if isinstance(explicit, str) and not explicit.strip():
        raise InputError("the store's path is empty", hint="--db PATH names a SQLite file")
    for value in (explicit, os.environ.get("PAPERSCOPE_DB")):
        if value and str(value).strip():
            return str(value) if is_db_url(str(value)) else _path(str(value))
    return default_data_dir() / "paperscope.db"


def _path(value: str) -> Path:
    if _SCHEME_RE.match(value) and not Path(value).exists():
        raise InputError(
            f"not a store: {value!r}",
            hint="a store is the path of a SQLite file or a postgresql:// URL",
        )
    return Path(value).expanduser()


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
