"""Semantic Scholar Graph API JSON, bare or inside vcrpy cassettes.

Bare responses: a search page ``{total, offset, data: [...]}``, a batch response (a JSON array
with ``null`` for every id S2 did not find), recommendations ``{recommendedPapers: [...]}`` and
a single paper object. Cassettes (YAML, ``interactions[].response``) keep the JSON body in
``body.string`` (requests/urllib recordings) or ``content`` (httpx recordings).

fieldsOfStudy ("Computer Science") are not arXiv category codes, so categories stay empty.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar

import orjson

from paperscope.errors import InputError
from paperscope.ingest.importers import jsonsafe
from paperscope.ingest.registry import register
from paperscope.model import Author, BadRecord, Item, Paper
from paperscope.normalize import (
    arxiv_id_from_doi,
    clean_abstract,
    clean_name,
    clean_text,
    normalize_arxiv_id,
    normalize_doi,
    parse_date,
    tex_to_unicode,
)

NAME = "semantic-scholar"
#: Wrappers around a paper in the citations/references endpoints' "data" lists.
_WRAPPERS = ("citingPaper", "citedPaper")


class SemanticScholarImporter:
    name: ClassVar[str] = NAME
    description: ClassVar[str] = "Semantic Scholar Graph API JSON and vcrpy cassettes of it"

    def sniff(self, head: bytes, filename: str) -> int | None:
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if _is_cassette(start):
            return 90 if b"semanticscholar" in head else None
        if start[:1] not in (b"[", b"{"):
            return None
        if b'"paperId"' not in head:
            return None
        if b'"externalIds"' in head or b'"citationCount"' in head or b'"authors"' in head:
            return 90
        return 70

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        raw = stream.read()
        if _is_cassette(raw.lstrip(b"\xef\xbb\xbf \t\r\n")):
            yield from _parse_cassette(raw, origin)
            return
        try:
            data, cut = jsonsafe.loads_cut(raw, ("data", "recommendedPapers"))
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{origin}: not valid JSON ({exc})") from exc
        error = _error_message(data)
        if error:
            raise InputError(f"{origin}: Semantic Scholar API error: {error}")
        yield from parse_json(data, origin)
        if cut:  # a download cut short: the whole records before it landed
            yield jsonsafe.cut_record(f"record {cut}")


def parse_json(obj: Any, origin: str, where: str = "") -> Iterator[Item]:
    """Items from one decoded Graph API response; `where` prefixes record locations."""
    if isinstance(obj, dict):
        if isinstance(obj.get("data"), list):
            obj = obj["data"]
        elif isinstance(obj.get("recommendedPapers"), list):
            obj = obj["recommendedPapers"]
        elif "paperId" in obj or "title" in obj:
            obj = [obj]
        else:
            raise InputError(f"{origin}: not a Semantic Scholar papers response")
    if not isinstance(obj, list):
        raise InputError(f"{origin}: not a Semantic Scholar papers response")
    for number, record in enumerate(obj, 1):
        yield _paper(record, f"{where}record {number}")


def _is_cassette(start: bytes) -> bool:
    return start.startswith((b"interactions:", b"version:", b"---")) and b"interactions:" in start


def _parse_cassette(raw: bytes, origin: str) -> Iterator[Item]:
    try:
        import yaml  # only cassettes need it; imported here so plain JSON works without it
    except ImportError as exc:  # pragma: no cover - pyyaml is a dependency
        raise InputError(f"{origin}: reading cassettes needs pyyaml") from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        cassette = yaml.load(raw, Loader=loader)
    except yaml.YAMLError as exc:
        raise InputError(f"{origin}: not a readable cassette ({exc})") from exc
    interactions = cassette.get("interactions") if isinstance(cassette, dict) else None
    if not isinstance(interactions, list):
        raise InputError(f"{origin}: cassette has no interactions")
    several = len(interactions) > 1
    errors: list[str] = []
    items: list[Item] = []
    for number, interaction in enumerate(interactions, 1):
        prefix = f"interaction {number}, " if several else ""
        status, body = _response(interaction)
        try:
            data = jsonsafe.loads(body) if body is not None else None
        except orjson.JSONDecodeError:
            data = None
        message = _error_message(data) if data is not None else None
        if status is not None and status >= 400 and not message:
            message = clean_text(body.decode("utf-8", "replace"))[:200] if body else ""
        if message is not None or (status is not None and status >= 400):
            text = f"HTTP {status}: {message}" if status else str(message)
            errors.append(text)
            items.append(BadRecord(f"interaction {number}", text))
            continue
        if data is None:
            items.append(BadRecord(f"interaction {number}", "response body is not JSON"))
            continue
        # A response of another shape (an author lookup, say) is skipped, not fatal.
        try:
            items.extend(parse_json(data, origin, prefix))
        except InputError as exc:
            items.append(BadRecord(f"interaction {number}", str(exc)))
    if interactions and len(errors) == len(interactions):
        raise InputError(f"{origin}: Semantic Scholar API error: " + "; ".join(errors))
    yield from items


def _response(interaction: Any) -> tuple[int | None, bytes | None]:
    """(HTTP status, body bytes) of a vcrpy interaction in either recorder's layout."""
    response = interaction.get("response") if isinstance(interaction, dict) else None
    if not isinstance(response, dict):
        return None, None
    status = response.get("status")
    code = status.get("code") if isinstance(status, dict) else response.get("status_code")
    body = response.get("content")
    if body is None and isinstance(response.get("body"), dict):
        body = response["body"].get("string")
    if isinstance(body, str):
        body = body.encode("utf-8", errors="replace")  # a lone surrogate from an escape
    return (code if isinstance(code, int) else None), (body if isinstance(body, bytes) else None)


def _error_message(data: Any) -> str | None:
    """The message of an error body: {"error": ...} or {"message": ...} without papers."""
    if not isinstance(data, dict) or "paperId" in data or "data" in data:
        return None
    for key in ("error", "message"):
        if isinstance(data.get(key), str):
            return data[key]
    return None


def _paper(record: Any, where: str) -> Paper | BadRecord:
    if record is None:
        return BadRecord(where, "not found")  # a batch lookup's unknown id
    if not isinstance(record, dict):
        return BadRecord(where, "not a JSON object")
    for wrapper in _WRAPPERS:
        if isinstance(record.get(wrapper), dict):
            record = record[wrapper]
    title = record.get("title")
    if not isinstance(title, str) or not clean_text(title):
        return BadRecord(where, f"paper {record.get('paperId') or '?'} has no title")
    if not _str(record.get("paperId")):
        # S2 gives every paper it knows a paperId. Without one this is a reference S2 could not
        # resolve (a bare title), or another format read under --format semantic-scholar (an HF
        # list was stored as title-only papers, with no author, date or id).
        return BadRecord(where, "no paperId: not a paper Semantic Scholar knows")
    ids = record.get("externalIds") if isinstance(record.get("externalIds"), dict) else {}
    doi = normalize_doi(_str(ids.get("DOI")))
    arxiv_id = normalize_arxiv_id(_str(ids.get("ArXiv"))) or arxiv_id_from_doi(doi)
    external_ids = {}
    if _str(record.get("paperId")):
        external_ids["s2"] = record["paperId"]
    if _str(ids.get("DBLP")):
        external_ids["dblp"] = ids["DBLP"]
    citations = record.get("citationCount")
    return Paper(
        title=_title(title),
        abstract=clean_abstract(_str(record.get("abstract"))),
        authors=_authors(record.get("authors")),
        published=_published(record),
        arxiv_id=arxiv_id,
        doi=doi,
        links=_links(record, arxiv_id, doi),
        sources=[NAME],
        citations=citations if isinstance(citations, int) else None,
        journal_ref=_journal_ref(record),
        external_ids=external_ids,
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _title(text: str) -> str:
    # S2 titles are publisher text, where "~" and braces are literal; decode only TeX macros.
    return clean_text(tex_to_unicode(text) if "\\" in text else text)


def _authors(value: Any) -> list[Author]:
    authors = []
    for author in value if isinstance(value, list) else []:
        name = author.get("name") if isinstance(author, dict) else None
        if isinstance(name, str) and (name := clean_name(name)):
            authors.append(Author(name))
    return authors


def _published(record: dict[str, Any]) -> str | None:
    day = parse_date(_str(record.get("publicationDate")))
    if day:
        return day
    year = record.get("year")
    # `year` alone is a year (`paperscope.dates`), not 1 January
    return f"{year:04d}" if isinstance(year, int) and 0 < year < 10000 else None


def _links(record: dict[str, Any], arxiv_id: str | None, doi: str | None) -> dict[str, str]:
    links: dict[str, str] = {}
    if arxiv_id:
        links["abs"] = f"https://arxiv.org/abs/{arxiv_id}"
        links["pdf"] = f"https://arxiv.org/pdf/{arxiv_id}"
    else:
        pdf = record.get("openAccessPdf")
        url = _str(pdf.get("url")) if isinstance(pdf, dict) else None
        if url:
            links["pdf"] = url.strip()
    if doi:
        links["doi"] = f"https://doi.org/{doi}"
    return links


def _is_arxiv_venue(name: str) -> bool:
    """Whether a venue name is arXiv itself: "ArXiv", "arXiv.org", or "arXiv: Optics" (S2 names
    some preprints' venue after their arXiv category)."""
    folded = name.lower()
    return folded.removesuffix(".org") == "arxiv" or folded.startswith("arxiv:")


def _journal_ref(record: dict[str, Any]) -> str | None:
    """Journal, volume and pages ("Science 360, 518-521"); the venue when no journal name.

    An arXiv "journal" (name "ArXiv", volume "abs/2201.11990", or "arXiv: Optics") is a
    preprint, not a venue.
    """
    journal = record.get("journal") if isinstance(record.get("journal"), dict) else {}
    name = clean_text(_str(journal.get("name")) or _str(record.get("venue")))
    if not name or _is_arxiv_venue(name):
        return None
    # Some venue names arrive HTML-escaped ("State Politics &amp; Policy Quarterly").
    ref = html.unescape(name)
    volume = clean_text(_str(journal.get("volume")))
    pages = clean_text(_str(journal.get("pages"))).replace(" - ", "-")
    if volume:
        ref += f" {volume}"
    if pages:
        ref += f", {pages}"
    return ref


register(SemanticScholarImporter())
