"""OpenAlex works: a /works list response ({"meta", "results"}), a single work object, or the
OpenAlex snapshot layout (JSON lines, one work per line).

OpenAlex has no arXiv categories (its topics and concepts are a different taxonomy), so
categories stay empty rather than being guessed.
"""

from __future__ import annotations

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

NAME = "openalex"
_WORK_PREFIX = "https://openalex.org/"
_ORCID_PREFIXES = ("https://orcid.org/", "http://orcid.org/")


class OpenAlexImporter:
    name: ClassVar[str] = NAME
    description: ClassVar[str] = "OpenAlex works (API response, single work or JSON lines)"

    def sniff(self, head: bytes, filename: str) -> int | None:
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if start not in (b"[", b"{"):
            return None
        if b'"https://openalex.org/W' not in head:
            return None
        if b'"authorships"' in head or b'"abstract_inverted_index"' in head:
            return 90
        if b'"publication_date"' in head or b'"cited_by_count"' in head:
            return 70
        return None

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        first = stream.readline()
        while first and not first.strip():
            first = stream.readline()
        try:
            # A whole work or response on the first line: the snapshot's JSON lines layout
            # (or a one-line response); stream it line by line.
            value = jsonsafe.loads(first) if first else None
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            yield from _lines(value, stream, origin)
            return
        try:
            data, cut = jsonsafe.loads_cut(first + stream.read(), ("results",))
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{origin}: not valid JSON ({exc})") from exc
        yield from parse_json(data, origin)
        if cut:  # a download cut short: the whole records before it landed
            yield jsonsafe.cut_record(f"record {cut}")


def _lines(first: dict[str, Any], stream: BinaryIO, origin: str) -> Iterator[Item]:
    if "results" in first or "error" in first:
        yield from parse_json(first, origin)
    else:
        yield _work_item(first, "line 1")
    for number, line in enumerate(stream, 2):
        if not line.strip():
            continue
        try:
            work = jsonsafe.loads(line)
        except orjson.JSONDecodeError as exc:
            yield BadRecord(f"line {number}", f"not valid JSON: {exc}")
            continue
        yield _work_item(work, f"line {number}")


def parse_json(obj: Any, origin: str) -> Iterator[Item]:
    """Items from a decoded OpenAlex value: a /works response, a list of works or one work."""
    if isinstance(obj, dict):
        if "error" in obj and "id" not in obj:
            message = obj.get("message") or obj["error"]
            raise InputError(f"{origin}: OpenAlex API error: {message}")
        if "results" in obj:
            obj = obj["results"]
            if obj is None:
                return
        elif "id" in obj:
            yield _work_item(obj, "record 1")
            return
    if not isinstance(obj, list):
        raise InputError(f"{origin}: not an OpenAlex works response")
    for number, work in enumerate(obj, 1):
        yield _work_item(work, f"record {number}")


def _work_item(work: Any, where: str) -> Paper | BadRecord:
    if not isinstance(work, dict):
        return BadRecord(where, "not a JSON object")
    ident = work.get("id")
    title = work.get("title") or work.get("display_name")
    if not isinstance(ident, str) or not ident:
        return BadRecord(where, "work has no id")
    if not isinstance(title, str) or not clean_text(title):
        return BadRecord(where, f"work {ident} has no title")
    doi = normalize_doi(work.get("doi") if isinstance(work.get("doi"), str) else None)
    arxiv_id = _arxiv_id(work) or arxiv_id_from_doi(doi)
    citations = work.get("cited_by_count")
    return Paper(
        title=_title(title),
        abstract=_abstract(work.get("abstract_inverted_index")),
        authors=_authors(work.get("authorships")),
        published=_date(work.get("publication_date")) or _year(work.get("publication_year")),
        arxiv_id=arxiv_id,
        doi=doi,
        links=_links(work, arxiv_id, doi),
        sources=[NAME],
        citations=citations if isinstance(citations, int) else None,
        journal_ref=_journal_ref(work),
        external_ids={"openalex": ident.removeprefix(_WORK_PREFIX)},
    )


def _title(text: str) -> str:
    # Publisher titles are not TeX: "~" and braces are literal there. Decode only real macros.
    return clean_text(tex_to_unicode(text) if "\\" in text else text)


def _abstract(index: Any) -> str:
    """Rebuild the text from {word: [positions]}; OpenAlex ships abstracts only this way."""
    if not isinstance(index, dict) or not index:
        return ""
    placed: dict[int, str] = {}
    for word, positions in index.items():
        if isinstance(positions, list):
            for position in positions:
                if isinstance(position, int):
                    placed[position] = word
    return clean_abstract(" ".join(placed[p] for p in sorted(placed)))


def _authors(authorships: Any) -> list[Author]:
    authors = []
    for authorship in authorships if isinstance(authorships, list) else []:
        if not isinstance(authorship, dict):
            continue
        author = authorship.get("author") if isinstance(authorship.get("author"), dict) else {}
        # The name as printed on the paper; display_name is OpenAlex's disambiguated form.
        raw = authorship.get("raw_author_name") or author.get("display_name")
        name = clean_name(raw) if isinstance(raw, str) else ""
        if not name:
            continue
        authors.append(Author(name, _affiliation(authorship), _orcid(author.get("orcid"))))
    return authors


def _affiliation(authorship: dict[str, Any]) -> str | None:
    for institution in authorship.get("institutions") or []:
        if isinstance(institution, dict) and isinstance(institution.get("display_name"), str):
            return clean_text(institution["display_name"]) or None
    # No matched institution: the affiliation string as printed is still worth keeping.
    for raw in authorship.get("raw_affiliation_strings") or []:
        if isinstance(raw, str) and clean_text(raw):
            return clean_text(raw)
    return None


def _orcid(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    for prefix in _ORCID_PREFIXES:
        value = value.removeprefix(prefix)
    return value


def _locations(work: dict[str, Any]) -> list[dict[str, Any]]:
    found = [work.get("primary_location"), work.get("best_oa_location")]
    found.extend(work.get("locations") or [])
    return [location for location in found if isinstance(location, dict)]


def _arxiv_id(work: dict[str, Any]) -> str | None:
    ids = work.get("ids")
    candidates = [ids.get("arxiv")] if isinstance(ids, dict) else []
    for location in _locations(work):
        candidates.extend(
            (location.get("id"), location.get("landing_page_url"), location.get("pdf_url"))
        )
    for candidate in candidates:
        # Only strings that name arXiv: a bare "1234.5678" elsewhere may be anything.
        if isinstance(candidate, str) and "arxiv" in candidate.lower():
            arxiv_id = normalize_arxiv_id(candidate)
            if arxiv_id:
                return arxiv_id
    return None


def _links(work: dict[str, Any], arxiv_id: str | None, doi: str | None) -> dict[str, str]:
    links: dict[str, str] = {}
    if arxiv_id:
        links["abs"] = f"https://arxiv.org/abs/{arxiv_id}"
        links["pdf"] = f"https://arxiv.org/pdf/{arxiv_id}"
    else:
        for location in _locations(work):
            pdf = location.get("pdf_url")
            if isinstance(pdf, str) and pdf.startswith("http"):
                links["pdf"] = pdf
                break
    if doi:
        links["doi"] = f"https://doi.org/{doi}"
    return links


def _journal_ref(work: dict[str, Any]) -> str | None:
    """Journal, volume and pages ("Neurocomputing 452, 48-62") of the primary location."""
    location = work.get("primary_location")
    source = location.get("source") if isinstance(location, dict) else None
    if not isinstance(source, dict) or source.get("type") not in ("journal", "conference"):
        return None  # repositories (arXiv, PubMed) and unknown sources are not a venue
    name = source.get("display_name")
    if not isinstance(name, str) or not clean_text(name):
        return None
    ref = clean_text(name)
    biblio = work.get("biblio") if isinstance(work.get("biblio"), dict) else {}
    volume, issue = biblio.get("volume"), biblio.get("issue")
    first, last = biblio.get("first_page"), biblio.get("last_page")
    if volume:
        ref += f" {volume}" + (f"({issue})" if issue else "")
    if first:
        ref += f", {first}" + (f"-{last}" if last and last != first else "")
    return ref


def _date(value: Any) -> str | None:
    return parse_date(value) if isinstance(value, str) else None


def _year(value: Any) -> str | None:
    """`publication_year` alone is a year (`paperscope.dates`), not 1 January."""
    return f"{value:04d}" if isinstance(value, int) and 0 < value < 10000 else None


register(OpenAlexImporter())
