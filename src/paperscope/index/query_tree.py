"""The syntax tree of a search query: what `paperscope.rank.query` parses text into and what
the lexical index compiles (`paperscope.index.lexical`). Frozen dataclasses, no parsing here.

Nodes:

* `Term` -- text in one field; `text` is as typed (TeX decoded), backends fold it with
  `paperscope.normalize.fold`. For ``id`` the text is the bare arXiv id.
* `Author` -- ``family``: folded family name, letters and digits only (`normalize.family_key`,
  particles kept: "van Beethoven" -> "vanbeethoven"); ``initial``: folded first letter of the
  given names or None; ``given``: folded given names (dots and hyphens become spaces) when the
  first one is spelt out, else None; ``raw``: the text as typed. So "Juhua Hu" and
  "Hu, Juhua" -> (hu, j, juhua); "J. Hu" and au:hu_j -> (hu, j, None); au:Hu -> (hu, None,
  None); au:del_maestro_a -> (delmaestro, a, None). Backends index stored names with
  `author_from_name` and match with the rule in `Author.matches`.
* `Category` -- ``code`` lower-cased; ``prefix`` means every category of that archive.
* `DateRange` -- inclusive day bounds on the publication date; None is an open end. Several
  date clauses stay separate DateRanges under an And.
* `TopicRef` -- ``topic:ID``, the papers of a topic and its sub-topics (`rowids`, filled in
  by the search engine from the store).
* `And`, `Or` (flattened, 2+ items) and `Not`. ``a ANDNOT b`` is ``And(a, Not(b))``; a double
  negation cancels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from paperscope.normalize import fold, name_key, split_name


@dataclass(frozen=True, slots=True)
class Term:
    field: str
    text: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Author:
    family: str
    initial: str | None = None
    given: str | None = None
    raw: str = ""

    @property
    def key(self) -> str:
        """arXiv's ``family_i`` form, as `normalize.name_key` builds it."""
        return f"{self.family}_{self.initial}" if self.initial else self.family

    def matches(self, name: str) -> bool:
        """Whether a stored display name is this author.

        Family names must be equal; a query initial needs the same stored initial; when both
        sides spell out a given name, the first given names must be equal ("Juhua Hu" matches
        "J. Hu" and "Hu, Juhua" but not "Jun Hu").
        """
        other = author_from_name(name)
        if other.family != self.family:
            return False
        if self.initial and other.initial != self.initial:
            return False
        if self.given and other.given:
            return self.given.split()[0] == other.given.split()[0]
        return True


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    prefix: bool = False

    @property
    def archive(self) -> bool:
        """Whether every category of the archive `code` matches: `cs.*`, and a code without
        a dot (`cs`, `math`, `hep-th`), since no arXiv category is an archive's name beside
        categories within it. `cat:cs` matched nothing, while `cat:hep-th` (an archive with
        no sub-categories) matched its papers."""
        return self.prefix or "." not in self.code

    def matches(self, code: str) -> bool:
        code = code.lower()
        return code == self.code or (self.archive and code.startswith(self.code + "."))


@dataclass(frozen=True, slots=True)
class DateRange:
    start: date | None
    end: date | None


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class TopicRef:
    """``topic:ID``: the papers of a topic (rank/topics.py) and its sub-topics. The search
    engine fills `rowids` from the store before the query is compiled."""

    id: int
    rowids: tuple[int, ...] = field(default=(), compare=False, repr=False)


Node = Term | Author | Category | DateRange | TopicRef | And | Or | Not


_GIVEN_SPLIT_RE = re.compile(r"[\s.\-]+")


def author_from_name(name: str, raw: str | None = None) -> Author:
    """The author key of a display name in any order ("Juhua Hu", "Hu, Juhua", "J. Hu")."""
    family, _, initial = name_key(name).partition("_")
    given_tokens = [t for t in _GIVEN_SPLIT_RE.split(fold(split_name(name)[0])) if t]
    given = " ".join(given_tokens) if given_tokens and len(given_tokens[0]) > 1 else None
    return Author(family, initial or None, given, name if raw is None else raw)


def text_terms(node: Node) -> tuple[Term, ...]:
    """Positive text terms (not under a Not, not ids), in order and without repeats."""
    out: dict[Term, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Term) and n.field != "id":
            out[n] = None
        elif isinstance(n, And | Or):
            for item in n.items:
                walk(item)

    walk(node)
    return tuple(out)
