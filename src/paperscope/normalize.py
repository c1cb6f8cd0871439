"""Normalisers for ids, names, titles, dates and TeX-flavoured text.

Shared by every layer: importers clean what they read with them, the store builds its merge keys
with them, and the query layer folds author names the same way, so "Bal\\'azs", "Balázs" and
"Balazs" meet.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

# ---------------------------------------------------------------- TeX accents and macros

_TEX_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}
_TEX_LETTERS = {
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
}
# \'{a}, \'a, \' a, \"{\i}, \c{c}, \v s -- the letter accent macros take one argument.
_ACCENT_RE = re.compile(
    r"\\([`'^\"~=.])\s*(?:\{\s*(\\?[A-Za-z]|\\i|\\j)?\s*\}|(\\i|\\j|[A-Za-z]))"
    r"|\\([uvHckrdb])(?:\s*\{\s*(\\?[A-Za-z])?\s*\}|\s+([A-Za-z]))"
)
_LETTER_RE = re.compile(r"\\(ss|aa|AA|ae|AE|oe|OE|o|O|l|L|i|j)(?![A-Za-z])\s?")
_STYLE_RE = re.compile(r"\\(?:emph|textit|textbf|textrm|textsc|texttt|mathrm|mbox|url)\s*\{")
# "\$" stays as written: decoded, it could pair with a real "$" into math the next time
_ESCAPES = {r"\&": "&", r"\%": "%", r"\_": "_", r"\#": "#", "--": "–"}
#: The macros of `_ACCENT_RE` and `_LETTER_RE` written apart from the letters they join
#: ("Petojevi\' c", "\v s", "\H {o}", "M\o ller"): TeX reads one word there, a reader that
#: splits text at spaces two. `tex_gap_pattern` fills in what the gap must not be followed by.
_GAP = (
    r"\\(?:(?P<mark>[`'^\"~=.])|(?P<accent>[uvHckrdb])|(?P<macro>ss|aa|AA|ae|AE|oe|OE|o|O|l|L|i|j))"
    r"\s+(?!{unless})(?P<letter>[A-Za-z{{])"
)


def tex_gap_pattern(unless: str) -> re.Pattern[str]:
    """`_GAP`, not joining before what the regex `unless` matches; use with `join_tex_gap`."""
    return re.compile(_GAP.format(unless=unless))


def join_tex_gap(match: re.Match[str]) -> str:
    """`\\' c` -> `\\'c`, `\\v s` -> `\\v{s}`, `\\H {o}` -> `\\H{o}`, `\\o ller` -> `\\o{}ller`."""
    letter = match["letter"]
    if letter == "{":
        return f"\\{match['mark'] or match['accent'] or match['macro']}{{"
    if match["mark"]:
        return f"\\{match['mark']}{letter}"
    if match["accent"]:
        return f"\\{match['accent']}{{{letter}}}"
    return f"\\{match['macro']}{{}}{letter}"


def _accent(match: re.Match[str]) -> str:
    mark = match.group(1) or match.group(4)
    letter = match.group(2) or match.group(3) or match.group(5) or match.group(6) or ""
    if letter.startswith("\\"):
        letter = _TEX_LETTERS.get(letter[1:], letter[1:])
    if letter == "ı":  # \'{\i} is an accented i, not a dotless one
        letter = "i"
    return unicodedata.normalize("NFC", letter + _TEX_ACCENTS[mark])


#: Inline and display math, `$...$` and `$$...$$`, by pandoc's rule: the opening `$` has a
#: non-space right after it, the closing one a non-space right before it and no digit after
#: it, and an escaped `\$` is a dollar (and stays escaped). So "costs $5 and $x^{2}$" has one
#: span, and decoding the text again finds the same spans.
_MATH_RE = re.compile(r"(?<!\\)(\$\$?)(?!\s)(?:\\.|[^\\$])+?(?<![\s\\])\1(?!\d)")
#: An unknown control word and its brace ("\cite{", "\mathcal{"): its name stays, and a space
#: keeps it apart from its argument when the braces go ("\cite foo", not "\citefoo").
_CONTROL_BRACE_RE = re.compile(r"(\\[A-Za-z]+)\s*\{")


def tex_to_unicode(text: str) -> str:
    """Turn TeX accents and simple macros into Unicode and drop grouping braces.

    Math (``$...$``, ``$$...$$``) is left as written: its braces carry meaning
    (``k^{1 - 2/d}``, ``\\mathbb{R}``). A backslash that is not a known macro stays as it is so
    nothing is silently lost, and stays apart from its argument.
    """
    if not needs_tex_decoding(text):
        return text
    out, at = [], 0
    for start, end in math_spans(text):
        out += [_decode_prose(text[at:start]), text[start:end]]
        at = end
    out.append(_decode_prose(text[at:]))
    return "".join(out)


def math_spans(text: str) -> list[tuple[int, int]]:
    """Where the math of `text` is (`$...$`, `$$...$$`), as (start, end) offsets."""
    if "$" not in text:
        return []
    # "{$}...{$}" (DBLP's dollars) has unbalanced braces inside: not math
    return [m.span() for m in _MATH_RE.finditer(text) if _balanced(m.group(0))]


def math_span(text: str, start: int) -> int | None:
    """The end of the math (`$...$`, `$$...$$`, braces balanced) that starts at `start`."""
    match = _MATH_RE.match(text, start)
    return match.end() if match and _balanced(match.group(0)) else None


def _balanced(text: str) -> bool:
    depth = 0
    for char in re.sub(r"\\.", "", text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


#: TeX's quote marks in prose, ``word'' and `word', as typeset: “word” and ‘word’. Only a
#: pair is turned, so a lone '' (a double prime) or an apostrophe stays as written, and a
#: quote holding an apostrophe (`don't') is left whole rather than cut at it.
_TEX_DOUBLE_QUOTES_RE = re.compile(r"``(?=\S)([^`]+?)(?<=\S)''")
_TEX_SINGLE_QUOTES_RE = re.compile(r"(?<![`\w\\])`(?=\w)([^`'\n]+?)(?<=\S)'(?![\w'])")


def needs_tex_decoding(text: str) -> bool:
    """Whether `tex_to_unicode` can change `text` (a cheap test importers share)."""
    return "\\" in text or "{" in text or "~" in text or "`" in text


def _decode_prose(text: str) -> str:
    if not needs_tex_decoding(text):
        return text
    if "`" in text:
        text = _TEX_DOUBLE_QUOTES_RE.sub("\u201c\\1\u201d", text)
        text = _TEX_SINGLE_QUOTES_RE.sub("\u2018\\1\u2019", text)
    out = _ACCENT_RE.sub(_accent, text)
    out = _LETTER_RE.sub(lambda m: _TEX_LETTERS[m.group(1)], out)
    out = _STYLE_RE.sub("{", out)
    for tex, plain in _ESCAPES.items():
        out = out.replace(tex, plain)
    out = _CONTROL_BRACE_RE.sub(r"\1 {", out)
    out = re.sub(r"(?<!\\)~", " ", out)
    out = re.sub(r"(?<!\\)[{}]", "", out)
    return out


# ---------------------------------------------------------------- whitespace and folding

_WS_RE = re.compile(r"\s+")


def clean_text(text: str | None) -> str:
    """Collapse runs of white space (hard line breaks in titles and abstracts) to one space."""
    if not text:
        return ""
    return _WS_RE.sub(" ", text).strip()


def clean_abstract(text: str | None) -> str:
    """Like `clean_text`, but keeps paragraph breaks (blank lines) as a single newline."""
    if not text:
        return ""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n".join(p for p in (clean_text(p) for p in paragraphs) if p)


# ---------------------------------------------------------------- terminal controls

#: Escape sequences a terminal acts on, taken out whole so no "[31m" is left behind: CSI
#: (ESC [ or 8-bit CSI, parameters, final byte), the string commands OSC, DCS, SOS, PM and
#: APC only with their terminator (BEL or ST; an unterminated one would take the rest of the
#: text with it), and the short ESC sequences (ESC c, ESC ( B ...).
_ESCAPE_SEQ_RE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)
#: Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they reorder the
#: text after them on screen, so a name or title can read as something it does not hold.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
#: C0 controls but NUL, tab and newline; DEL; the C1 controls. NUL is left for the record
#: check, which rejects it as a sign of a damaged record.
_CONTROL_CLASS = "\x01-\x08\x0b-\x1f\x7f-\x9f"
_CONTROL_RE = re.compile(f"[{_CONTROL_CLASS}]")
_LINE_CONTROL_RE = re.compile(f"[{_CONTROL_CLASS}\t\n]")
_UNSAFE_RE = re.compile(f"[{_CONTROL_CLASS}{_BIDI}]")
_LINE_UNSAFE_RE = re.compile(f"[\t\n{_CONTROL_CLASS}{_BIDI}]")
_BIDI_TABLE = str.maketrans(dict.fromkeys(_BIDI))
#: What a shown name has escaped: every control (NUL, tab and newline too) and bidi character.
_SHOWN_UNSAFE_RE = re.compile(f"[\x00\t\n{_CONTROL_CLASS}{_BIDI}]")


def strip_controls(text: str, *, multiline: bool = False) -> str:
    """`text` without terminal control characters and bidi overrides; unchanged if it has none.

    Escape sequences and bidi characters go without a trace (they are never part of the
    words). Any other control becomes a space, and runs of spaces it leaves are collapsed:
    controls such as a vertical tab, form feed or NEL sit *between* words in text copied out
    of PDFs, and dropping them would glue those words together. `multiline` keeps newlines
    and tabs (abstracts); elsewhere they become spaces too.
    """
    if not (_UNSAFE_RE if multiline else _LINE_UNSAFE_RE).search(text):
        return text
    text = _ESCAPE_SEQ_RE.sub("", text).translate(_BIDI_TABLE)
    if multiline:
        text = _CONTROL_RE.sub(" ", text)
        return "\n".join(re.sub(r" {2,}", " ", line).strip(" ") for line in text.split("\n"))
    return re.sub(r" {2,}", " ", _LINE_CONTROL_RE.sub(" ", text)).strip(" ")


def find_control(text: str) -> re.Match[str] | None:
    """The first control character (NUL, tab and newline included) or bidi override in
    `text`: what may not stand in a one-line name at all."""
    return _SHOWN_UNSAFE_RE.search(text)


def escape_controls(text: str) -> str:
    """`text` with control and bidi characters written as escapes (`\\x1b`, `\\n`, `\\u202e`).

    For names that are shown rather than stored as text (file names, origins): a name must
    stay recognisable, so nothing is dropped, but nothing in it reaches a terminal raw.
    """
    if not _SHOWN_UNSAFE_RE.search(text):
        return text
    return _SHOWN_UNSAFE_RE.sub(lambda m: repr(m.group())[1:-1], text)


def readable_name(name: str) -> str:
    """A file name as text that can be encoded: undecodable bytes become U+FFFD.

    On POSIX a name is bytes; Python keeps the bytes that are not UTF-8 as lone surrogates
    (U+DC80-U+DCFF), which can be neither stored in UTF-8 nor written as JSON.
    """
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate surrogateescape did not make
        raw = name.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    out = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return out.translate(_FOLD_LETTERS)


_FOLD_LETTERS = str.maketrans(
    {"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L"}
)


def fold(text: str) -> str:
    """Lower-case, TeX-decoded, accent-free text for keys and comparisons."""
    if text.isascii() and "\\" not in text and "{" not in text:
        return text.lower()
    return strip_accents(tex_to_unicode(text)).casefold()


_NON_ALNUM_RE = re.compile(r"[\W_]+")


#: TeX macros that only style what follows (fonts, boxes, sizes): one source writes
#: `$\mathrm{AC}^0$` where another writes `AC\(^0\)`, and the key must not tell them apart.
_TEX_STYLE_RE = re.compile(
    r"\\(?:math(?:rm|bf|it|sf|tt|cal|bb|frak|scr|normal)|text(?:rm|bf|it|sf|tt|sc|up|normal)?"
    r"|boldsymbol|bm|mbox|hbox|emph|operatorname|displaystyle|textstyle|left|right"
    r"|[Bb]igg?[lr]?|rm|bf|it|sf|tt)(?![A-Za-z])"
)


def title_key(title: str) -> str:
    """A title reduced to lower-case letters and digits, for matching the same paper; TeX
    style macros do not count (`_TEX_STYLE_RE`)."""
    if "\\" in title:
        title = _TEX_STYLE_RE.sub(" ", title)
    return _NON_ALNUM_RE.sub("", fold(title))


def legacy_title_key(title: str) -> str:
    """`title_key` as stores written before 2026-12-07 hold it (TeX style macros kept): an
    incoming paper is matched on both, so such a store needs no rewrite."""
    return _NON_ALNUM_RE.sub("", fold(title))


# ---------------------------------------------------------------- identifiers

# New-style ids (0704.0001, 2301.12345) and old-style (hep-th/9901001, cond-mat.mes-hall/0412498).
_ARXIV_NEW = r"\d{4}\.\d{4,5}"
_ARXIV_OLD = r"[a-z][a-z\-]+(?:\.[A-Za-z\-]+)?/\d{7}"
_ARXIV_RE = re.compile(rf"(?<![\w.])(?:arxiv:)?({_ARXIV_NEW}|{_ARXIV_OLD})(v\d+)?(?![\w])", re.I)
_ARXIV_URL_RE = re.compile(
    rf"(?:arxiv\.org/(?:abs|pdf|html)/|oai:arxiv\.org:|arxiv:|^)({_ARXIV_NEW}|{_ARXIV_OLD})(v\d+)?",
    re.I,
)


def normalize_arxiv_id(value: str | None) -> str | None:
    """The bare arXiv id without version from an id, ``arXiv:`` form, abs/pdf URL or OAI id."""
    if not value:
        return None
    value = value.strip()
    match = _ARXIV_URL_RE.search(value)
    if not match:
        return None
    ident = match.group(1)
    if "/" in ident:
        # old-style ids: "math.GT/0309136" is the legacy spelling of "math/0309136"
        archive, number = ident.split("/")
        return f"{archive.split('.')[0].lower()}/{number}"
    return ident


def arxiv_version(value: str | None) -> int | None:
    if not value:
        return None
    match = _ARXIV_URL_RE.search(value.strip())
    return int(match.group(2)[1:]) if match and match.group(2) else None


def find_arxiv_id(text: str | None) -> str | None:
    """An arXiv id mentioned anywhere in free text ("arXiv:2301.12345", "abs/2301.12345")."""
    if not text:
        return None
    match = _ARXIV_RE.search(text)
    return normalize_arxiv_id(match.group(1)) if match else None


_DOI_RE = re.compile(r"10\.\d{4,9}/\S+")
_ARXIV_DOI_RE = re.compile(r"^10\.48550/arxiv\.(.+)$", re.I)


def normalize_doi(value: str | None) -> str | None:
    """A DOI in lower case without resolver prefix; None when the text holds no DOI."""
    if not value:
        return None
    match = _DOI_RE.search(value.strip())
    if not match:
        return None
    return match.group(0).rstrip(".,;").lower()


def arxiv_id_from_doi(doi: str | None) -> str | None:
    """arXiv's own DOIs (10.48550/arXiv.2301.12345) name the arXiv id."""
    if not doi:
        return None
    match = _ARXIV_DOI_RE.match(doi)
    return normalize_arxiv_id(match.group(1)) if match else None


# ---------------------------------------------------------------- person names

_PARTICLES = {
    "van",
    "von",
    "der",
    "den",
    "de",
    "del",
    "della",
    "di",
    "da",
    "du",
    "la",
    "le",
    "dos",
    "das",
    "ter",
    "ten",
    "bin",
    "al",
    "el",
    "st",
}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
# dblp tells apart people of one name by a four-digit number after it ("Wei Wang 0001", and
# its BibTeX export keeps it): no part of the name. Read as one, "0001" was the family name:
# "Wei Wang 0001" had an author page of its own and `au:wang` did not find him.
_DBLP_NUMBER_RE = re.compile(r"\d{4}")


def has_dblp_number(tokens: list[str]) -> bool:
    """Does a name split on spaces end in a dblp homonym number ("Wei Wang 0001")?"""
    return len(tokens) >= 3 and _DBLP_NUMBER_RE.fullmatch(tokens[-1]) is not None


# Text taken from PDFs (Semantic Scholar's author lists) writes an accent as a character of
# its own before its letter: "Weizs¨acker", "St¨uber". Grave accents are left alone: ` opens
# TeX quotes.
_SPACING_ACCENT_RE = re.compile("([\u00a8\u00b4\u02c6\u02dc\u02c7])([^\\W\\d_])")
_COMBINING = {
    "\u00a8": "\u0308",  # diaeresis
    "\u00b4": "\u0301",  # acute
    "\u02c6": "\u0302",  # circumflex
    "\u02dc": "\u0303",  # tilde
    "\u02c7": "\u030c",  # caron
}


def _joined_accents(name: str) -> str:
    """ "Weizs¨acker" -> "Weizsäcker": a spacing accent before a letter put on that letter."""
    if not _SPACING_ACCENT_RE.search(name):
        return name
    joined = _SPACING_ACCENT_RE.sub(lambda m: m[2] + _COMBINING[m[1]], name)
    # the extraction writes an accented i as a dotless one under the accent ("Garc´ıa")
    joined = re.sub("\u0131(?=[\u0300-\u036f])", "i", joined)
    return unicodedata.normalize("NFC", joined)


def clean_name(name: str) -> str:
    """A display name: TeX decoded, white space collapsed, "Last, First" turned around, an
    accent written before its letter by PDF text extraction put back on it."""
    name = _joined_accents(clean_text(tex_to_unicode(name))).strip(" ,;")
    if name.count(",") == 1:
        last, first = (part.strip() for part in name.split(","))
        if first and last and fold(first).strip(".") not in _SUFFIXES:
            name = f"{first} {last}"
    return name


def split_name(name: str) -> tuple[str, str]:
    """(given names, family name) of a display name; particles stay with the family name."""
    return split_tokens(clean_name(name).split())


def split_tokens(parts: list[str]) -> tuple[str, str]:
    """`split_name` of a name already cleaned and split on spaces."""
    if has_dblp_number(parts):
        parts = parts[:-1]
    if not parts:
        return "", ""
    end = len(parts)
    while end > 1 and fold(parts[end - 1]).strip(".") in _SUFFIXES:
        end -= 1
    if end == 1:
        return "", parts[0]
    cut = end - 1
    while cut > 1 and fold(parts[cut - 1]) in _PARTICLES:
        cut -= 1
    return " ".join(parts[:cut]), " ".join(parts[cut:end])


def family_key(name: str) -> str:
    """The folded family name, the part of a name every spelling shares ("Hu" of "J. Hu")."""
    return _NON_ALNUM_RE.sub("", fold(split_name(name)[1]))


def name_key(name: str) -> str:
    """``family_i``: folded family name and first initial, arXiv's ``au:hu_j`` form."""
    given, family = split_name(name)
    family_part = _NON_ALNUM_RE.sub("", fold(family))
    initial = _NON_ALNUM_RE.sub("", fold(given))[:1]
    return f"{family_part}_{initial}" if initial else family_part


def split_authors(text: str) -> list[str]:
    """Names from a free-text author list: "A, B and C", "A and B", "A; B"."""
    text = clean_text(text)
    if not text:
        return []
    text = re.sub(r"\(.*?\)", "", text)  # affiliations in parentheses (arXivRaw, Kaggle)
    parts = re.split(r"\s*(?:;|,|\band\b|&)\s*", text)
    return [clean_name(p) for p in parts if p.strip(" .")]


# ---------------------------------------------------------------- dates

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
_DMY_RE = re.compile(r"^(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})$")
_MDY_RE = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$")
_MD_RE = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2})$")
_MY_RE = re.compile(r"^([A-Za-z]+)\.?,?\s+(\d{4})$")
# unanchored at the end for timestamps, but never inside a longer number ("2020-01-123")
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?(?!-?\d)")


def month_number(name: str) -> int | None:
    return _MONTHS.get(name.lower().rstrip("."))


def parse_date(value: str | None, *, today: date | None = None) -> str | None:
    """An ISO date (UTC) from the forms sources use, at the precision the source gives
    (`paperscope.dates`): YYYY-MM-DD for a day, YYYY-MM for a month, YYYY for a year; None
    when unreadable. A year or month is never padded to its first day.

    Accepts ISO dates and timestamps (any offset, converted to UTC), RFC 822 ("Mon, 2 Apr 2007
    19:18:42 GMT"), "25 August, 2025", "Sep 14, 2022", "Feb 2026", "2026-02", a bare year, and
    "Oct 7" -- a day without a year, which discovery sites use for the current year; it is read
    as the latest such day not after `today`.
    """
    if not value:
        return None
    value = clean_text(value)
    iso = _ISO_RE.match(value)
    if iso:
        if len(value) > 10 and ("T" in value or " " in value):
            try:
                stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                stamp = None
            if stamp is not None:
                if stamp.tzinfo is not None:
                    stamp = stamp.astimezone(UTC)
                return stamp.date().isoformat()
        year, month = int(iso.group(1)), int(iso.group(2))
        if iso.group(3) is None:
            return _month_of(year, month)
        return _safe_date(year, month, int(iso.group(3)))
    if re.fullmatch(r"\d{4}", value):
        return value
    month_year = _MY_RE.match(value)
    if month_year:
        month = month_number(month_year.group(1))
        return _month_of(int(month_year.group(2)), month) if month else None
    for regex, order in ((_DMY_RE, "dmy"), (_MDY_RE, "mdy")):
        match = regex.match(value)
        if match:
            a, b, year = match.groups()
            day, month_name = (a, b) if order == "dmy" else (b, a)
            month = month_number(month_name)
            return _safe_date(int(year), month, int(day)) if month else None
    match = _MD_RE.match(value)
    if match:
        month = month_number(match.group(1))
        if not month:
            return None
        today = today or datetime.now(UTC).date()
        guess = _safe_date(today.year, month, int(match.group(2)))
        if guess and guess > today.isoformat():
            guess = _safe_date(today.year - 1, month, int(match.group(2)))
        return guess
    try:
        stamp = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC)
    return stamp.date().isoformat()


def _month_of(year: int, month: int) -> str | None:
    return f"{year:04d}-{month:02d}" if 1 <= month <= 12 else None


def _safe_date(year: int, month: int | None, day: int) -> str | None:
    try:
        return date(year, month or 1, day).isoformat()
    except ValueError:
        return None
