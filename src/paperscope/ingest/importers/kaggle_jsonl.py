"""Kaggle's "arxiv-metadata-oai-snapshot": one JSON object per line, one line per arXiv paper.

The full snapshot holds millions of records (several GB), so this parser is tuned for
throughput: orjson on the raw bytes of each line, no regex on the common path, and the shared
normalisers only where a cheap test shows they have something to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any, BinaryIO, ClassVar

import orjson

from paperscope.ingest.registry import register
from paperscope.model import Author, BadRecord, Item, Paper
from paperscope.normalize import (
    clean_abstract,
    month_number,
    needs_tex_decoding,
    normalize_arxiv_id,
    normalize_doi,
    parse_date,
    split_authors,
    tex_to_unicode,
)

NAME = "kaggle-arxiv"
_BLANK_LINE = re.compile(r"\n\s*\n")
_INDENTED_LINE = re.compile(r"\n[ \t]+(?=\S)")
_SOURCES = (NAME,)
# "A (1), B (1,2) ((1) Univ X, (2) Lab Y)": footnote marks and the legend they point at.
_LEGEND_START = re.compile(r"\(\s*\(\d+\)")
_LEGEND_ITEM = re.compile(r"\((\d+)\)")
_MARKS = re.compile(r"\(\s*(\d+(?:\s*(?:,|and)\s*\d+)*)\s*\)")


class KaggleArxivImporter:
    name: ClassVar[str] = NAME
    description: ClassVar[str] = "Kaggle arxiv-metadata-oai-snapshot (JSON lines)"

    def sniff(self, head: bytes, filename: str) -> int | None:
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not start.startswith(b"{"):
            return None
        end = start.find(b"\n")
        first = start if end < 0 else start[:end]
        try:
            record = orjson.loads(first)
        except orjson.JSONDecodeError:
            # A line longer than the head: fall back to the snapshot's distinctive keys.
            if b'"authors_parsed"' in first and b'"update_date"' in first:
                return 60
            return None
        if not isinstance(record, dict) or "id" not in record or "title" not in record:
            return None
        if "authors_parsed" in record or ("versions" in record and "update_date" in record):
            return 95
        return None

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        for number, line in enumerate(stream, 1):
            try:
                record = loads(line)
            except decode_error as exc:
                # Checked only on failure: blank lines are rare, stripping every line is not free.
                if line.strip():
                    yield BadRecord(f"line {number}", f"not valid JSON: {exc}")
                continue
            if not isinstance(record, dict):
                yield BadRecord(f"line {number}", "not a JSON object")
                continue
            try:
                yield _paper(record)
            except _Bad as exc:
                yield BadRecord(f"line {number}", str(exc))


class _Bad(Exception):
    """A record that cannot become a paper; the message names what is wrong."""


def _squash(text: str) -> str:
    """`clean_text` without the regex: str.split() folds the same Unicode white space."""
    return " ".join(text.split())


def _tex(text: str) -> str:
    # Almost no record needs decoding, and then not even the squash of white space
    if needs_tex_decoding(text):
        return _squash(tex_to_unicode(text))
    return text


def _paper(record: dict[str, Any]) -> Paper:
    ident = record.get("id")
    title = record.get("title")
    if not ident or not isinstance(ident, str):
        raise _Bad("record has no id")
    if not title or not isinstance(title, str):
        raise _Bad(f"{ident}: record has no title")
    arxiv_id = _arxiv_id(ident)
    title = _tex(_squash(title))
    if not title:
        raise _Bad(f"{ident}: record has no title")

    listed = record.get("authors")
    listed = listed if isinstance(listed, str) else ""
    parsed = record.get("authors_parsed")
    if parsed and isinstance(parsed, list):
        authors = _parsed_authors(parsed)
        if "((" in listed or "( (" in listed:
            authors = _legend_affiliations(_squash(listed), authors)
    else:
        authors = [Author(name) for name in split_authors(listed) if not _is_et_al(name)]
    # Large collaborations list a few names then "et al" (authors_parsed just drops it).
    complete = "et al" not in listed

    categories = record.get("categories")
    versions = record.get("versions")
    published, latest = _version_dates(versions) if isinstance(versions, list) else (None, None)
    updated = _iso_day(record.get("update_date")) or latest

    doi = record.get("doi")
    doi = normalize_doi(doi) if doi else None
    links = {
        "abs": f"https://arxiv.org/abs/{arxiv_id}",
        "pdf": f"https://arxiv.org/pdf/{arxiv_id}",
    }
    if doi:
        links["doi"] = f"https://doi.org/{doi}"
    return Paper(
        title=title,
        abstract=_abstract(record.get("abstract")),
        authors=authors,
        authors_complete=complete,
        categories=categories.split() if isinstance(categories, str) else [],
        published=published,
        updated=updated,
        arxiv_id=arxiv_id,
        doi=doi,
        links=links,
        sources=list(_SOURCES),
        journal_ref=_optional(record.get("journal-ref")),
        comment=_optional(record.get("comments")),
    )


def _optional(value: Any) -> str | None:
    return (_squash(value) or None) if isinstance(value, str) else None


def _arxiv_id(ident: str) -> str:
    # The snapshot's ids are already bare ("0704.0001", "hep-th/9901001"); the regex only runs
    # for anything unusual (a version suffix, an "arXiv:" prefix, stray white space).
    if len(ident) in (9, 10) and ident[4] == "." and ident[:4].isdigit() and ident[5:].isdigit():
        return ident
    normal = normalize_arxiv_id(ident)
    if not normal:
        raise _Bad(f"id {ident!r} is not an arXiv id")
    return normal


def _abstract(text: Any) -> str:
    if not text or not isinstance(text, str):
        return ""
    # arXiv's metadata starts a paragraph with an indented line (wrapped lines are not), as
    # the Atom and OAI importers read it (`arxiv_atom.arxiv_abstract`); a substring test
    # (C speed) keeps the regex off the common path.
    if "\n " in text or "\n\t" in text:
        text = _INDENTED_LINE.sub("\n\n", text)
    # clean_abstract keeps a paragraph break only at a blank line; most abstracts have none,
    # and then folding the white space gives the same text. One compiled search (C speed,
    # faster than splitting into lines) decides.
    if _BLANK_LINE.search(text):
        return clean_abstract(text)
    return _squash(text)


def _is_et_al(name: str) -> bool:
    return name.lower().rstrip(". ") in ("et al", "others")


def _parsed_authors(parsed: list[Any]) -> list[Author]:
    authors = []
    for entry in parsed:
        if not isinstance(entry, list) or not entry:
            continue
        last = entry[0] or ""
        first = entry[1] if len(entry) > 1 and entry[1] else ""
        suffix = entry[2] if len(entry) > 2 and entry[2] else ""
        if "-" in first:
            # arXiv's parser splits hyphenated initials: "C.-P. Yuan" arrives as "C. -P.".
            first = first.replace(". -", ".-")
        name = _tex(_squash(f"{first} {last} {suffix}")).strip(" ,;")
        if not name:
            continue
        affiliation = _affiliation(entry[3:]) if len(entry) > 3 else None
        authors.append(Author(name, affiliation))
    return authors


def _legend_affiliations(listed: str, authors: list[Author]) -> list[Author]:
    """Affiliations from the legend that ends a free-text author list, when authors_parsed
    kept only the marks ("1 and 2"). Only when the list has exactly one group of marks per
    author, so a mark is never given to the wrong person."""
    start = _LEGEND_START.search(listed)
    if start is None:
        return authors
    depth, end = 0, len(listed)
    for i in range(start.start(), len(listed)):
        depth += {"(": 1, ")": -1}.get(listed[i], 0)
        if depth == 0:
            end = i
            break
    parts = _LEGEND_ITEM.split(listed[start.start() + 1 : end])
    legend = {n: _tex(text.strip(" ,;")) for n, text in zip(parts[1::2], parts[2::2], strict=True)}
    marks = _MARKS.findall(listed[: start.start()])
    if len(marks) != len(authors):
        return authors
    resolved = []
    for author, group in zip(authors, marks, strict=True):
        names = [legend[n] for n in re.findall(r"\d+", group) if legend.get(n)]
        if author.affiliation is None and names:
            author = Author(author.name, "; ".join(dict.fromkeys(names)), author.orcid)
        resolved.append(author)
    return resolved


def _affiliation(parts: list[Any]) -> str | None:
    names = []
    for part in parts:
        if not isinstance(part, str):
            continue
        text = _tex(_squash(part))
        # "1 and 2": footnote marks pointing at a legend in the free-text author list.
        if text and not text.replace("and", " ").replace(",", " ").replace(" ", "").isdigit():
            names.append(text)
    return "; ".join(names) or None


def _version_dates(versions: list[Any]) -> tuple[str | None, str | None]:
    """(date of v1, date of the latest version); without a "v1" entry the earliest date."""
    first = earliest = latest = None
    for version in versions:
        if not isinstance(version, dict):
            continue
        day = _rfc822_day(version.get("created"))
        if day is None:
            continue
        if first is None and version.get("version") == "v1":
            first = day
        if earliest is None or day < earliest:
            earliest = day
        if latest is None or day > latest:
            latest = day
    return first or earliest, latest


def _rfc822_day(value: Any) -> str | None:
    """The UTC day of "Mon, 2 Apr 2007 19:18:42 GMT" without email.utils (hot path)."""
    if not isinstance(value, str):
        return None
    parts = value.split()
    if len(parts) == 6 and parts[5] == "GMT" and parts[1].isdigit() and parts[3].isdigit():
        month = month_number(parts[2])
        if month:
            try:
                return date(int(parts[3]), month, int(parts[1])).isoformat()
            except ValueError:
                return None
    return parse_date(value)


def _iso_day(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return value
    return parse_date(value)


register(KaggleArxivImporter())
