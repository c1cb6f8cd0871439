"""The paperscope search language: text in, a syntax tree of frozen dataclasses out.

Pure parsing: no SQL, no index. Backends compile the tree (`Node`) themselves.

Syntax (arXiv's, plus friendlier spellings)::

    attention transformer          bare words: implicit AND, every field searched (field "all")
    "graph neural network"         a phrase
    transform*                     a prefix (only at the end of a word, 2+ characters before it)
    ti:bert  title:bert            fields: ti/title, abs/abstract, co/comment, jr/journal, all
    ti:"quoted phrase"  ti:(a OR b)    a field applies to a phrase or to every term of a group
    au:hu_j  au:Hu  author:"Juhua Hu"  au:"Hu, Juhua"  au:(Hu OR "Y. LeCun")   authors
    cat:cs.LG  cat:cs.*  category:stat.ML     categories, case-insensitive; ``.*`` = archive
    id:2301.12345v2  arxiv:hep-th/9901001     arXiv ids, version dropped
    submittedDate:[202301010000 TO 202312312359]  also YYYYMMDD, ISO dates and * for open ends
    year:2023  year:2021..2024  year:2021..  year:..2019
    after:2024-01-01  before:2024-12  (ISO date, YYYY-MM or YYYY; both bounds inclusive)
    a AND b   a OR b   a ANDNOT b   NOT a   -a   -ti:a   -"a phrase"   -(a OR b)

Operators are upper case as on arXiv; ``and``/``or``/``not`` in lower case are plain words.
Field names are case-insensitive. A field takes one word, a phrase or a group, so quote names:
``au:Juhua Hu`` is au:Juhua AND Hu; inside ``au:( ... )`` adjacent plain words form one name.
A backslash keeps the next character literal and TeX accents are decoded, so ``au:G\\"odel``
and ``au:Bal\\'azs`` work. Lone punctuation ("a - b") is ignored. ``after:`` takes the first day
of the period it names and ``before:`` the last, both inclusive: ``after:2024 before:2024``
is the year 2024. Times in submittedDate are cut to the day.

Precedence. arXiv does not document one, so we follow most engines: ``-``/``NOT`` bind
tightest, then AND, ANDNOT and juxtaposition (equal, left-associative), then OR. Worked examples:

    a b OR c            Or(And(a, b), c)
    a OR b c            Or(a, And(b, c))
    a ANDNOT b OR c     Or(And(a, Not(b)), c)
    a OR b ANDNOT c     Or(a, And(b, Not(c)))
    a ANDNOT b c        And(a, Not(b), c)
    -a b                And(Not(a), b)
    ti:(a OR b) c       And(Or(Term(ti, a), Term(ti, b)), Term(all, c))

Parenthesise for portability: ``(a OR b) ANDNOT c``.

Nodes: `paperscope.index.query_tree`, which the index compiles (imported from here too).

A query must search for something positive: ``-word`` alone, or an OR alternative made only of
negations, is an error. `text_terms`, `free_text` and `split_query` serve the ranking layer;
`to_string` prints a tree in this syntax, and ``parse(to_string(node)) == node``. Queries are
limited to MAX_QUERY_LENGTH characters and MAX_DEPTH nested parentheses.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from paperscope.errors import QueryError
from paperscope.index.query_tree import (
    And,
    Author,
    Category,
    DateRange,
    Node,
    Not,
    Or,
    Term,
    TopicRef,
    author_from_name,
    text_terms,
)
from paperscope.normalize import (
    clean_text,
    escape_controls,
    fold,
    join_tex_gap,
    math_span,
    normalize_arxiv_id,
    tex_gap_pattern,
    tex_to_unicode,
)

MAX_QUERY_LENGTH = 1000
MAX_DEPTH = 16
MIN_PREFIX = 2
#: A forgiving query with this many bare words is pasted text, where an arXiv id is cited
#: ("our companion paper arXiv:1906.10745 which"), not a filter: an id names one paper, and ten
#: words ANDed with it only ask whether that paper holds them. With the punctuation of written
#: text too (a comma, or a full stop, semicolon, colon, "?" or "!" ending a word) a word with
#: a leading '-' is text as well ("by -dM/dt = ...", "ImageNet-A, -C, and -R"); a typed query
#: keeps its exclusions (`protein structure prediction from a single sequence -alphafold`).
#: Other field names stay fields: prose rarely holds "ti:" or "cat:", and the web's filters
#: are added to the query as fields. Of the 3,568 abstract sentences with punctuation in
#: bench/search_quality.py's collection, 5 of the 6 that hybrid search missed were such text.
PROSE_WORDS = 10
#: The punctuation of written text, at the end of a word.
_WRITTEN = ",;:.!?"

_FIELDS = {
    "all": "all",
    "ti": "ti",
    "title": "ti",
    "au": "au",
    "author": "au",
    "authors": "au",
    "abs": "abs",
    "abstract": "abs",
    "cat": "cat",
    "category": "cat",
    "id": "id",
    "arxiv": "id",
    "co": "co",
    "comment": "co",
    "jr": "jr",
    "journal": "jr",
    "submitteddate": "date",
    "year": "year",
    "after": "after",
    "before": "before",
    "topic": "topic",
}
#: Fields a `Term` can carry.
TEXT_FIELDS = ("all", "ti", "abs", "co", "jr", "id")
_FIELD_HINT = (
    "known fields: ti/title, au/author, abs/abstract, cat/category, id, co/comment, "
    "jr/journal, all, submittedDate, year, after, before, topic; quote the text to search it "
    "literally"
)
_OPERATORS = {"AND", "OR", "ANDNOT", "NOT"}


_LEAVES = (Term, Author, Category, DateRange, TopicRef)


def _and(items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, And) else (item,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def _or(items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, Or) else (item,))
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def _not(item: Node) -> Node:
    return item.item if isinstance(item, Not) else Not(item)


def _positive(node: Node) -> bool:
    """Whether the node selects something by itself rather than only excluding."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(item) for item in node.items)
    if isinstance(node, Or):
        return all(_positive(item) for item in node.items)
    return True


# ---------------------------------------------------------------- authors

_NON_ALNUM_RE = re.compile(r"[\W_]+")  # as in normalize.family_key


def _author(raw: str, pos: int) -> Author:
    if "*" in raw:
        raise _error("wildcards are not supported in author names", pos)
    parts = [p for p in raw.split("_") if p]
    if len(parts) > 1 and not any(ch.isspace() or ch == "," for ch in raw):
        # arXiv's Lastname_I form: trailing one-letter parts are initials
        cut = len(parts)
        while cut > 1 and len(fold(parts[cut - 1])) == 1:
            cut -= 1
        family = _NON_ALNUM_RE.sub("", fold("".join(parts[:cut])))
        if family:
            return Author(family, fold(parts[cut]) if cut < len(parts) else None, None, raw)
    author = author_from_name(raw)
    if not author.family:
        raise _error(f"author name '{raw}' has no letters", pos)
    return author


# ---------------------------------------------------------------- dates

_ISO_DAY_RE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_COMPACT_DAY_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?")
_YEARS_RE = re.compile(r"(\d{4})?\.\.(\d{4})?")
_RANGE_RE = re.compile(r"\s*(\S+)\s+[Tt][Oo]\s+(\S+)\s*")


def _day(text: str, pos: int, *, end: bool) -> date:
    """A day from a date or a period (year, month); `end` picks the period's last day."""
    bad = _error(f"date '{text}' is not a valid date", pos, hint="use YYYY-MM-DD, YYYY-MM or YYYY")
    iso, compact = _ISO_DAY_RE.fullmatch(text), _COMPACT_DAY_RE.fullmatch(text)
    match = iso or compact
    if not match:
        raise bad
    year, month, day = (int(g) if g else None for g in match.groups()[:3])
    if compact and (int(match.group(4) or 0) > 23 or int(match.group(5) or 0) > 59):
        raise bad
    try:
        if month is None:
            return date(year, 12, 31) if end else date(year, 1, 1)
        if day is None:
            return date(year, month, calendar.monthrange(year, month)[1] if end else 1)
        return date(year, month, day)
    except ValueError:  # month 13, February 30, ...
        raise bad from None


def _range(start: date | None, end: date | None, pos: int) -> DateRange:
    if start and end and start > end:
        raise _error(f"date range {start} .. {end} ends before it starts", pos)
    return DateRange(start, end)


def _date_leaf(field: str, tok: _Tok) -> DateRange:
    text = tok.text.strip()
    if tok.kind == "range":
        if field != "date":
            raise _error("a [FROM TO TO] range only works with submittedDate:", tok.pos)
        match = _RANGE_RE.fullmatch(text)
        if not match:
            hint = "use * for an open end: [20230101 TO *]"
            raise _error("expected a range like [202301010000 TO 202312312359]", tok.pos, hint)
        bounds = []
        for group, is_end in ((1, False), (2, True)):
            bound, where = match.group(group), tok.pos + 1 + match.start(group)
            bounds.append(None if bound == "*" else _day(bound, where, end=is_end))
        return _range(bounds[0], bounds[1], tok.pos)
    if field == "year":
        years = _YEARS_RE.fullmatch(text)
        if re.fullmatch(r"\d{4}", text):
            return _range(_day(text, tok.pos, end=False), _day(text, tok.pos, end=True), tok.pos)
        if not years or years.group(0) == "..":
            raise _error(f"'{text}' is not a year or a range like 2021..2024", tok.pos)
        low, high = years.groups()
        start = _day(low, tok.pos, end=False) if low else None
        return _range(start, _day(high, tok.pos, end=True) if high else None, tok.pos)
    start = None if field == "before" else _day(text, tok.pos, end=False)
    return _range(start, None if field == "after" else _day(text, tok.pos, end=True), tok.pos)


# ---------------------------------------------------------------- lexer


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # word phrase field range lparen rparen minus
    text: str
    pos: int

    def is_op(self, *names: str) -> bool:
        return self.kind == "word" and self.text in names


_FIELD_RE = re.compile(r"([A-Za-z]+):")
#: TeX accents written apart from their letters are joined before lexing, but never to a
#: field name or an operator ("Erd\\H cat:cs.LG" keeps its filter, "Stra\\ss OR x" its OR).
_ACCENT_GAP_RE = tex_gap_pattern(r"[A-Za-z]+:|(?:AND|OR|NOT|ANDNOT)\b")
_CATEGORY_RE = re.compile(r"[a-z0-9][\w.\- ]*")
_STOP = set('()"')


def _error(message: str, pos: int, hint: str | None = None) -> QueryError:
    # messages quote the query, and go to a terminal: its control characters written out
    message, hint = escape_controls(message), hint and escape_controls(hint)
    return QueryError(f"{message} at position {pos}", position=pos, hint=hint)


def _negates(text: str, i: int, forgiving: bool) -> bool:
    """Whether the '-' at `i` negates what follows. Strict: any '-' before a non-space. Forgiving
    (pasted prose): only a '-' that starts a word ("-word", '-"a phrase"', "-(a OR b)", "-ti:a"),
    so "--", " - ", "x-y" and "-1.5" are text."""
    n = len(text)
    if not (i + 1 < n and not text[i + 1].isspace() and text[i + 1] != ")"):
        return False
    if not forgiving:
        return True
    starts = i == 0 or text[i - 1].isspace() or text[i - 1] == "("
    return starts and (text[i + 1].isalpha() or text[i + 1] in '"(')


def _lex(text: str, forgiving: bool = False, prose: frozenset[str] = frozenset()) -> list[_Tok]:
    """Tokens of a query. `forgiving` reads prose the way a person means it: "word:" is a field
    only for a known field name, "[" opens a range only as a date field's value, "-" negates
    only at the start of a word, and an unterminated quote is dropped. `prose` (a forgiving
    reading of pasted text, `PROSE_WORDS`) names what is text there: "id" fields, "-"
    exclusions."""
    tokens: list[_Tok] = []
    i, n = 0, len(text)
    value_at = -1  # where a field's value starts: "ti:foo:bar" searches "foo:bar" in titles
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Tok("lparen" if ch == "(" else "rparen", ch, i))
            i += 1
        elif ch == '"' and forgiving and text.find('"', i + 1) < 0:
            i += 1  # an unbalanced quote in pasted text: the words after it are searched
        elif ch == '"' or (ch == "[" and (not forgiving or _date_value(tokens, i, value_at))):
            close = '"' if ch == '"' else "]"
            j = i + 1
            while j < n and text[j] != close:
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                what = "quote" if ch == '"' else "date range"
                raise _error(f"unterminated {what} starting", i)
            tokens.append(_Tok("phrase" if ch == '"' else "range", text[i + 1 : j], i))
            i = j + 1
        elif (
            ch == "-"
            and "-" not in prose
            and not (forgiving and i == value_at)  # "all:-5" is the word "-5"
            and _negates(text, i, forgiving)
        ):
            tokens.append(_Tok("minus", ch, i))
            i += 1
        elif (
            i != value_at
            and (field := _FIELD_RE.match(text, i))
            and (not forgiving or field.group(1).lower() in _FIELDS)
            and not ("id" in prose and _FIELDS[field.group(1).lower()] == "id")
        ):
            tokens.append(_Tok("field", field.group(1), i))
            i = value_at = field.end()
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _STOP:
                if forgiving and text[j] == "$" and (math := math_span(text, j)):
                    j = math  # "$\\tilde{O}(\\sqrt{T})$" is one word, as the index reads it
                    continue
                # a backslash keeps the next character (G\\"odel), but not a space or the end
                escaped = text[j] == "\\" and j + 1 < n and not text[j + 1].isspace()
                j += 2 if escaped else 1
            word = text[i:j]
            if "-" in prose and word in ("NOT", "ANDNOT"):
                word = word.lower()  # an exclusion in pasted text is a word of it
            # lone punctuation ("a - b", "&") carries nothing to search, but "year:.." is a value
            if i == value_at or re.search(r"[\w*]", word):
                tokens.append(_Tok("word", word, i))
            i = j
    return tokens


def _date_value(tokens: list[_Tok], i: int, value_at: int) -> bool:
    """Whether position `i` is the value of a date field (so "[" opens a range there)."""
    if i != value_at or not tokens or tokens[-1].kind != "field":
        return False
    return _FIELDS.get(tokens[-1].text.lower()) == "date"


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Tok:
        self.i += 1
        return self.tokens[self.i - 1]

    def operand_follows(self, op: _Tok) -> None:
        tok = self.peek()
        if tok is None or tok.kind == "rparen" or tok.is_op("AND", "OR", "ANDNOT"):
            raise _error(f"{op.text} needs a term on both sides", op.pos)

    def parse_or(self, field: str | None, depth: int) -> Node:
        start = self.peek()
        items = [self.parse_and(field, depth)]
        starts = [start]
        while (tok := self.peek()) is not None and tok.is_op("OR"):
            self.operand_follows(self.take())
            starts.append(self.peek())
            items.append(self.parse_and(field, depth))
        if len(items) > 1:
            for item, where in zip(items, starts, strict=True):
                if not _positive(item):
                    raise _error("every OR alternative needs a term that is not negated", where.pos)
        return _or(items)

    def parse_and(self, field: str | None, depth: int) -> Node:
        items = [self.parse_unary(field, depth)]
        while (tok := self.peek()) is not None and tok.kind != "rparen" and not tok.is_op("OR"):
            if tok.is_op("AND", "ANDNOT"):
                self.operand_follows(self.take())
                node = self.parse_unary(field, depth)
                items.append(_not(node) if tok.text == "ANDNOT" else node)
            else:
                items.append(self.parse_unary(field, depth))
        return _and(items)

    def parse_unary(self, field: str | None, depth: int) -> Node:
        negations = 0  # counted, not recursed, so "-----a" cannot exhaust the stack
        while (tok := self.peek()) is not None and (tok.kind == "minus" or tok.is_op("NOT")):
            last = self.take()
            negations += 1
        if negations and (tok is None or tok.kind == "rparen" or tok.is_op("AND", "OR", "ANDNOT")):
            raise _error(f"expected a term after '{last.text}'", last.pos)
        node = self.parse_primary(field, depth)
        return Not(node) if negations % 2 else node

    def parse_primary(self, field: str | None, depth: int) -> Node:
        tok = self.take()
        if tok.is_op("AND", "OR", "ANDNOT"):
            raise _error(f"{tok.text} needs a term on both sides", tok.pos)
        if tok.kind == "lparen":
            return self.parse_group(tok, field, depth)
        if tok.kind == "rparen":
            raise _error("unbalanced parenthesis", tok.pos)
        if tok.kind == "field":
            return self.parse_field(tok, depth)
        if tok.kind == "range" and field is None:
            raise _error("a [FROM TO TO] range needs a field, as in submittedDate:[...]", tok.pos)
        if field == "au" and tok.kind == "word":
            # inside au:( ... ) adjacent plain words form one name: au:(Juhua Hu OR LeCun)
            while (nxt := self.peek()) and nxt.kind == "word" and nxt.text not in _OPERATORS:
                tok = _Tok("word", f"{tok.text} {self.take().text}", tok.pos)
        return _leaf(field or "all", tok)

    def parse_group(self, open_tok: _Tok, field: str | None, depth: int) -> Node:
        if depth >= MAX_DEPTH:
            raise _error(f"parentheses nested more than {MAX_DEPTH} deep", open_tok.pos)
        tok = self.peek()
        if tok is None:
            raise _error("unbalanced parenthesis", open_tok.pos, hint="add the closing ')'")
        if tok.kind == "rparen":
            raise _error("empty parentheses: expected a term", open_tok.pos)
        node = self.parse_or(field, depth + 1)
        if self.peek() is None:
            raise _error("unbalanced parenthesis", open_tok.pos, hint="add the closing ')'")
        self.take()
        return node

    def parse_field(self, tok: _Tok, depth: int) -> Node:
        field = _FIELDS.get(tok.text.lower())
        if field is None:
            raise _error(f"unknown field '{tok.text}:'", tok.pos, hint=_FIELD_HINT)
        value = self.peek()
        if (
            value is None
            or value.kind not in ("word", "phrase", "lparen", "range")
            or (value.text in _OPERATORS and value.kind == "word")
        ):
            where = tok.pos + len(tok.text) + 1
            raise _error(f"expected a value after '{tok.text}:'", where)
        self.take()
        if value.kind == "lparen":
            return self.parse_group(value, field, depth)
        return _leaf(field, value)


def _single_word(text: str) -> bool:
    """Whether `text` lexes back as one word (so `to_string` can print it; with `all:` when it
    holds a colon)."""
    broken = re.search(r'[\s()"]', text) or text.startswith(("-", "["))
    return not (broken or text in _OPERATORS)


def _leaf(field: str, tok: _Tok) -> Node:
    if tok.kind == "range" or field in ("date", "year", "after", "before"):
        return _date_leaf(field, tok)
    text = clean_text(tok.text)
    phrase = tok.kind == "phrase"
    if "\\" in text or "{" in text:
        # TeX decoded as the lexical index decodes a paper's text, unless decoding would
        # change it again (printed and read back); a word it splits ("Fr\\'echet~distance")
        # is searched as the phrase it reads as
        decoded = clean_text(tex_to_unicode(text))
        stable = clean_text(tex_to_unicode(decoded)) == decoded
        if stable and (phrase or _single_word(decoded)):
            text = decoded
        elif (
            stable
            and tok.kind == "word"
            and "*" not in decoded
            and _single_word(decoded.replace(" ", ""))
        ):
            text, phrase = decoded, True
    if not text:
        raise _error("empty phrase", tok.pos)
    if field == "au":
        return _author(tok.text.strip(), tok.pos)
    if field == "topic":
        if not text.isdigit() or len(text) > 12:
            raise _error(f"'{text}' is not a topic id", tok.pos, hint="e.g. topic:12")
        return TopicRef(int(text))
    prefix = not phrase and text.endswith("*")
    if prefix:
        text = text.rstrip("*")
    if not phrase and "*" in text:
        raise _error("wildcard '*' is only allowed at the end of a word", tok.pos + text.find("*"))
    if prefix and len(text) < MIN_PREFIX:
        raise _error(f"a wildcard needs at least {MIN_PREFIX} characters before '*'", tok.pos)
    if field == "cat":
        code = text.lower().rstrip(".") if prefix else text.lower()
        if not _CATEGORY_RE.fullmatch(code):
            raise _error(f"'{text}' is not a category", tok.pos, hint="e.g. cat:cs.LG or cat:cs.*")
        return Category(code, prefix=prefix)
    if field == "id":
        ident = normalize_arxiv_id(text)
        if ident is None or prefix:
            raise _error(f"'{text}' is not an arXiv id", tok.pos, hint="e.g. id:2301.12345")
        return Term("id", ident)
    return Term(field, text, phrase=phrase, prefix=prefix)


# ---------------------------------------------------------------- public helpers


def parse(text: str) -> Node:
    """The syntax tree of a query; raises QueryError with the 0-based `position` of the fault."""
    if len(text) > MAX_QUERY_LENGTH:
        raise _error(f"query longer than {MAX_QUERY_LENGTH} characters", MAX_QUERY_LENGTH)
    tokens = _lex(text)
    if not tokens:
        raise _no_words(text)
    return _parse_tokens(tokens)


def _no_words(text: str) -> QueryError:
    """The error for text with nothing to search for. "empty query" only when it is blank: a
    reader who typed "(" or an emoji was told the box was empty, which it was not."""
    shown = " ".join(text.split())
    if not shown:
        return QueryError("empty query", position=0, hint="type some words to search for")
    if len(shown) > 40:
        shown = shown[:40] + "…"
    return _error(
        "no words to search for",
        len(text) - len(text.lstrip()),
        hint=f"'{shown}' is only punctuation, symbols or operators: type some words (letters"
        " or digits), e.g. graph neural network",
    )


def _parse_tokens(tokens: list[_Tok]) -> Node:
    if not tokens:
        raise QueryError("empty query", position=0, hint="type some words to search for")
    parser = _Parser(tokens)
    node = parser.parse_or(None, 0)
    if (stray := parser.peek()) is not None:
        raise _error("unbalanced parenthesis", stray.pos, hint="remove the extra ')'")
    if not _positive(node):
        raise _error(
            "nothing to search for: the query only excludes",
            tokens[0].pos,
            hint="add a term to look for, e.g. 'transformers -vision'",
        )
    return node


@dataclass(frozen=True, slots=True)
class Parsed:
    """A query as searched, and one line for the user when it was not read as typed."""

    node: Node
    notice: str | None = None


def _free_words(tokens: list[_Tok]) -> int:
    """How many of `tokens` are words searched in every field: not operators, not a field's
    value or inside a field's group, not the word an exclusion applies to."""
    count, depth, fielded = 0, 0, []  # fielded: the depths at which a field's group opened
    for k, tok in enumerate(tokens):
        before = tokens[k - 1] if k else None
        if tok.kind == "lparen":
            depth += 1
            if before is not None and before.kind == "field":
                fielded.append(depth)
        elif tok.kind == "rparen":
            if fielded and fielded[-1] == depth:
                fielded.pop()
            depth = max(depth - 1, 0)
        elif tok.kind == "word" and tok.text not in _OPERATORS and not fielded:
            # a word with a colon prints as `all:word:` (a field's value) in canonical form
            free = before is None or before.kind not in ("field", "minus")
            count += free and ":" not in tok.text
    return count


def _prose(tokens: list[_Tok]) -> tuple[frozenset[str], list[str]]:
    """What `_lex` is to read as text in pasted text (`PROSE_WORDS`: "id" fields, "-" and NOT
    exclusions), and those operators as typed ("arXiv:1906.10745", "-dM/dt"); nothing for a
    typed query."""
    if _free_words(tokens) < PROSE_WORDS:
        return frozenset(), []
    # written punctuation ends a word ("al.", "however,"): read on the tokens, which the
    # canonical form keeps, so the web's folded-in filters never change the reading
    written = any(t.kind == "word" and len(t.text) > 1 and t.text[-1] in _WRITTEN for t in tokens)
    kinds = frozenset(["id", "-"] if written else ["id"])
    shown = []
    for k, tok in enumerate(tokens):
        after = tokens[k + 1] if k + 1 < len(tokens) else None
        what = "" if after is None else "(...)" if after.kind == "lparen" else after.text
        if tok.kind == "field" and _FIELDS[tok.text.lower()] == "id":
            shown.append(f"{tok.text}:{what.rstrip(_WRITTEN)}")
        elif tok.kind == "minus" and "-" in kinds and after is not None:
            shown.append("-" + what.rstrip(_WRITTEN))
        elif tok.is_op("NOT", "ANDNOT") and "-" in kinds:
            shown.append(tok.text)
    return (kinds if shown else frozenset()), shown


_PLAIN_WORD_RE = re.compile(r"\w+(?:['.\-]\w+)*")


def parse_query(text: str, *, strict: bool = False) -> Parsed:
    """The query to search for `text`. Strict: `parse` (QueryError with the position of a
    fault). Forgiving, the default of every search box: any text with a letter or digit is
    searched. Pasted prose is lexed as a person means it (see `_lex`), and long pasted text
    (`PROSE_WORDS`) has no id fields or exclusions, with a notice; what still does not parse
    (unbalanced parentheses, a bad date, a lone negation) is searched as its plain words, and
    the notice says so, with the error strict parsing reports."""
    if strict:
        return Parsed(parse(text))
    notice = None
    if len(text) > MAX_QUERY_LENGTH:
        cut = text.rfind(" ", 0, MAX_QUERY_LENGTH + 1)
        text = text[: cut if cut > 0 else MAX_QUERY_LENGTH]
        notice = f"query cut to its first {len(text)} characters"
    try:
        parse(text)
    except QueryError as exc:
        notice = notice or f"searched as text: {exc}"
    # "Petojevi\\' c" -> "Petojevi\\'c": one word, as TeX (and the index) read it
    text = _ACCENT_GAP_RE.sub(join_tex_gap, text)
    try:
        tokens = _lex(text, forgiving=True)
        prose, operators = _prose(tokens)
        if operators:
            tokens = _lex(text, forgiving=True, prose=prose)
            shown = ", ".join(operators[:3]) + (", ..." if len(operators) > 3 else "")
            what = (
                "is a word, not an operator" if len(operators) == 1 else "are words, not operators"
            )
            notice = notice or f"searched as text: a sentence, where {shown} {what}"
        return Parsed(_parse_tokens(tokens), notice)
    except QueryError:
        pass
    # upper-case operators were meant as operators: "graph AND (neural" searches graph neural
    words = [w for w in _PLAIN_WORD_RE.findall(text) if w not in _OPERATORS]
    if not words:
        raise _no_words(text)
    return Parsed(_and([Term("all", w) for w in dict.fromkeys(words)]), notice)


def free_text(node: Node) -> str:
    """The positive words and phrases as one string, for embedding in semantic search."""
    return " ".join(term.text for term in text_terms(node))


def _is_free_text(node: Node) -> bool:
    if isinstance(node, Term):
        return node.field == "all"
    if isinstance(node, And | Or):
        return all(_is_free_text(item) for item in node.items)
    return False


def split_query(node: Node) -> tuple[Node | None, Node | None]:
    """(free text, filters) of a query: the top-level AND items made only of bare words and
    phrases, and the rest -- authors, categories, dates, fielded terms and exclusions.

    ``au:hu graph networks -survey`` -> (And(graph, networks), And(Author hu, Not(survey))).
    The lexical backend compiles the whole tree; semantic search embeds the text part and
    applies the filter part as a hard constraint. Either side may be None.
    """
    items = node.items if isinstance(node, And) else (node,)
    text = [item for item in items if _is_free_text(item)]
    rest = [item for item in items if not _is_free_text(item)]
    return (_and(text) if text else None), (_and(rest) if rest else None)


def filters_only(node: Node) -> Node | None:
    return split_query(node)[1]


def _quote(text: str) -> str:
    return '"' + text + (' "' if text.endswith("\\") else '"')  # "a\\" would escape the quote


def _bare(term: Term) -> bool:
    """May an all-fields word print without `all:`? Not when it would read as a field
    ("jr:"), an operator or a negation (found by hypothesis: `all:jr:` printed as `jr:`)."""
    text = term.text
    # a leading "-" prints as `all:-5`: only the forgiving reading makes such words, and reads
    # that back as the word whether or not the text around it reads as pasted text
    return term.phrase or not (":" in text or text in _OPERATOR_WORDS or text.startswith("-"))


_OPERATOR_WORDS = {"AND", "OR", "ANDNOT", "NOT", "TO"}


def to_string(node: Node) -> str:
    """The query in canonical syntax; `parse(to_string(node)) == node`."""
    if isinstance(node, Term):
        # word texts are single words by construction; only phrases need quotes
        body = _quote(node.text) if node.phrase else node.text + ("*" if node.prefix else "")
        return body if node.field == "all" and _bare(node) else f"{node.field}:{body}"
    if isinstance(node, Author):
        return f"au:{_quote(node.raw)}"
    if isinstance(node, Category):
        code = node.code if re.fullmatch(r"[\w.\-]+", node.code) else _quote(node.code)
        return f"cat:{code}.*" if node.prefix else f"cat:{code}"
    if isinstance(node, TopicRef):
        return f"topic:{node.id}"
    if isinstance(node, DateRange):
        low = node.start.strftime("%Y%m%d") if node.start else "*"
        high = node.end.strftime("%Y%m%d") if node.end else "*"
        return f"submittedDate:[{low} TO {high}]"
    if isinstance(node, Not):
        inner = to_string(node.item)
        # the forgiving reading negates "-" only before a letter, a quote or a parenthesis
        bare = isinstance(node.item, _LEAVES) and (inner[0].isalpha() or inner[0] == '"')
        return f"-{inner}" if bare else f"-({inner})"
    joiner = " OR " if isinstance(node, Or) else " "
    parts = [f"({to_string(i)})" if isinstance(i, And | Or) else to_string(i) for i in node.items]
    return joiner.join(parts)
