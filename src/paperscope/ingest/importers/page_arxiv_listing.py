"""An arXiv search or author listing page, copied from the browser as plain text.

Papers are separated by "-" lines (the list bullets); each reads::

    -
    MMTok: Multimodal Coverage Maximization for Efficient Inference of VLMs
    Authors:
    Sixun Dong,
    Juhua Hu,
    Qi Qian
    Abstract:
    Vision-Language Models (VLMs) demonstrate ... (vision…     the truncated teaser
    ▽ More
    Vision-Language Models (VLMs) demonstrate ...               the full abstract
    △ Less
    Submitted 16 November, 2023; v1 submitted 25 April, 2023;
    originally announced April 2023.

The "Submitted" date is the latest version's; "v1 submitted" (shown only for revised papers)
is the first. A copy that kept the listing's id line ("arXiv:2508.18264 [pdf, other]") or its
"Comments:" / "Journal ref:" lines gives those too.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import BinaryIO, ClassVar

from paperscope.ingest.importers import jsonsafe
from paperscope.ingest.registry import register
from paperscope.model import Author, BadRecord, Item, Paper
from paperscope.normalize import (
    clean_abstract,
    clean_text,
    find_arxiv_id,
    parse_date,
    split_authors,
    tex_to_unicode,
)

NAME = "page-arxiv-listing"

_MORE = "\u25bd More"
_LESS = "\u25b3 Less"
# (?!\d): "20245" is not the year 2024 followed by a 5
_DAY = r"\d{1,2} [A-Za-z]+,? \d{4}(?!\d)"
_SUBMITTED_RE = re.compile(
    rf"^Submitted (?P<last>{_DAY})\s*;?(?:\s*v1 submitted (?P<first>{_DAY})\s*;?)?", re.I
)
_ID_RE = re.compile(r"^arXiv:\s*\S+")
_SNIFF_SUBMITTED_RE = re.compile(rb"^Submitted \d{1,2} [A-Za-z]+,? \d{4};", re.M)
_SNIFF_LABEL_RE = re.compile(rb"^(?:Authors|Abstract):\r?$", re.M)

#: (line number, text) for each line of one paper's block.
_Block = list[tuple[int, str]]


class PageArxivListingImporter:
    name: ClassVar[str] = NAME
    description: ClassVar[str] = "arXiv search/author listing page copied as text"

    def sniff(self, head: bytes, filename: str) -> int | None:
        submitted = len(_SNIFF_SUBMITTED_RE.findall(head))
        labels = len(_SNIFF_LABEL_RE.findall(head))
        if not submitted or labels < 2:
            return None
        toggles = _MORE.encode() in head or _LESS.encode() in head
        return 90 if toggles else 70

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        for block in _blocks(stream):
            labels = {text for _, text in block}
            if "Authors:" not in labels and "Abstract:" not in labels:
                continue  # page chrome before the first paper ("Showing 1–20 of 20 results")
            yield _paper(block)


def _blocks(stream: BinaryIO) -> Iterator[_Block]:
    """The lines between "-" separator lines, blank lines dropped."""
    # utf-8-sig drops a BOM; universal newlines cope with pages saved on Windows.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors=jsonsafe.MARK_ERRORS, newline=None)
    block: _Block = []
    for number, raw in enumerate(text, 1):
        line = raw.strip()
        if line == "-":
            if block:
                yield block
            block = []
        elif line:
            block.append((number, line))
    if block:
        yield block


def _paper(block: _Block) -> Paper | BadRecord:
    where = f"line {block[0][0]}"
    try:
        sections = _sections(block)
    except _Bad as exc:
        return BadRecord(where, str(exc))
    title = clean_text(tex_to_unicode(" ".join(sections["title"])))
    if not title:
        return BadRecord(where, "a paper without a title")
    submitted = next((m for m in map(_SUBMITTED_RE.match, sections["dates"]) if m), None)
    if not submitted:
        return BadRecord(where, f"no readable 'Submitted' date for {title!r}")
    updated = parse_date(submitted.group("last"))
    published = parse_date(submitted.group("first")) if submitted.group("first") else updated
    if not updated or not published:
        return BadRecord(where, f"unreadable date line {submitted.group(0)!r}")
    paper = Paper(
        title=title,
        abstract=clean_abstract(_abstract(sections)),
        authors=[Author(name) for line in sections["authors"] for name in split_authors(line)],
        published=published,
        updated=updated,
        sources=[NAME],
    )
    for line in sections["id"]:
        paper.arxiv_id = paper.arxiv_id or find_arxiv_id(line)
    if paper.arxiv_id:
        paper.links["abs"] = f"https://arxiv.org/abs/{paper.arxiv_id}"
        paper.links["pdf"] = f"https://arxiv.org/pdf/{paper.arxiv_id}"
    if sections["comment"]:
        paper.comment = clean_text(" ".join(sections["comment"]))
    if sections["journal"]:
        paper.journal_ref = clean_text(" ".join(sections["journal"]))
    return paper


class _Bad(Exception):
    """A block that cannot be read as one paper; the message says why."""


def _sections(block: _Block) -> dict[str, list[str]]:
    """Sort a block's lines into title, authors, teaser, full abstract, dates and extras."""
    sections: dict[str, list[str]] = {
        key: [] for key in ("id", "title", "authors", "teaser", "full", "dates", "comment")
    }
    sections["journal"] = []
    state = "title"
    for number, line in block:
        if _ID_RE.match(line) and state == "title" and not sections["title"]:
            sections["id"].append(line)
            continue
        if line == "Authors:":
            if state != "title":
                # two papers run together: the "-" between them was lost
                raise _Bad(f"line {number}: a second 'Authors:' in one paper")
            state = "authors"
        elif line == "Abstract:":
            state = "teaser"
        elif line == _MORE or line.endswith(" " + _MORE):
            if state == "teaser":
                sections["teaser"].append(line[: -len(_MORE)])
            state = "full"
        elif line == _LESS or line.endswith(" " + _LESS):
            if state == "full":
                sections["full"].append(line[: -len(_LESS)])
            state = "after"
        elif _SUBMITTED_RE.match(line):
            sections["dates"].append(line)
            state = "after"
        elif line.startswith("Comments:"):
            sections["comment"].append(line.removeprefix("Comments:"))
            state = "comment"
        elif line.startswith("Journal ref:"):
            sections["journal"].append(line.removeprefix("Journal ref:"))
            state = "journal"
        elif state in ("title", "authors", "teaser", "full", "comment", "journal"):
            # a paragraph inside the full abstract, a wrapped title or comment
            sections[state].append(line)
    return sections


def _abstract(sections: dict[str, list[str]]) -> str:
    # The teaser before "▽ More" is cut at ~400 characters; the text after it is complete.
    lines = sections["full"] or sections["teaser"]
    return "\n\n".join(line for line in lines if line.strip())


register(PageArxivListingImporter())
