"""The server-rendered pages: feed, search, paper, author, category and organisation.

Every handler calls library code (Browse, SearchEngine, AuthorDirectory, the export module)
and renders a template; errors are raised as `paperscope.errors` and become the site's error
pages (app.py). Pages work without JavaScript; the few scripts in /static only enhance them.
"""

from __future__ import annotations

import math
import re
import weakref
from collections import OrderedDict
from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from paperscope.errors import InputError, NotFoundError, QueryError
from paperscope.model import Paper
from paperscope.normalize import normalize_arxiv_id
from paperscope.rank import query as query_lang
from paperscope.rank.search import MAX_LIMIT, MODES, paper_reference
from paperscope.rank.topics import ALL_ASPECTS, group_rowids
from paperscope.serve.export import bibtex_entry
from paperscope.serve.records import sources_shown
from paperscope.serve.web.actions import fill_slots, here, list_actions, slot
from paperscope.serve.web.alerts import following
from paperscope.serve.web.api import author_directory, compose_query, run_search
from paperscope.serve.web.feedviews import (
    category_listing,
    category_spelling,
    feed_page,
    month_key,
    week_key,
)
from paperscope.serve.web.format import author_url, feed_url
from paperscope.serve.web.site import Site, site_of
from paperscope.store.authors import AuthorDirectory
from paperscope.store.browse import SORTS as FEED_SORTS
from paperscope.store.browse import Browse, next_day, org_slug, parse_day
from paperscope.store.topics import labels as topic_labels
from paperscope.store.topics import topic_chain

router = APIRouter(include_in_schema=False)

SEARCH_SORTS = ("relevance", "trending", "newest", "upvotes", "citations")
#: Similar papers and papers by the same authors shown on a paper page.
SIDE_LIST = 6
#: Authors of a paper whose other papers are listed on its page.
AUTHORS_FOR_MORE = 3
Page = Annotated[int, Query(ge=1, le=10_000, description="page number, from 1")]


# ------------------------------------------------------------------ helpers


def org_url(name: str) -> str:
    """The organisation's page; "" for a name without letters or digits, which has none."""
    slug = org_slug(name)
    return "/org/" + quote(slug, safe="") if slug else ""


def _globals(site: Site) -> None:
    env = site.templates.env
    if "org_url" not in env.globals:
        env.globals.update(org_url=org_url, feed_url=feed_url)


def render(request: Request, template: str, context: dict, status: int = 200) -> HTMLResponse:
    site = site_of(request)
    _globals(site)
    return site.render(request, template, context, status_code=status)


def page_url(request: Request, page: int) -> str:
    """This page's URL with another page number (other parameters kept)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    if page > 1:
        params.append(("page", str(page)))
    return request.url.path + ("?" + urlencode(params) if params else "")


def pager(request: Request, page: int, size: int, total: int, most: int | None = None) -> dict:
    """What templates/_papers.html's pager needs: numbers around the current page."""
    pages = max(1, math.ceil(total / size))
    if most:
        pages = min(pages, most)
    numbers = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    return {
        "page": page,
        "pages": pages,
        "numbers": numbers,
        "url": lambda n: page_url(request, n),
        "total": total,
    }


def _upvotes(site: Site, items: list[tuple[int, Paper]]) -> dict[int, int]:
    return Browse(site.store).upvote_counts([r for r, _ in items])


def _follow(request: Request, kind: str, value: str) -> dict:
    """What alerts/_follow.html's button needs: the reader's follow of it, and where to come
    back to."""
    user = getattr(request.state, "user", None)
    found = following(site_of(request), user.id, kind, value) if user else None
    return {"follow": found, "here": here(request)}


def followed_query(text: str, cat: str | None, start: date | None, end: date | None) -> str:
    """What "Follow this search" follows: the search the page ran, its filters ANDed in
    (`compose_query`), in the strict language a saved search is kept in. Text the box read
    as plain words (an unbalanced parenthesis, a pasted title with a colon) is followed as
    those words; a follow of the text as typed would be refused."""
    composed = compose_query(text, [cat] if cat else None, start, end, strict=False)
    try:
        query_lang.parse(composed)
    except QueryError:
        return query_lang.to_string(query_lang.parse_query(composed).node)
    return composed


def _check_size(site: Site, size: int | None) -> int:
    return min(size or site.settings.page_size, site.settings.max_page_size)


# ------------------------------------------------------------------ feed


async def _feed(
    request: Request, kind: str, key: str | None, sort: str, cat: str | None, page: int
) -> HTMLResponse:
    site = site_of(request)
    size = site.settings.page_size
    if kind == "day" and not key:
        key = _today_if_picked(site)
    view = feed_page(site, kind, key, sort, cat or None, limit=size, offset=(page - 1) * size)
    featured = Browse(site.store).featured(view.key) if kind == "day" else []
    start, end = parse_day(view.start), parse_day(view.end)
    listed = _papers_html(site, view.papers, view.local_upvotes, (page - 1) * size + 1)
    day = view.start if kind == "day" else _newest_day_in(site, view)
    context = {
        "view": view,
        "featured": featured,
        "featured_actions": list_actions(request, [(r, p) for r, p, _ in featured], "pick-"),
        "sorts": FEED_SORTS,
        "pager": pager(request, page, size, view.total),
        # the week of the day "Day" leads to (a week's own, within it): from a month, the week
        # of its newest day with papers; the week of the 1st could hold one day of the month
        # (1 November 2026, a Sunday)
        "week": week_key(parse_day(day)),
        "month": month_key(start),
        "day": day,
        # "weekends have no announcements" explains an empty day only when it is one, or when
        # no category narrows it (a holiday): a Wednesday without cs.LG papers is no weekend
        "weekend": kind == "day" and start.weekday() >= 5,
        "categories": _period_categories(site, start, end),
        "category_options": _category_options(site, start, end, view.category),
        "papers_html": fill_slots(listed, list_actions(request, view.papers)),
    }
    return render(request, "feed.html", context)


def _newest_day_in(site: Site, view) -> str:
    """Where "Day" leads from a week or a month: its newest day with papers (of the page's
    category), as the feed opens on the newest day; the period's first day was often a
    weekend, "No papers on this day" one click after a month of papers."""
    if view.total:
        newest = Browse(site.store).nearest_days(next_day(view.end), view.category)[0]
        if newest and newest >= view.start:
            return newest
    return view.start


def _today_if_picked(site: Site) -> str | None:
    """Today (UTC) when readers featured papers on it: the feed opens on the newest day with
    papers, which is yesterday or older until today's announcements are imported, and today's
    community picks would be on no page a reader opens."""
    today = datetime.now(UTC).date().isoformat()
    return today if Browse(site.store).featured(today) else None


#: Rendered feed lists a process remembers.
LIST_CACHE = 256
_list_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _papers_html(site: Site, papers: list, upvotes: dict, start: int) -> Markup:
    """`paper_list(papers, upvotes, start)` of _papers.html, rendered once per listing: feed
    views are remembered (feedviews.feed_page) and hand out the same `papers` and `upvotes`
    objects until the data changes, so their identity names the rendering. The list shows
    nothing of the reader (no user, no form tokens): each item has a slot the caller fills
    with the reader's forms (actions.fill_slots)."""
    _globals(site)
    cache = _list_caches.setdefault(site, OrderedDict())
    key = (id(papers), id(upvotes), start)
    found = cache.get(key)
    # the entry holds both objects, so their ids cannot be reused while it is cached
    if found is not None and found[0] is papers and found[1] is upvotes:
        cache.move_to_end(key)
        return found[2]
    module = site.templates.env.get_template("_papers.html").module
    html = module.paper_list(papers, upvotes, start=start, actions={r: slot(r) for r, _ in papers})
    cache[key] = (papers, upvotes, html)
    if len(cache) > LIST_CACHE:
        cache.popitem(last=False)
    return html


def _period_categories(site: Site, start: date, end: date) -> list[tuple[str, int]]:
    """The categories the filter offers: the most frequent of the shown period, with the
    number of its papers in each (cached per process and store generation)."""
    return _category_menu(site, start, end)[1]


def _category_menu(
    site: Site, start: date, end: date
) -> tuple[int, list[tuple[str, int]], dict[str | None, Markup]]:
    """(generation, the menu's categories, rendered <option>s per selected category)."""
    menus = _categories.setdefault(site, OrderedDict())
    generation = site.store.generation()
    cache = menus.get((start, end))
    if cache is None or cache[0] != generation:
        facets = site.engine.lexical.facets(query_lang.DateRange(start, end), top=40)
        counts = facets.get("categories") or facets.get("cat") or {}
        cache = (generation, sorted(counts.items()), {})
        menus[(start, end)] = cache
        if len(menus) > MENU_CACHE:
            menus.popitem(last=False)
    menus.move_to_end((start, end))
    return cache


def _category_options(site: Site, start: date, end: date, selected: str | None) -> Markup:
    """The menu's <option>s with `selected` marked, as feed.html wrote them in a loop: one
    string per period, selected category and store generation."""
    _, categories, rendered = _category_menu(site, start, end)
    html = rendered.get(selected)
    if html is None:
        option = Markup('<option value="{0}"{1}>{0} ({2})</option>')
        html = Markup("").join(
            option.format(code, Markup(" selected") if code == selected else "", n)
            for code, n in categories
        )
        if len(rendered) < 100:  # selected values come from URLs: keep the menu's own
            rendered[selected] = html
    return html


#: Periods whose category menu a process remembers.
MENU_CACHE = 256
_categories: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


FeedSort = Annotated[str, Query(description="trending, newest or upvotes")]


@router.get("/", response_class=HTMLResponse)
async def feed_day(
    request: Request,
    date: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    sort: FeedSort = "trending",
    cat: str | None = None,
    page: Page = 1,
) -> HTMLResponse:
    return await _feed(request, "day", date or None, sort, cat, page)


@router.get("/week/{key}", response_class=HTMLResponse)
async def feed_week(
    request: Request, key: str, sort: FeedSort = "trending", cat: str | None = None, page: Page = 1
) -> HTMLResponse:
    return await _feed(request, "week", key, sort, cat, page)


@router.get("/month/{key}", response_class=HTMLResponse)
async def feed_month(
    request: Request, key: str, sort: FeedSort = "trending", cat: str | None = None, page: Page = 1
) -> HTMLResponse:
    return await _feed(request, "month", key, sort, cat, page)


# ------------------------------------------------------------------ search


def _date_param(name: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return parse_day(value)
    except InputError:
        raise InputError(f"{name}: not a date: {value!r}", hint="dates are YYYY-MM-DD") from None


def _date_problem(from_: str | None, until: str | None) -> tuple[str, str] | None:
    """(field id, message) of the first bad date filter of the search form, or None."""
    for field_id, name, value in (("s-from", "From", from_), ("s-until", "Until", until)):
        try:
            _date_param(name, value)
        except InputError:
            return field_id, f"{name}: {value!r} is not a date (YYYY-MM-DD)."
    if from_ and until and parse_day(from_) > parse_day(until):
        return "s-until", f"Until ({until}) is before From ({from_}): no day is in between."
    return None


@router.get("/search", response_class=HTMLResponse)
async def search(
    request: Request,
    q: str = "",
    mode: str = "hybrid",
    sort: str = "relevance",
    cat: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    until: str | None = None,
    page: Page = 1,
    size: Annotated[int | None, Query(ge=1)] = None,
    strict: bool = False,
    group: str = "",
) -> HTMLResponse:
    site = site_of(request)
    if group and group not in ALL_ASPECTS:
        raise InputError(f"unknown grouping {group!r}", hint="group: " + ", ".join(ALL_ASPECTS))
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}", hint="modes: " + ", ".join(MODES))
    if sort not in SEARCH_SORTS:
        raise InputError(f"unknown sort {sort!r}", hint="sorts: " + ", ".join(SEARCH_SORTS))
    size = _check_size(site, size)
    context = {
        "query_text": q,
        "mode": mode,
        "sort": sort,
        "cat": cat or "",
        "date_from": from_ or "",
        "date_until": until or "",
        "size": size,
        "modes": MODES,
        "sorts": SEARCH_SORTS,
        "result": None,
    }
    problem = _date_problem(from_, until)
    if problem:  # the form again, the dates as typed, the message beside the field
        context["date_error"] = {"field": problem[0], "message": problem[1]}
        return render(request, "search.html", context, status=400)
    start, end = _date_param("from", from_), _date_param("until", until)
    if not q.strip() and not (cat or start or end):
        return render(request, "search.html", context)
    reference = paper_reference(q)
    if reference is not None and site.store.resolve(reference.ident) is not None:
        return RedirectResponse(_paper_path(site.store.get(reference.ident)), status_code=303)
    result = run_search(
        site,
        q,
        mode=mode,
        sort=sort,
        limit=size,
        offset=(page - 1) * size,
        categories=[cat] if cat else None,
        start=start,
        end=end,
        facets=True,
        strict=strict,
    )
    items = [(h.rowid, h.paper) for h in [*result.hits, *result.related]]
    follow_value = followed_query(q, cat, start, end)
    context.update(
        result=result,
        upvotes=_upvotes(site, items),
        actions=list_actions(request, items),
        **_follow(request, "query", follow_value),
        follow_value=follow_value,
        pager=pager(request, page, size, result.total, most=max(1, MAX_LIMIT // size)),
        facet_url=lambda **changes: _search_url(request, **changes),
        year_url=lambda year: _year_url(request, int(year), start, end),
        group=group,
        aspects=ALL_ASPECTS,
        groups=_groups(site, result.hits, group) if group else None,
        topic_facet=_topic_facet(site, result.facets.get("topic", {})),
        query_topics={int(n) for n in _QUERY_TOPIC.findall(q)},
        # an arXiv id or a DOI the store lacks: "try fewer words" is no advice for it, the
        # paper's own page is
        missing=reference if reference is not None and not result.total else None,
    )
    return render(request, "search.html", context)


def _groups(site: Site, hits: list, aspect: str) -> list[tuple]:
    """The hits of a page regrouped by their top topic of `aspect` (rank.topics)."""
    by_rowid = {h.rowid: h for h in hits}
    return [
        (t, [by_rowid[r] for r in rowids])
        for t, rowids in group_rowids(site.store, list(by_rowid), aspect)
    ]


#: a `topic:N` the query already holds: its facet entry is the current one, not a link that
#: would add it a second time ("-topic:N" excludes the topic, which then has no entry)
_QUERY_TOPIC = re.compile(r"(?<![\w-])topic:(\d+)\b")


def _topic_facet(site: Site, counts: dict[str, int]) -> list[tuple]:
    known = topic_labels(site.store, [int(k) for k in counts])
    return [(known[int(k)], n) for k, n in counts.items() if int(k) in known]


def _year_url(request: Request, year: int, start: date | None, end: date | None) -> str:
    """The search narrowed to the publication year `year` within the page's own dates: the
    year facet counts the matches inside them, so a click on "2019 1" under "from 2019-11-01"
    gives that 1 (it widened to the whole year, 3)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    first, last = max(first, start) if start else first, min(last, end) if end else last
    return _search_url(request, from_=first.isoformat(), until=last.isoformat())


def _search_url(request: Request, **changes: str | None) -> str:
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    for key, value in changes.items():
        key = "from" if key == "from_" else key
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "/search?" + urlencode(params)


# ------------------------------------------------------------------ paper


@router.get("/paper/{ident:path}", response_class=HTMLResponse)
async def paper(request: Request, ident: str) -> Response:
    site = site_of(request)
    store = site.store
    rowid = store.resolve(ident)
    paper = store.load_rowids([rowid]).get(rowid) if rowid is not None else None
    if paper is None:
        try:
            paper = store.get(ident)
        except NotFoundError as missing:
            # what was typed may be words of a title, or an id under another form: offer
            # to search for it (an arXiv id's hint already says where that paper is)
            search = None if normalize_arxiv_id(ident) else ident
            return _not_found(request, missing, missing.hint, search)
    if paper.id != ident:
        return RedirectResponse(_paper_path(paper), status_code=301)
    authors = author_directory(site)
    slugs = authors.slugs_for_paper(rowid)
    similar = _similar(site, rowid)
    context = {
        "paper": paper,
        "rowid": rowid,
        "paper_rowid": rowid,
        "authors": list(zip(paper.authors, [*slugs, *[None] * len(paper.authors)], strict=False)),
        "bibtex": bibtex_entry(paper),
        "similar": similar,
        "more": _more_by_authors(store, authors, rowid, slugs),
        "sources": sources_shown(store.sources_of(rowid)),
        "local_upvotes": Browse(store).upvote_counts([rowid]).get(rowid, 0),
        "export_base": _paper_path(paper),
        "topics": topic_chain(store, rowid),
    }
    return render(request, "paper.html", context)


def _similar(site: Site, rowid: int) -> list[tuple[int, Paper]]:
    """The paper page's similar papers: the engine remembers each paper's list beside the
    store (index/neighbours.py) until the vectors change."""
    return [(h.rowid, h.paper) for h in site.engine.similar_rowid(rowid, limit=SIDE_LIST)]


def _paper_path(paper: Paper) -> str:
    return "/paper/" + quote(paper.id, safe="/")


def _more_by_authors(
    store, authors: AuthorDirectory, rowid: int, slugs: list[str | None]
) -> list[tuple[str, str, list]]:
    """(author name, slug, their other papers) for the first few authors that have any.

    Reads each author's newest rowids from the author index alone (a whole profile reads every
    occurrence of a prolific author and 200 papers for affiliations), then loads the shown
    papers in one read."""
    picks = []
    seen = {rowid}
    for slug in [s for s in slugs if s][:AUTHORS_FOR_MORE]:
        found = authors.newest_rowids(slug, SIDE_LIST + len(seen))
        if found is None:
            continue
        name, rowids = found
        picked = [r for r in rowids if r not in seen][:SIDE_LIST]
        seen.update(picked)
        picks.append((name, slug, picked))
    papers = store.load_rowids(sorted(seen - {rowid}))
    out = []
    for name, slug, picked in picks:
        shown = [(r, papers[r]) for r in picked if r in papers]
        if shown:
            out.append((name, slug, shown))
    return out


# ------------------------------------------------------------------ author


def _not_found(
    request: Request, missing: NotFoundError, hint: str | None, search: str | None
) -> Response:
    """The 404 page with a link searching for `search` (what was typed, read as words)."""
    context = {"status": 404, "message": str(missing), "hint": hint}
    if search:
        context["search"] = search
    return render(request, "error.html", context, status=404)


@router.get("/author/{slug}", response_class=HTMLResponse)
async def author(request: Request, slug: str, page: Page = 1) -> Response:
    site = site_of(request)
    try:
        profile = author_directory(site).profile(slug)
    except NotFoundError as missing:
        # the store's hint names a command of the CLI, no help to a reader of the page: the
        # slug is a name in other clothes, so offer a search for the name it spells
        hint = "author pages are named after the name as papers spell it, e.g. juhua-hu"
        return _not_found(request, missing, hint, " ".join(slug.replace("-", " ").split()))
    if profile.slug != slug:  # an old slug of a merged author
        return RedirectResponse(author_url(profile.slug), status_code=301)
    size = site.settings.page_size
    papers = profile.papers[(page - 1) * size : page * size]
    years = sorted(profile.per_year.items())
    context = {
        "profile": profile,
        "papers": papers,
        "years": years,
        "year_max": max((n for _, n in years), default=1),
        "pager": pager(request, page, size, len(profile.papers)),
        "upvotes": _upvotes(site, papers),
        "actions": list_actions(request, papers),
        **_follow(request, "author", profile.name),
    }
    return render(request, "author.html", context)


# ------------------------------------------------------------------ category and organisation


@router.get("/cat/{code}", response_class=HTMLResponse)
async def category(request: Request, code: str, page: Page = 1) -> HTMLResponse:
    site = site_of(request)
    size = site.settings.page_size
    papers, total = category_listing(site, code, limit=size, offset=(page - 1) * size)
    code = category_spelling(site, code, papers)
    context = {
        "code": code,
        "papers": papers,
        "total": total,
        "pager": pager(request, page, size, total),
        "top_authors": author_directory(site).top_in_category(code, limit=10),
        "upvotes": _upvotes(site, papers),
        "actions": list_actions(request, papers),
        **_follow(request, "category", code),
    }
    return render(request, "category.html", context)


@router.get("/org/{slug}", response_class=HTMLResponse)
async def organization(request: Request, slug: str, page: Page = 1) -> HTMLResponse:
    site = site_of(request)
    size = site.settings.page_size
    name, papers, total = Browse(site.store).organization(
        slug, limit=size, offset=(page - 1) * size
    )
    context = {
        "name": name,
        "slug": slug,
        "papers": papers,
        "total": total,
        "pager": pager(request, page, size, total),
        "upvotes": _upvotes(site, papers),
        "actions": list_actions(request, papers),
    }
    return render(request, "org.html", context)
