"""A Hugging Face Daily Papers search page, copied from the browser as plain text.

After the page chrome ("Get trending papers in your email inbox!", "Subscribe", the date
picker ...) every paper is three blank-separated paragraphs, in HF's ranking order::

    Conda: Column-Normalized Adam for Training Large Language Models Faster

    Large language models (LLMs) have demonstrated ...   (abstract, truncated by the site)

      • 9 authors                  or an organisation: "naver-ai NAVER AI Lab"
    ·
    Sep 28                         a day of the current year, or "Nov 23, 2019"; an upvote
                                   count may follow on the same line: "Aug 5 3",
                                   "Aug 5 1.2k"

The page shows no author names, only their number. The "·" paragraph is what anchors a paper:
the two paragraphs before it are its title and abstract, anything earlier is chrome. Between
two papers, paragraphs with no author or date line in them are one abstract shown in parts. The
position on the page is kept as ``external_ids["page_rank"]`` for search-quality benchmarks.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from typing import BinaryIO, ClassVar

from paperscope.ingest.importers import jsonsafe
from paperscope.ingest.registry import register
from paperscope.model import BadRecord, Item, Paper
from paperscope.normalize import clean_abstract, clean_text, parse_date, tex_to_unicode

NAME = "page-hf-search"

_DOT = "\u00b7"
_AUTHORS_RE = re.compile(r"^\u2022\s*(\d+)\s+authors?$")
# Upvotes as HF prints them: "3", "1,234" or, past a thousand, "1.2k".
_UPVOTES = r"\d[\d,]*(?:\.\d+)?[kK]?"
_DATE_RE = re.compile(
    rf"^(?P<date>[A-Z][a-z]{{2,8}}\.? \d{{1,2}}(?:, \d{{4}})?)(?: (?P<upvotes>{_UPVOTES}))?$"
)
_SNIFF_AUTHORS_RE = re.compile(rb"^[ \t]*\xe2\x80\xa2[ \t]*\d+ authors?\r?$", re.M)
_SNIFF_DOT_DATE_RE = re.compile(
    rb"^\xc2\xb7\r?\n[A-Z][a-z]{2,8}\.? \d{1,2}(?:, \d{4})?(?: \d[\d,.]*[kK]?)?\r?$", re.M
)
# An org slug as HF shows it before the display name: "naver-ai", "facebook", "Qwen".
_ORG_RE = re.compile(r"^(?P<slug>[A-Za-z0-9][\w.\-]*)(?:\s+(?P<display>.+))?$")

#: (line number, text) for each line of a blank-separated paragraph.
_Paragraph = list[tuple[int, str]]


class PageHFSearchImporter:
    name: ClassVar[str] = NAME
    description: ClassVar[str] = "Hugging Face Daily Papers search page copied as text"

    def __init__(self, today: date | None = None) -> None:
        # "Oct 7" is a day of the current year; a fixed `today` makes parsing reproducible.
        self.today = today

    def sniff(self, head: bytes, filename: str) -> int | None:
        anchors = len(_SNIFF_DOT_DATE_RE.findall(head))
        if not anchors:
            return None
        counts = len(_SNIFF_AUTHORS_RE.findall(head))
        if counts and anchors >= 2:
            return 85
        return 65 if counts else 40

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        pending: list[_Paragraph] = []
        rank = 0
        for paragraph in _paragraphs(stream):
            if not any(text == _DOT for _, text in paragraph):
                pending.append(paragraph)
                continue
            # Before the first paper the extra paragraphs are page chrome; later they are text
            # the page layout does not explain (a paper whose "·" line was lost), reported
            # rather than silently dropped.
            if rank and len(pending) > 2 and not any(_is_meta(stray) for stray in pending):
                # An abstract the page shows in several paragraphs, not a lost "·": nothing
                # between two papers looks like an author/date line.
                pending = [pending[0], [line for stray in pending[1:] for line in stray]]
            extra, pending = pending[:-2], pending[-2:]
            if rank and extra:
                yield BadRecord(
                    f"line {extra[0][0][0]}",
                    f"{len(extra)} paragraph(s) that are not a paper: {extra[0][0][1][:80]!r}",
                )
                # a paper that lost its "·" still held a place in the ranking
                rank += sum(1 for stray in extra if _AUTHORS_RE.match(stray[0][1]))
            rank += 1
            yield self._paper(pending, paragraph, rank)
            pending = []
        if len(pending) >= 2:
            # A title and abstract with no author/date line after them: a page cut short.
            yield BadRecord(f"line {pending[-2][0][0]}", "paper without its author/date line")

    def _paper(self, text: list[_Paragraph], meta: _Paragraph, rank: int) -> Paper | BadRecord:
        where = f"line {meta[0][0]}"
        if not text:
            return BadRecord(where, "author/date line with no title before it")
        lines = [line for _, line in meta]
        if len(lines) != 3 or lines[1] != _DOT:
            return BadRecord(where, f"expected authors, '·', date; got {lines!r}")
        found = _DATE_RE.match(lines[2])
        published = parse_date(found.group("date"), today=self.today) if found else None
        if not found or not published:
            return BadRecord(f"line {meta[2][0]}", f"unreadable date line {lines[2]!r}")
        title = " ".join(line for _, line in text[0])
        abstract = " ".join(line for _, line in text[1]) if len(text) > 1 else ""
        paper = Paper(
            title=clean_text(tex_to_unicode(title)),
            abstract=clean_abstract(abstract),
            published=published,
            sources=[NAME],
            authors_complete=False,
            external_ids={"page_rank": str(rank)},
        )
        if found.group("upvotes"):
            paper.upvotes = _upvotes(found.group("upvotes"))
        count = _AUTHORS_RE.match(lines[0])
        if count:
            paper.author_count = int(count.group(1))
            return paper
        org = _ORG_RE.match(lines[0])
        if not org:
            return BadRecord(where, f"neither an author count nor an organisation: {lines[0]!r}")
        paper.organization = clean_text(org.group("display") or org.group("slug"))
        paper.external_ids["hf_org"] = org.group("slug")
        return paper


def _is_meta(paragraph: _Paragraph) -> bool:
    """Whether a paragraph holds an author count or a date line, as a paper's "·" block does."""
    return any(_AUTHORS_RE.match(text) or _DATE_RE.match(text) for _, text in paragraph)


def _upvotes(shown: str) -> int:
    """ "1,234" -> 1234, "1.2k" -> 1200 (HF abbreviates thousands)."""
    shown = shown.replace(",", "")
    if shown[-1] in "kK":
        return round(float(shown[:-1]) * 1000)
    return int(float(shown))


def _paragraphs(stream: BinaryIO) -> Iterator[_Paragraph]:
    """Blank-line separated paragraphs of stripped lines, with their 1-based line numbers."""
    # utf-8-sig drops a BOM; universal newlines cope with pages saved on Windows.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors=jsonsafe.MARK_ERRORS, newline=None)
    paragraph: _Paragraph = []
    for number, raw in enumerate(text, 1):
        line = raw.strip()
        if line:
            paragraph.append((number, line))
        elif paragraph:
            yield paragraph
            paragraph = []
    if paragraph:
        yield paragraph


register(PageHFSearchImporter())
