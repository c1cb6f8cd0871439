"""What a record must be before it is stored, whichever importer read it.

Importers read what a source says; this is the one check between them and the store, so a
hostile file cannot put a 10 MB title on every page, or NUL bytes and undecodable text into the
index. A record that fails is rejected with the reason; the rest of its file still lands.
"""

from __future__ import annotations

from paperscope.model import Paper

#: Longest accepted text per field, in characters. Real records are far below: titles under
#: 400, abstracts under 10,000, and the longest author lists (particle physics) about 5,200.
LIMITS = {"title": 2_000, "abstract": 100_000, "comment": 10_000, "journal_ref": 10_000}
MAX_AUTHORS = 20_000
MAX_NAME = 1_000
MAX_OTHER = 4_000  # ids, links, categories, organisation
#: Characters no text may hold: NUL, and U+FFFE/U+FFFF, which importers put in place of
#: bytes that are not UTF-8 (see `paperscope.ingest.importers.jsonsafe`).
FORBIDDEN = {"\x00": "a NUL byte", "\ufffe": "bytes that are not UTF-8", "\uffff": "a U+FFFF"}


def problem(paper: Paper) -> str | None:
    """Why `paper` cannot be stored, or None."""
    for name, limit in LIMITS.items():
        value = getattr(paper, name) or ""
        if len(value) > limit:
            return f"{name} is {len(value):,} characters long (at most {limit:,})"
    if len(paper.authors) > MAX_AUTHORS:
        return f"{len(paper.authors):,} authors (at most {MAX_AUTHORS:,})"
    for author in paper.authors:
        for value in (author.name, author.affiliation or "", author.orcid or ""):
            if len(value) > MAX_NAME:
                return f"an author field is {len(value):,} characters long (at most {MAX_NAME:,})"
    others = [
        paper.arxiv_id,
        paper.doi,
        paper.organization,
        paper.published,
        paper.updated,
        *paper.categories,
        *paper.links.values(),
        *paper.external_ids.values(),
    ]
    for value in others:
        if value and len(value) > MAX_OTHER:
            return f"a field is {len(value):,} characters long (at most {MAX_OTHER:,})"
    return _forbidden(paper, others)


def _forbidden(paper: Paper, others: list[str | None]) -> str | None:
    texts = [
        ("title", paper.title),
        ("abstract", paper.abstract),
        ("comment", paper.comment),
        ("journal_ref", paper.journal_ref),
        ("authors", " ".join(f"{a.name} {a.affiliation or ''}" for a in paper.authors)),
        ("an id or link", " ".join(v for v in others if v)),
    ]
    for name, text in texts:
        if not text:
            continue
        for char, what in FORBIDDEN.items():
            if char in text:
                return f"{name} holds {what}"
    return None


def label(paper: Paper) -> str:
    """A short name for a rejected record: its id, else the start of its title."""
    ident = paper.arxiv_id or paper.doi
    if ident and len(ident) <= 100:
        return ident
    title = " ".join(paper.title[:60].split())
    return repr(title + ("..." if len(paper.title) > 60 else ""))
