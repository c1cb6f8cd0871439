"""Topic labels by class-based TF-IDF over title + abstract words and word pairs.

Each cluster's papers are one "class document". A term's weight in a class is its frequency
there times log(1 + mean class length / its frequency over all classes): frequent in this
class, rare elsewhere. Stop-words and words every field uses ("paper", "propose", "results")
are dropped before pairs are formed, so a pair is two content words in a row ("graph neural",
"message passing"). A label is the best two or three terms, pairs preferred, joined by " · ".
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

#: Words of every research abstract, whatever its field: they say nothing about a topic.
FIELD_WORDS = frozenset(
    """
    paper papers propose proposed proposes proposing present presents presented presenting
    introduce introduces introduced introducing method methods approach approaches result
    results show shows shown showing demonstrate demonstrates demonstrated study studies
    studied work works novel new based using use used uses existing state art performance
    experiments experiment experimental extensive evaluate evaluated evaluation outperforms
    outperform significantly significant improve improves improved improvement improvements
    effective effectively efficient efficiently problem problems task tasks framework
    frameworks technique techniques challenge challenges challenging achieve achieves
    achieved provide provides provided different various recent recently existing previous
    prior demonstrate paper's however furthermore moreover additionally specifically
    compared comparison superior able ability enables enable allows allow well known widely
    widely-used large small high low key main important general simple make makes made
    given way ways number numbers set sets including include includes model models
    respectively particular particularly address addresses addressed aim aims real world
    real-world first second also one two three many much often end code available publicly
    github https http www com org arxiv propose propose achieve leverage leverages leveraging
    across within without better best strong stronger data learning learn learned learns
    via e.g i.e et al etc often thus hence can may might could would should will
    state-of-the-art sota effectiveness effective corresponding generates generated generate
    readily manually developed develop develops developing consistently consistent solve
    solves solving solved higher lower faster slower achieving achieve providing obtain
    obtained obtains find finds found need needs needed require requires required
    requiring remains remain remaining lack lacks limited limitation limitations
    potential promising robust accurate accuracy quality superior competitive comparable
    standard typically usually common commonly crucial critical essential fundamental
    significantly substantially notably considerably further additional overall various
    several multiple diverse wide broad range ranging level levels type types form forms
    process processes problem setting settings scenario scenarios case cases aspect aspects
    information knowledge understanding insights analysis analyze analyzes analyzed
    investigate investigates investigated explore explores explored examine examines
    demonstrating showing shows reveals reveal revealed suggest suggests indicating
    indicate indicates highlight highlights introduce introduces leads lead leading
    towards toward benefit benefits gains gain boost boosts significantly-improved
    especially particularly paradigm paradigms area areas field fields domain-specific
    task-specific existing current currently conventional traditional typical
    """.split()
)
#: Adverbs ("consistently", "readily") describe how, never what: words ending in -ly are
#: dropped except these nouns.
LY_NOUNS = frozenset("anomaly anomaly-detection family supply assembly italy poly".split())


@functools.cache
def stop_words() -> frozenset[str]:
    """sklearn's English stop-words and FIELD_WORDS. sklearn takes most of a second to import,
    so it is imported on first use, not by every command that imports the search engine."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | FIELD_WORDS


def __getattr__(name: str) -> frozenset[str]:
    if name == "STOP_WORDS":
        return stop_words()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: A word: a letter, then letters and digits, hyphenated parts allowed. Any script's letters:
#: [a-z] cut "schrödinger" into "schr" and "dinger", which then made a label's pair.
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:-[^\W_]+)*")
#: Label terms: at most this many, and a pair needs this share of the class's papers.
LABEL_TERMS = 3


def tokens(text: str) -> list[list[str]]:
    """Runs of content words: a stop-word (or punctuation ending a clause) breaks a run, so
    word pairs never join words a stop-word stood between."""
    runs: list[list[str]] = []
    # composed: a letter and its combining accent are one character for _WORD
    text = unicodedata.normalize("NFC", text.lower())
    for clause in re.split(r"[.,;:!?()\[\]{}\"]+", text):
        run: list[str] = []
        for w in _WORD.findall(clause):
            if (
                w in stop_words()
                or len(w) < 3
                or w.isdigit()
                or (w.endswith("ly") and w not in LY_NOUNS)
            ):
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(w)
        if run:
            runs.append(run)
    return runs


def terms(text: str) -> Counter[str]:
    """The words and adjacent word pairs of `text`, each counted once per paper (document
    frequency inside a class says more than one abstract repeating a word)."""
    found: set[str] = set()
    for run in tokens(text):
        found.update(run)
        found.update(f"{a} {b}" for a, b in itertools.pairwise(run))
    return Counter(found)


def class_tfidf(classes: Sequence[Counter[str]]) -> list[list[tuple[str, float]]]:
    """Per class, its terms by c-TF-IDF weight, highest first (terms of 1 paper only are not
    candidates when any term is shared: a label should describe more than one paper)."""
    overall: Counter[str] = Counter()
    for c in classes:
        overall.update(c)
    mean_len = sum(overall.values()) / max(len(classes), 1)
    ranked = []
    for c in classes:
        total = sum(c.values()) or 1
        # a term of one paper describes no group; in a class whose papers share no term,
        # one paper's terms are all there is
        shared = any(n >= 2 for n in c.values())
        scores = [
            (t, n / total * math.log(1 + mean_len / overall[t]))
            for t, n in c.items()
            if n >= 2 or not shared
        ]
        scores.sort(key=lambda s: (-s[1], s[0]))
        ranked.append(scores)
    return ranked


def _key(term: str) -> str:
    # "networks" and "network" are one term for choosing a label
    return " ".join(w[:-1] if w.endswith("s") and not w.endswith("ss") else w for w in term.split())


def label(
    ranked: Sequence[tuple[str, float]], avoid: Sequence[str] = (), most: int = LABEL_TERMS
) -> str:
    """Up to `most` terms: pairs first among the top candidates, skipping a word already said
    (in a chosen pair, or in `avoid`, the parent's label)."""
    said = {w for a in avoid for w in _key(a).split()}
    top = ranked[:40]
    chosen: list[str] = []
    for want_pair in (True, False):
        for term, _ in top:
            if len(chosen) >= most:
                break
            if (" " in term) != want_pair:
                continue
            words = set(_key(term).split())
            if words & said:
                continue
            chosen.append(term)
            said |= words
        if len(chosen) >= 2:
            break
    if not chosen and ranked:
        chosen = [ranked[0][0]]
    return " · ".join(chosen) if chosen else "(untitled)"
