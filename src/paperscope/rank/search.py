"""The search API every surface calls: query text in, ranked papers out.

    engine = SearchEngine.open("papers.db")
    result = engine.search('au:"Juhua Hu" clustering', mode="hybrid", limit=10)

Modes: ``lexical`` (BM25 over the whole query tree), ``semantic`` (the query's free text
embedded and matched against paper passages; every other clause is a hard filter) and
``hybrid`` (both, fused by a weighted sum of scaled scores, then blended with each paper's
closeness to the head of the fused list: `rank.fusion`). Filters apply in every mode inside
the engines, so `limit` results come back whenever that many papers match.

What "matches" means, so that the total, the facets and the pages agree (docs/search.md):
lexical, the papers the query tree matches; semantic, the papers whose best passage scores at
least SEMANTIC_FLOOR (at most SEMANTIC_CAP of them) within the filters; hybrid, the union of
both. The total and the facet counts are computed over that set, never over one page's
candidates, so they do not change as one pages through it.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from paperscope.errors import InputError
from paperscope.index.embedder import Embedder, MiniLMEmbedder, default_embedder
from paperscope.index.embedding import DOC_PASSAGE
from paperscope.index.lexical import LexicalIndex, Snippet, scores
from paperscope.index.neighbours import KEPT as NEIGHBOURS_KEPT
from paperscope.index.neighbours import NeighbourCache
from paperscope.index.neighbours import State as NeighbourState
from paperscope.index.paths import index_dir
from paperscope.index.vectors import VectorIndex
from paperscope.model import Paper
from paperscope.normalize import normalize_arxiv_id, normalize_doi
from paperscope.rank import fusion, trending
from paperscope.rank import query as q
from paperscope.rank.topics import fill_topic_refs, topic_facet
from paperscope.store.backends import open_store
from paperscope.store.browse import Browse
from paperscope.store.sqlite import SQLiteStore

log = logging.getLogger("paperscope.search")

MODES = ("hybrid", "lexical", "semantic")
SORTS = ("relevance", "newest", "upvotes", "citations", "trending")
MAX_LIMIT = 1000
#: Candidates taken from each side before fusion (at least this many, more for deep pages).
CANDIDATES = 100
#: Matches the "trending" sort scores: the newest and the most upvoted this many (a paper
#: outside both lists is too old or too little voted to trend), or the best this many by
#: relevance when the query has free text to rank semantically.
TRENDING_POOL = 500


_WORD_RE = re.compile(r"[^\W\d_][\w-]*")
_STOP = frozenset(
    "this that with from have were been which their these those they than then "
    "also into such only more most other over under using used show shows propose "
    "proposed paper approach method methods results based between while where when "
    "what does each both".split()
)
#: Words of a paper taken into its lexical "more like this" query.
SIMILAR_WORDS = 40
#: Candidates `similar` takes by passages before re-ranking them by whole text.
SIMILAR_POOL = 200
#: Weight of the whole-text cosine against the passage score in `similar`.
WHOLE_TEXT_SHARE = 1.0
#: Lexical share when `similar` fuses both sides (bench/search_quality.py).
SIMILAR_LEXICAL_SHARE = 0.1
#: The mode `similar` uses unless told otherwise (chosen by bench/search_quality.py).
SIMILAR_MODE = "semantic"
#: Similar-paper lists computed between two writes to the neighbour cache.
NEIGHBOUR_BATCH = 64
#: The cosine a paper's best passage must reach to match a query in semantic and hybrid
#: search: below it a paper is at most "related". Calibrated by bench/semantic_floor.py on the
#: corpus known items, the Hugging Face page and nonsense queries (docs/bench/semantic_floor.txt).
SEMANTIC_FLOOR = 0.35
#: Papers above the floor counted at most: the deepest page reachable (offset + limit).
SEMANTIC_CAP = MAX_LIMIT
#: Nearest papers offered as "related" when nothing matches.
RELATED = 5
#: An arXiv id or abs/pdf URL as the whole query: that paper is opened instead of searched.
#: So are the other ways a reader copies an arXiv paper's address: its Hugging Face paper page
#: (huggingface.co/papers/ID, hf.co/papers/ID) and arXiv's DOI (10.48550/arXiv.ID, bare or
#: as a doi.org URL), which were searched as words and matched nothing.
_ARXIV_ID = r"(?:\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[a-z]{2})?/\d{7})(?:v\d+)?"
_REFERENCE_RE = re.compile(
    r"(?:(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/|arxiv:"
    r"|(?:https?://)?(?:www\.)?(?:huggingface|hf)\.co/papers/"
    r"|(?:(?:https?://)?(?:dx\.)?doi\.org/|doi:)?10\.48550/arxiv\.)?"
    rf"(?P<id>{_ARXIV_ID})(?:\.pdf)?/?(?:[?#]\S*)?",  # a copied URL's ?query or #anchor
    re.IGNORECASE,
)
#: Query embeddings an engine remembers (by text): people repeat searches and page through
#: results, and one embedding costs more CPU than the rest of a search's ranking.
QUERY_VECTORS = 256


@dataclass(slots=True)
class Hit:
    rowid: int
    paper: Paper
    score: float
    lexical_rank: int | None = None
    semantic_rank: int | None = None
    #: The abstract's best window with the query's words marked (search hits only).
    snippet: Snippet | None = None


@dataclass(slots=True)
class SearchResult:
    query: str
    mode: str
    sort: str
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: The id of the paper the query named (an arXiv id, a DOI or their URL): the one hit,
    #: opened not searched
    opened: str | None = None
    #: The nearest papers when nothing reaches the semantic floor (not counted in `total`)
    related: list[Hit] = field(default_factory=list)
    #: One line when the text was not searched as typed (`query.parse_query`), else None.
    notice: str | None = None


@dataclass(slots=True)
class _Matches:
    """The set a search's total and facets count: papers matching `node` lexically, plus
    `rowids` (those above the semantic floor); either part may be absent."""

    node: q.Node | None
    rowids: list[int] = field(default_factory=list)


def arxiv_reference(text: str) -> str | None:
    """The arXiv id when the whole query is one ("2401.01234v2", "arXiv:2401.01234", an
    arxiv.org abs/pdf URL, a Hugging Face paper URL, arXiv's DOI), else None."""
    match = _REFERENCE_RE.fullmatch(text.strip())
    return normalize_arxiv_id(match["id"]) if match else None


#: A DOI as the whole query, bare, as `doi:` or as a doi.org URL: searched as words it matched
#: nothing ("10", "1145" ...), where the reader meant the one paper.
_DOI_REFERENCE_RE = re.compile(
    r"(?:(?:https?://)?(?:dx\.)?doi\.org/|doi:\s*)?(?P<doi>10\.\d{4,9}/\S+)", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Reference:
    """The one paper a whole query names: `kind` "arXiv" (an arXiv id, its URLs and arXiv's
    DOI) or "DOI" (any other DOI), and the id the store resolves."""

    kind: str
    ident: str


def paper_reference(text: str) -> Reference | None:
    """The paper the whole query names (it is opened, not searched), else None."""
    ident = arxiv_reference(text)
    if ident is not None:
        return Reference("arXiv", ident)
    match = _DOI_REFERENCE_RE.fullmatch(text.strip())
    return Reference("DOI", normalize_doi(unquote(match["doi"]))) if match else None


#: Pages ending beyond this many results have their length bounded by the store's size.
_DEEP_PAGE = 1000


def _check(mode: str, sort: str, limit: int, offset: int) -> None:
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}", hint="modes: " + ", ".join(MODES))
    if sort not in SORTS:
        raise InputError(f"unknown sort {sort!r}", hint="sorts: " + ", ".join(SORTS))
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise InputError("offset must not be negative")


class SearchEngine:
    """A store with its lexical and vector indexes, rebuilt on open when missing or stale."""

    def __init__(
        self,
        store: SQLiteStore,
        *,
        embedder: Embedder | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        """`progress(stage, done, total)` hears about index rebuilds ("lexical", "vectors")."""
        self.store = store
        self._embedder = embedder
        self._query_embedder: Embedder | None = None
        #: Whether `embedder` is the engine's own default (then queries get a session of their own)
        self._default_embedder = embedder is None
        self._progress = progress
        folder = index_dir(store.path)
        self.lexical = LexicalIndex(store, folder / "lexical")
        self.lexical.ensure(
            (lambda done, total: progress("lexical", done, total)) if progress else None
        )
        self._vectors: VectorIndex | None = None
        self._neighbours: NeighbourCache | None = None
        self._neighbour_cache_warned = False
        self._folder = folder
        self._query_vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    @classmethod
    def open(cls, db_path: str | Path, **kwargs) -> SearchEngine:
        return cls(open_store(db_path), **kwargs)

    def close(self) -> None:
        if self._neighbours is not None:
            self._neighbours.close()
        self.store.close()

    def __enter__(self) -> SearchEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder

    @property
    def query_embedder(self) -> Embedder:
        """The embedder of query texts. For the default model, a session of its own on one
        thread: a query is a few tokens, where a second intra-op thread mostly spins and takes
        CPU from the other server worker (on 2 cores, one thread embedded 195 queries/s alone
        and 90/s per process with two processes at it; two threads 92 and 56). Document batches
        (`paperscope embed`) keep `embedder` and its threads."""
        if self._query_embedder is None:
            main = self.embedder
            query = main
            if self._default_embedder and isinstance(main, MiniLMEmbedder) and main.threads > 1:
                single = MiniLMEmbedder(max_length=main.max_length, threads=1)
                if single.version == main.version:
                    query = single
            self._query_embedder = query
        return self._query_embedder

    @property
    def vectors(self) -> VectorIndex:
        if self._vectors is None:
            e = self.embedder
            self._vectors = VectorIndex(self.store, self._folder / "vectors", e.version, e.dim)
            self._vectors.ensure(self._progress)
        return self._vectors

    @property
    def neighbours(self) -> NeighbourCache:
        """Remembered similar-paper lists (index/neighbours.py)."""
        if self._neighbours is None:
            self._neighbours = NeighbourCache(self._folder / "neighbours.sqlite")
        return self._neighbours

    # ------------------------------------------------------------------ search

    def search(
        self,
        text: str,
        *,
        mode: str = "hybrid",
        limit: int = 20,
        offset: int = 0,
        sort: str = "relevance",
        facets: bool = False,
        strict: bool = True,
    ) -> SearchResult:
        """`strict`: a malformed query raises QueryError (what saved queries and feeds need);
        the search boxes pass False: any text is searched and `notice` says how it was read
        when that differs from the typed text (`query.parse_query`)."""
        _check(mode, sort, limit, offset)
        reference = paper_reference(text)
        if reference is not None:
            return self._open(text, reference, mode, sort, facets)
        parsed = q.parse_query(text, strict=strict)
        node = parsed.node
        node = fill_topic_refs(node, self.store)
        free, filters = q.split_query(node)
        result = SearchResult(text, mode, sort, [], 0, notice=parsed.notice)
        if mode != "lexical" and not self.store.has_vectors():
            # nothing to compare meanings with: rank by words and leave the model unloaded
            result.mode = mode = "lexical"
            result.notes.append("ranked by words only: no paper has a vector yet")
        if sort == "relevance" and not scores(node):
            # the list comes newest first (index/lexical.py): said, since the answer, the page's
            # menu and the command all say "relevance" and the scores are days (YYYYMMDD)
            result.notes.append("no words to rank by relevance: newest first")
        wanted = offset + limit
        matches: _Matches | None = None  # None: the lexical engine counted the matches
        if wanted > _DEEP_PAGE:
            # no list is longer than the store: an offset of 10^11 once made the vector search
            # ask for terabytes and took the server down
            wanted = min(wanted, max(limit, self.store.count()))
        if sort == "trending":
            ranked, ranks, matches = self._trending(node, free, filters, mode, wanted)
        elif mode == "lexical" or free is None or (sort != "relevance" and mode != "semantic"):
            # no free text to embed, or an exact sort over every match: the lexical engine
            # evaluates the whole tree, filters included
            ranked, result.total = self.lexical.search(node, limit=wanted, sort=sort)
            ranks = {"lexical": ranked}
        else:
            ranked, ranks, matches, related = self._paged(node, free, filters, mode, wanted)
            result.related = self._hits(related)
            if sort != "relevance":
                ranked = self._sorted(ranked, sort)
        if matches is not None:
            result.total = self.lexical.count_matches(matches.node, matches.rowids)
        else:
            matches = _Matches(node)
        positions = {
            name: {rowid: i for i, (rowid, _) in enumerate(lst, start=1)}
            for name, lst in ranks.items()
        }
        result.hits = self._hits(ranked[offset:wanted], positions)
        if (
            sort == "citations"
            and offset == 0
            and result.hits
            and not result.hits[0].paper.citations
        ):
            # papers without a count sort last, so the first having none means none has one:
            # the list is then in no useful order, and the reader is not left to guess why
            result.notes.append(
                "no result has citations on record: sorted by citations, they are in no useful"
                " order; sort by relevance or newest instead"
            )
        searched = self.lexical.as_searched(node) if result.hits else node
        for hit in result.hits:
            if hit.paper.abstract:
                hit.snippet = self.lexical.snippet(searched, hit.paper.abstract, max_chars=200)
        if facets:
            result.facets = self.lexical.facets(matches.node, rowids=matches.rowids)
            matched = self.lexical.match_rowids(matches.node, matches.rowids)
            if len(matched):
                result.facets["topic"] = topic_facet(self.store, matched)
        return result

    def _hits(
        self, ranked: list[tuple[int, float]], positions: dict[str, dict[int, int]] | None = None
    ) -> list[Hit]:
        positions = positions or {}
        papers = self.store.load_rowids([r for r, _ in ranked])
        return [
            Hit(
                rowid,
                papers[rowid],
                score,
                positions.get("lexical", {}).get(rowid),
                positions.get("semantic", {}).get(rowid),
            )
            for rowid, score in ranked
            if rowid in papers
        ]

    def _open(
        self, text: str, reference: Reference, mode: str, sort: str, facets: bool = False
    ) -> SearchResult:
        """The paper an arXiv id, a DOI or their URL names, as the one hit; none when it is
        not stored.
        Facets count that one paper, in the shape every search gives them (an id query
        answered `{}`, where a client reads `facets["year"]`)."""
        result = SearchResult(text, mode, sort, [], 0)
        rowid = self.store.resolve(reference.ident)
        hits = self._hits([(rowid, 1.0)]) if rowid is not None else []
        if hits:
            result.hits, result.total, result.opened = hits, 1, hits[0].paper.id
        else:
            result.notes.append(f"{reference.kind} {reference.ident} is not in this collection")
        if facets:
            matched = [h.rowid for h in hits]
            result.facets = self.lexical.facets(None, rowids=matched)
            if matched:
                result.facets["topic"] = topic_facet(self.store, matched)
        return result

    def _paged(
        self, node: q.Node, free: q.Node, filters: q.Node | None, mode: str, wanted: int
    ) -> tuple[list[tuple[int, float]], dict, _Matches, list[tuple[int, float]]]:
        """`_semantic_or_hybrid` for a page ending at `wanted`, in one order for every page.

        Deeper candidate lists move papers up the fused list (a paper found by one side only
        gets the other side's score too), so a page past the first CANDIDATES once listed a
        paper an earlier page had shown and skipped another. The order is built in blocks
        instead: the first CANDIDATES places from the fused list at that depth, the next places
        from the list at twice the depth, less the papers already placed, and so on. Every page
        that reaches a place computes it the same way."""
        depth = CANDIDATES
        searched: dict = {}  # the vector searches of this page, by depth: blocks share some
        found = self._semantic_or_hybrid(node, free, filters, mode, depth, searched)
        if wanted <= depth or len(found[0]) <= depth:
            return found
        placed = found[0][:depth]
        while True:
            depth *= 2
            found = self._semantic_or_hybrid(node, free, filters, mode, depth, searched)
            seen = {rowid for rowid, _ in placed}
            rest = [item for item in found[0] if item[0] not in seen]
            if wanted <= depth or len(found[0]) <= depth:
                return placed + rest, *found[1:]
            placed += rest[: depth - len(placed)]

    def _semantic_or_hybrid(
        self,
        node: q.Node,
        free: q.Node,
        filters: q.Node | None,
        mode: str,
        wanted: int,
        searched: dict | None = None,
    ) -> tuple[list[tuple[int, float]], dict, _Matches, list[tuple[int, float]]]:
        """(ranked, per-engine rankings, the matching set, related papers when none match).
        `searched`: see `_semantic_matches`."""
        depth = max(CANDIDATES, wanted)
        semantic, passed = self._semantic_matches(free, filters, depth, searched)
        if mode == "semantic":
            related = [] if passed else semantic[:RELATED]
            return passed, {"semantic": passed}, _Matches(None, [r for r, _ in passed]), related
        lexical, lexical_total = self._lexical_side(node, depth)
        fused = fusion.weighted_sum(lexical, semantic, share=fusion.LEXICAL_SHARE)
        # ranked as before over every candidate, but only matches are listed: lexical
        # matches, and semantic candidates above the floor
        members = {r for r, _ in lexical} | {r for r, _ in passed}
        ranked = self._by_neighbourhood([item for item in fused if item[0] in members])
        related = [] if ranked or lexical_total else semantic[:RELATED]
        matches = _Matches(node, [r for r, _ in passed])
        return ranked, {"lexical": lexical, "semantic": semantic}, matches, related

    def _semantic_matches(
        self, free: q.Node, filters: q.Node | None, depth: int, searched: dict | None = None
    ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """(the `depth` nearest papers within the filters, every paper above the floor).

        When all `depth` candidates pass the floor, more may: the search is repeated at
        SEMANTIC_CAP, so the set (and the total counted on it) is the same whatever page
        asked for it. `searched` (a dict kept by the caller) remembers the filter and the
        vector searches by depth, for calls on the same query."""
        depth = min(depth, SEMANTIC_CAP)  # deeper pages list lexical matches only
        searched = {} if searched is None else searched
        if "allowed" not in searched:
            searched["allowed"] = (
                self.lexical.filter_rowids(filters) if filters is not None else None
            )
        allowed = searched["allowed"]
        if allowed is not None and not len(allowed):
            return [], []

        def nearest(k: int) -> list[tuple[int, float]]:
            if k not in searched:
                query_vec = self._embed_query(q.free_text(free))
                searched[k] = self.vectors.search(query_vec, k, allowed=allowed)
            return searched[k]

        found = nearest(depth)
        passed = [item for item in found if item[1] >= SEMANTIC_FLOOR]
        if len(passed) == depth < SEMANTIC_CAP:
            passed = [item for item in nearest(SEMANTIC_CAP) if item[1] >= SEMANTIC_FLOOR]
        return found, passed

    def _by_neighbourhood(self, ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """`ranked` blended with each paper's closeness to the head of the list
        (`fusion.neighbourhood`), on the papers' whole-text vectors."""
        if fusion.NEIGHBOURHOOD_SHARE <= 0 or len(ranked) < 2:
            return ranked
        blobs = self.store.passage_vectors(
            self.embedder.version, DOC_PASSAGE, [r for r, _ in ranked]
        )
        vectors = {r: np.frombuffer(blob, dtype=np.float32) for r, blob in blobs.items()}
        return fusion.neighbourhood(ranked, vectors)

    def _lexical_side(self, node: q.Node, depth: int) -> tuple[list[tuple[int, float]], int]:
        """Hybrid's lexical candidates: BM25 with proximity evidence, relaxed to most of the
        words when few papers hold them all (`LexicalIndex.search`)."""
        return self.lexical.search(node, limit=depth, relax=True)

    def _embed_query(self, text: str) -> np.ndarray:
        """The embedder's vector of `text`, from a small LRU of recent queries (read-only)."""
        key = (self.embedder.version, text)
        vector = self._query_vectors.get(key)
        if vector is None:
            vector = self.query_embedder.embed_query(text)
            vector.setflags(write=False)  # shared by later searches of the same text
            self._query_vectors[key] = vector
            if len(self._query_vectors) > QUERY_VECTORS:
                self._query_vectors.popitem(last=False)
        else:
            self._query_vectors.move_to_end(key)
        return vector

    def _trending(
        self, node: q.Node, free: q.Node | None, filters: q.Node | None, mode: str, wanted: int
    ) -> tuple[list[tuple[int, float]], dict, _Matches]:
        """Matches ranked by `paperscope.rank.trending` (see TRENDING_POOL for which)."""
        depth = max(TRENDING_POOL, wanted)
        if mode == "lexical" or free is None:
            newest, _ = self.lexical.search(node, limit=depth, sort="newest")
            voted, _ = self.lexical.search(node, limit=depth, sort="upvotes")
            pool = [r for r, _ in newest] + [r for r, _ in voted]
            ranks: dict = {}
            matches = _Matches(node)
        else:
            ranked, ranks, matches, _ = self._semantic_or_hybrid(node, free, filters, mode, depth)
            pool = [r for r, _ in ranked]
        pool = list(dict.fromkeys(pool))
        papers = self.store.load_rowids(pool)
        local = Browse(self.store).upvote_counts(pool)
        return trending.rank(papers, local, rowids=pool), ranks, matches

    def _sorted(self, ranked: list[tuple[int, float]], sort: str) -> list[tuple[int, float]]:
        papers = self.store.load_rowids([r for r, _ in ranked])
        key = {
            "newest": lambda p: p.published or "",
            "upvotes": lambda p: p.upvotes or 0,
            "citations": lambda p: p.citations or 0,
        }[sort]
        return sorted(
            (item for item in ranked if item[0] in papers),
            key=lambda item: key(papers[item[0]]),
            reverse=True,
        )

    # ------------------------------------------------------------------ similar papers

    def similar(self, ident: str, *, limit: int = 10, mode: str = SIMILAR_MODE) -> list[Hit]:
        """Nearest papers to `ident`, without the paper itself or its merged duplicates."""
        rowid = self.store.resolve(ident)
        if rowid is None:
            self.store.get(ident)  # raises NotFoundError with the usual message
        return self.similar_rowid(rowid, limit=limit, mode=mode)

    def similar_rowid(
        self,
        rowid: int,
        *,
        limit: int = 10,
        mode: str = SIMILAR_MODE,
        within: np.ndarray | None = None,
    ) -> list[Hit]:
        """`similar` by rowid; `within` restricts the neighbours to those rowids."""
        if mode not in MODES:
            raise InputError(f"unknown mode {mode!r}", hint="modes: " + ", ".join(MODES))
        if mode == SIMILAR_MODE and within is None and limit <= NEIGHBOURS_KEPT:
            found = self._remembered_similar(rowid, limit)
        else:
            found = self._similar_ranked(rowid, limit, mode, within)
        found = found[:limit]
        papers = self.store.load_rowids([r for r, _ in found])
        return [Hit(r, papers[r], s) for r, s in found if r in papers]

    def _remembered_similar(self, rowid: int, limit: int) -> list[tuple[int, float]]:
        """The default `similar` list of `rowid`, from the neighbour cache when it was computed
        on the vectors this engine's index holds; computed and remembered otherwise. Papers
        deleted or given the same title since are dropped from a remembered list, as a search
        now would drop them; when that leaves fewer than `limit` of a full list, it is computed
        again. The cache is only a cache: when it cannot be read or written, the list is
        computed and the page still answers."""
        state = self.neighbour_state()
        try:
            entry = self.neighbours.lookup(rowid, state)
        except (sqlite3.Error, OSError) as exc:
            self._neighbour_cache_failed(exc)
            entry = None
        if entry is not None:
            found, short = entry
            ids = [r for r, _ in found]
            gone = self.store.deleted_among(ids) | set(self.store.duplicate_rowids(rowid))
            kept = [(r, s) for r, s in found if r not in gone]
            # a list shorter than KEPT that never lost a paper holds every candidate there is
            if len(kept) >= limit or (len(found) < NEIGHBOURS_KEPT and not short):
                return kept
        found = self._similar_ranked(rowid, NEIGHBOURS_KEPT, SIMILAR_MODE, None)
        try:
            self.neighbours.put(state, [(rowid, found)])
        except (sqlite3.Error, OSError) as exc:
            self._neighbour_cache_failed(exc)
        return found

    def _neighbour_cache_failed(self, exc: Exception) -> None:
        if not self._neighbour_cache_warned:  # once per engine: a page view each would flood
            self._neighbour_cache_warned = True
            log.warning(
                "similar-paper cache %s unusable, computing lists: %s", self.neighbours.path, exc
            )

    def neighbour_state(self) -> NeighbourState:
        """The state of the vectors this engine's index holds: lists it computes are valid
        for it, and a process whose index is behind the store neither serves nor overwrites
        the lists of processes that caught up."""
        return NeighbourState(self.embedder.version, self.vectors.vectors_generation)

    def stored_neighbour_state(self) -> NeighbourState:
        """The state of the vectors in the store now, without loading the vector index."""
        return NeighbourState(self.embedder.version, self.store.vectors_generation())

    def remember_similar(
        self, rowids: list[int], progress: Callable[[int], None] | None = None
    ) -> int:
        """Compute and remember the default similar-paper lists of `rowids` (the caller
        leaves out those `neighbours.missing` says are remembered); returns how many were
        remembered. Commits every few papers, so an interrupted run keeps its work; stops early
        when the store's vectors change (the lists would be stale before they are written)."""
        state = self.neighbour_state()
        written = 0
        for start in range(0, len(rowids), NEIGHBOUR_BATCH):
            if self.store.vectors_generation() != state.generation:
                break
            chunk = rowids[start : start + NEIGHBOUR_BATCH]
            lists = [
                (r, self._similar_ranked(r, NEIGHBOURS_KEPT, SIMILAR_MODE, None)) for r in chunk
            ]
            if not self.neighbours.put(state, lists):
                break  # another process wrote lists of newer vectors
            written += len(chunk)
            if progress:
                progress(len(chunk))
        return written

    def _similar_ranked(
        self, rowid: int, limit: int, mode: str, within: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """(rowid, score) of the `limit` papers most like `rowid`, best first."""
        exclude = {rowid, *self.store.duplicate_rowids(rowid)}
        depth = max(CANDIDATES, limit)
        semantic = lexical = []
        if mode in ("semantic", "hybrid"):
            semantic = self._similar_pool(rowid, depth, exclude, within)[:depth]
        if mode in ("lexical", "hybrid"):
            lexical = self._lexical_similar(rowid, depth, exclude, within)
        if mode == "hybrid":
            found = fusion.weighted_sum(lexical, semantic, share=SIMILAR_LEXICAL_SHARE)
        else:
            found = semantic or lexical
        return found[:limit]

    def _similar_pool(
        self, rowid: int, depth: int, exclude: set[int], within: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Every candidate of the semantic `similar` list of `rowid`, best first: the papers
        its passages match best, re-ranked by whole text."""
        pool = self.vectors.similar(
            rowid, max(depth, SIMILAR_POOL), exclude=exclude, allowed=within
        )
        return self._by_whole_text(rowid, pool)

    def _by_whole_text(self, rowid: int, pool: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Re-rank passage-matched candidates by whole-text similarity, blended with their
        passage score; papers without a whole-text vector keep their passage score."""
        model = self.embedder.version
        blobs = self.store.passage_vectors(model, DOC_PASSAGE, [rowid, *(r for r, _ in pool)])
        if rowid not in blobs:
            return pool
        own = np.frombuffer(blobs[rowid], dtype=np.float32)
        rescored = []
        for other, score in pool:
            blob = blobs.get(other)
            whole = float(np.frombuffer(blob, dtype=np.float32) @ own) if blob else score
            rescored.append((other, WHOLE_TEXT_SHARE * whole + (1 - WHOLE_TEXT_SHARE) * score))
        return sorted(rescored, key=lambda item: (-item[1], item[0]))

    def _lexical_similar(
        self, rowid: int, depth: int, exclude: set[int], within: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """BM25 with the paper's own distinctive words as an OR query."""
        paper = self.store.load_rowids([rowid])[rowid]
        words = dict.fromkeys(
            w.lower()
            for w in _WORD_RE.findall(f"{paper.title} {paper.title} {paper.abstract}")
            if len(w) > 3 and w.lower() not in _STOP
        )
        # as written (a "phrase" of one word is that word): the paper's own words need no
        # other spelling, and looking for one costs a count per word
        terms = [q.Term("all", w, phrase=True) for w in list(words)[:SIMILAR_WORDS]]
        if not terms:
            return []
        node = terms[0] if len(terms) == 1 else q.Or(tuple(terms))
        allowed = set(within.tolist()) if within is not None else None
        ranked, _ = self.lexical.search(
            node, limit=depth + len(exclude) + (depth * 3 if allowed else 0)
        )
        return [
            (r, s) for r, s in ranked if r not in exclude and (allowed is None or r in allowed)
        ][:depth]
