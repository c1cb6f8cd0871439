"""Settings from the environment (PAPERSCOPE_*), resolved once and passed in."""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """Per-user data folder: $XDG_DATA_HOME/paperscope, else ~/.local/share/paperscope."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "paperscope"


def resolve_db_path(explicit: str | Path | None = None) -> Path:
    """--db PATH, else $PAPERSCOPE_DB, else paperscope.db in the per-user data folder."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("PAPERSCOPE_DB")
    if env:
        return Path(env).expanduser()
    return default_data_dir() / "paperscope.db"
