"""arXiv API Atom feeds (export.arxiv.org/api/query), raw or as JSON recordings.

Reads both layouts the API has served: the old one (namespaces declared on every ``arxiv:*``
element, ``http://arxiv.org/abs/...`` links) and the current one (namespaces on ``<feed>``,
``https://`` links). Also reads recordings ``{"url", "status_code", "body"}`` of one response,
whose ``body`` is the response bytes decoded as Latin-1 by the recorder.

`parse_feed` and `feed_paging` take one response body; the live harvester pages with them.
The small ``arxiv_*`` helpers are shared with the RSS and OAI-PMH importers, which read the same
arXiv metadata in other wrappers.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from lxml import etree

from paperscope.errors import InputError
from paperscope.ingest.importers import xmlsafe
from paperscope.ingest.registry import register
from paperscope.model import Author, BadRecord, Item, Paper
from paperscope.normalize import (
    clean_abstract,
    clean_name,
    clean_text,
    normalize_arxiv_id,
    normalize_doi,
    parse_date,
    tex_to_unicode,
)

NAME = "arxiv-atom"

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"

# ---------------------------------------------------------------- arXiv helpers (shared)

# arXiv category codes: "cs.LG", "hep-th", "cond-mat.mes-hall", "astro-ph". The API also lists
# MSC ("68T05") and ACM ("I.2.6") classes as <category>; those are not arXiv categories.
_CATEGORY_RE = re.compile(r"^[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]+(?:-[a-z]+)?)?$")
# arXiv metadata marks a new paragraph by indenting its first line; wrapped lines are not.
_PARAGRAPH_RE = re.compile(r"\n[ \t]+(?=\S)")


def is_arxiv_category(term: str) -> bool:
    return bool(_CATEGORY_RE.match(term))


def arxiv_categories(terms: Iterable[str | None]) -> list[str]:
    """arXiv category codes in the given order (primary first), without duplicates."""
    out: list[str] = []
    for term in terms:
        term = (term or "").strip()
        if term and is_arxiv_category(term) and term not in out:
            out.append(term)
    return out


def arxiv_title(text: str | None) -> str:
    return clean_text(tex_to_unicode(text or ""))


def arxiv_abstract(text: str | None) -> str:
    """The abstract with arXiv's indented-line paragraph breaks kept as newlines."""
    if not text:
        return ""
    return clean_abstract(_PARAGRAPH_RE.sub("\n\n", text.strip()))


def arxiv_links(arxiv_id: str, doi: str | None) -> dict[str, str]:
    links = {"abs": f"https://arxiv.org/abs/{arxiv_id}", "pdf": f"https://arxiv.org/pdf/{arxiv_id}"}
    if doi:
        links["doi"] = f"https://doi.org/{doi}"
    return links


def child_text(elem: etree._Element, tag: str) -> str:
    """The text of the first child `tag` (stripped), or ""."""
    child = elem.find(tag)
    if child is None or child.text is None:
        return ""
    return child.text.strip()


# ---------------------------------------------------------------- response bodies


def recorded_body(data: bytes, origin: str) -> tuple[bytes, int | None]:
    """(the original response bytes, HTTP status) of a JSON recording of one response.

    The recorder decoded the UTF-8 response as Latin-1, so re-encoding as Latin-1 gives the
    original bytes back ("WÃ¼bben" -> "Wübben"). A body stored as proper text (characters
    beyond Latin-1, or bytes that are not UTF-8 once re-encoded) is taken as it is.
    """
    try:
        record = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{origin}: not a JSON recording of an arXiv API response: {exc}") from exc
    if not isinstance(record, dict) or not isinstance(record.get("body"), str):
        raise InputError(f"{origin}: JSON recording without a text 'body'")
    body: str = record["body"]
    try:
        raw = body.encode("latin-1")
        raw.decode("utf-8")
    except UnicodeError:
        raw = body.encode("utf-8", errors="replace")  # a lone surrogate from a \\ud800 escape
    status = record.get("status_code")
    return raw, status if isinstance(status, int) else None


def _looks_like_json(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


# ---------------------------------------------------------------- parsing


@dataclass(slots=True, frozen=True)
class FeedPaging:
    """The OpenSearch counters of one API response, for paging through a query."""

    total_results: int | None
    start_index: int | None
    items_per_page: int | None


def feed_paging(data: bytes) -> FeedPaging:
    """The feed's opensearch totalResults/startIndex/itemsPerPage (None where missing)."""
    if _looks_like_json(data):
        data, _ = recorded_body(data, "response")
    values: dict[str, int | None] = {}
    wanted = {OPENSEARCH + n: n for n in ("totalResults", "startIndex", "itemsPerPage")}
    try:
        for event, elem in etree.iterparse(
            io.BytesIO(data), events=("start", "end"), resolve_entities=False
        ):
            if event == "start" and elem.tag == ATOM + "entry":
                break  # the counters come before the entries
            if event == "end" and elem.tag in wanted:
                text = (elem.text or "").strip()
                values[wanted[elem.tag]] = int(text) if text.isdigit() else None
    except etree.XMLSyntaxError as exc:
        raise InputError(f"not an Atom feed: {exc}") from exc
    return FeedPaging(
        values.get("totalResults"), values.get("startIndex"), values.get("itemsPerPage")
    )


def parse_feed(data: bytes, origin: str) -> Iterator[Item]:
    """The items of one API response body (raw Atom, or a JSON recording of it)."""
    return _parse_stream(io.BytesIO(data), origin)


def _parse_stream(stream: BinaryIO, origin: str) -> Iterator[Item]:
    head = stream.read(512)
    if _looks_like_json(head):
        body, status = recorded_body(head + stream.read(), origin)
        yield from _parse_xml(io.BytesIO(body), origin, status)
    else:
        yield from _parse_xml(_Prefixed(head, stream), origin, None)


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read for sniffing, put back in front."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix = prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            if size is None or size < 0:
                out, self._prefix = self._prefix + self._rest.read(), b""
                return out
            out, self._prefix = self._prefix[:size], self._prefix[size:]
            return out
        return self._rest.read(size)


def _parse_xml(stream: BinaryIO, origin: str, status: int | None) -> Iterator[Item]:
    items = _entries(stream, origin, status)
    return xmlsafe.until_readable(items, f"{origin}: not a readable Atom feed")


def _entries(stream: BinaryIO, origin: str, status: int | None) -> Iterator[Item]:
    count = 0
    entries = xmlsafe.iterparse(stream, events=("end",), tag=(ATOM + "entry", ATOM + "feed"))
    damage = xmlsafe.DamageLog(entries)
    try:
        for _, elem in entries:
            if elem.tag == ATOM + "feed":
                break
            count += 1
            damaged = damage.for_record(elem)
            if damaged:
                yield damaged.record(f"entry {count}")
            else:
                _raise_if_error(elem, origin, status)
                yield _entry_item(elem, f"entry {count}")
            # Free what is done with, so a long feed never sits in memory whole.
            elem.clear()
            while elem.getprevious() is not None:
                del elem.getparent()[0]
    except etree.XMLSyntaxError as exc:
        if count == 0:
            raise InputError(f"{origin}: not a readable Atom feed: {exc}") from exc
        yield BadRecord(f"line {exc.lineno}", f"XML broken after entry {count}: {exc.msg}")
        return
    broken = damage.since_last()
    if broken and count == 0:
        raise InputError(f"{origin}: not a readable Atom feed: {broken}")
    if broken:
        yield BadRecord(f"line {broken.line}", f"XML broken after entry {count}: {broken.message}")
    if status is not None and status >= 400:
        raise InputError(f"{origin}: the arXiv API answered HTTP {status}")


def _raise_if_error(entry: etree._Element, origin: str, status: int | None) -> None:
    """arXiv reports a bad query as a feed with one entry titled "Error" (.../api/errors#...)."""
    entry_id = child_text(entry, ATOM + "id")
    titled_error = child_text(entry, ATOM + "title") == "Error" and not normalize_arxiv_id(entry_id)
    if "/api/errors" in entry_id or titled_error:
        message = clean_text(child_text(entry, ATOM + "summary")) or entry_id
        http = f" (HTTP {status})" if status else ""
        raise InputError(
            f"{origin}: arXiv API error{http}: {message}",
            hint="check the query or id list sent to the arXiv API",
        )


def _entry_item(entry: etree._Element, where: str) -> Item:
    raw_id = child_text(entry, ATOM + "id")
    arxiv_id = normalize_arxiv_id(raw_id)
    if not arxiv_id:
        return BadRecord(where, f"no arXiv id in <id>{raw_id}</id>")
    title = arxiv_title(child_text(entry, ATOM + "title"))
    if not title:
        return BadRecord(where, f"{arxiv_id}: entry without a title")
    doi = normalize_doi(child_text(entry, ARXIV + "doi")) or _doi_from_links(entry)
    primary = entry.find(ARXIV + "primary_category")
    terms = [primary.get("term") if primary is not None else None]
    terms += [c.get("term") for c in entry.iterfind(ATOM + "category")]
    return Paper(
        title=title,
        abstract=arxiv_abstract(entry.findtext(ATOM + "summary")),
        authors=[_author(a) for a in entry.iterfind(ATOM + "author")],
        categories=arxiv_categories(terms),
        published=parse_date(child_text(entry, ATOM + "published")),
        updated=parse_date(child_text(entry, ATOM + "updated")),
        arxiv_id=arxiv_id,
        doi=doi,
        links=arxiv_links(arxiv_id, doi),
        sources=[NAME],
        journal_ref=clean_text(child_text(entry, ARXIV + "journal_ref")) or None,
        comment=clean_text(child_text(entry, ARXIV + "comment")) or None,
    )


def _author(elem: etree._Element) -> Author:
    affiliations = [clean_text(a.text) for a in elem.iterfind(ARXIV + "affiliation")]
    affiliation = "; ".join(a for a in affiliations if a) or None
    return Author(clean_name(child_text(elem, ATOM + "name")), affiliation)


def _doi_from_links(entry: etree._Element) -> str | None:
    for link in entry.iterfind(ATOM + "link"):
        if link.get("title") == "doi":
            return normalize_doi(link.get("href"))
    return None


# ---------------------------------------------------------------- importer


class ArxivAtomImporter:
    name: ClassVar[str] = NAME
    description: ClassVar[str] = (
        "arXiv API Atom feed (export.arxiv.org/api/query), raw or as a JSON recording"
    )

    def sniff(self, head: bytes, filename: str) -> int | None:
        is_atom = b"<feed" in head and (
            b"http://www.w3.org/2005/Atom" in head or b"http:\\/\\/www.w3.org\\/2005\\/Atom" in head
        )
        if not is_atom or b"arxiv" not in head.lower():
            return None
        if _looks_like_json(head):
            # a recording: {"url": ..., "status_code": ..., "body": "<?xml ...<feed ..."}
            return 85 if b'"body"' in head else None
        return 90 if b"arxiv.org/api" in head or b"arxiv.org/schemas/atom" in head else 60

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        return _parse_stream(stream, origin)


register(ArxivAtomImporter())
