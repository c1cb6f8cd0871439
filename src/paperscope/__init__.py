"""paperscope: self-hosted research-paper discovery.

The Python API the web layer and scripts call::

    import paperscope
    result = paperscope.search('au:"Juhua Hu" clustering', db="papers.db", limit=10)
    for hit in result.hits:
        print(hit.paper.id, hit.paper.title, hit.score)
    paperscope.similar("2301.12345", db="papers.db")

For many calls keep one `paperscope.rank.search.SearchEngine` open instead: it holds the
indexes and the embedding model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paperscope.rank.search import Hit, SearchResult

__all__ = ["search", "similar"]


def search(query: str, *, db: str | Path | None = None, **options) -> SearchResult:
    """Search the store at `db` (default: $PAPERSCOPE_DB or the per-user store).

    Options: mode ("hybrid", "lexical", "semantic"), limit, offset, sort ("relevance",
    "newest", "upvotes", "citations"), facets (bool).
    """
    from paperscope.config import resolve_db_path
    from paperscope.rank.search import SearchEngine

    with SearchEngine.open(resolve_db_path(db)) as engine:
        return engine.search(query, **options)


def similar(ident: str, *, db: str | Path | None = None, **options) -> list[Hit]:
    """Papers nearest to `ident` (options: limit, mode)."""
    from paperscope.config import resolve_db_path
    from paperscope.rank.search import SearchEngine

    with SearchEngine.open(resolve_db_path(db)) as engine:
        return engine.similar(ident, **options)
