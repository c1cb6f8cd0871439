"""BibTeX and biblatex files (.bib): DBLP exports, reference-manager libraries, hand-kept lists.

A small hand-written tokenizer rather than a library: it reads the input line by line, cuts it
into blocks at every line that starts with ``@``, and parses the entries of one block at a time,
so a malformed entry costs only its own block and memory stays bounded by the largest entry.
It understands braced and quoted values with nested braces, ``#`` concatenation, numbers,
``@string`` macros (and the predefined month macros ``jan``..``dec``); ``@preamble`` and
``@comment`` are skipped, as are ``%`` comment lines between entries.

What becomes a paper:

- every entry with a title, except volumes: ``@proceedings``, ``@collection``, ``@periodical``
  (and their ``mv`` forms) are never yielded, referenced or not -- a volume is a container, not
  a paper. Their fields still feed ``crossref`` inheritance. ``@xdata`` and ``@set`` hold no
  work of their own and are skipped too.
- ``@book``/``@mvbook`` are standalone works and yielded, unless an entry read before them
  names them in ``crossref`` (BibTeX requires the target after the entries that use it), in
  which case they are containers like a proceedings volume.
- an entry with ``crossref`` waits until its target has been read (DBLP puts all proceedings at
  the end), then inherits the fields it lacks (the target's ``title`` as ``booktitle``; never
  the target's own identity: doi, url, eprint, isbn, abstract...). Such entries are therefore
  yielded when their target appears, not at their own position; when the target never appears
  they are yielded at the end of input as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from paperscope.errors import InputError
from paperscope.ingest.registry import register
from paperscope.model import Author, BadRecord, Item, Paper
from paperscope.normalize import (
    arxiv_id_from_doi,
    clean_abstract,
    clean_name,
    clean_text,
    find_arxiv_id,
    fold,
    month_number,
    normalize_arxiv_id,
    normalize_doi,
    parse_date,
    tex_to_unicode,
)

NAME = "bibtex"

#: Entry types that are volumes holding papers, never papers themselves.
_VOLUMES = frozenset(
    {"proceedings", "mvproceedings", "collection", "mvcollection", "periodical", "xdata", "set"}
)
#: Standalone works that are containers only when something crossrefs them first.
_BOOKS = frozenset({"book", "mvbook"})
#: Types whose fields are kept for entries that crossref them after they were read.
_TARGETS = _VOLUMES | _BOOKS | {"reference", "mvreference"}
_KNOWN_TYPES = frozenset(
    {
        "article",
        "inproceedings",
        "conference",
        "incollection",
        "inbook",
        "book",
        "booklet",
        "phdthesis",
        "mastersthesis",
        "thesis",
        "techreport",
        "report",
        "unpublished",
        "misc",
        "online",
        "manual",
        "proceedings",
        "collection",
        "string",
        "preamble",
        "comment",
    }
)
#: Fields that identify the target itself, so a crossref must not copy them.
_NOT_INHERITED = frozenset(
    {
        "title",
        "subtitle",
        "shorttitle",
        "doi",
        "url",
        "urldate",
        "eprint",
        "eprinttype",
        "archiveprefix",
        "primaryclass",
        "eprintclass",
        "isbn",
        "abstract",
        "keywords",
        "note",
        "file",
        "pdf",
        "crossref",
        "ids",
        "biburl",
        "bibsource",
        "timestamp",
    }
)
_MONTH_MACROS = {
    name[:3].lower(): name
    for name in (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    )
}

# ---------------------------------------------------------------- tokenizer

# A line that starts a new block: ``@`` at line start (after indentation) and a word.
_BLOCK_START_RE = re.compile(r"[ \t]*@[ \t]*[A-Za-z]")
_AT_RE = re.compile(r"@\s*([A-Za-z][\w-]*)\s*([{(])")
_WS_RE = re.compile(r"(?:\s|%[^\n]*)*")  # white space and biber-style % comments
_SIMPLE_FIELD_RE = re.compile(r"\s*([A-Za-z_][\w\-:.+/]*)[ \t]*=[ \t]*\{([^{}]*)\}[ \t]*,")
_NAME_RE = re.compile(r"[A-Za-z_][\w\-:.+/]*")
_NUMBER_RE = re.compile(r"\d+")
_MACRO_RE = re.compile(r"[A-Za-z_][^\s\"#%'(),={}]*")
_BRACES_RE = re.compile(r"[{}]")
_QUOTED_RE = re.compile(r'[{}"]')
_KEY_RES = {"}": re.compile(r"[^\s,{}]+"), ")": re.compile(r"[^\s,{})]+")}


class _Malformed(Exception):
    """An entry the tokenizer cannot read; `key` is set once the entry key was read."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


@dataclass(slots=True)
class _Entry:
    kind: str  # lower-cased entry type
    key: str
    fields: dict[str, str]  # lower-cased names -> raw TeX values, outer delimiters removed
    line: int


class _Tokenizer:
    """Turns blocks of BibTeX text into entries and bad records; keeps the @string macros."""

    def __init__(self) -> None:
        self.macros: dict[str, str] = dict(_MONTH_MACROS)
        self.saw_entry = False  # any @-construct at all, for telling BibTeX from other files

    def entries(self, blocks: Iterable[tuple[int, str]]) -> Iterator[_Entry | BadRecord]:
        for first_line, text in blocks:
            yield from self._block(first_line, text)

    def _block(self, first_line: int, text: str) -> Iterator[_Entry | BadRecord]:
        pos = 0
        while True:
            at = text.find("@", pos)
            if at < 0:
                return
            line_start = text.rfind("\n", 0, at) + 1
            if "%" in text[line_start:at]:  # a commented-out entry
                pos = text.find("\n", at) + 1 or len(text)
                continue
            match = _AT_RE.match(text, at)
            if not match:
                pos = at + 1
                continue
            self.saw_entry = True
            kind = match.group(1).lower()
            close = "}" if match.group(2) == "{" else ")"
            line = first_line + text.count("\n", 0, at)
            try:
                entry, pos = self._construct(text, match.end(), kind, close, line)
            except _Malformed as error:
                where = f"entry {error.key}" if error.key else f"line {line}"
                yield BadRecord(where, f"{error} (entry starting at line {line})")
                return  # resume at the next block: the next `@` at line start
            if entry is not None:
                yield entry

    def _construct(
        self, text: str, pos: int, kind: str, close: str, line: int
    ) -> tuple[_Entry | None, int]:
        if kind == "comment":
            return None, _skip_comment(text, pos, close)
        if kind == "preamble":
            _, pos = self._value(text, pos, "@preamble")
            return None, _expect_close(text, pos, close, "@preamble")
        if kind == "string":
            fields, pos = self._fields(text, pos, close, "")
            for name, value in fields.items():
                self.macros[name] = value
            return None, pos
        key, pos = _key(text, pos, close)
        fields, pos = self._fields(text, pos, close, key)
        return _Entry(kind, key, fields, line), pos

    def _fields(self, text: str, pos: int, close: str, key: str) -> tuple[dict[str, str], int]:
        fields: dict[str, str] = {}
        try:
            while True:
                simple = _SIMPLE_FIELD_RE.match(text, pos)
                if simple:  # fast path: `name = {no nested braces},`, most fields of most files
                    fields.setdefault(simple.group(1).lower(), simple.group(2))
                    pos = simple.end()
                    continue
                pos = _WS_RE.match(text, pos).end()
                char = _char(text, pos)
                if char == close:
                    return fields, pos + 1
                if char == ",":  # a stray or trailing comma
                    pos += 1
                    continue
                name_match = _NAME_RE.match(text, pos)
                if not name_match:
                    raise _Malformed(f"expected a field name, found {char!r}")
                name = name_match.group().lower()
                pos = _WS_RE.match(text, name_match.end()).end()
                if _char(text, pos) != "=":
                    raise _Malformed(f"expected '=' after field {name!r}")
                value, pos = self._value(text, pos + 1, name)
                fields.setdefault(name, value)  # BibTeX keeps the first of duplicate fields
                pos = _WS_RE.match(text, pos).end()
                char = _char(text, pos)
                if char == ",":
                    pos += 1
                elif char != close:
                    raise _Malformed(f"expected ',' or {close!r} after field {name!r}")
        except _Malformed as error:
            error.key = key
            raise

    def _value(self, text: str, pos: int, name: str) -> tuple[str, int]:
        """One field value: parts joined by ``#``, each braced, quoted, a number or a macro."""
        parts: list[str] = []
        while True:
            pos = _WS_RE.match(text, pos).end()
            char = _char(text, pos)
            if char == "{":
                end = _closing_brace(text, pos, name)
                parts.append(text[pos + 1 : end])
                pos = end + 1
            elif char == '"':
                end = _closing_quote(text, pos, name)
                parts.append(text[pos + 1 : end])
                pos = end + 1
            elif match := _NUMBER_RE.match(text, pos):
                parts.append(match.group())
                pos = match.end()
            elif match := _MACRO_RE.match(text, pos):
                # BibTeX reads an undefined macro as empty (with a warning).
                parts.append(self.macros.get(match.group().lower(), ""))
                pos = match.end()
            else:
                raise _Malformed(f"expected a value for field {name!r}, found {char!r}")
            pos = _WS_RE.match(text, pos).end()
            if pos < len(text) and text[pos] == "#":
                pos += 1
                continue
            return "".join(parts), pos


def _char(text: str, pos: int) -> str:
    if pos >= len(text):
        raise _Malformed("entry not closed: unbalanced braces or a missing '}'")
    return text[pos]


def _key(text: str, pos: int, close: str) -> tuple[str, int]:
    pos = _WS_RE.match(text, pos).end()
    match = _KEY_RES[close].match(text, pos)
    if not match:
        return "", pos  # no key: `@misc{,` or `@misc{}`
    after = _WS_RE.match(text, match.end()).end()
    if after < len(text) and text[after] == "=":
        return "", pos  # `@misc{title = ...`: the "key" was the first field name
    return match.group(), match.end()


def _closing_brace(text: str, pos: int, name: str) -> int:
    depth = 0
    for match in _BRACES_RE.finditer(text, pos):
        if match.group() == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return match.start()
    raise _Malformed(f"unbalanced braces in field {name!r}")


def _closing_quote(text: str, pos: int, name: str) -> int:
    depth = 0
    for match in _QUOTED_RE.finditer(text, pos + 1):
        char = match.group()
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                break
        elif depth == 0:
            return match.start()
    raise _Malformed(f"unbalanced braces or quotes in field {name!r}")


def _expect_close(text: str, pos: int, close: str, what: str) -> int:
    pos = _WS_RE.match(text, pos).end()
    if _char(text, pos) != close:
        raise _Malformed(f"expected {close!r} to end {what}")
    return pos + 1


def _skip_comment(text: str, pos: int, close: str) -> int:
    """Skip an @comment group; an unbalanced one is comment text to the end of the block."""
    depth = 1
    for index in range(pos, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}" or char == close:
            depth -= 1
            if depth == 0:
                return index + 1
    return len(text)


# ---------------------------------------------------------------- reading the stream


class _Lines:
    """Blocks of text, each starting at a line that begins with ``@``, with their line number.

    Text before the first such line is dropped up to a line holding an ``@`` (an entry starting
    mid-line); `saw_text` records whether it held anything but white space and % comments.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.saw_text = False

    def __iter__(self) -> Iterator[tuple[int, str]]:
        lines: list[str] = []
        first_line = 1
        started = False
        for number, raw in enumerate(self.stream, 1):
            line = _decode(raw)
            if number == 1:
                line = line.lstrip("\ufeff")
            if _BLOCK_START_RE.match(line):
                if lines:
                    yield first_line, "".join(lines)
                lines, first_line, started = [], number, True
            elif not started and not lines:
                stripped = line.strip()
                if stripped and not stripped.startswith("%"):
                    self.saw_text = True
                if "@" not in line:
                    continue
                first_line = number
            lines.append(line)
        if lines:
            yield first_line, "".join(lines)


def _decode(raw: bytes) -> str:
    # .bib files are mostly UTF-8, but older ones are Latin-1; decide line by line.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# ---------------------------------------------------------------- entries to papers

# Text macros tex_to_unicode leaves alone. Characters it would eat (braces, backslash, tilde)
# go through private-use placeholders and come back after it ran: DBLP writes math titles
# as `{\textdollar}{\textbackslash}mathrm\{AC\}{\^{}}0`.
_PLACEHOLDERS = {"\\": "\ue000", "{": "\ue001", "}": "\ue002", "~": "\ue003"}
_RESTORE = str.maketrans({v: k for k, v in _PLACEHOLDERS.items()})
_WORD_MACROS = {
    "hyphen": "-",
    "textendash": "–",
    "textemdash": "—",
    "ldots": "…",
    "dots": "…",
    "textquoteright": "’",
    "textquoteleft": "‘",
    "slash": "/",
    "textbackslash": _PLACEHOLDERS["\\"],
    "textbraceleft": _PLACEHOLDERS["{"],
    "textbraceright": _PLACEHOLDERS["}"],
    "textasciitilde": _PLACEHOLDERS["~"],
    "textasciicircum": "^",
    "textdollar": "$",
    "textunderscore": "_",
}
_MACRO_WORD_RE = re.compile(
    r"\\(?:(" + "|".join(_WORD_MACROS) + r")(?![A-Za-z])\s*(?:\{\})?"  # \hyphen{}
    r"|([{}])"  # \{ \}: literal braces
    r"|([\^~])\{\}"  # \^{} \~{}: a bare circumflex or tilde, not an accent
    r"|[-/])"  # \- discretionary hyphen, \/ italic correction
)


def _macro(match: re.Match[str]) -> str:
    if match.group(1):
        return _WORD_MACROS[match.group(1)]
    char = match.group(2) or match.group(3)
    return _PLACEHOLDERS.get(char, char) if char else ""


def _tex(value: str | None) -> str:
    """A display string from a raw TeX value: accents decoded, case braces and macros gone."""
    return clean_text(_untex(value))


def _untex(value: str | None) -> str:
    if not value:
        return ""
    if "\\" in value:
        value = _MACRO_WORD_RE.sub(_macro, value)
    return tex_to_unicode(value).translate(_RESTORE)


_WRAPPED_RE = re.compile(r"\s*\n\s*(?:>\s*)?")
_ESCAPED_RE = re.compile(r"\\([_%&#~$])")


def _verbatim(value: str | None) -> str:
    """URLs, DOIs and eprints are verbatim in BibTeX: drop braces, escapes and line breaks."""
    if not value:
        return ""
    if "\n" in value:
        value = _WRAPPED_RE.sub("", value)  # wrapped lines, even mail-quoted ones
    if "\\" in value:
        value = _ESCAPED_RE.sub(r"\1", value)
    return value.replace("{", "").replace("}", "").strip()


def _split_top(value: str, separator: re.Pattern[str]) -> list[str]:
    """Split at `separator` matches that lie outside braces."""
    parts: list[str] = []
    start = scanned = depth = 0
    for match in separator.finditer(value):
        # running brace depth, so long author lists (thousands of names) stay linear
        depth += value.count("{", scanned, match.start()) - value.count("}", scanned, match.start())
        scanned = match.start()
        if depth == 0:
            parts.append(value[start : match.start()])
            start = match.end()
    parts.append(value[start:])
    return parts


_AND_RE = re.compile(r"\s+and\s+", re.I)
_COMMA_RE = re.compile(r",")
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}


def _authors(value: str | None) -> tuple[list[Author], bool]:
    """Authors in order and whether the list is complete (``and others`` says it is not)."""
    if not value:
        return [], True
    authors: list[Author] = []
    complete = True
    for raw in _split_top(clean_text(value), _AND_RE):
        raw = raw.strip()
        if raw.lower() == "others":
            complete = False
            continue
        name = _person(raw)
        if name:
            authors.append(Author(name))
    return authors, complete


def _person(raw: str) -> str:
    """ "von Last, First", "von Last, Jr, First" or "First von Last" as "First von Last"."""
    parts = [p.strip() for p in _split_top(raw, _COMMA_RE)]
    if len(parts) == 2 and parts[1]:
        raw = f"{parts[1]} {parts[0]}"
    elif len(parts) >= 3:
        last, middle, first = parts[0], parts[1], ", ".join(parts[2:])
        if fold(first).strip(". ") in _SUFFIXES:  # "Morris, James Hiram, Jr": a common slip
            middle, first = first, middle
        raw = f"{first} {last} {middle}"
    # Decoded here so that clean_name sees no comma it would turn around.
    return clean_name(_tex(raw).replace(",", " "))


#: A year field: four digits, and the letter some styles add to tell apart a name's works of
#: one year ("2020a").
_YEAR_RE = re.compile(r"(\d{4})[a-z]?")


def _published(fields: dict[str, str]) -> str | None:
    date = _tex(fields.get("date"))
    if date:
        parsed = parse_date(date.split("/")[0].strip())
        if parsed:
            return parsed
    # The whole field must be the year: a search for four digits would read "12345" as 1234
    # and "in press" or "c. 1990" are not a year to date a paper by. No date beats a wrong one.
    year_match = _YEAR_RE.fullmatch(_tex(fields.get("year")).strip())
    if not year_match:
        return None
    # Only what the entry states: `year` alone is a year, with `month` a month, never 1 January.
    year = year_match.group(1)
    month = _month(_tex(fields.get("month")))
    if not month:
        return year
    day_text = _tex(fields.get("day"))
    if day_text.isdigit():
        day = parse_date(f"{year}-{month:02d}-{int(day_text):02d}")
        if day:
            return day
    return parse_date(f"{year}-{month:02d}")


def _month(text: str) -> int | None:
    if not text:
        return None
    word = text.split()[0]
    if word.isdigit():
        number = int(word)
        return number if 1 <= number <= 12 else None
    return month_number(word)


_ARXIV_NEW_RE = re.compile(r"^(?:arxiv:)?\d{4}\.\d{4,5}(?:v\d+)?$", re.I)


def _arxiv_id(fields: dict[str, str], doi: str | None, url: str) -> str | None:
    eprint = _verbatim(fields.get("eprint"))
    kind = _tex(fields.get("eprinttype") or fields.get("archiveprefix")).casefold()
    if eprint and (kind == "arxiv" or (not kind and _ARXIV_NEW_RE.match(eprint))):
        ident = normalize_arxiv_id(eprint)
        if ident:
            return ident
    journal = _tex(fields.get("journal") or fields.get("journaltitle"))
    volume = _verbatim(fields.get("volume"))
    if fold(journal) == "corr" and volume.lower().startswith("abs/"):
        ident = normalize_arxiv_id(volume[4:])
        if ident:
            return ident
    if fold(journal).startswith("arxiv"):  # "arXiv preprint arXiv:2301.12345"
        ident = find_arxiv_id(journal)
        if ident:
            return ident
    ident = arxiv_id_from_doi(doi)
    if ident:
        return ident
    if "arxiv.org/" in url:
        return normalize_arxiv_id(url)
    return None


def _is_preprint_venue(journal: str) -> bool:
    folded = fold(journal)
    return folded == "corr" or folded.startswith("arxiv")


def _journal_ref(kind: str, fields: dict[str, str]) -> str | None:
    """Where the work appeared, DBLP-style: "Algorithmica 86(7): 2130-2151 (2024)"."""
    pages = _tex((fields.get("pages") or "").replace("--", "-"))
    year = _tex(fields.get("year")) or _tex(fields.get("date")).split("-")[0]
    journal = _tex(fields.get("journal") or fields.get("journaltitle"))
    booktitle = _tex(fields.get("booktitle"))
    if journal:
        if _is_preprint_venue(journal):
            return None  # a CoRR listing is the preprint itself, not a publication
        ref = journal
        volume = _tex(fields.get("volume"))
        if volume:
            ref += f" {volume}"
        number = _tex(fields.get("number") or fields.get("issue"))
        if number:
            ref += f"({number})"
    elif booktitle:
        ref = booktitle
        series = _tex(fields.get("series"))
        if series:
            ref += f", {series}"
            volume = _tex(fields.get("volume"))
            if volume:
                ref += f" {volume}"
    elif kind in {"phdthesis", "mastersthesis", "thesis"}:
        label = {"phdthesis": "PhD thesis", "mastersthesis": "Master's thesis"}.get(kind, "Thesis")
        school = _tex(fields.get("school") or fields.get("institution"))
        return f"{label}, {school}" if school else label
    elif kind in {"techreport", "report"}:
        number = _tex(fields.get("number"))
        institution = _tex(fields.get("institution") or fields.get("publisher"))
        parts = [f"Technical report {number}" if number else "Technical report", institution]
        return ", ".join(p for p in parts if p)
    else:
        return None
    if pages:
        ref += f": {pages}"
    if year and year not in ref:
        ref += f" ({year})"
    return ref


def _inherit(entry: _Entry, target: dict[str, str]) -> None:
    """Copy the crossref target's fields the entry lacks (BibTeX and biblatex semantics)."""
    fields = entry.fields
    if "booktitle" not in fields and "title" in target:
        fields["booktitle"] = target["title"]
    for name, value in target.items():
        if name not in _NOT_INHERITED and name not in fields:
            fields[name] = value


def _paper(entry: _Entry) -> Paper | BadRecord:
    fields = entry.fields
    title = _tex(fields.get("title"))
    if not title:
        where = f"entry {entry.key}" if entry.key else f"line {entry.line}"
        return BadRecord(where, f"@{entry.kind} entry has no title")
    authors, complete = _authors(fields.get("author"))
    url = _verbatim(fields.get("url"))
    doi = normalize_doi(_verbatim(fields.get("doi")))
    url_is_doi = bool(re.match(r"https?://(?:dx\.)?doi\.org/", url, re.I))
    if not doi and url_is_doi:
        doi = normalize_doi(url)
    arxiv_id = _arxiv_id(fields, doi, url)

    links: dict[str, str] = {}
    if arxiv_id:
        links["abs"] = f"https://arxiv.org/abs/{arxiv_id}"
        links["pdf"] = f"https://arxiv.org/pdf/{arxiv_id}"
    if doi:
        links["doi"] = f"https://doi.org/{doi}"
    if url and not url_is_doi:
        links.setdefault("pdf" if url.lower().endswith(".pdf") else "abs", url)

    external_ids = {"bibtex": entry.key} if entry.key else {}
    if entry.key.startswith("DBLP:"):
        # dblp's own record key, the form Semantic Scholar's externalIds use too
        external_ids["dblp"] = entry.key[len("DBLP:") :]
    eprint_kind = _tex(fields.get("eprinttype") or fields.get("archiveprefix")).casefold()
    eprint = _verbatim(fields.get("eprint"))
    if eprint and eprint_kind and eprint_kind != "arxiv":
        external_ids[eprint_kind] = eprint  # eccc, hdl, jstor, pubmed ...

    primary = _tex(fields.get("primaryclass") or fields.get("eprintclass"))
    note = _tex(fields.get("note"))
    organization = None
    if entry.kind in {"phdthesis", "mastersthesis", "thesis", "techreport", "report"}:
        organization = _tex(fields.get("school") or fields.get("institution")) or None
    return Paper(
        title=title,
        abstract=clean_abstract(_untex(fields.get("abstract"))),
        authors=authors,
        categories=[primary] if primary and arxiv_id else [],
        published=_published(fields),
        arxiv_id=arxiv_id,
        doi=doi,
        links=links,
        sources=[NAME],
        journal_ref=_journal_ref(entry.kind, fields),
        comment=note or None,
        organization=organization,
        authors_complete=complete,
        external_ids=external_ids,
    )


# ---------------------------------------------------------------- the importer

_SNIFF_FIRST_RE = re.compile(r"(?:\s|%[^\n]*)*@\s*([A-Za-z]+)\s*[{(]")
_SNIFF_ANY_RE = re.compile(r"^@\s*(?:" + "|".join(sorted(_KNOWN_TYPES)) + r")\s*[{(]", re.I | re.M)


class BibtexImporter:
    name: ClassVar[str] = NAME
    description: ClassVar[str] = (
        "BibTeX/biblatex .bib files (DBLP, Zotero, JabRef exports): crossref, @string macros"
    )

    def sniff(self, head: bytes, filename: str) -> int | None:
        if head.count(b"\x00") * 100 > len(head):  # binary or UTF-16; a stray NUL is a bad record
            return None
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
        match = _SNIFF_FIRST_RE.match(text)
        if match:
            return 90 if match.group(1).lower() in _KNOWN_TYPES else 70
        if text.lstrip()[:1] in ("<", "{", "["):  # XML, JSON: an "@article{" there is quoted
            return None
        return 55 if _SNIFF_ANY_RE.search(text) else None

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        lines = _Lines(stream)
        tokenizer = _Tokenizer()
        targets: dict[str, dict[str, str]] = {}  # crossref targets read so far, by folded key
        pending: dict[str, list[_Entry]] = {}  # entries waiting for their crossref target
        for item in tokenizer.entries(lines):
            if isinstance(item, BadRecord):
                yield item
                continue
            yield from self._entry(item, targets, pending)
        for waiting in pending.values():  # targets that never appeared
            for entry in waiting:
                yield _paper(entry)
        if not tokenizer.saw_entry and lines.saw_text:
            raise InputError(
                f"{origin}: no BibTeX entries (@article{{...}}, @inproceedings{{...}}) found",
                hint="is this a .bib file? `--format NAME` picks another importer",
            )

    def _entry(
        self,
        entry: _Entry,
        targets: dict[str, dict[str, str]],
        pending: dict[str, list[_Entry]],
    ) -> Iterator[Paper | BadRecord]:
        key = entry.key.casefold()  # BibTeX matches crossref keys case-insensitively
        if entry.kind in _TARGETS and key:
            targets[key] = entry.fields
        waiting = pending.pop(key, None) if key else None
        for referrer in waiting or ():
            _inherit(referrer, entry.fields)
            yield _paper(referrer)
        if entry.kind in _VOLUMES or (entry.kind in _BOOKS and waiting):
            return  # a container, not a paper
        crossref = _verbatim(entry.fields.get("crossref")).casefold()
        if crossref and crossref != key:
            if crossref in targets:
                _inherit(entry, targets[crossref])
            else:
                pending.setdefault(crossref, []).append(entry)
                return
        yield _paper(entry)


register(BibtexImporter())
