"""Person names reduced to what author identity compares: family, first given name, initials.

"Juhua Hu", "Hu, Juhua", "J. Hu", "Hu J", "Bal\\'azs Kégl" and "Balazs Kegl" all reduce here;
`paperscope.normalize` does the TeX decoding, folding and "Last, First" turning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from paperscope.normalize import clean_name, fold, has_dblp_number, split_tokens

_NON_ALNUM_RE = re.compile(r"[\W_]+")
# "Hu J", "Hu JH", "Smith J.R.": family first, initials after (PubMed, some BibTeX).
_TRAILING_INITIALS_RE = re.compile(r"^(?:[A-Z]\.?){1,3}$")
_VOWELS = set("AEIOUY")
_PARTS_RE = re.compile(r"[-.\u2010\u2011]+")


@dataclass(frozen=True, slots=True)
class PersonName:
    family: str  # folded family name, letters and digits only ("vanderberg")
    first: str  # folded first given name without hyphens ("yuming"); "" when only an initial
    initials: str  # first letters of the given names ("ym" for "Yu-Ming", "jh" for "J. H.")

    @property
    def full(self) -> bool:
        """Does the name carry a first given name (or no given name at all, "Madonna")?"""
        return bool(self.first) or not self.initials

    @property
    def key(self) -> str:
        """What every spelling of one full name shares: "hu|juhua"."""
        return f"{self.family}|{self.first}"

    @property
    def short_key(self) -> str:
        """family + first initial ("hu_j"): how coauthors are compared, whatever the spelling."""
        return f"{self.family}_{self.initials[:1]}"


def compatible_initials(a: str, b: str) -> bool:
    """ "j" fits "jh" ("J. Hu" may be "Juhua H. Hu"); "jh" does not fit "jj"."""
    return a.startswith(b) or b.startswith(a)


def _given_words(given: str) -> list[list[str]]:
    """Given names as words of folded parts: "Yu-Ming" gives [["yu", "ming"]]."""
    words = []
    for word in given.split():
        if word.isupper() and 1 < len(word.strip(".")) <= 3 and not (_VOWELS & set(word)):
            parts = list(word.strip("."))  # "JH Smith": initials written together
        else:
            parts = [p for p in _PARTS_RE.split(word) if p]
        folded = [f for p in parts if (f := _NON_ALNUM_RE.sub("", fold(p)))]
        if folded:
            words.append(folded)
    return words


def parse_person(name: str) -> PersonName | None:
    """The comparable parts of a display name; None when no family name is left."""
    name = clean_name(name)
    tokens = name.split()
    if has_dblp_number(tokens):
        tokens = tokens[:-1]
    trailing = tokens[-1] if len(tokens) >= 2 else ""
    if (
        trailing
        and _TRAILING_INITIALS_RE.match(trailing)
        and (len(trailing.strip(".")) == 1 or not (_VOWELS & set(trailing)))
        and any(ch.islower() for ch in tokens[0])
    ):
        family, given = " ".join(tokens[:-1]), " ".join(trailing.replace(".", " ").split())
    else:
        given, family = split_tokens(tokens)
    family_key = _NON_ALNUM_RE.sub("", fold(family))
    if not family_key:
        return None
    words = _given_words(given)
    initials = "".join(part[0] for word in words for part in word)
    first = ""
    if words and all(len(part) > 1 for part in words[0]):
        first = "".join(words[0])
    return PersonName(family_key, first, initials)


def spelling_rank(name: str, uses: int) -> tuple:
    """Sort key of the spellings of one person, the greatest naming them: one without a dblp
    number ("Wei Wang" before "Wei Wang 0001", whatever their uses), then the most used, then
    the longest."""
    tokens = name.split()
    return (not has_dblp_number(tokens), uses, len(name), name)


def slugify(name: str) -> str:
    """A readable URL part: "Balázs Kégl" -> "balazs-kegl"; never empty."""
    slug = _NON_ALNUM_RE.sub("-", fold(clean_name(name))).strip("-")
    return slug[:80].strip("-") or "author"


def name_fold(name: str) -> str:
    """A display name folded for look-ups: "Hu, Juhua" and "Juhua Hu" give "juhua hu"."""
    return " ".join(fold(clean_name(name)).split())
