"""Hugging Face Papers API JSON: /api/daily_papers, /api/papers/{id} and /api/papers/search.

The list endpoints wrap each paper as ``{"paper": {...}, "title": ..., "publishedAt": ...}``;
the detail endpoint returns the paper object itself. Papers are arXiv papers: the HF id is the
arXiv id. `parse_json` works on already decoded JSON so the live harvester can reuse it.
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
    clean_abstract,
    clean_name,
    clean_text,
    normalize_arxiv_id,
    parse_date,
    tex_to_unicode,
)

NAME = "hf-papers"

#: Keys only the HF papers API uses; any of them plus "upvotes" is a precise match.
_HF_KEYS = (b'"discussionId"', b'"submittedOnDailyAt"', b'"submittedOnDailyBy"')


class HuggingFacePapersImporter:
    name: ClassVar[str] = NAME
    description: ClassVar[str] = "Hugging Face Papers API JSON (daily papers, paper, search)"

    def sniff(self, head: bytes, filename: str) -> int | None:
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if start not in (b"[", b"{"):
            return None
        if b'"paperId"' in head or b"openalex.org/W" in head:
            return None  # Semantic Scholar / OpenAlex records
        has_upvotes = b'"upvotes"' in head
        if has_upvotes and any(key in head for key in _HF_KEYS):
            return 90
        if has_upvotes and b'"publishedAt"' in head and b'"summary"' in head:
            return 60
        return None

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        try:
            data, cut = jsonsafe.loads_cut(stream.read())
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{origin}: not valid JSON ({exc})") from exc
        yield from parse_json(data, origin)
        if cut:  # a download cut short: the whole records before it landed
            yield jsonsafe.cut_record(f"record {cut}")


def parse_json(obj: Any, origin: str) -> Iterator[Item]:
    """Items from a decoded HF papers response: a list of entries, one entry or one paper."""
    if isinstance(obj, list):
        for number, entry in enumerate(obj, 1):
            yield _entry_item(entry, f"record {number}")
        return
    if isinstance(obj, dict):
        if "error" in obj and "id" not in obj:
            raise InputError(f"{origin}: Hugging Face API error: {obj['error']}")
        if "paper" in obj or "id" in obj:
            yield _entry_item(obj, "record 1")
            return
    raise InputError(f"{origin}: not a Hugging Face papers response")


def _entry_item(entry: Any, where: str) -> Paper | BadRecord:
    if not isinstance(entry, dict):
        return BadRecord(where, "not a JSON object")
    paper = entry.get("paper")
    if isinstance(paper, dict):
        # The wrapper repeats title/summary/publishedAt; the inner paper object is the
        # authority (the wrapper's publishedAt is shifted by a time zone), the wrapper fills gaps.
        return _paper(paper, entry, where)
    if "id" in entry:
        return _paper(entry, {}, where)
    return BadRecord(where, "no paper object")


def _paper(paper: dict[str, Any], outer: dict[str, Any], where: str) -> Paper | BadRecord:
    ident = paper.get("id")
    title = paper.get("title") or outer.get("title")
    if not ident or not isinstance(ident, str):
        return BadRecord(where, "paper has no id")
    if not title or not isinstance(title, str):
        return BadRecord(where, f"paper {ident} has no title")
    arxiv_id = normalize_arxiv_id(ident)
    links: dict[str, str] = {}
    if arxiv_id:
        links["abs"] = f"https://arxiv.org/abs/{arxiv_id}"
        links["pdf"] = f"https://arxiv.org/pdf/{arxiv_id}"
    code = paper.get("githubRepo")
    if isinstance(code, str) and code.strip():
        links["code"] = code.strip()
    project = paper.get("projectPage")
    if isinstance(project, str) and project.strip():
        links["project"] = project.strip()
    upvotes = paper.get("upvotes")
    # The summary is the arXiv abstract; the generated "ai_summary" is deliberately not used.
    summary = paper.get("summary") or outer.get("summary")
    return Paper(
        title=clean_text(tex_to_unicode(title)),
        abstract=clean_abstract(summary if isinstance(summary, str) else ""),
        authors=_authors(paper.get("authors")),
        published=_date(paper.get("publishedAt")) or _date(outer.get("publishedAt")),
        arxiv_id=arxiv_id,
        links=links,
        sources=[NAME],
        upvotes=upvotes if isinstance(upvotes, int) else None,
        organization=_organization(paper.get("organization") or outer.get("organization")),
        external_ids={"hf": ident},
    )


def _authors(value: Any) -> list[Author]:
    authors = []
    for author in value if isinstance(value, list) else []:
        # "name" is the name on the paper; user.fullname is a profile name and may differ.
        name = author.get("name") if isinstance(author, dict) else None
        if isinstance(name, str) and (name := clean_name(name)):
            authors.append(Author(name))
    return authors


def _organization(value: Any) -> str | None:
    if isinstance(value, dict):
        name = value.get("fullname") or value.get("name")
        return (clean_text(name) or None) if isinstance(name, str) else None
    if isinstance(value, str):
        return clean_text(value) or None
    return None


def _date(value: Any) -> str | None:
    return parse_date(value) if isinstance(value, str) else None


register(HuggingFacePapersImporter())
