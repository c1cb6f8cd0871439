"""Library import and export: BibTeX, Zotero CSL-JSON, paperscope's own JSON exports (the
library's and the account's, with their tags, notes, ratings and read marks), or a plain list
of arXiv ids / DOIs in; BibTeX and JSON out.

Imported papers are matched against the store (arXiv id, DOI, then title); the ones it does not
have yet are written as stub records (origin "library") so the next harvest fills them in, and
every one lands in the user's library (under a tag if given). No cap on size: the whole import
is one write batch for the stubs plus one transaction per paper saved.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zlib
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
from paperscope.store.library import MAX_NOTE, STUB_ORIGIN, Library
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
    restored: int = 0  # papers whose tags, note, rating or read mark came from a paperscope export


@dataclass(slots=True)
class Kept:
    """What a paperscope export holds about a paper besides the paper: the exporting user's
    tags, note, rating and read mark, and whether it was saved (the account export also
    lists papers only rated)."""

    tags: list[str] = field(default_factory=list)
    note: str = ""
    rating: int = 0
    read: bool = False
    saved: bool = True

    def holds_anything(self) -> bool:
        return bool(self.tags or self.note or self.rating or self.read)


def sniff_format(data: bytes, filename: str = "") -> str:
    """'bibtex', 'csl-json', 'csv' or 'ids' by file name, then content."""
    name = filename.lower()
    text = data[:4096].decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if name.endswith((".bib", ".bibtex")):
        return "bibtex"
    if name.endswith(".json") or text[:1] in ("[", "{"):
        return "csl-json"
    if name.endswith((".csv", ".tsv")) or _csv_columns(text.partition("\n")[0]):
        return "csv"
    if re.search(r"@\w+\s*[{(]", text):
        return "bibtex"
    return "ids"


def parse_library(
    data: bytes, filename: str = "", fmt: str = "auto"
) -> tuple[str, list[Paper], list[str], list[Kept | None]]:
    """(format, papers, rejected messages, what a paperscope export kept of each paper) of an
    upload."""
    if len(data) > MAX_IMPORT_BYTES:
        raise InputError(f"the file is larger than {MAX_IMPORT_BYTES // 2**20} MB")
    if data[:2] == _GZIP_MAGIC:  # refs.bib.gz: read as the `import` command reads it
        data, filename = _gunzip(data), filename.removesuffix(".gz").removesuffix(".GZ")
    if b"\x00" in data[:4096]:
        raise InputError(
            "this file is not text: not BibTeX, CSL-JSON, CSV or a list of ids",
            hint=_EXPORT_HINT,
        )
    fmt = sniff_format(data, filename) if fmt == "auto" else fmt
    if fmt == "bibtex":
        papers, rejected = [], []
        try:
            for item in BibtexImporter().parse(io.BytesIO(data), filename or "upload"):
                if isinstance(item, Paper):
                    papers.append(item)
                elif isinstance(item, BadRecord):
                    rejected.append(f"{item.where}: {item.message}")
        except InputError as exc:  # its hint is for the command line (`--format NAME`)
            raise InputError(str(exc), hint=_EXPORT_HINT) from None
        return fmt, papers, rejected, [None] * len(papers)
    if fmt in ("csl-json", "paperscope-json"):
        papers, rejected, kept = parse_json(data)
        ours = any(k is not None for k in kept)
        return ("paperscope-json" if ours else "csl-json"), papers, rejected, kept
    if fmt == "csv":
        papers, rejected = parse_csv(_decode(data))
        return fmt, papers, rejected, [None] * len(papers)
    if fmt == "ids":
        papers, rejected = parse_id_list(data.decode("utf-8", "replace"))
        return fmt, papers, rejected, [None] * len(papers)
    raise InputError(f"unknown library format {fmt!r}", hint="bibtex, csl-json, csv or ids")


_GZIP_MAGIC = b"\x1f\x8b"
_EXPORT_HINT = "export the library as BibTeX, CSL JSON or CSV (with its header row)"


def _gunzip(data: bytes) -> bytes:
    """A gzip upload's content, at most MAX_IMPORT_BYTES of it (a small file may unpack to
    gigabytes)."""
    unpack = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = unpack.decompress(data, MAX_IMPORT_BYTES + 1)
    except zlib.error as exc:
        raise InputError(f"a damaged .gz file: {exc}", hint="upload the file unpacked") from None
    if len(out) > MAX_IMPORT_BYTES:
        raise InputError(f"the unpacked file is larger than {MAX_IMPORT_BYTES // 2**20} MB")
    return out


def _decode(data: bytes) -> str:
    """UTF-8 text, else Windows-1252 (what Excel writes a CSV in), else Latin-1."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


#: CSV header names (lower case) of the columns read, as Zotero, Mendeley and spreadsheets
#: name them.
_CSV_FIELDS = {
    "title": ("title",),
    "doi": ("doi",),
    "where": (
        "url",
        "link",
        "arxiv",
        "arxiv id",
        "arxiv_id",
        "eprint",
        "extra",
        "archive location",
    ),
    "authors": ("author", "authors"),
    "date": ("publication year", "year", "date", "published"),
    "abstract": ("abstract note", "abstract"),
}
_CSV_DELIMITERS = ",;\t"


def _csv_delimiter(header: str) -> str:
    return max(_CSV_DELIMITERS, key=header.count)


def _csv_columns(header: str) -> dict[str, list[int]]:
    """Which columns of a CSV header row hold what (by `_CSV_FIELDS`); empty when the row
    names none of title, DOI or a URL/arXiv column, i.e. when it is not a paper list's header."""
    if not any(d in header for d in _CSV_DELIMITERS):
        return {}
    try:
        names = next(csv.reader([header], delimiter=_csv_delimiter(header)))
    except csv.Error:
        return {}
    names = [n.strip().lower() for n in names]
    columns = {
        what: [i for i, n in enumerate(names) if n in wanted]
        for what, wanted in _CSV_FIELDS.items()
    }
    if not (columns["title"] or columns["doi"] or columns["where"]):
        return {}
    return columns


def _csv_authors(value: str) -> list[Author]:
    """ "Family, Given; Family, Given" (Zotero), "A B and C D", or "A B, C D"."""
    value = value.strip()
    if ";" in value:
        people = [p.strip() for p in value.split(";")]
        people = [" ".join(reversed([x.strip() for x in p.split(",", 1)])) for p in people]
    elif " and " in value:
        people = value.split(" and ")
    else:
        parts = [p.strip() for p in value.split(",")]
        one_inverted = len(parts) == 2 and " " not in parts[0]  # "Lovelace, Ada"
        people = [f"{parts[1]} {parts[0]}"] if one_inverted else parts
    return [Author(" ".join(p.split())) for p in people if p.strip()]


def parse_csv(text: str) -> tuple[list[Paper], list[str]]:
    """A CSV (or tab- or semicolon-separated) list of papers with a header row, such as
    Zotero's or Mendeley's CSV export: the Title, DOI, URL (an arXiv link or id is found in
    URL, Extra or an arXiv column), Author, year and abstract columns are read."""
    header = text.partition("\n")[0]
    columns = _csv_columns(header)
    if not columns:
        raise InputError(
            "this CSV file has no header row naming a Title, DOI or URL column",
            hint="export the library as CSV with its header (Zotero: File > Export Library > "
            "CSV), or as BibTeX",
        )
    papers, rejected = [], []
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=_csv_delimiter(header)))
    except csv.Error as exc:
        raise InputError(f"not a readable CSV file: {exc}", hint="export it again") from exc

    def cell(row: list[str], what: str) -> str:
        return " ".join(row[i] for i in columns[what] if i < len(row) and row[i].strip())

    for number, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        title = " ".join(cell(row, "title").split())
        doi = normalize_doi(cell(row, "doi"))
        arxiv = find_arxiv_id(cell(row, "where")) or arxiv_id_from_doi(doi)
        if not doi:
            doi = normalize_doi(cell(row, "where")) if not arxiv else None
        if not (title or doi or arxiv):
            rejected.append(f"line {number}: no title, DOI or arXiv id")
            continue
        date = cell(row, "date").strip()
        papers.append(
            Paper(
                title=title,
                abstract=cell(row, "abstract"),
                authors=_csv_authors(cell(row, "authors")),
                published=parse_date(date) if date else None,
                arxiv_id=arxiv,
                doi=doi,
                sources=[STUB_ORIGIN],
            )
        )
    return papers, rejected


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
    papers, rejected, _ = parse_json(data)
    return papers, rejected


def _paperscope_record(item: dict) -> tuple[dict, Kept] | None:
    """(the paper, what was kept) when `item` is a record of a paperscope export: of
    /library/export.json (the paper's fields and "library") or of the account export's
    "library" list ("paper" and the user's marks)."""
    if isinstance(item.get("paper"), dict) and "saved" in item:
        paper, marks, saved = item["paper"], item, item.get("saved") is True
    elif isinstance(item.get("library"), dict) and "arxiv_id" in item:
        paper, marks, saved = item, item["library"], True
    else:
        return None
    tags = marks.get("tags") if isinstance(marks.get("tags"), list) else []
    rating = marks.get("rating")
    kept = Kept(
        tags=[t for t in tags if isinstance(t, str) and t.strip()],
        note=_text(marks, "note"),
        rating=rating if rating in (-1, 0, 1) and not isinstance(rating, bool) else 0,
        read=bool(_text(marks, "read_at")),
        saved=saved,
    )
    return paper, kept


def _paperscope_paper(record: dict) -> Paper:
    people = record.get("authors") if isinstance(record.get("authors"), list) else []
    names = [_text(person, "name") for person in people if isinstance(person, dict)]
    authors = [Author(name) for name in names if name.strip()]
    arxiv = _text(record, "arxiv_id")
    return Paper(
        title=" ".join(_text(record, "title").split()),
        abstract=_text(record, "abstract"),
        authors=authors,
        published=parse_date(_text(record, "published")) if _text(record, "published") else None,
        arxiv_id=normalize_arxiv_id(arxiv) if arxiv else None,
        doi=normalize_doi(_text(record, "doi")),
        sources=[STUB_ORIGIN],
    )


def parse_json(data: bytes) -> tuple[list[Paper], list[str], list[Kept | None]]:
    """A CSL-JSON export (Zotero's: a list of items, or an object holding "items"), or a
    paperscope export (/library/export.json, or the account's export.json); per paper what
    a paperscope export kept of it (None for CSL items)."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not valid JSON: {exc}", hint="export as CSL JSON from Zotero") from exc
    except RecursionError:  # "[[[[..." nested past Python's stack
        raise InputError("not valid JSON: nested too deeply", hint="export as CSL JSON") from None
    items = doc.get("items") if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and items is None and isinstance(doc.get("library"), list):
        items = doc["library"]  # the account export: its library part
    if not isinstance(items, list):
        raise InputError("CSL-JSON: expected a list of items", hint="export as CSL JSON")
    papers, rejected, kept = [], [], []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            rejected.append(f"item {number}: not an object")
            continue
        ours = _paperscope_record(item)
        if ours is not None:
            paper = _paperscope_paper(ours[0])
            if not (paper.title or paper.doi or paper.arxiv_id):
                rejected.append(f"item {number}: no title, DOI or arXiv id")
                continue
            papers.append(paper)
            kept.append(ours[1])
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
        kept.append(None)
    return papers, rejected, kept


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
    fmt, parsed, rejected, kept_of = parse_library(data, filename, fmt)
    papers: list[tuple[Paper, Kept | None]] = []
    for number, (paper, kept) in enumerate(zip(parsed, kept_of, strict=True), 1):
        # the importers' gate, but for the title: an id alone is a stub, titled when the
        # paper is imported or harvested
        validate.clean(paper)
        reason = validate.problem(paper) if paper.title else None
        if reason:
            rejected.append(f"record {number}: {validate.label(paper)}: {reason}")
        else:
            papers.append((paper, kept))
    result = ImportResult(fmt, rejected=rejected)
    if not papers and not rejected:
        raise InputError("nothing to import: the file holds no papers")
    library = Library(store)
    rows: list[tuple[int, Kept | None]] = []
    missing: list[tuple[Paper, Kept | None]] = []
    for paper, kept in papers:
        rowid = _lookup(store, paper)
        if rowid is None:
            paper.sources = [STUB_ORIGIN]
            missing.append((paper, kept))
        else:
            result.found += 1
            rows.append((rowid, kept))
    if missing:
        landed = library.add_stubs([paper for paper, _ in missing])
        for (paper, kept), (rowid, new) in zip(missing, landed, strict=True):
            if rowid is None:
                rejected.append(f"{paper.arxiv_id or paper.doi or paper.title!r}: not stored")
                continue
            # a record that merged into a stored paper (same title) was in the store after all
            if new:
                result.stubs += 1
            else:
                result.found += 1
            rows.append((rowid, kept))
    done: set[int] = set()
    for rowid, kept in rows:
        if rowid in done:
            continue
        done.add(rowid)
        if kept is None or kept.saved:
            library.save(user_id, rowid, tag)
            result.saved += 1
        if kept is not None and kept.holds_anything():
            rejected.extend(_restore(library, user_id, rowid, kept))
            result.restored += 1
    return result


def _restore(library: Library, user_id: int, rowid: int, kept: Kept) -> list[str]:
    """Put back what a paperscope export kept of a paper; a note or read mark the user
    already has here stays. What could not be kept (a tag name this server refuses)."""
    problems = []
    for name in kept.tags:
        try:
            library.save(user_id, rowid, name)
        except InputError as exc:  # a hand-edited file: the other papers still come in
            problems.append(f"tag {name[:80]!r} not kept: {exc}")
    state = library.state(user_id, rowid)
    if kept.rating:
        library.rate(user_id, rowid, kept.rating)
    if kept.note.strip() and not state.note:
        library.set_note(user_id, rowid, kept.note[:MAX_NOTE])
    if kept.read and not state.read_at:
        library.mark_read(user_id, rowid)
    return problems


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
