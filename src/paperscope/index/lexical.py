"""Lexical search over the store's FTS5 index, ranked by BM25 with field weights."""

from __future__ import annotations

import re
from dataclasses import dataclass

from paperscope.model import Paper
from paperscope.store.sqlite import SQLiteStore

#: BM25 weights for the FTS5 columns (title, authors, abstract): title > authors > abstract.
FIELD_WEIGHTS = (10.0, 4.0, 1.0)

_WORD_RE = re.compile(r"\w+", re.UNICODE)


@dataclass(slots=True)
class Hit:
    paper: Paper
    score: float


def words_query(text: str) -> str | None:
    """An FTS5 MATCH expression requiring every word of `text`, each quoted so that no user
    input is read as FTS5 syntax."""
    words = _WORD_RE.findall(text)
    return " ".join(f'"{w}"' for w in words) or None


def search_words(store: SQLiteStore, text: str, limit: int = 20) -> list[Hit]:
    match = words_query(text)
    if match is None:
        return []
    rows = store.conn.execute(
        "SELECT papers_fts.rowid, -bm25(papers_fts, ?, ?, ?) AS score FROM papers_fts "
        "JOIN papers ON papers.rowid = papers_fts.rowid "
        "WHERE papers_fts MATCH ? AND NOT papers.deleted ORDER BY bm25(papers_fts, ?, ?, ?) "
        "LIMIT ?",
        (*FIELD_WEIGHTS, match, *FIELD_WEIGHTS, limit),
    ).fetchall()
    papers = store.load_rowids([r[0] for r in rows])
    return [Hit(papers[r[0]], r[1]) for r in rows if r[0] in papers]
