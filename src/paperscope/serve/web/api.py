"""The JSON API under /api/v1: search, papers, similar papers, authors, feeds and categories.

Every handler calls the library (SearchEngine, Browse, AuthorDirectory, feedviews) and shapes
the answer with `serve.records`, so the API, the pages and `paperscope search --json` agree on
results for the same query. Errors are raised as `paperscope.errors` classes; app.py answers
them as JSON `{"error": {"status", "message", "hint"?, "position"?}}` (400 malformed query,
404 unknown id, 422 bad parameter, 429 rate limit).

Pagination is `limit` + `offset`; `limit` is at most `settings.max_page_size` and `next` is the
URL of the following page (null on the last one).
"""

from __future__ import annotations

import weakref
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from paperscope.errors import InputError, QueryError
from paperscope.model import Paper
from paperscope.rank import query as q
from paperscope.rank.search import MODES, SORTS, SearchEngine, SearchResult, paper_reference
from paperscope.serve.records import paper_full, paper_summary, sources_shown
from paperscope.serve.web.feedviews import category_listing, category_spelling, feed_page
from paperscope.serve.web.format import author_url, paper_url
from paperscope.serve.web.site import Site, site_of
from paperscope.store.authors import AuthorDirectory
from paperscope.store.browse import Browse
from paperscope.store.topics import paper_topic

router = APIRouter(prefix="/api/v1")

Mode = Literal[MODES]  # type: ignore[valid-type]
Sort = Literal[SORTS]  # type: ignore[valid-type]
FeedSort = Literal["trending", "newest", "upvotes"]

# ------------------------------------------------------------------------------ models


class ApiErrorBody(BaseModel):
    status: int
    message: str
    hint: str | None = None
    position: int | None = Field(None, description="0-based offset of a query's fault (400)")


class ApiError(BaseModel):
    error: ApiErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ApiError, "description": "Malformed query (message and position)"},
    404: {"model": ApiError, "description": "Unknown id, slug or category"},
    422: {"model": ApiError, "description": "Bad parameter (type, range, page size)"},
    429: {"model": ApiError, "description": "Rate limit reached; see Retry-After"},
}
#: The errors of a user's own routes (library, recommendations, export) besides ERRORS.
PERSONAL_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    401: {"model": ApiError, "description": "Not logged in (multi-user server)"},
    403: {"model": ApiError, "description": "Missing CSRF token or not allowed"},
    404: {"model": ApiError, "description": "Unknown paper or tag"},
}


class Answer(BaseModel):
    """A response model: every field is in every answer (FastAPI serializes through the
    model, a default included), so the schema marks them all required. Without this the
    schema called `notice`, `facets`, `snippet` or `topic` optional, and a client generated
    from it had to treat a key that is always there, null or not, as maybe missing."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class PaperSummary(Answer):
    """The contract shape of a paper in lists (`paperscope search --json` gives the same keys)."""

    id: str
    title: str
    authors: list[str]
    date: str | None
    categories: list[str]
    score: float | None = Field(None, description="Ranking score (search and similar only)")
    url: str = Field(description="This server's page of the paper")
    upvotes: int | None = Field(None, description="Source upvotes plus local upvotes")
    citations: int | None = None


class SearchHit(PaperSummary):
    snippet: str | None = Field(None, description="Plain-text window of the abstract")


class SearchResponse(Answer):
    query: str = Field(description="The query as run (filters parameters folded in)")
    mode: str
    sort: str
    results: list[SearchHit]
    total: int
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, null on the last")
    facets: dict[str, dict[str, int]] | None = Field(
        None, description="Hits per category ('categories') and year ('year'), with facets=true"
    )
    notes: list[str] = []
    opened: str | None = Field(
        None,
        description="The paper's id when the query is an arXiv id, a DOI or their URL: that "
        "paper is the one result",
    )
    related: list[SearchHit] = Field(
        [],
        description="When nothing matches in hybrid or semantic mode: the nearest papers by "
        "meaning, below the relevance floor (not counted in total)",
    )
    notice: str | None = Field(
        None,
        description="One line when the query was not read as typed (searched as plain text); "
        "null otherwise. With strict=true such a query is a 400 instead",
    )


class AuthorOut(Answer):
    name: str
    affiliation: str | None = None
    orcid: str | None = None


class MergedFrom(Answer):
    source: str
    origin: str | None
    first_seen: str | None


class PaperFull(Answer):
    id: str
    title: str
    abstract: str
    authors: list[AuthorOut]
    authors_complete: bool
    author_count: int | None
    categories: list[str]
    published: str | None
    updated: str | None
    arxiv_id: str | None
    doi: str | None
    links: dict[str, str]
    sources: list[str]
    upvotes: int | None
    citations: int | None
    journal_ref: str | None
    comment: str | None
    organization: str | None
    external_ids: dict[str, str]
    url: str = Field(description="This server's page of the paper")
    merged_from: list[MergedFrom] = Field(description="Source records merged into this paper")
    topic: int | None = Field(None, description="Id of the paper's finest topic (null if none)")


class PageOfPapers(Answer):
    results: list[PaperSummary]
    total: int
    limit: int
    offset: int
    next: str | None


class SimilarResponse(Answer):
    id: str
    mode: str
    results: list[PaperSummary]


class AuthorRef(Answer):
    slug: str
    name: str
    papers: int
    url: str


class Coauthor(AuthorRef):
    shared: int = Field(description="Papers written together")


class Variant(Answer):
    name: str
    papers: int


class AuthorResponse(PageOfPapers):
    slug: str
    name: str
    url: str
    variants: list[Variant]
    affiliations: list[str]
    per_year: dict[str, int]
    categories: dict[str, int]
    coauthors: list[Coauthor]


class FeedResponse(PageOfPapers):
    kind: Literal["day", "week", "month"]
    key: str | None
    start: str | None
    end: str | None
    label: str
    prev: str | None = Field(description="Key of the previous period with papers")
    next_period: str | None = Field(description="Key of the next period with papers")
    nearest_day: str | None = Field(None, description="Nearest day with papers when empty")


class CategoryResponse(PageOfPapers):
    code: str
    top_authors: list[AuthorRef]


# ------------------------------------------------------------------------------ helpers


def base_url(request: Request) -> str:
    """Absolute origin for links: settings.base_url when set, else the request's own."""
    configured = site_of(request).settings.base_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def absolute(request: Request, path: str) -> str:
    return base_url(request) + path


#: The largest offset handed to the store (SQLite's integers are 64-bit signed; the limit is
#: added to it).
_LAST_OFFSET = 2**62


def check_page(site: Site, limit: int | None, offset: int | None) -> int:
    """The page size to use; InputError (422 in the API) beyond settings.max_page_size.
    `offset` None: the route has no pages (similar papers, feeds), so no hint to page."""
    size = site.settings.page_size if limit is None else limit
    top = site.settings.max_page_size
    if not 1 <= size <= top:
        hint = "page with offset" if offset is not None else None
        raise InputError(f"limit must be between 1 and {top}", hint=hint)
    if offset is None:
        return size
    if offset < 0:
        raise InputError("offset must not be negative")
    return size


def check_query(site: Site, text: str) -> None:
    """Queries longer than settings.max_query_length are refused as malformed (400)."""
    top = site.settings.max_query_length
    if len(text) > top:
        # say by how much, and what to do: a pasted abstract is the usual cause
        raise QueryError(
            f"query longer than {top} characters ({len(text)})",
            position=top,
            hint="shorten it: a title, a sentence or its key words find the same papers",
        )


_CATEGORY_OK = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")


def _category_node(code: str) -> q.Category:
    code = code.strip().lower()
    prefix = code.endswith(".*")
    core = code[:-2] if prefix else code
    if not core or not set(core) <= _CATEGORY_OK:
        raise InputError(f"not a category code: {code!r}", hint="e.g. cs.LG or cs.*")
    return q.Category(core, prefix)


def compose_query(
    text: str,
    categories: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    *,
    strict: bool = True,
) -> str:
    """The query text with category (any of them) and date-range filters ANDed in.

    Without filters the text is returned untouched, so the API runs exactly what the CLI runs.
    With them, the parsed query gets the filter clauses and comes back in canonical syntax:
    `compose_query("graph", ["cs.LG"], date(2024, 1, 1))` is what
    `paperscope search 'graph cat:cs.LG submittedDate:[20240101 TO *]'` runs.
    The query is parsed first, so a fault's position refers to the user's own text; not
    `strict`, it is read as `query.parse_query` reads it and never refused. Text without words
    and filters given: the filters alone, which list the papers they select.
    """
    if text.strip() or not (categories or start or end):
        node = q.parse_query(text, strict=strict).node
    else:
        node = None
    extra: list[q.Node] = []
    cats = [_category_node(c) for c in categories or [] if c.strip()]
    if cats:
        extra.append(cats[0] if len(cats) == 1 else q.Or(tuple(cats)))
    if start or end:
        if start and end and start > end:
            raise InputError(f"date range {start} .. {end} ends before it starts")
        extra.append(q.DateRange(start, end))
    if not extra:
        return text if node is not None else q.to_string(q.parse(text))  # "empty query"
    items = [] if node is None else list(node.items) if isinstance(node, q.And) else [node]
    items += extra
    return q.to_string(items[0] if len(items) == 1 else q.And(tuple(items)))


def _past_end(offset: int, limit: int, total: int, listed: bool) -> list[str]:
    """A note for a page past the last result, as the command and the search page say it
    (an empty `results` with notes [] read like "nothing matches")."""
    if listed or not total or offset < total:
        return []
    last = (total - 1) // limit * limit
    return [f"no results at offset {offset}: {total} in all; the last page is offset={last}"]


def next_url(request: Request, offset: int, limit: int, total: int) -> str | None:
    if offset + limit >= total:
        return None
    url = request.url.include_query_params(offset=offset + limit, limit=limit)
    return absolute(request, url.path + "?" + url.query)


def _local_upvotes(site: Site, rowids: list[int]) -> dict[int, int]:
    return Browse(site.store).upvote_counts(rowids)


def summaries(
    request: Request, items: list[tuple[int, Paper, float | None]], *, snippets=None
) -> list[dict]:
    """Contract summaries plus url, upvotes (source + local), citations and snippet."""
    site = site_of(request)
    local = _local_upvotes(site, [rowid for rowid, _, _ in items])
    out = []
    for i, (rowid, paper, score) in enumerate(items):
        row = paper_summary(paper, score)
        row["url"] = absolute(request, paper_url(paper))
        votes = (paper.upvotes or 0) + local.get(rowid, 0)
        row["upvotes"] = votes if (paper.upvotes is not None or rowid in local) else None
        row["citations"] = paper.citations
        if snippets is not None:
            row["snippet"] = snippets[i]
        out.append(row)
    return out


def snippet_text(snippet) -> str | None:
    if snippet is None:
        return None
    head = "… " if snippet.start > 0 else ""
    tail = " …" if snippet.end < snippet.text_length else ""
    return head + snippet.fragment + tail


def run_search(
    site: Site,
    text: str,
    *,
    mode: str,
    sort: str,
    limit: int,
    offset: int,
    categories: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    facets: bool = False,
    strict: bool = True,
) -> SearchResult:
    """A search as every web surface runs it (API, Atom, exports): same checks, same text.
    The search box and the API pass `strict=False` unless asked (any text is searched, with a
    notice); feeds and exports keep the strict language, as they have no place for a notice."""
    check_query(site, text)
    # an arXiv id, a DOI or their URL opens that paper whatever the filters say
    if paper_reference(text):
        composed = text
    else:
        composed = compose_query(text, categories, start, end, strict=strict)
    engine: SearchEngine = site.engine
    result = engine.search(
        composed, mode=mode, sort=sort, limit=limit, offset=offset, facets=facets, strict=strict
    )
    if composed != text and not strict and text.strip():  # the notice is about what was typed
        result.notice = q.parse_query(text).notice
    return result


_directories: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def author_directory(site: Site):
    """The process's AuthorDirectory, kept current with the store (`ensure` is cheap)."""
    store = site.store
    directory = _directories.get(site)
    if directory is None or directory.store is not store:
        directory = AuthorDirectory(store)
        _directories[site] = directory
    directory.ensure()
    return directory


# ------------------------------------------------------------------------------ routes

Limit = Annotated[
    int | None,
    Query(
        ge=1, description="Page size: default settings.page_size (20), at most max_page_size (100)"
    ),
]
Offset = Annotated[int, Query(ge=0, description="Results to skip")]


@router.get(
    "/search",
    response_model=SearchResponse,
    tags=["search"],
    summary="Search papers with the query language",
    responses=ERRORS,
)
async def search(
    request: Request,
    q: Annotated[
        str,
        Query(
            description="Query (docs/search.md); longer than max_query_length (500) is a 400; "
            "may be empty when cat, from or until select the papers",
        ),
    ] = "",
    limit: Limit = None,
    offset: Offset = 0,
    mode: Annotated[Mode, Query(description="hybrid, lexical or semantic")] = "hybrid",
    sort: Annotated[Sort, Query(description="Order of the hits")] = "relevance",
    cat: Annotated[
        list[str], Query(description="Only these categories (any of them; cs.* = archive)")
    ] = [],  # noqa: B006 - FastAPI copies defaults
    date_from: Annotated[
        date | None, Query(alias="from", description="Published on or after YYYY-MM-DD")
    ] = None,
    until: Annotated[date | None, Query(description="Published on or before YYYY-MM-DD")] = None,
    facets: Annotated[bool, Query(description="Count hits per category and year")] = False,
    strict: Annotated[
        bool,
        Query(
            description="Refuse a query that is not the query language (400 with the position); "
            "by default any text is searched and `notice` says how it was read"
        ),
    ] = False,
) -> dict:
    site = site_of(request)
    size = check_page(site, limit, offset)
    if not q.strip() and not (any(c.strip() for c in cat) or date_from or until):
        raise InputError(
            "q: words to search for, or a filter (cat, from, until) to list papers by",
            hint="e.g. q=transformer, or cat=cs.LG&from=2024-01-01",
        )
    result = run_search(
        site,
        q,
        mode=mode,
        sort=sort,
        limit=size,
        offset=offset,
        categories=cat,
        start=date_from,
        end=until,
        facets=facets,
        strict=strict,
    )
    items = [(h.rowid, h.paper, h.score) for h in result.hits]
    body = {
        "query": result.query,
        "mode": result.mode,
        "sort": result.sort,
        "results": summaries(
            request, items, snippets=[snippet_text(h.snippet) for h in result.hits]
        ),
        "total": result.total,
        "limit": size,
        "offset": offset,
        "next": next_url(request, offset, size, result.total),
        "notes": result.notes + _past_end(offset, size, result.total, bool(result.hits)),
        "opened": result.opened,
        "related": summaries(request, [(h.rowid, h.paper, h.score) for h in result.related]),
        "notice": result.notice,
    }
    if facets:
        body["facets"] = result.facets
    return body


# registered before /paper/{ident:path}: a DOI's slashes would otherwise swallow "/similar"
@router.get(
    "/paper/{ident:path}/similar",
    response_model=SimilarResponse,
    tags=["papers"],
    summary="Papers most similar to one paper",
    responses=ERRORS,
)
async def similar(
    request: Request,
    ident: str,
    limit: Annotated[int, Query(ge=1, description="At most max_page_size (100)")] = 10,
    mode: Annotated[Mode, Query(description="semantic (default), lexical or hybrid")] = "semantic",
) -> dict:
    site = site_of(request)
    check_page(site, limit, None)
    paper = site.store.get(ident)
    hits = site.engine.similar(ident, limit=limit, mode=mode)
    return {
        "id": paper.id,
        "mode": mode,
        "results": summaries(request, [(h.rowid, h.paper, h.score) for h in hits]),
    }


@router.get(
    "/paper/{ident:path}",
    response_model=PaperFull,
    tags=["papers"],
    summary="One paper with every field and the records it was merged from",
    description="`ident`: arXiv id (with or without version), DOI (slashes allowed) or paper id.",
    responses=ERRORS,
)
async def paper(request: Request, ident: str) -> dict:
    store = site_of(request).store
    found = store.get(ident)
    data = paper_full(found)
    data["url"] = absolute(request, paper_url(found))
    data["merged_from"] = [
        {"source": s, "origin": o, "first_seen": t}
        for s, o, t in sources_shown(store.paper_sources(found.id))
    ]
    data["topic"] = paper_topic(store, found.id)
    return data


@router.get(
    "/author/{slug}",
    response_model=AuthorResponse,
    tags=["authors"],
    summary="An author: name variants, affiliations, papers (newest first), coauthors",
    responses=ERRORS,
)
async def author(request: Request, slug: str, limit: Limit = None, offset: Offset = 0) -> dict:
    site = site_of(request)
    size = check_page(site, limit, offset)
    profile = author_directory(site).profile(slug)
    page = profile.papers[offset : offset + size]
    total = len(profile.papers)
    return {
        "slug": profile.slug,
        "name": profile.name,
        "url": absolute(request, author_url(profile.slug)),
        "variants": [{"name": n, "papers": c} for n, c in profile.variants],
        "affiliations": list(profile.affiliations),
        "per_year": {str(y): n for y, n in sorted(profile.per_year.items())},
        "categories": dict(profile.categories),
        "coauthors": [
            {
                "slug": a.slug,
                "name": a.name,
                "papers": a.papers,
                "url": absolute(request, author_url(a.slug)),
                "shared": shared,
            }
            for a, shared in profile.coauthors
        ],
        "results": summaries(request, [(r, p, None) for r, p in page]),
        "total": total,
        "limit": size,
        "offset": offset,
        "next": next_url(request, offset, size, total),
    }


def _feed(
    request: Request,
    kind: str,
    key: str | None,
    sort: str,
    cat: str | None,
    limit: int | None,
    offset: int,
) -> dict:
    site = site_of(request)
    size = check_page(site, limit, offset)
    # an offset past SQLite's 64 bits is past every store: read the empty page at the edge
    # (it was 422 "a number is out of range" here, where search, author and category pages
    # answer an empty page with the total)
    view = feed_page(site, kind, key, sort, cat or None, size, min(offset, _LAST_OFFSET))
    return {
        "kind": view.kind,
        "key": view.key,
        "start": view.start,
        "end": view.end,
        "label": view.label,
        "prev": view.prev_key,
        "next_period": view.next_key,
        "nearest_day": view.empty_hint if not view.total else None,
        "results": summaries(request, [(r, p, None) for r, p in view.papers]),
        "total": view.total,
        "limit": size,
        "offset": offset,
        "next": next_url(request, offset, size, view.total),
    }


FeedSortQ = Annotated[FeedSort, Query(description="trending, newest or upvotes")]
CatQ = Annotated[str | None, Query(description="Only this category", max_length=40)]


@router.get(
    "/feed",
    response_model=FeedResponse,
    tags=["feed"],
    summary="Papers of one day (default: the latest day with papers, of `cat` when given)",
    responses=ERRORS,
)
async def feed_day(
    request: Request,
    day: Annotated[str | None, Query(alias="date", description="YYYY-MM-DD")] = None,
    sort: FeedSortQ = "trending",
    cat: CatQ = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> dict:
    return _feed(request, "day", day, sort, cat, limit, offset)


@router.get(
    "/feed/week/{week}",
    response_model=FeedResponse,
    tags=["feed"],
    summary="Papers of an ISO week (YYYY-Www)",
    responses=ERRORS,
)
async def feed_week(
    request: Request,
    week: str,
    sort: FeedSortQ = "trending",
    cat: CatQ = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> dict:
    return _feed(request, "week", week, sort, cat, limit, offset)


@router.get(
    "/feed/month/{month}",
    response_model=FeedResponse,
    tags=["feed"],
    summary="Papers of a month (YYYY-MM)",
    responses=ERRORS,
)
async def feed_month(
    request: Request,
    month: str,
    sort: FeedSortQ = "trending",
    cat: CatQ = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> dict:
    return _feed(request, "month", month, sort, cat, limit, offset)


@router.get(
    "/category/{code}",
    response_model=CategoryResponse,
    tags=["categories"],
    summary="Latest papers of a category and its most prolific authors",
    responses=ERRORS,
)
async def category(request: Request, code: str, limit: Limit = None, offset: Offset = 0) -> dict:
    site = site_of(request)
    size = check_page(site, limit, offset)
    papers, total = category_listing(site, code, limit=size, offset=offset)
    code = category_spelling(site, code, papers)
    top = author_directory(site).top_in_category(code, limit=10)
    return {
        "code": code,
        "top_authors": [
            {
                "slug": a.slug,
                "name": a.name,
                "papers": a.papers,
                "url": absolute(request, author_url(a.slug)),
            }
            for a in top
        ],
        "results": summaries(request, [(r, p, None) for r, p in papers]),
        "total": total,
        "limit": size,
        "offset": offset,
        "next": next_url(request, offset, size, total),
    }
