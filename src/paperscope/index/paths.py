"""Where derived indexes live: a folder beside the store they are rebuilt from."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

from paperscope.config import resolve_index_dir
from paperscope.errors import StoreError


def index_dir(db_path: str | Path) -> Path:
    """``papers.db`` -> ``papers.db.index/``: one subfolder per index (``lexical``, ...);
    config.resolve_index_dir says where for PostgreSQL and $PAPERSCOPE_INDEX_DIR.

    Deleting the folder is always safe: every index in it is rebuilt from the store.
    A file where the folder (or one above it) should be is an error that says so.
    """
    folder = resolve_index_dir(db_path)
    try:
        there = next((p for p in (folder, *folder.parents) if p.exists()), None)
    except PermissionError:  # a folder above may not be entered: the mkdir will say where
        return folder
    if there is not None and not there.is_dir():
        raise StoreError(
            f"the index folder {folder} cannot be made: {there} is a file",
            hint="move that file away, or choose another folder with --index-dir or "
            "$PAPERSCOPE_INDEX_DIR; every index in it is rebuilt from the store",
        )
    return folder


def lexical_dir(db_path: str | Path) -> Path:
    return index_dir(db_path) / "lexical"


def _disk_full(exc: BaseException) -> bool:
    """ENOSPC, as Python raises it or as tantivy and usearch word it."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc)
    return "No space left on device" in text or "os error 28" in text


@contextlib.contextmanager
def disk_full_explained(folder: Path, what: str) -> Iterator[None]:
    """A full disk while writing an index becomes a StoreError that says what to do: the
    store is untouched, and the index is rebuilt from it once there is room."""
    try:
        yield
    except (OSError, ValueError, RuntimeError) as exc:
        if not _disk_full(exc):
            raise
        raise StoreError(
            f"the disk holding {folder} is full: the {what} could not be written",
            hint="free some space; the store is untouched and the index is rebuilt from it "
            "at the next search (or now: `paperscope reindex`)",
        ) from exc
