"""The other regional spelling of an English word: "normalisation" for "normalization",
"behaviour" for "behavior", "centre" for "center", and back.

The English stemmer of the index already joins some pairs ("modelling" and "modeling" are both
"model"), but not these: on the quality store of bench/search_quality.py, `normalisation`
found 2 papers and `normalization` 88. The lexical index searches a British word's American
spelling beside it when papers hold it (`lexical._other_spelling`, `american_spelling`); a rule
that makes a word nobody writes ("rise" -> "rize") finds nothing and is dropped there.
"""

from __future__ import annotations

#: Endings, British first. The longest ending that fits is used, either way round.
_ENDINGS = (
    ("isations", "izations"),
    ("isation", "ization"),
    ("ising", "izing"),
    ("isers", "izers"),
    ("iser", "izer"),
    ("ised", "ized"),
    ("ises", "izes"),
    ("ise", "ize"),
    ("ysing", "yzing"),
    ("ysed", "yzed"),
    ("yser", "yzer"),
    ("yse", "yze"),
    ("ourites", "orites"),
    ("ourite", "orite"),
    ("ourable", "orable"),
    ("ouring", "oring"),
    ("oured", "ored"),
    ("ourful", "orful"),
    ("oural", "oral"),
    ("ours", "ors"),
    ("our", "or"),
    ("tres", "ters"),
    ("tre", "ter"),
    ("bres", "bers"),
    ("bre", "ber"),
    ("ogues", "ogs"),
    ("ogue", "og"),
)
#: Beginnings, British first: the medical "ae" and "oe" ("haemorrhage", "oesophagus").
_BEGINNINGS = (
    ("orthopaed", "orthoped"),
    ("leukaem", "leukem"),
    ("anaesth", "anesth"),
    ("oesoph", "esoph"),
    ("aetiol", "etiol"),
    ("haem", "hem"),
    ("paed", "ped"),
    ("oestr", "estr"),
    ("foet", "fet"),
)
#: Whole words no rule above covers.
_WORDS = {
    "defence": "defense",
    "licence": "license",
    "offence": "offense",
    "grey": "gray",
    "programme": "program",
    "programmes": "programs",
    "aluminium": "aluminum",
    "sulphur": "sulfur",
    "manoeuvre": "maneuver",
    "anaemia": "anemia",
}
_WORDS_BACK = {american: british for british, american in _WORDS.items()}
#: Letters a word keeps before a changed ending: "four" is not "for", "size" not "sise".
MIN_STEM = 3


def american_spelling(word: str) -> str | None:
    """`word` (lower case, one token) in American spelling when it is British by a rule, else
    None; it may be a word nobody writes, which the caller checks papers hold. The search
    looks one way only: the English stemmer cuts some British forms to a stem other words
    share ("parametres" to "parametr", the stem of "parametric"; "parameters" is "paramet"),
    so an American word's British form would find other words."""
    return _respelled(word, british=False)


def british_spelling(word: str) -> str | None:
    """`word` (lower case) in British spelling when a rule makes it so, else None: the
    search-quality bench writes its queries so."""
    return _respelled(word, british=True)


def _respelled(word: str, *, british: bool) -> str | None:
    """`word` written the other way round, toward British spelling when `british` (from
    American), else toward American."""
    if not word.isalpha():
        return None
    words = _WORDS_BACK if british else _WORDS
    if word in words:
        return words[word]
    for brit, american in _ENDINGS:
        have, want = (american, brit) if british else (brit, american)
        if word.endswith(have) and len(word) - len(have) >= MIN_STEM:
            return word[: -len(have)] + want
    for brit, american in _BEGINNINGS:
        have, want = (american, brit) if british else (brit, american)
        if word.startswith(have) and len(word) > len(have) + 2:
            return want + word[len(have) :]
    return None
