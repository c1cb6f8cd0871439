"""Where derived indexes live: a folder beside the store they are rebuilt from."""

from __future__ import annotations

from pathlib import Path


def index_dir(db_path: str | Path) -> Path:
    """``papers.db`` -> ``papers.db.index/``: one subfolder per index (``lexical``, ...).

    Deleting the folder is always safe: every index in it is rebuilt from the store.
    """
    return Path(f"{db_path}.index")


def lexical_dir(db_path: str | Path) -> Path:
    return index_dir(db_path) / "lexical"
