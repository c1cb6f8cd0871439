"""Library import and export: BibTeX, Zotero CSL-JSON, or a plain list of arXiv ids / DOIs in;
BibTeX and JSON out.

Imported papers are matched against the store (arXiv id, DOI, then title); the ones it does not
have yet are written as stub records (origin "library") so the next harvest fills them in, and
every one lands in the user's library (under a tag if given). No cap on size: the whole import
is one write batch for the stubs plus one transaction per paper saved.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field

from paperscope.errors import InputError
from paperscope.ingest import validate
from paperscope.ingest.importers.bibtex import BibtexImporter
from paperscope.model import Author, BadRecord, Paper, title_hash_id
from paperscope.normalize import (
    arxiv_id_from_doi,
    find_arxiv_id,
    normalize_arxiv_id,
    normalize_doi,
    parse_date,
)
from paperscope.serve import export
from paperscope.store.library import STUB_ORIGIN, Library
from paperscope.store.sqlite import SQLiteStore

#: Largest upload accepted (bytes); a library of 100k BibTeX entries is about 50 MB.
MAX_IMPORT_BYTES = 64 * 1024 * 1024
_TOKEN_SPLIT = re.compile(r"[\s,;]+")
#: CSL-JSON fields where Zotero puts an arXiv id or URL.
_CSL_ID_FIELDS = ("URL", "number", "note", "archive_location")


@dataclass(slots=True)
class ImportResult:
    format: str
    saved: int = 0  # papers put in the library
    found: int = 0  # of which already in the store
    stubs: int = 0  # of which added as stubs for the next harvest
    rejected: list[str] = field(default_factory=list)  # what could not be read, and where


def sniff_format(data: bytes, filename: str = "") -> str:
    """'bibtex', 'csl-json' or 'ids' by file name, then content."""
    name = filename.lower()
    text = data[:4096].decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if name.endswith((".bib", ".bibtex")):
        return "bibtex"
    if name.endswith(".json") or text[:1] in ("[", "{"):
        return "csl-json"
    if re.search(r"@\w+\s*[{(]", text):
        return "bibtex"
    return "ids"


def parse_library(data: bytes, filename: str = "", fmt: str = "auto") -> tuple[str, list, list]:
    """(format, papers, rejected messages) of an upload."""
    if len(data) > MAX_IMPORT_BYTES:
        raise InputError(f"the file is larger than {MAX_IMPORT_BYTES // 2**20} MB")
    fmt = sniff_format(data, filename) if fmt == "auto" else fmt
    if fmt == "bibtex":
        papers, rejected = [], []
        for item in BibtexImporter().parse(io.BytesIO(data), filename or "upload"):
            if isinstance(item, Paper):
                papers.append(item)
            elif isinstance(item, BadRecord):
                rejected.append(f"{item.where}: {item.message}")
        return fmt, papers, rejected
    if fmt == "csl-json":
        return (fmt, *parse_csl_json(data))
    if fmt == "ids":
        return (fmt, *parse_id_list(data.decode("utf-8", "replace")))
    raise InputError(f"unknown library format {fmt!r}", hint="bibtex, csl-json or ids")


def parse_id_list(text: str) -> tuple[list[Paper], list[str]]:
    """arXiv ids or URLs and DOIs, separated by spaces, commas or lines."""
    papers, rejected = [], []
    for token in _TOKEN_SPLIT.split(text):
        token = token.strip()
        if not token or token.startswith("#"):
            continue
        arxiv = normalize_arxiv_id(token) or find_arxiv_id(token)
        doi = None if arxiv else normalize_doi(token)
        if arxiv:
            papers.append(Paper(title="", arxiv_id=arxiv, sources=[STUB_ORIGIN]))
        elif doi:
            papers.append(
                Paper(title="", doi=doi, arxiv_id=arxiv_id_from_doi(doi), sources=[STUB_ORIGIN])
            )
        else:
            rejected.append(f"{token[:80]!r}: not an arXiv id or DOI")
    return papers, rejected


def _text(item: dict, key: str) -> str:
    """A CSL field as text: a string or a number as written, anything else (a list, an
    object) is not what the field holds and reads as missing."""
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value)


def _csl_date(item: dict) -> str | None:
    try:
        return _csl_date_of(item)
    except (TypeError, ValueError, IndexError, AttributeError):  # date-parts of another shape
        return None


def _csl_date_of(item: dict) -> str | None:
    for key in ("issued", "published-print", "published-online", "created"):
        parts = (item.get(key) or {}).get("date-parts") if isinstance(item.get(key), dict) else None
        if parts and parts[0] and parts[0][0]:
            values = [int(v) for v in parts[0][:3] if str(v).isdigit()]
            if values:
                return "-".join(f"{v:02d}" if i else f"{v:04d}" for i, v in enumerate(values))
        raw = (item.get(key) or {}).get("raw") if isinstance(item.get(key), dict) else None
        if raw:
            return parse_date(raw)
    return None


def _csl_authors(item: dict) -> list[Author]:
    out = []
    people = item.get("author")
    for person in people if isinstance(people, list) else []:
        if not isinstance(person, dict):
            continue
        name = _text(person, "literal") or " ".join(
            part for part in (_text(person, "given"), _text(person, "family")) if part
        )
        if name:
            out.append(Author(name))
    return out


def parse_csl_json(data: bytes) -> tuple[list[Paper], list[str]]:
    """A Zotero (or any CSL-JSON) export: a list of items, or an object holding "items"."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not valid JSON: {exc}", hint="export as CSL JSON from Zotero") from exc
    except RecursionError:  # "[[[[..." nested past Python's stack
        raise InputError("not valid JSON: nested too deeply", hint="export as CSL JSON") from None
    items = doc.get("items") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise InputError("CSL-JSON: expected a list of items", hint="export as CSL JSON")
    papers, rejected = [], []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            rejected.append(f"item {number}: not an object")
            continue
        doi = normalize_doi(_text(item, "DOI"))
        where = " ".join(_text(item, k) for k in ("URL", "number", "note", "archive_location"))
        arxiv = find_arxiv_id(where) or arxiv_id_from_doi(doi)
        title = " ".join(_text(item, "title").split())
        if not (title or doi or arxiv):
            rejected.append(f"item {number}: no title, DOI or arXiv id")
            continue
        papers.append(
            Paper(
                title=title,
                abstract=_text(item, "abstract"),
                authors=_csl_authors(item),
                published=_csl_date(item),
                arxiv_id=arxiv,
                doi=doi,
                journal_ref=_text(item, "container-title") or None,
                sources=[STUB_ORIGIN],
            )
        )
    return papers, rejected


def _lookup(store: SQLiteStore, paper: Paper) -> int | None:
    for ident in (paper.arxiv_id, paper.doi):
        if ident and (rowid := store.resolve(ident)) is not None:
            return rowid
    if paper.title:
        return store.resolve(title_hash_id(paper.title))
    return None


def import_library(
    store: SQLiteStore,
    user_id: int,
    data: bytes,
    *,
    filename: str = "",
    fmt: str = "auto",
    tag: str | None = None,
) -> ImportResult:
    fmt, parsed, rejected = parse_library(data, filename, fmt)
    papers = []
    for number, paper in enumerate(parsed, 1):
        # the importers' gate, but for the title: an id alone is a stub, titled when the
        # paper is imported or harvested
        validate.clean(paper)
        reason = validate.problem(paper) if paper.title else None
        if reason:
            rejected.append(f"record {number}: {validate.label(paper)}: {reason}")
        else:
            papers.append(paper)
    result = ImportResult(fmt, rejected=rejected)
    if not papers and not rejected:
        raise InputError("nothing to import: the file holds no papers")
    library = Library(store)
    rowids: list[int] = []
    missing: list[Paper] = []
    for paper in papers:
        rowid = _lookup(store, paper)
        if rowid is None:
            paper.sources = [STUB_ORIGIN]
            missing.append(paper)
        else:
            result.found += 1
            rowids.append(rowid)
    if missing:
        for paper, (rowid, new) in zip(missing, library.add_stubs(missing), strict=True):
            if rowid is None:
                rejected.append(f"{paper.arxiv_id or paper.doi or paper.title!r}: not stored")
                continue
            # a record that merged into a stored paper (same title) was in the store after all
            if new:
                result.stubs += 1
            else:
                result.found += 1
            rowids.append(rowid)
    for rowid in dict.fromkeys(rowids):
        library.save(user_id, rowid, tag)
        result.saved += 1
    return result


def export_bibtex(store: SQLiteStore, user_id: int, tag_id: int | None = None) -> str:
    library = Library(store)
    rowids = library.saved_rowids(user_id, tag_id)
    papers = store.load_rowids(rowids)
    return export.bibtex(papers[r] for r in rowids if r in papers)


def export_json(store: SQLiteStore, user_id: int, tag_id: int | None = None) -> list[dict]:
    """The library's papers (full records) with the user's tags, note, rating and read mark."""
    library = Library(store)
    rowids = library.saved_rowids(user_id, tag_id)
    papers = store.load_rowids(rowids)
    states = library.states(user_id, rowids)
    records = export.json_records(papers[r] for r in rowids if r in papers)
    out = []
    for rowid, record in zip([r for r in rowids if r in papers], records, strict=True):
        state = states[rowid]
        record["library"] = {
            "tags": [t.name for t in state.tags],
            "note": state.note,
            "rating": state.rating,
            "read_at": state.read_at,
            "saved_at": state.saved_at,
        }
        out.append(record)
    return out
