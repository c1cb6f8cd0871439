"""An author-profile page of a paper-discovery site, copied from the browser as plain text.

Each paper takes three lines (blank lines, if any, are ignored)::

    LGSep 14, 2022
    Federated Pruning: ... with Federated LearningRongmei Lin, Yonghui Xiao, Tien-Ju Yang et al.
    Automatic Speech Recognition models require ...

The first line glues the short arXiv category code to the date. The second glues the title to
the author list: the page renders them in two elements and the copy loses the break between
them, so "...Federated Learning" + "Rongmei Lin" becomes "LearningRongmei". Splitting them back
is the hard part; see `split_title_authors`. An optional " · org" ends the author line; the
abstract (truncated by the site) follows.

The page never names its owner, but every listed paper is theirs, so the owner is the name that
occurs in the most author lists (`infer_owner`). Names seen on the page, the owner's first, are
the surest way to find where a title ends. Finding the owner needs every author line before the
first paper can be split, so this importer reads the whole page: a profile page is a few hundred
lines at most.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from paperscope.ingest.importers import jsonsafe
from paperscope.ingest.registry import register
from paperscope.model import Author, BadRecord, Item, Paper
from paperscope.normalize import (
    clean_abstract,
    clean_name,
    clean_text,
    name_key,
    parse_date,
    tex_to_unicode,
)

NAME = "page-author-profile"

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DATE = rf"{_MONTH}\.? \d{{1,2}}, \d{{4}}"
# The code is matched lazily so "MLMay 22, 2018" gives "ML" + "May ..." and not "M" + "LMay".
# Parsing accepts a date without a code (a paper the site has no category for); the sniffer
# insists on the glued code, which is what makes the page recognisable.
_HEAD_RE = re.compile(rf"^(?P<code>[A-Za-z][A-Za-z.\-]{{0,11}}?)?(?P<date>{_DATE})$")
# A line that is trying to be a category+date line but is not one ("LG Mar 2, 2021", "LGMar 42,
# 2021"): it still starts a paper, reported as bad, so the lines after it do not run into the
# previous paper's abstract.
_LOOSE_HEAD_RE = re.compile(rf"^[A-Za-z.\-]{{0,12}}\s*{_MONTH}\b.{{0,12}}\d{{4}}$")
_SNIFF_RE = re.compile(rf"^[A-Za-z][A-Za-z.\-]{{0,11}}?{_DATE}\r?$", re.M)

#: Short codes the site shows, mapped to arXiv categories where the code names one archive only
#: ("DS" could be cs.DS or math.DS, "GT" cs.GT or math.GT: those stay as shown).
CATEGORY_CODES = {
    "AI": "cs.AI",
    "AS": "eess.AS",
    "CL": "cs.CL",
    "CR": "cs.CR",
    "CV": "cs.CV",
    "CY": "cs.CY",
    "DB": "cs.DB",
    "DC": "cs.DC",
    "GR": "cs.GR",
    "HC": "cs.HC",
    "IR": "cs.IR",
    "IV": "eess.IV",
    "LG": "cs.LG",
    "MA": "cs.MA",
    "ME": "stat.ME",
    "ML": "stat.ML",
    "MM": "cs.MM",
    "NE": "cs.NE",
    "OC": "math.OC",
    "PL": "cs.PL",
    "RO": "cs.RO",
    "SD": "cs.SD",
    "SE": "cs.SE",
    "SI": "cs.SI",
}

_ORG_SEP = " \u00b7 "  # " · organisation" after the author list
_ET_AL_RE = re.compile(r"\s*,?\s*et\s+al\.?\s*$")
# Lower-case words that belong inside a name ("Ludwig van Beethoven", "Vicente del Bosque").
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "dos", "das"}
_PARTICLES |= {"la", "le", "ter", "ten", "bin", "ibn", "al", "el", "y"}
# Name prefixes that put a capital inside a word: McDonald, MacLeod, LeCun, DeLiang, DiCaprio.
_CAMEL_PREFIXES = ("Mac", "Mc", "De", "Di", "Da", "Du", "La", "Le", "Van", "Von", "Fitz")
_APOSTROPHES = "'\u2019"
# Characters that continue a name, so a known name right after them is only part of a longer
# one ("Tien-Ju Yang" must not be cut after "Tien-" because "Ju Yang" is known).
_NAME_JOINERS = "-." + _APOSTROPHES
_MAX_NAME_WORDS = 5
_MAX_NAME_CHARS = 80


class PageProfileImporter:
    name: ClassVar[str] = NAME
    description: ClassVar[str] = (
        "Author-profile page copied as text (category+date / title+authors / abstract lines)"
    )

    def sniff(self, head: bytes, filename: str) -> int | None:
        text = head.decode("utf-8", errors="replace")
        if text.count("\x00") * 100 > len(text):  # binary or UTF-16; a stray NUL is a bad record
            return None
        heads = _SNIFF_RE.findall(text)
        if not heads:
            return None
        # A glued header followed by a line that ends in an author list is the page's shape.
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        shaped = sum(
            1
            for i, line in enumerate(lines[:-1])
            if _HEAD_RE.match(line) and _looks_like_author_line(lines[i + 1])
        )
        if shaped >= 2:
            return 85
        return 60 if shaped == 1 else None

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        blocks = list(_blocks(_text_lines(stream)))
        owner = _owner_of(block.author_line for block in blocks if block.author_line)
        known = _known_names(block.author_line for block in blocks if block.author_line)
        if owner:
            known.add(owner)
        for block in blocks:
            yield _paper(block, owner, known)


# ---------------------------------------------------------------- page structure


@dataclass(slots=True)
class _Block:
    line: int  # line number of the category+date line
    head: str  # that line as shown, for messages
    code: str
    date: str
    author_line: str | None = None  # title glued to authors
    author_line_no: int = 0
    abstract: str = ""


def _text_lines(stream: BinaryIO) -> Iterator[str]:
    # utf-8-sig drops a BOM; universal newlines cope with pages saved on Windows.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors=jsonsafe.MARK_ERRORS, newline=None)
    for line in text:
        yield line.rstrip("\n")


def _blocks(lines: Iterable[str]) -> Iterator[_Block]:
    """One block per category+date line; text before the first one is page chrome."""
    block: _Block | None = None
    abstract: list[str] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        head = _HEAD_RE.match(line)
        if head or _LOOSE_HEAD_RE.match(line):
            if block:
                block.abstract = " ".join(abstract)
                yield block
            code, day = (head.group("code") or "", head.group("date")) if head else ("", line)
            block = _Block(number, line, code, day)
            abstract = []
        elif block is None:
            continue
        elif block.author_line is None:
            block.author_line, block.author_line_no = line, number
        else:
            abstract.append(line)
    if block:
        block.abstract = " ".join(abstract)
        yield block


def _paper(block: _Block, owner: str | None, known: set[str]) -> Paper | BadRecord:
    where = f"line {block.line}"
    if block.author_line is None:
        return BadRecord(where, "a category/date line with no title and authors after it")
    published = parse_date(block.date)
    if not published:
        return BadRecord(where, f"unreadable category/date line {block.head!r}")
    line, organization = _split_org(block.author_line)
    split = split_title_authors(line, known)
    if split is None:
        message = f"cannot tell the title from the authors in {line!r}"
        return BadRecord(f"line {block.author_line_no}", message)
    title, names, complete = split
    paper = Paper(
        title=clean_text(tex_to_unicode(title)),
        abstract=clean_abstract(block.abstract),
        authors=[Author(clean_name(name)) for name in names],
        categories=[CATEGORY_CODES.get(block.code, block.code)] if block.code else [],
        published=published,
        sources=[NAME],
        organization=organization,
        authors_complete=complete,
    )
    if owner:
        # Every paper of a profile is the owner's, even when the shown list stops ("et al.")
        # before reaching them: record them as an author, so `au:` search and the author page
        # agree. Their place in the full list is unknown, so they go last; a later import of
        # the complete list replaces this one (merging keeps the longer, complete list).
        if not any(name_key(author.name) == name_key(owner) for author in paper.authors):
            paper.authors.append(Author(clean_name(owner)))
        paper.external_ids["profile_owner"] = owner
    return paper


def _split_org(line: str) -> tuple[str, str | None]:
    """("...Tien-Ju Yang et al.", "amazon-science") from "... et al. · amazon-science"."""
    head, sep, tail = line.rpartition(_ORG_SEP)
    if sep and tail.strip() and "," not in tail:
        return head.rstrip(), tail.strip()
    return line, None


# ---------------------------------------------------------------- title / author split


def split_title_authors(line: str, known: Iterable[str] = ()) -> tuple[str, list[str], bool] | None:
    """(title, author names, complete) from a title glued to its comma-separated author list.

    The glue sits in the first comma-separated segment, or a later one when the title itself
    has commas; every segment after it must be a plausible name. Inside that segment the first
    author starts at a capital letter that does not follow a space: a name known from the page
    is taken first, otherwise the earliest such capital after which a plausible name follows
    ("ExtractionRyan McDonald" gives "Ryan McDonald", not "Donald"). Titles ending in an
    acronym or digit work because "BERTJohn" or "4John" is not a name word. None when no split
    fits.
    """
    line = clean_text(line)
    body = _ET_AL_RE.sub("", line)
    complete = body == line
    segments = [s.strip() for s in body.split(",")]
    known_names = sorted({clean_text(k) for k in known if k}, key=len, reverse=True)
    for index, segment in enumerate(segments):
        rest = segments[index + 1 :]
        if not all(_plausible_name(name) for name in rest):
            continue
        cut = _glue_point(segment, known_names)
        if cut is None:
            continue
        title = ", ".join([*segments[:index], segment[:cut]]).strip()
        if not title:
            continue
        return title, [segment[cut:], *rest], complete
    return None


def _glue_point(segment: str, known: list[str]) -> int | None:
    """Where the first author's name starts in "title + name"; None when nowhere fits."""
    for name in known:
        start = len(segment) - len(name)
        if start > 0 and segment.endswith(name):
            before = segment[start - 1]
            if not before.isspace() and before not in _NAME_JOINERS:
                return start
    for start in range(1, len(segment)):
        if (
            segment[start].isupper()
            and not segment[start - 1].isspace()
            and _plausible_name(segment[start:])
        ):
            return start
    return None


def _plausible_name(text: str) -> bool:
    """Does `text` read as one person's name: a few capitalised words, initials, particles?"""
    if len(text) > _MAX_NAME_CHARS:
        return False
    words = text.split()
    if not words or len(words) > _MAX_NAME_WORDS:
        return False
    if words[-1] in _PARTICLES or not any(w[0].isupper() for w in words):
        return False
    return all(w in _PARTICLES or _name_word(w) for w in words)


def _name_word(word: str) -> bool:
    return all(_name_part(part) for part in word.split("-"))


def _name_part(part: str) -> bool:
    """One hyphen-free piece of a name word: "J.", "LIU", "Yang", "O'Keefe", "McDonald"."""
    core = part.rstrip(".")
    if not core or not core[0].isupper():
        return False
    if len(core) == 1 or (core.isalpha() and core.isupper()):
        return True  # an initial, or a family name in capitals
    if len(core) > 2 and core[1] in _APOSTROPHES:
        core = core[2:]  # O'Keefe, D'Angelo
    else:
        for prefix in _CAMEL_PREFIXES:
            if core.startswith(prefix) and len(core) > len(prefix) and core[len(prefix)].isupper():
                core = core[len(prefix) :]
                break
    tail = core[1:]
    return core[0].isupper() and all(ch.islower() or ch in _APOSTROPHES for ch in tail)


def _looks_like_author_line(line: str) -> bool:
    line, _ = _split_org(line)
    return split_title_authors(line) is not None


# ---------------------------------------------------------------- the page owner


def infer_owner(text: str) -> str | None:
    """The profile's owner: the name in the most author lists of a copied profile page.

    None when the page holds no paper or two names tie for the most lists (a profile with
    one paper, or two people who wrote everything together, does not say whose page it is).
    """
    lines = (line for line in text.splitlines())
    return _owner_of(block.author_line for block in _blocks(lines) if block.author_line)


def _owner_of(author_lines: Iterable[str]) -> str | None:
    author_lines = list(author_lines)
    known = _known_names(author_lines)
    counts: Counter[str] = Counter()
    for raw in author_lines:
        split = split_title_authors(_split_org(raw)[0], known)
        if split:
            counts.update({clean_name(name) for name in split[1]})
    ranked = counts.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def _known_names(author_lines: Iterable[str]) -> set[str]:
    """Names that stand alone on the page: every author but the first of each list, whose name
    is glued to the title. These are found without splitting any title."""
    names: set[str] = set()
    for raw in author_lines:
        body = _ET_AL_RE.sub("", clean_text(_split_org(raw)[0]))
        segments = [s.strip() for s in body.split(",")][1:]
        # Only the trailing run of plausible names: earlier segments may be pieces of a title.
        for segment in reversed(segments):
            if not _plausible_name(segment):
                break
            names.add(segment)
    return names


register(PageProfileImporter())
