"""What a record must be before it is stored, whichever importer or harvester read it.

Importers and harvesters read what a source says; `checked` is the one gate between them and
the store (`paperscope.ingest.pipeline` for files, `paperscope.ingest.harvesters.state` for
live harvests), so a hostile source cannot put a 10 MB title on every page, NUL bytes and
undecodable text into the index, or terminal escape sequences into what `show` and `search`
print. Control characters are cleaned out (`clean`); a record that still fails is rejected
with the reason, and the rest of its file or page still lands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from paperscope.model import MAX_NAME, BadRecord, Item, Paper
from paperscope.normalize import strip_controls

#: Longest accepted text per field, in characters. Real records are far below: titles under
#: 400, abstracts under 10,000, and the longest author lists (particle physics) about 5,200.
LIMITS = {"title": 2_000, "abstract": 100_000, "comment": 10_000, "journal_ref": 10_000}
MAX_AUTHORS = 20_000
MAX_OTHER = 4_000  # ids, links, categories, organisation
#: URL schemes that run or embed code: such a "link" is dropped (pages only link http(s)).
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:")
#: Optional one-line text fields, cleaned like the title.
_LINE_FIELDS = ("comment", "journal_ref", "organization", "doi", "arxiv_id", "published", "updated")
#: Characters no text may hold: NUL, and U+FFFE/U+FFFF, which importers put in place of
#: bytes that are not UTF-8 (see `paperscope.ingest.importers.jsonsafe`).
FORBIDDEN = {"\x00": "a NUL byte", "\ufffe": "bytes that are not UTF-8", "\uffff": "a U+FFFF"}


def checked(items: Iterable[Item]) -> Iterator[Item]:
    """The items with every paper cleaned, and one that cannot be stored turned into a
    rejected record ("record N", N counting every item)."""
    for number, item in enumerate(items, 1):
        if isinstance(item, Paper):
            clean(item)
            if reason := problem(item):
                yield BadRecord(f"record {number}", f"{label(item)}: {reason}")
                continue
        yield item


def clean(paper: Paper) -> None:
    """Take terminal controls and bidi overrides out of every text field of `paper`, in place.

    Stripped, not escaped: they are never part of a title or a name, and escaped they would be
    indexed and shown as text (`\\x1b[31m`). Only the abstract keeps newlines and tabs.
    """
    paper.title = strip_controls(paper.title)
    paper.abstract = strip_controls(paper.abstract, multiline=True)
    for name in _LINE_FIELDS:
        value = getattr(paper, name)
        if value:
            setattr(paper, name, strip_controls(value) or None)
    for author in paper.authors:
        author.name = strip_controls(author.name)
        if author.affiliation:
            author.affiliation = strip_controls(author.affiliation) or None
        if author.orcid:
            author.orcid = strip_controls(author.orcid) or None
    # a name or category of nothing but controls is no name: left out, as importers leave
    # out empty ones
    paper.authors = [a for a in paper.authors if a.name]
    paper.categories = [c for c in map(strip_controls, paper.categories) if c]
    # a link that would run or embed code where it is followed is not a link to a paper
    paper.links = {
        k: link
        for k, v in paper.links.items()
        if not (link := strip_controls(v)).replace(" ", "").lower().startswith(_SCRIPT_SCHEMES)
    }
    paper.external_ids = {k: strip_controls(v) for k, v in paper.external_ids.items()}


def problem(paper: Paper) -> str | None:
    """Why `paper` cannot be stored, or None."""
    if not paper.title.strip():
        # what a title of nothing but controls leaves; importers reject a missing one already
        return "the title is empty"
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
