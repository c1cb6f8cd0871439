"""Feeds and downloads: Atom feeds of the daily feed, a search, an author and a category;
BibTeX/CSV/JSON of a search or a paper; the OpenSearch description.

The bytes come from `paperscope.serve.export`; this module only picks the papers (through the
same library calls as the API and the pages) and sets the media types and file names.
Errors are the site's HTML error pages (these URLs are not under /api/).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from paperscope.errors import InputError
from paperscope.model import Paper
from paperscope.rank.search import MAX_LIMIT, MODES, SORTS
from paperscope.serve import export
from paperscope.serve.web.api import author_directory, base_url, check_page, run_search
from paperscope.serve.web.feedviews import category_listing, feed_page
from paperscope.serve.web.format import author_url, category_url, feed_url, search_url
from paperscope.serve.web.site import site_of

router = APIRouter(tags=["feeds and exports"])

ATOM = "application/atom+xml; charset=utf-8"
MEDIA = {
    "bib": "application/x-bibtex; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
Format = Literal["bib", "csv", "json"]
Mode = Literal[MODES]  # type: ignore[valid-type]
Sort = Literal[SORTS]  # type: ignore[valid-type]
_FILENAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


def _atom(request: Request, title: str, alternate: str, papers: list[Paper]) -> Response:
    base = base_url(request)
    self_url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    modified = site_of(request).store.modified_times(p.id for p in papers)
    body = export.atom_feed(
        title, self_url, base + alternate, papers, base_url=base, modified=modified
    )
    return Response(body, media_type=ATOM)


def filename(stem: str, ext: str) -> str:
    """A file name any OS accepts: ASCII letters, digits, dot, dash, underscore."""
    safe = _FILENAME_RE.sub("_", stem).strip("._") or "papers"
    return f"{safe[:80]}.{ext}"


def download(papers: list[Paper], fmt: str, stem: str) -> Response:
    if fmt == "bib":
        body: bytes = export.bibtex(papers).encode()
    elif fmt == "csv":
        body = export.csv_text(papers).encode()
    else:
        body = orjson.dumps(export.json_records(papers))
    headers = {"Content-Disposition": f'attachment; filename="{filename(stem, fmt)}"'}
    return Response(body, media_type=MEDIA[fmt], headers=headers)


# ------------------------------------------------------------------------------ Atom


@router.get("/feed.atom", summary="Atom feed of a day's papers (default: the latest day)")
async def feed_atom(
    request: Request,
    day: Annotated[str | None, Query(alias="date", description="YYYY-MM-DD")] = None,
    cat: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    site = site_of(request)
    view = feed_page(site, "day", day, "trending", cat or None, site.settings.max_page_size, 0)
    title = f"paperscope: papers of {view.label}" if view.key else "paperscope: daily papers"
    # the page a reader opens from the feed shows the same papers: same day, same category
    alternate = feed_url("day", view.key if day else None, cat=cat or None)
    return _atom(request, title, alternate, [p for _, p in view.papers])


@router.get("/search.atom", summary="Atom feed of a search (newest matches first by default)")
async def search_atom(
    request: Request,
    q: Annotated[str, Query(min_length=1)],
    mode: Mode = "hybrid",
    sort: Sort = "newest",
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    site = site_of(request)
    size = check_page(site, limit or site.settings.max_page_size, None)
    result = run_search(site, q, mode=mode, sort=sort, limit=size, offset=0)
    return _atom(
        request,
        f"paperscope search: {q}",
        search_url(q, mode=mode),
        [h.paper for h in result.hits],
    )


@router.get("/author/{slug}.atom", summary="Atom feed of an author's papers, newest first")
async def author_atom(request: Request, slug: str) -> Response:
    site = site_of(request)
    profile = author_directory(site).profile(slug)
    papers = [p for _, p in profile.papers[: site.settings.max_page_size]]
    return _atom(request, f"paperscope: {profile.name}", author_url(profile.slug), papers)


@router.get("/cat/{code}.atom", summary="Atom feed of a category's latest papers")
async def category_atom(request: Request, code: str) -> Response:
    site = site_of(request)
    found, _ = category_listing(site, code, limit=site.settings.max_page_size)
    return _atom(request, f"paperscope: {code}", category_url(code), [p for _, p in found])


# ------------------------------------------------------------------------------ downloads


async def _search_download(
    request: Request,
    fmt: str,
    q: str,
    mode: str,
    sort: str,
    limit: int | None,
    offset: int,
    cat: list[str],
    date_from: date | None,
    until: date | None,
) -> Response:
    site = site_of(request)
    if not q.strip() and not (any(c.strip() for c in cat) or date_from or until):
        # as the API search: words, or filters alone that list the papers they select
        raise InputError(
            "q: words to search for, or a filter (cat, from, until) to list papers by",
            hint="e.g. q=transformer, or cat=cs.LG&from=2024-01-01",
        )
    size = site.settings.max_page_size if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise InputError(f"limit must be between 1 and {MAX_LIMIT}")
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
    )
    return download([h.paper for h in result.hits], fmt, "paperscope-search-" + (q or "filtered"))


def _search_route(fmt: str):
    async def handler(
        request: Request,
        q: Annotated[
            str, Query(description="Query (docs/search.md); may be empty with cat, from, until")
        ] = "",
        mode: Mode = "hybrid",
        sort: Sort = "relevance",
        limit: Annotated[
            int | None, Query(ge=1, le=MAX_LIMIT, description="Default max_page_size")
        ] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        cat: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
        date_from: Annotated[date | None, Query(alias="from")] = None,
        until: date | None = None,
    ) -> Response:
        return await _search_download(
            request, fmt, q, mode, sort, limit, offset, cat, date_from, until
        )

    handler.__name__ = f"search_{fmt}"
    return handler


def _paper_route(fmt: str):
    async def handler(request: Request, ident: str) -> Response:
        paper = site_of(request).store.get(ident)
        return download([paper], fmt, paper.id)

    handler.__name__ = f"paper_{fmt}"
    return handler


for _fmt, _label in (("bib", "BibTeX"), ("csv", "CSV"), ("json", "JSON")):
    router.add_api_route(
        f"/search.{_fmt}",
        _search_route(_fmt),
        methods=["GET"],
        summary=f"A search result as a {_label} download (limit up to {MAX_LIMIT})",
        response_class=Response,
    )
    router.add_api_route(
        f"/paper/{{ident:path}}.{_fmt}",
        _paper_route(_fmt),
        methods=["GET"],
        summary=f"One paper as a {_label} download",
        response_class=Response,
    )


# ------------------------------------------------------------------------------ OpenSearch


@router.get("/opensearch.xml", summary="OpenSearch 1.1 description (add as a browser search)")
async def opensearch(request: Request) -> Response:
    return Response(
        export.opensearch_description(base_url(request)),
        media_type="application/opensearchdescription+xml",
    )
