"""Lexical search: a tantivy index in a folder beside the store, BM25 with field boosts.

Chosen by bench/lexical_engines.py at 1M papers (docs/bench/lexical_engines.txt): a top-20
for common words takes tantivy 4.9 ms (9.3 ms with the total count) against 397 ms for SQLite
FTS5, which scores every match; word + category + year, 3 ms against 442 ms. tantivy also has
fields, boosts, phrases, prefixes, ranges, filters, aggregations, persistence and incremental
updates; bm25s has none of these and needs 4.8 GB at 1M.

The index is a cache of the store: `ensure` rebuilds it when it is missing, unreadable, of
another schema version or from another store, and otherwise catches up with the papers changed
since it was last written (`SQLiteStore.rowids_modified_since`). A stamp file in the folder
records the schema version, the store generation and the newest ``modified_at`` indexed.

Queries arrive as `paperscope.rank.query` trees and are compiled to tantivy query objects, never
to a query string, so no user text is ever read as engine syntax. Fields:

    title, abstract, comment, journal_ref   TeX decoded, folded (accents removed), English
                                            stemming
    tex                                     the title's and abstract's words that hold TeX,
                                            as written (`tex_words`)
    authors                                 display names, folded, not stemmed
    authorkey                               per author "hu", "hu_j" and "hu_j_juhua" (or
                                            "hu_j_" when only the initial is known): `Author`
    arxiv_id, cat                           exact; cat holds lower-case codes and "cs.*"
    cat_facet, year                         fast columns for facet counts
    date                                    YYYYMMDD integer (range filters, newest sort)
    upvotes, citations, rowid               fast integers

Bare words search every text field with boosts title > authors > abstract > comment/journal,
tex.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import tantivy
from tantivy import FieldType, Filter, Occur, Order, Query, TextAnalyzerBuilder, Tokenizer

from paperscope.errors import InputError, StoreError
from paperscope.index import query_tree as q
from paperscope.index.paths import disk_full_explained
from paperscope.index.spelling import american_spelling
from paperscope.model import Paper
from paperscope.normalize import math_spans, normalize_arxiv_id, tex_to_unicode
from paperscope.store.sqlite import SQLiteStore

#: Bump whenever fields, analyzers or what is indexed change: older indexes are rebuilt.
#: 2: date_end, the last day of a year- or month-only date. 3: TeX accents and macros of the
#: text fields decoded before indexing, as query words are (R\'enyi = Rényi = Renyi), and
#: the `tex` field. 4: a dblp homonym number is no part of an author key ("Wei Wang 0001" is
#: wang_w, not 0001_w).
SCHEMA_VERSION = 4
STAMP = "paperscope-stamp.json"

#: BM25 boosts per field for bare words: title > authors > abstract > comment, journal.
FIELD_BOOSTS = {
    "title": 3.0,
    "authors": 2.0,
    "abstract": 1.0,
    "comment": 0.5,
    "journal_ref": 0.5,
    "tex": 0.5,
}
#: A bare word that is an arXiv id finds that paper first.
ID_BOOST = 20.0
#: Proximity evidence (relevance sort only): two adjacent bare query words that stand within
#: PAIR_SLOP words of each other, in this order, in the title or the abstract add a phrase
#: score with these boosts. It ranks papers about "global normalization" above papers that use
#: "global" and "normalization" apart, on queries nobody tuned for (bench/search_quality.py).
TITLE_PAIR_BOOST = 2.0
ABSTRACT_PAIR_BOOST = 1.0
PAIR_SLOP = 2
#: Adjacency evidence on top of it: the two words side by side, as typed ("domain
#: adaptation", not "adaptation of the domain"), add another phrase score. The held-back check
#: of issue 10 found a TF-IDF over words and adjacent word pairs well ahead of BM25 on queries
#: nobody tuned for. bench/search_quality.py (docs/bench/search_quality.txt): in hybrid, title
#: keyphrases 0.867 -> 0.927 at PAIR_SLOP 2 (0.884 at the former slop 1 without it); the other
#: sets tie with and without it, so on visible data only the keyphrase set asks for it.
TITLE_EXACT_PAIR_BOOST = 2.0
ABSTRACT_EXACT_PAIR_BOOST = 1.0
#: A phrase query reads the word positions of every paper that holds both words: two words
#: of the abstracts of 1,000,000 synthetic papers as common as "deep learning" (348,930 papers)
#: took 34 ms a phrase query, 104 ms a search with the four. A pair whose rarer word more papers
#: than this hold has no abstract evidence (title evidence, on far shorter lists, stays): no
#: store of bench/search_quality.py comes near it.
EVIDENCE_MOST = 100_000
#: The relaxed lexical side (`search(relax=True)`, used by hybrid ranking): when fewer than
#: RELAX_BELOW papers hold every bare word, papers holding at least RELAX_SHARE of them (and
#: every filter) are ranked after them. Off (0): bench/search_quality.py measured it below
#: 20 and below 1 (only when no paper holds every word) and on every set it tied or lost
#: (topics 0.199 -> 0.190 / 0.188, sentences 1.000 -> 0.995): for short topic queries the
#: partial matches push out better semantic candidates, and pasted sentences are found anyway.
RELAX_BELOW = 0
RELAX_SHARE = 0.6
#: Whether papers holding every word always rank above those holding only most of them.
RELAX_TIERS = True
#: Query fields of the parser -> index fields.
_TERM_FIELDS = {"ti": ("title",), "abs": ("abstract",), "co": ("comment",), "jr": ("journal_ref",)}
SORTS = ("relevance", "newest", "upvotes", "citations")
_SORT_FIELDS = {"newest": "date", "upvotes": "upvotes", "citations": "citations"}

#: Writer memory: bulk rebuilds get more, small catch-ups less (tantivy splits it per thread).
_REBUILD_HEAP = 256_000_000
_UPDATE_HEAP = 64_000_000
_WRITER_WAIT = 60.0  # seconds to wait for another process's writer before giving up
#: Filter sets `LexicalIndex.filter_rowids` keeps (at 1,000,000 papers a set of 200,000 is
#: 1.6 MB).
FILTER_SETS = 16
_BULK = 20_000  # a catch-up this large gets the rebuild's writer
_CHUNK = 2000  # papers loaded from the store at a time

Progress = Callable[[int, int], None]
Ranked = list[tuple[int, float]]


# ---------------------------------------------------------------- analyzers and schema


def _analyzer(stem: bool) -> tantivy.TextAnalyzer:
    builder = (
        TextAnalyzerBuilder(Tokenizer.simple())
        .filter(Filter.remove_long(40))
        .filter(Filter.lowercase())
        .filter(Filter.ascii_fold())
    )
    if stem:
        builder = builder.filter(Filter.stemmer("english"))
    return builder.build()


#: Text fields: words split on non-alphanumerics, lower-cased, accents folded (é -> e,
#: ß -> ss), English Porter stemming for prose; names are not stemmed.
EN = _analyzer(stem=True)
FOLD = _analyzer(stem=False)
_TOKENIZERS = {"paper_en": EN, "paper_fold": FOLD}
_PROSE = ("title", "abstract", "comment", "journal_ref", "tex")


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    for name in _PROSE:
        sb.add_text_field(name, tokenizer_name="paper_en")
    sb.add_text_field("authors", tokenizer_name="paper_fold")
    for name in ("authorkey", "arxiv_id", "cat"):
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("cat_facet", tokenizer_name="raw", index_option="basic", fast=True)
    sb.add_integer_field("date", indexed=True, fast=True)
    sb.add_integer_field("date_end", indexed=True)
    sb.add_integer_field("year", fast=True)
    sb.add_integer_field("upvotes", fast=True)
    sb.add_integer_field("citations", fast=True)
    sb.add_integer_field("rowid", indexed=True, fast=True)
    return sb.build()


SCHEMA = build_schema()


def _register(index: tantivy.Index) -> tantivy.Index:
    # analyzers are code, not data: every opened index needs them registered again
    for name, analyzer in _TOKENIZERS.items():
        index.register_tokenizer(name, analyzer)
    return index


# ---------------------------------------------------------------- documents


@lru_cache(maxsize=200_000)
def author_keys(name: str) -> tuple[str, ...]:
    """The `authorkey` tokens of one stored author: "Juhua Hu" -> hu, hu_j, hu_j_juhua;
    "J. Hu" -> hu, hu_j, hu_j_ (the trailing "_" says no given name is spelt out)."""
    author = q.author_from_name(name)
    if not author.family:
        return ()
    keys = [author.family]
    if author.initial:
        stem = f"{author.family}_{author.initial}"
        keys.append(stem)
        keys.append(f"{stem}_{author.given.split()[0]}" if author.given else f"{stem}_")
    return tuple(keys)


def author_query_keys(author: q.Author) -> list[str]:
    """The `authorkey` tokens any of which matches `author`, as `Author.matches` decides."""
    if not author.initial:
        return [author.family]
    stem = f"{author.family}_{author.initial}"
    if not author.given:
        return [stem]
    # the same first given name, or a stored name with only the initial ("J. Hu")
    return [f"{stem}_{author.given.split()[0]}", f"{stem}_"]


def category_tokens(codes: Iterable[str]) -> list[str]:
    """Lower-case codes plus "archive.*" for each dotted prefix: cs.LG -> cs.lg, cs.*, cs.lg.*
    (a real code never ends in ".*", so the two kinds cannot collide)."""
    out: dict[str, None] = {}
    for code in codes:
        code = code.lower()
        out[code] = None
        parts = code.split(".")
        for i in range(1, len(parts) + 1):
            out[".".join(parts[:i]) + ".*"] = None
    return list(out)


def date_number(value: str | date | None) -> int | None:
    """YYYYMMDD of an ISO date or timestamp ("2024-01-05T10:00:00Z" -> 20240105)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.year * 10000 + value.month * 100 + value.day
    digits = re.match(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", value)
    if not digits:
        return None
    year, month, day = (int(g) if g else 1 for g in digits.groups())
    return year * 10000 + month * 100 + day


def date_end_number(value: str | None) -> int | None:
    """YYYYMMDD of the last day a date can mean: "2026" -> 20261231, "2026-02" -> 20260231
    (a bound, not a calendar day), a day itself otherwise."""
    first = date_number(value)
    if first is None or value is None:
        return None
    digits = re.match(r"\d{4}(-\d{1,2})?(-\d{1,2})?", value)
    if digits and not digits.group(1):
        return first + 1130  # YYYY0101 -> YYYY1231
    if digits and not digits.group(2):
        return first + 30  # YYYYMM01 -> YYYYMM31
    return first


def tex_words(*texts: str | None) -> str:
    r"""The words of `texts` that TeX decoding changes, as written (`Fr\'echet`,
    `\emph{every}`), math left out: the `tex` field, so the words of the source ("Fr echet")
    still find a paper whose text is indexed decoded ("Fréchet")."""
    prose = []
    for text in texts:
        if text and "\\" in text:
            at = 0
            for start, end in [*math_spans(text), (len(text), len(text))]:
                prose.append(text[at:start])  # math is indexed as written already
                at = end
    words = [w for part in prose for w in part.split()]
    return " ".join(w for w in words if "\\" in w and tex_to_unicode(w) != w)


def paper_document(rowid: int, paper: Paper) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_integer("rowid", rowid)
    for name, value in (
        ("title", paper.title),
        ("abstract", paper.abstract),
        ("comment", paper.comment),
        ("journal_ref", paper.journal_ref),
    ):
        if value:
            # decoded as `query.parse_query` decodes a query, so a sentence pasted with its TeX
            # (Fr\'echet, T$_{\textrm{B}}$) finds the paper it came from
            doc.add_text(name, tex_to_unicode(value))
    if written := tex_words(paper.title, paper.abstract):
        doc.add_text("tex", written)
    for author in paper.authors:
        doc.add_text("authors", author.name)
        for key in author_keys(author.name):
            doc.add_text("authorkey", key)
    if paper.arxiv_id:
        doc.add_text("arxiv_id", paper.arxiv_id)
    for token in category_tokens(paper.categories):
        doc.add_text("cat", token)
    for code in paper.categories:
        doc.add_text("cat_facet", code)
    day = date_number(paper.published)
    if day is not None:
        doc.add_integer("date", day)
        doc.add_integer("date_end", date_end_number(paper.published))
        doc.add_integer("year", day // 10000)
    if paper.upvotes is not None:
        doc.add_integer("upvotes", paper.upvotes)
    if paper.citations is not None:
        doc.add_integer("citations", paper.citations)
    return doc


# ---------------------------------------------------------------- query compilation


def _escape_regex(text: str) -> str:
    return "".join(ch if ch.isalnum() else f"\\x{{{ord(ch):x}}}" for ch in text)


def _should(queries: list[Query]) -> Query | None:
    if not queries:
        return None
    return (
        queries[0]
        if len(queries) == 1
        else Query.boolean_query([(Occur.Should, sub) for sub in queries])
    )


def _boost(query: Query, boost: float) -> Query:
    return query if boost == 1.0 else Query.boost_query(query, boost)


def _filter(query: Query) -> Query:
    """Filters select without scoring, so they do not reorder what the words ranked."""
    return Query.const_score_query(query, 0.0)


def _text_query(field: str, term: q.Term) -> Query | None:
    """One field's query for a word, prefix or phrase; None when the text has no tokens."""
    stemmed = field in _PROSE
    if term.prefix:
        raw = FOLD.analyze(term.text)
        if not raw:
            return None
        if len(raw) > 1:  # "graph-bas*": a phrase whose last word is a prefix
            words = [*(EN.analyze(w)[0] if stemmed else w for w in raw[:-1]), raw[-1]]
            return Query.phrase_prefix_query(SCHEMA, field, words)
        # "learning*" must also find the stem "learn" it was indexed as, "study*" "studi"
        prefixes = dict.fromkeys([raw[0], *(EN.analyze(raw[0]) if stemmed else [])])
        return _should(
            [Query.regex_query(SCHEMA, field, _escape_regex(p) + ".*") for p in prefixes]
        )
    tokens = (EN if stemmed else FOLD).analyze(term.text)
    if not tokens:
        return None
    if len(tokens) == 1:
        return Query.term_query(SCHEMA, field, tokens[0])
    # a phrase, or one word the analyzer splits ("graph-based", "x86_64")
    return Query.phrase_query(SCHEMA, field, tokens)


def _term(term: q.Term) -> Query | None:
    if term.field == "id":
        return Query.term_query(SCHEMA, "arxiv_id", term.text, index_option="basic")
    if term.field != "all":
        parts = [_text_query(field, term) for field in _TERM_FIELDS[term.field]]
        return _should([p for p in parts if p is not None])
    return _should(_all_fields(term))


def _all_fields(term: q.Term) -> list[Query]:
    """A bare word in every text field, boosted per field: alternatives whose scores add up."""
    parts = []
    for field, boost in FIELD_BOOSTS.items():
        sub = _text_query(field, term)
        if sub is not None:
            parts.append(_boost(sub, boost))
    if not term.phrase and not term.prefix:
        ident = normalize_arxiv_id(term.text)
        if ident and ident in term.text:
            parts.append(
                _boost(Query.term_query(SCHEMA, "arxiv_id", ident, index_option="basic"), ID_BOOST)
            )
    return parts


def _leaf(node: q.Node) -> Query | None:
    if isinstance(node, q.Term):
        return _term(node)
    if isinstance(node, q.Author):
        keys = author_query_keys(node)
        return _filter(Query.term_set_query(SCHEMA, "authorkey", keys))
    if isinstance(node, q.Category):
        # "cs.*" is indexed for cs.LG and for a bare "cs" alike (category_tokens)
        token = f"{node.code}.*" if node.archive else node.code
        return _filter(Query.term_query(SCHEMA, "cat", token, index_option="basic"))
    if isinstance(node, q.TopicRef):
        if not node.rowids:
            return _filter(Query.empty_query())
        return _filter(Query.term_set_query(SCHEMA, "rowid", list(node.rowids)))
    if isinstance(node, q.DateRange):
        # a paper matches when all its date can mean lies in the range: one known only as
        # "2026" is in year:2026, never in January 2026 (a year is not its first day)
        low, high = date_number(node.start), date_number(node.end)
        parts = []
        if low is not None:
            parts.append(Query.range_query(SCHEMA, "date", FieldType.Integer, low, None))
        if high is not None:
            parts.append(Query.range_query(SCHEMA, "date_end", FieldType.Integer, None, high))
        if not parts:
            return _filter(Query.range_query(SCHEMA, "date", FieldType.Integer, None, None))
        if len(parts) == 1:
            return _filter(parts[0])
        return _filter(Query.boolean_query([(Occur.Must, part) for part in parts]))
    raise TypeError(f"not a query node: {node!r}")


def searched_form(node: q.Node, searcher: tantivy.Searcher) -> q.Node:
    """`node` as the index searches it, against what the papers of `searcher` write:

    - a word the analyzer splits ("global-normalization", "x86_64") is the phrase of its
      parts ("self-supervised" finds "self supervised" and "self-supervised", not
      "self-training ... supervised"); when no paper has that phrase, its parts, as if typed
      apart (the phrase alone found nothing where the words typed apart found papers);
    - a possessive is the name (`_without_possessive`);
    - a word papers write both closed and open ("pretraining", "pre-training"), or both
      British and American ("normalisation", "normalization"), is also the other
      (`_other_spelling`; a British word only);
      a closed word no paper holds ("superresolution") is so found as the phrase of its parts.

    Quoted phrases, prefixes and ids stay as they are."""
    if isinstance(node, Spellings):
        return node  # searched already
    if isinstance(node, q.Term):
        if not _typed_word(node):
            return node
        node = _without_possessive(node)
        if parts := _split_parts(node):
            if not (found := _count(searcher, node)):
                return q.And(tuple(q.Term(node.field, part) for part in parts))
        elif len(FOLD.analyze(node.text)) != 1:
            return node  # an arXiv id, or no word at all
        else:
            found = _count(searcher, node)
        return _other_spelling(node, found, searcher)
    if isinstance(node, q.And | q.Or):
        items: list[q.Node] = []
        for item in node.items:
            new = searched_form(item, searcher)
            # the parts join the words around them, as typed apart (pair evidence sees them)
            items.extend(new.items if isinstance(node, q.And) and isinstance(new, q.And) else [new])
        return type(node)(tuple(items))
    if isinstance(node, q.Not):
        return q.Not(searched_form(node.item, searcher))
    return node


def _typed_word(term: q.Term) -> bool:
    """Whether `term` is a word as typed: not a quoted phrase, a prefix or an id."""
    return not (term.phrase or term.prefix or term.field == "id")


def _count(searcher: tantivy.Searcher, term: q.Term) -> int:
    """About how many papers hold `term`: 0 exactly when none does. A word of one token is
    looked up in the term dictionary (its most papers in one field: a search counting every
    paper with "learning" took milliseconds at 1,000,000 papers, per word, twice a request);
    a phrase or a prefix is counted by a search."""
    if not term.phrase and not term.prefix and (held := _most_in_a_field(searcher, term)) >= 0:
        return held
    compiled = _term(term)
    return searcher.search(compiled, 1, count=True).count if compiled is not None else 0


def _most_in_a_field(searcher: tantivy.Searcher, term: q.Term) -> int:
    """The most papers holding one-token `term` in one of its fields, or -1 when the word is
    more than one token there (a phrase) or an arXiv id (searched in the id field too)."""
    fields = FIELD_BOOSTS if term.field == "all" else _TERM_FIELDS.get(term.field, ())
    if not fields or (term.field == "all" and normalize_arxiv_id(term.text)):
        return -1
    most = 0
    for field in fields:
        tokens = (EN if field in _PROSE else FOLD).analyze(term.text)
        if len(tokens) > 1:
            return -1
        if tokens:
            most = max(most, searcher.doc_freq(field, tokens[0]))
    return most


#: The shortest part a closed compound is split into ("re" + "identification").
COMPOUND_PART = 2
#: Longer words are not cut: a cut is a count query, and no compound of two words is longer.
COMPOUND_LONGEST = 32


@dataclass(frozen=True, slots=True)
class Spellings(q.Or):
    """One typed word and its other spelling (`_other_spelling`): matched as either, and
    still one word to the proximity evidence and the relaxed side."""


#: A word's other spelling counts when at least this share of the papers holding the word as
#: typed hold it: "data set" is 0.07 of "dataset" on the quality store, "pre-training" 2.2
#: times "pretraining"; the cuts of line-broken words are rarer ("iden-tification" 0.04,
#: "mod-els" 0.002). A spelling far rarer than the typed one would also lead the ranking by its
#: rarity alone (BM25 weighs rare words up).
SPELLING_SHARE = 0.05
#: Words that do not start or end a closed compound: "forgetting" is not "for getting", nor
#: "notable" "not able", nor "overall" "over all".
_GLUE = frozenset(
    "a an and are as at be but by can for from has have in into is it its no not of on or "
    "our so than that the their then there these this those to up was we were which with "
    "all any each few more most other some such only own same too very".split()
)


def _other_spelling(term: q.Term, found: int, searcher: tantivy.Searcher) -> q.Node:
    """`term` or its other spellings, when papers write the word more than one way (`found`
    papers hold it as typed):

    - typed closed ("pretraining", "superresolution"), also the phrase of two parts that
      papers write side by side ("pre-training", "super resolution"): of the ways to cut it,
      the phrase most papers hold, neither part a glue word (`_GLUE`);
    - typed with a hyphen ("pre-training", already that phrase), also closed ("pretraining");
    - British ("normalisation"), also American (`spelling.american_spelling`; not the other
      way: the stemmer makes some British forms find other words).

    An other spelling counts when at least SPELLING_SHARE of `found` papers hold it."""
    tokens = FOLD.analyze(term.text)
    candidates: list[tuple[q.Term | None, int]] = []
    if len(tokens) == 2 and not _GLUE.intersection(tokens):
        joined = replace(term, text="".join(tokens))
        candidates.append((joined, _count(searcher, joined)))
    elif len(tokens) == 1:
        if 2 * COMPOUND_PART <= len(tokens[0]) <= COMPOUND_LONGEST:
            candidates.append(_best_cut(term, tokens[0], searcher))
        if (variant := american_spelling(tokens[0])) is not None:
            regional = replace(term, text=variant)
            candidates.append((regional, _count(searcher, regional)))
    others = tuple(
        other
        for other, held in candidates
        if other is not None and held and held >= SPELLING_SHARE * found
    )
    return Spellings((term, *others)) if others else term


def _best_cut(term: q.Term, word: str, searcher: tantivy.Searcher) -> tuple[q.Term | None, int]:
    """The phrase of two parts of `word` that most papers hold, and their number (None, 0
    when none does). A cut is counted only when neither part is a glue word and both stand
    in some title or abstract (a dictionary look-up)."""
    best, found = None, 0
    for cut in range(COMPOUND_PART, len(word) - COMPOUND_PART + 1):
        head, tail = word[:cut], word[cut:]
        stems = EN.analyze(head) + EN.analyze(tail)
        # on the stems, as the phrase is searched: "competitors" is not "competit or(s)"
        if {head, tail, *stems} & _GLUE or len(stems) != 2:
            continue
        if not (_held(searcher, head) and _held(searcher, tail)):
            continue
        phrase = replace(term, text=f"{head} {tail}", phrase=True)
        if (count := _count(searcher, phrase)) > found:
            best, found = phrase, count
    return best, found


def _held(searcher: tantivy.Searcher, word: str) -> bool:
    stems = EN.analyze(word)
    return bool(stems) and any(searcher.doc_freq(f, stems[0]) for f in ("title", "abstract"))


_POSSESSIVE_RE = re.compile(r"(\w.*?)['’]s", re.S)


def _without_possessive(term: q.Term) -> q.Term:
    """`Turing's` as `Turing`: the index reads "Turing's" as "turing" then "s", so the word
    was the phrase of both and missed every paper on Turing that does not write his name
    possessive (18 papers of 105 on the quality store). A quoted phrase keeps it."""
    match = _POSSESSIVE_RE.fullmatch(term.text)
    return replace(term, text=match[1]) if match else term


def _split_parts(term: q.Term) -> list[str]:
    """The parts of a word the analyzer splits, or [] (an arXiv id, one token)."""
    if normalize_arxiv_id(term.text):
        return []
    parts = list(dict.fromkeys(FOLD.analyze(term.text)))
    return parts if len(parts) > 1 else []


def compile_query(node: q.Node) -> Query:
    """The tantivy query of a parsed query. Words whose text has no tokens at all (a lone
    "_") constrain nothing; a query left with nothing to match matches no paper."""
    compiled = _compile(node)
    if compiled is None:
        return Query.empty_query()
    return compiled


def _compile(node: q.Node) -> Query | None:
    if isinstance(node, q.Not):
        inner = _compile(node.item)
        if inner is None:
            return None
        # a bare negation (the filter half of "graph -survey"): everything but it
        return Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.MustNot, inner)])
    if isinstance(node, q.And):
        musts, nots = [], []
        for item in node.items:
            if isinstance(item, q.Not):
                sub = _compile(item.item)
                if sub is not None:
                    nots.append(sub)
            elif (sub := _compile(item)) is not None:
                musts.append(sub)
        if not musts and not nots:
            return None
        if not musts:
            musts = [Query.all_query()]
        if len(musts) == 1 and not nots:
            return musts[0]
        return Query.boolean_query(
            [(Occur.Must, m) for m in musts] + [(Occur.MustNot, n) for n in nots]
        )
    if isinstance(node, Spellings):
        return _should(_spelling_queries(node))
    if isinstance(node, q.Or):
        # bare words join one flat union of term queries, which tantivy prunes with
        # block-max WAND (a union of unions is scored exhaustively): 40-word "more like this"
        # queries stay fast
        parts: list[Query] = []
        for item in node.items:
            if isinstance(item, q.Term) and item.field == "all":
                parts.extend(_all_fields(item))
            elif isinstance(item, Spellings):
                parts.extend(_spelling_queries(item))
            elif (sub := _compile(item)) is not None:
                parts.append(sub)
        return _should(parts)
    return _leaf(node)


def _bare_words(node: q.Node) -> tuple[list[q.Term | Spellings], q.Node | None]:
    """The top-level bare words of a query, in order, and the rest of it (or None)."""
    items = node.items if isinstance(node, q.And) else (node,)
    words = [i for i in items if _bare(_as_typed(i))]
    rest = [i for i in items if i not in words]
    if not rest:
        return words, None
    return words, rest[0] if len(rest) == 1 else q.And(tuple(rest))


def _bare(node: q.Node) -> bool:
    return isinstance(node, q.Term) and node.field == "all" and not node.prefix


def _as_typed(node: q.Node) -> q.Node:
    """A word of several spellings as typed; any other node as it is."""
    return node.items[0] if isinstance(node, Spellings) else node


def _pair_evidence(words: list[q.Term | Spellings], searcher: tantivy.Searcher) -> list[Query]:
    """Phrase queries of adjacent query words in the title and abstract: within PAIR_SLOP
    words, and side by side (the exact boosts). A word of several spellings pairs with its
    neighbours in each ("global normalisation" is also "global normalization"). In the
    abstract, only pairs whose rarer word no more than EVIDENCE_MOST papers hold."""
    kinds = (
        ("title", PAIR_SLOP, TITLE_PAIR_BOOST),
        ("abstract", PAIR_SLOP, ABSTRACT_PAIR_BOOST),
        ("title", 0, TITLE_EXACT_PAIR_BOOST),
        ("abstract", 0, ABSTRACT_EXACT_PAIR_BOOST),
    )
    out = []
    for a, b in _adjacent(words):
        if a == b:
            continue
        common = min(searcher.doc_freq("abstract", a), searcher.doc_freq("abstract", b))
        for field, slop, boost in kinds:
            if field == "abstract" and common > EVIDENCE_MOST:
                continue
            if boost > 0:
                pair = Query.phrase_query(SCHEMA, field, [a, b], slop=slop)
                out.append(_boost(pair, boost))
    return out


def _adjacent(words: list[q.Term | Spellings]) -> list[tuple[str, str]]:
    """The analysed tokens of the query that stand side by side, in order: within a word
    ("pre-training"), and from one word's last token to the next word's first. Quoted
    phrases are left out (their neighbours then stand side by side); a word of several
    spellings gives the pairs of each."""
    pairs: list[tuple[str, str]] = []
    before: list[list[str]] = []
    for word in words:
        if _as_typed(word).phrase:
            continue
        spellings = word.items if isinstance(word, Spellings) else (word,)
        now = [tokens for item in spellings if (tokens := EN.analyze(item.text))]
        if not now:
            continue
        for index, tokens in enumerate(now):
            pairs.extend((last[-1], tokens[0]) for last in before)
            if index == 0:  # within the word as typed only (see `_spelling_queries`)
                pairs.extend(itertools.pairwise(tokens))
        before = now
    return pairs


def _with_evidence(query: Query, evidence: list[Query]) -> Query:
    if not evidence:
        return query
    return Query.boolean_query([(Occur.Must, query), *((Occur.Should, e) for e in evidence)])


def _relaxed(words: list[q.Term | Spellings], rest: q.Node | None) -> Query | None:
    """Papers with at least RELAX_SHARE of the bare words (and the rest of the query)."""
    parts = [p for w in words if (p := _should(_word_fields(w))) is not None]
    if len(parts) < 2:
        return None
    need = max(1, math.ceil(RELAX_SHARE * len(parts)))
    some = Query.boolean_query([(Occur.Should, p) for p in parts], minimum_number_should_match=need)
    if rest is None:
        return some
    other = _compile(rest)  # filters, phrases, exclusions: still required
    if other is None:
        return some
    return Query.boolean_query([(Occur.Must, some), (Occur.Must, other)])


def _word_fields(word: q.Term | Spellings) -> list[Query]:
    """A word's queries in each of its fields; of a word of several spellings, those of each
    (`_spelling_queries`)."""
    if isinstance(word, Spellings):
        return _spelling_queries(word)
    return _all_fields(word)


def _spelling_queries(word: Spellings) -> list[Query]:
    """The queries of each spelling of `word`. The other spellings of more than one token
    ("pre training" for `pretraining`) weigh 1/tokens: a phrase scores the sum of its words,
    and the spelling typed would otherwise rank below the other ("pre-training" 1.71 against
    "pretraining" 0.92 on one abstract)."""
    out = []
    for index, item in enumerate(word.items):
        parts = _all_fields(item) if item.field == "all" else [_term(item)]
        tokens = len(EN.analyze(item.text))
        weight = 1.0 if index == 0 or tokens < 2 else 1.0 / tokens
        out.extend(_boost(p, weight) for p in parts if p is not None)
    return out


def _after(full: Ranked, partial: Ranked, limit: int) -> Ranked:
    """Papers holding every word first, then those holding most of them, scaled below the last
    full match so that a fusion by score keeps that order."""
    if not RELAX_TIERS:
        return partial[:limit]
    seen = {rowid for rowid, _ in full}
    rest = [(r, s) for r, s in partial if r not in seen]
    if full and rest:
        floor = min(s for _, s in full)
        top = max(s for _, s in rest)
        scale = 0.99 * floor / top if top > 0 else 0.0
        rest = [(r, s * min(1.0, scale)) for r, s in rest]
    return (full + rest)[:limit]


def scores(node: q.Node) -> bool:
    """Whether relevance means anything for the query: it has words (not only filters)."""
    if isinstance(node, q.Term):
        return True
    if isinstance(node, q.And | q.Or):
        return any(scores(item) for item in node.items)
    return False


# ---------------------------------------------------------------- whole result sets


def _holds_topic(node: q.Node) -> bool:
    """Whether `node` has a ``topic:ID``: its papers (filled in from the topics, which change
    without the index) are not part of what the node compares by."""
    if isinstance(node, q.TopicRef):
        return True
    if isinstance(node, q.And | q.Or):
        return any(_holds_topic(item) for item in node.items)
    if isinstance(node, q.Not):
        return _holds_topic(node.item)
    return False


def matching_rowids(searcher: tantivy.Searcher, query: Query) -> np.ndarray:
    """Every matching rowid, sorted, as int64."""
    total = searcher.search(query, 1, count=True).count
    if not total:
        return np.empty(0, dtype=np.int64)
    # ordering by the rowid column hands back the rowid as the sort value: no lookups
    hits = searcher.search(query, total, count=False, order_by_field="rowid", order=Order.Asc).hits
    return np.fromiter((h[0] for h in hits), dtype=np.int64, count=len(hits))


def match_set_query(node: q.Node | None, rowids: Iterable[int] = ()) -> Query:
    """The papers `node` matches plus the papers `rowids` (say, those above the semantic
    floor): one query, so a count and the facets are taken over exactly the same set."""
    parts = [compile_query(node)] if node is not None else []
    ids = sorted({int(r) for r in rowids})
    if ids:
        parts.append(Query.term_set_query(SCHEMA, "rowid", ids))
    combined = _should(parts)
    return combined if combined is not None else Query.empty_query()


def facet_counts(searcher: tantivy.Searcher, query: Query, top: int) -> dict[str, dict[str, int]]:
    """The `top` categories (each paper counted once per category it is in, so they add up
    to more than the matches when papers are cross-listed) and the papers per publication
    year (each dated paper once, so they add up to the matches that have a date)."""
    aggs = {
        "categories": {"terms": {"field": "cat_facet", "size": top}},
        "year": {"terms": {"field": "year", "size": 1000}},
    }
    result = searcher.aggregate(query, aggs)
    cats = {b["key"]: b["doc_count"] for b in result["categories"]["buckets"]}
    years = sorted((int(b["key"]), b["doc_count"]) for b in result["year"]["buckets"])
    return {"categories": cats, "year": {str(y): n for y, n in years}}


# ---------------------------------------------------------------- snippets


@dataclass(frozen=True, slots=True)
class Snippet:
    """A window of a text with the query's words marked.

    `highlights` are (start, end) character offsets into `fragment`; `start`/`end` place the
    fragment in the full text, so a caller knows to show an ellipsis where it was cut.
    """

    fragment: str
    highlights: tuple[tuple[int, int], ...]
    start: int
    end: int
    text_length: int

    def to_html(self, tag: str = "b") -> str:
        out, last = [], 0
        for a, b in self.highlights:
            out.append(html.escape(self.fragment[last:a]))
            out.append(f"<{tag}>{html.escape(self.fragment[a:b])}</{tag}>")
            last = b
        out.append(html.escape(self.fragment[last:]))
        body = "".join(out)
        head = "… " if self.start > 0 else ""
        tail = " …" if self.end < self.text_length else ""
        return head + body + tail


def _matchers(node: q.Node, fields: tuple[str, ...]) -> tuple[set[str], list[str], list[list[str]]]:
    words: set[str] = set()
    prefixes: list[str] = []
    phrases: list[list[str]] = []
    for term in q.text_terms(node):
        if term.field not in fields:
            continue
        if term.prefix:
            raw = FOLD.analyze(term.text)
            words.update(EN.analyze(" ".join(raw[:-1])))
            if raw:
                prefixes.extend(dict.fromkeys([raw[-1], *EN.analyze(raw[-1])]))
            continue
        tokens = EN.analyze(term.text)
        if len(tokens) > 1:
            phrases.append(tokens)
        else:
            words.update(tokens)
    return words, prefixes, phrases


def snippet(
    node: q.Node, text: str, *, max_chars: int = 300, fields: tuple[str, ...] = ("all", "abs")
) -> Snippet:
    """The `max_chars` window of `text` (an abstract) with the most distinct query words, the
    words, prefixes and phrases of `node` searched in `fields` marked; words are matched as
    they were indexed (folded and stemmed), so "networks" marks "Network"."""
    words, prefix_list, phrases = _matchers(node, fields)
    prefixes = tuple(prefix_list)  # str.startswith takes a tuple: one call per token
    tokens = EN.pre_tokenize(text).tokens
    marked: dict[int, str] = {}  # token index -> the query word it matched
    for i, tok in enumerate(tokens):
        if tok.text in words or (prefixes and tok.text.startswith(prefixes)):
            marked[i] = tok.text
    for phrase in phrases:
        n = len(phrase)
        for i in range(len(tokens) - n + 1):
            if all(tokens[i + k].text == phrase[k] for k in range(n)):
                for k in range(n):
                    marked[i + k] = " ".join(phrase)
    start = _best_window(tokens, marked, max_chars) if marked else 0
    start, end = _cut(text, start, max_chars)
    highlights = tuple(
        (tokens[i].char_offset_from - start, tokens[i].char_offset_to - start)
        for i in sorted(marked)
        if tokens[i].char_offset_from >= start and tokens[i].char_offset_to <= end
    )
    return Snippet(text[start:end], highlights, start, end, len(text))


def _best_window(tokens: list, marked: dict[int, str], max_chars: int) -> int:
    """Start offset of the window holding the most distinct marked words (then the most
    marks), beginning a little before its first mark so the sentence reads in."""
    hits = sorted(marked)
    best, best_key = 0, (-1, -1)
    for a in hits:
        begin = tokens[a].char_offset_from
        inside = [i for i in hits if begin <= tokens[i].char_offset_from < begin + max_chars - 40]
        key = (len({marked[i] for i in inside}), len(inside))
        if key > best_key:
            best, best_key = begin, key
    return best


def _cut(text: str, begin: int, max_chars: int) -> tuple[int, int]:
    if len(text) <= max_chars:
        return 0, len(text)
    if begin < max_chars // 2:  # close to the start: show the text from its beginning
        begin = 0
    # back up to the sentence start when it is close, else a few words
    lead = text.rfind(". ", 0, begin)
    start = lead + 2 if lead >= 0 and begin - lead < max_chars // 3 else max(0, begin - 40)
    if start > 0 and not text[start - 1].isspace():
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < begin else start
    start = min(start, max(0, len(text) - max_chars))
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    if start > 0 and not text[start - 1].isspace() and start < end:
        space = text.find(" ", start, end)
        start = space + 1 if space >= 0 else start
    return start, end


# ---------------------------------------------------------------- the index


@dataclass(slots=True)
class _Stamp:
    schema: int
    generation: int
    modified_at: str | None  # the newest modified_at the index covers
    build: str  # a fresh id per rebuild, so another process notices the swap
    store: str  # the store's identity: id and added_at of its first paper

    @classmethod
    def read(cls, folder: Path) -> _Stamp | None:
        try:
            data = json.loads((folder / STAMP).read_text("utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None

    def write(self, folder: Path) -> None:
        tmp = folder / (STAMP + ".tmp")
        tmp.write_text(json.dumps(asdict(self)), "utf-8")
        os.replace(tmp, folder / STAMP)


def _is_engine_error(exc: BaseException) -> bool:
    """tantivy reports bad files as ValueError/OSError, and Rust panics as pyo3's
    PanicException, which derives from BaseException."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


class LexicalIndex:
    """The lexical index of `store`, persisted in `path` (see `paths.index_dir`).

    Call `ensure()` once after opening; `search` also catches up by itself when the store's
    generation moved (another process imported), so results never show deleted papers.
    Thread-safe: searches run concurrently, writes are serialised.
    """

    def __init__(self, store: SQLiteStore, path: str | Path) -> None:
        self.store = store
        self.path = Path(path)
        self._index: tantivy.Index | None = None
        self._stamp: _Stamp | None = None
        self._lock = threading.RLock()
        #: Bumped whenever what a searcher sees may have changed: cached filter sets are of
        #: one version.
        self._version = 0
        self._filter_sets: OrderedDict[q.Node, tuple[int, np.ndarray]] = OrderedDict()
        self._filter_lock = threading.Lock()

    # ------------------------------------------------------------ lifecycle

    def ensure(self, progress: Progress | None = None) -> bool:
        """Open the index, rebuilding it when missing, corrupt, of another schema version or
        of another store, and catching up when behind the store. Returns whether it rebuilt."""
        with self._lock:
            stamp = _Stamp.read(self.path)
            if (
                stamp is None
                or stamp.schema != SCHEMA_VERSION
                or stamp.store != self._store_identity()
                or not self._open(stamp)
            ):
                self.rebuild(progress)
                return True
            generation = self.store.generation()
            if stamp.generation > generation:  # the store was replaced or restored
                self.rebuild(progress)
                return True
            if stamp.generation < generation:
                self._catch_up()
            if self._searcher().num_docs != self.store.count():
                self.rebuild(progress)  # out of step in a way the stamp cannot explain
                return True
            return False

    def status(self) -> tuple[str, str]:
        """What `ensure()` would do, without doing it: ("current" | "behind" | "rebuild",
        why). "behind" catches up by itself at the next search; "rebuild" rebuilds there."""
        with self._lock:
            stamp = _Stamp.read(self.path)
            if stamp is None:
                return "rebuild", "missing (no readable stamp)"
            if stamp.schema != SCHEMA_VERSION:
                return "rebuild", f"schema {stamp.schema}, not {SCHEMA_VERSION}"
            if stamp.store != self._store_identity():
                return "rebuild", "built from another store"
            if not self._open(stamp):
                return "rebuild", "corrupt (tantivy cannot read it)"
            generation = self.store.generation()
            if stamp.generation > generation:
                return "rebuild", "ahead of the store (the store was replaced or restored)"
            if stamp.generation < generation:
                return "behind", f"{generation - stamp.generation} store changes behind"
            if self._searcher().num_docs != self.store.count():
                return "rebuild", "holds another number of papers than the store"
            return "current", f"{self.store.count()} papers"

    def rebuild(self, progress: Progress | None = None) -> None:
        """Index every paper of the store afresh, in a new folder swapped in when complete,
        so a killed rebuild leaves the previous index (or none) and never half of one."""
        with self._lock, disk_full_explained(self.path, "lexical index"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers()
            tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
            fresh = self.path.with_name(f".{self.path.name}.new-{tag}")
            fresh.mkdir()
            try:
                generation, modified_at = self._store_state()
                index = _register(tantivy.Index(SCHEMA, path=str(fresh), reuse=False))
                total, done = self.store.count(), 0
                writer = index.writer(heap_size=_REBUILD_HEAP)
                for rowid, paper in self.store.iter_papers(batch=2000):
                    writer.add_document(paper_document(rowid, paper))
                    done += 1
                    if progress and done % 5000 == 0:
                        progress(done, total)
                writer.commit()
                writer.wait_merging_threads()
                stamp = _Stamp(SCHEMA_VERSION, generation, modified_at, tag, self._store_identity())
                stamp.write(fresh)
                self._index = None  # release the old files before moving them
                old = self.path.with_name(f".{self.path.name}.old-{tag}")
                if self.path.exists():
                    os.replace(self.path, old)
                os.replace(fresh, self.path)
                shutil.rmtree(old, ignore_errors=True)
            except BaseException:
                shutil.rmtree(fresh, ignore_errors=True)
                raise
            if progress:
                progress(done, total)
            if not self._open(stamp):
                raise StoreError(f"the lexical index just built in {self.path} cannot be read")

    def update(self, rowids: Iterable[int]) -> None:
        """Re-index these papers (deleted ones are removed), together with anything else the
        store changed since the index was last written, so the stamp stays truthful."""
        with self._lock:
            if self._index is None:
                self.ensure()
            self._catch_up(rowids)

    def __len__(self) -> int:
        return self._searcher().num_docs

    # ------------------------------------------------------------ reading

    def search(
        self,
        node: q.Node,
        *,
        limit: int,
        offset: int = 0,
        sort: str = "relevance",
        relax: bool = False,
    ) -> tuple[Ranked, int]:
        """(rowid, score) of the best `limit` matches after `offset`, and the number of matches.

        `sort`: "relevance" (BM25 plus the proximity evidence of adjacent query words; the
        score), or "newest", "upvotes", "citations" (the score is then that value: YYYYMMDD,
        upvotes, citations; papers without it come last). A query of filters only (authors,
        categories, dates) has no relevance and comes newest first. `relax` (relevance only):
        when fewer than RELAX_BELOW papers match every bare word, rank the papers that hold most
        of them (see RELAX_SHARE); the count stays the number of papers matching the query.
        """
        if sort not in SORTS:
            raise InputError(f"unknown sort {sort!r}", hint="sorts: " + ", ".join(SORTS))
        if limit < 1 or offset < 0:
            raise InputError("limit must be positive and offset not negative")
        if sort == "relevance" and not scores(node):
            sort = "newest"
        searcher = self._searcher(sync=True)
        node = searched_form(node, searcher)
        query = compile_query(node)
        field = _SORT_FIELDS.get(sort)
        if field is None:
            words, rest = _bare_words(node)
            evidence = _pair_evidence(words, searcher) if len(words) > 1 else []
            result = searcher.search(
                _with_evidence(query, evidence), limit, count=True, offset=offset
            )
            relaxed = _relaxed(words, rest) if relax and result.count < RELAX_BELOW else None
            if relaxed is not None and offset == 0:
                full = self._ranked(searcher, result.hits)
                more = searcher.search(_with_evidence(relaxed, evidence), limit, count=False)
                return _after(full, self._ranked(searcher, more.hits), limit), result.count
        else:
            result = searcher.search(
                query, limit, count=True, offset=offset, order_by_field=field, order=Order.Desc
            )
        return self._ranked(searcher, result.hits), result.count

    @staticmethod
    def _ranked(searcher: tantivy.Searcher, hits: list) -> Ranked:
        rowids = searcher.fast_field_values("rowid", [addr for _, addr in hits])
        return [
            (int(r), float(s) if s is not None else 0.0)
            for (s, _), r in zip(hits, rowids, strict=True)
        ]

    def _compiled(self, node: q.Node) -> tuple[tantivy.Searcher, Query]:
        """The searcher of now and `node` compiled against it (`searched_form`): a
        count, the facets and the results read the query alike."""
        searcher = self._searcher(sync=True)
        return searcher, compile_query(searched_form(node, searcher))

    def _match_set(
        self, node: q.Node | None, rowids: Iterable[int]
    ) -> tuple[tantivy.Searcher, Query]:
        searcher = self._searcher(sync=True)
        if node is not None:
            node = searched_form(node, searcher)
        return searcher, match_set_query(node, rowids)

    def count(self, node: q.Node) -> int:
        searcher, query = self._compiled(node)
        return searcher.search(query, 1, count=True).count

    def count_matches(self, node: q.Node | None, rowids: Iterable[int] = ()) -> int:
        """How many papers `node` matches or `rowids` names (see `match_set_query`)."""
        searcher, query = self._match_set(node, rowids)
        return searcher.search(query, 1, count=True).count

    def match_rowids(self, node: q.Node | None, rowids: Iterable[int] = ()) -> np.ndarray:
        """Every rowid `count_matches` counts, sorted (the topic facet counts over them)."""
        return matching_rowids(*self._match_set(node, rowids))

    def filter_rowids(self, node: q.Node) -> np.ndarray:
        """Every rowid matching `node` (typically the filter half of `query.split_query`),
        sorted, as int64 (read-only): the allowed set for filtered semantic search.

        The last FILTER_SETS sets are kept until the index changes: each page of a filtered
        search, and each search in the same category and dates, needs the same set, and
        `cat:cs.LG` with a year took 100-120 ms to gather at 1,000,000 papers."""
        before = self._version
        searcher, query = self._compiled(node)  # brings the index up to date first
        version = self._version
        if _holds_topic(node):  # its papers come from the topics, not the index: not kept
            return matching_rowids(searcher, query)
        with self._filter_lock:
            kept = self._filter_sets.get(node)
            if kept is not None and kept[0] == version:
                self._filter_sets.move_to_end(node)
                return kept[1]
        rowids = matching_rowids(searcher, query)
        rowids.setflags(write=False)
        if version != before:  # the index moved while this searcher was taken: not kept
            return rowids
        with self._filter_lock:
            self._filter_sets[node] = (version, rowids)
            self._filter_sets.move_to_end(node)
            while len(self._filter_sets) > FILTER_SETS:
                self._filter_sets.popitem(last=False)
        return rowids

    def facets(
        self, node: q.Node | None, top: int = 20, *, rowids: Iterable[int] = ()
    ) -> dict[str, dict[str, int]]:
        """Counts over every match of `node` and the papers `rowids` (the set `count_matches`
        counts), by tantivy aggregations: the `top` categories, most frequent first, and the
        papers per publication year, oldest first."""
        return facet_counts(*self._match_set(node, rowids), top)

    def snippet(
        self, node: q.Node, text: str, *, max_chars: int = 300, fields=("all", "abs")
    ) -> Snippet:
        """The passage of `text` that best shows why it matched. Give `node` as `as_searched`
        returns it, so that the words of `global-normalization` are marked where they were
        found."""
        return snippet(node, text, max_chars=max_chars, fields=fields)

    def as_searched(self, node: q.Node) -> q.Node:
        """`node` as the index searches it now (`searched_form`)."""
        return searched_form(node, self._searcher(sync=True))

    # ------------------------------------------------------------ internals

    def _searcher(self, sync: bool = False) -> tantivy.Searcher:
        if self._index is None:
            self.ensure()
        elif sync and self.store.generation() != self._stamp.generation:
            self._sync()
        return self._index.searcher()

    def _sync(self) -> None:
        """The store moved since we last looked: pick up another process's work, or do it."""
        with self._lock:
            stamp = _Stamp.read(self.path)
            if stamp is None or stamp.build != self._stamp.build:
                self.ensure()  # rebuilt (or removed) by someone else
                return
            self._stamp = stamp
            self._index.reload()
            self._version += 1
            if stamp.generation != self.store.generation():
                self._catch_up()

    def _open(self, stamp: _Stamp) -> bool:
        """Open the folder; False when tantivy cannot read it (missing or corrupt files)."""
        if self._index is not None and self._stamp and self._stamp.build == stamp.build:
            self._stamp = stamp
            self._version += 1
            return True
        try:
            index = _register(tantivy.Index.open(str(self.path)))
            index.reload()
            searcher = index.searcher()
            searcher.search(Query.all_query(), 1, count=True)  # touches every segment
        except BaseException as exc:
            if not _is_engine_error(exc):
                raise
            self._index = None
            return False
        self._index, self._stamp = index, stamp
        self._version += 1
        return True

    def _store_state(self) -> tuple[int, str | None]:
        # one statement, one snapshot: the generation and the newest change it includes
        row = self.store.conn.execute(
            "SELECT (SELECT value FROM store_meta WHERE key = 'generation'), "
            "(SELECT max(modified_at) FROM papers)"
        ).fetchone()
        return row[0], row[1]

    def _store_identity(self) -> str:
        row = self.store.conn.execute(
            "SELECT id, added_at FROM papers ORDER BY rowid LIMIT 1"
        ).fetchone()
        return f"{row[0]}@{row[1]}" if row else ""

    def _catch_up(self, extra: Iterable[int] = ()) -> None:
        """Delete and re-add every paper changed since the stamp (plus `extra`): writes are
        serialised by the store, each batch stamped at or after the previous one, so
        ``modified_at >= stamp`` misses nothing."""
        with disk_full_explained(self.path, "lexical index"):
            self._catch_up_rows(extra)

    def _catch_up_rows(self, extra: Iterable[int]) -> None:
        generation, modified_at = self._store_state()
        since = self._stamp.modified_at or ""
        rowids = sorted({*self.store.rowids_modified_since(since), *extra})
        if rowids:
            writer = self._writer(bulk=len(rowids) > _BULK)
            try:
                for start in range(0, len(rowids), _CHUNK):
                    chunk = rowids[start : start + _CHUNK]
                    for rowid in chunk:
                        writer.delete_documents_by_term("rowid", rowid)
                    papers = self.store.load_rowids(sorted(self.store.live_among(chunk)))
                    for rowid, paper in papers.items():
                        writer.add_document(paper_document(rowid, paper))
                writer.commit()
                writer.wait_merging_threads()
            except BaseException:
                writer.rollback()
                raise
        old = self._stamp
        stamp = _Stamp(SCHEMA_VERSION, generation, modified_at, old.build, old.store)
        stamp.write(self.path)
        self._stamp = stamp
        self._index.reload()
        self._version += 1

    def _writer(self, bulk: bool) -> tantivy.IndexWriter:
        """The index writer; another process holding it (its own catch-up) is waited for."""
        deadline = time.monotonic() + _WRITER_WAIT
        while True:
            try:
                if bulk:
                    return self._index.writer(heap_size=_REBUILD_HEAP)
                return self._index.writer(heap_size=_UPDATE_HEAP, num_threads=1)
            except ValueError as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _remove_leftovers(self) -> None:
        """Folders of rebuilds killed midway (their process is gone)."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*-*"):
            pid = leftover.name.rsplit("-", 2)[-2] if leftover.name.count("-") >= 2 else ""
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
