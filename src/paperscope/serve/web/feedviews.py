"""The feed of a day, an ISO week or a month: one function behind the feed page and the API.

    view = feed_page(site, "week", "2026-W09", sort="trending", category=None, limit=20, offset=0)

Keys: a day ``YYYY-MM-DD``, a week ``YYYY-Www`` (ISO 8601), a month ``YYYY-MM``; None = the
period of the newest day with papers. A bad key is an InputError (page 400, API 422).
Previous/next of a day are the nearest days that have papers (weekends are skipped); of a
week or month, the periods of those days (empty periods are skipped).
"""

from __future__ import annotations

import re
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from paperscope.errors import InputError, NotFoundError
from paperscope.model import Paper
from paperscope.rank import query as query_lang
from paperscope.store.browse import LAST_YEAR, SORTS, Browse, parse_day

KINDS = ("day", "week", "month")
# [0-9], not \d: "٢٠٢٦-W09" is not a week key
_WEEK_RE = re.compile(r"([0-9]{4})-W([0-9]{2})")
_MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")


@dataclass(slots=True)
class FeedView:
    kind: str
    key: str
    start: str
    end: str
    label: str
    prev_key: str | None
    next_key: str | None
    papers: list[tuple[int, Paper]]
    total: int
    #: When the period has no papers: the nearest day with papers (None when it has some).
    empty_hint: str | None = None
    #: The nearest days with papers before the period and after it (set for empty periods).
    nearest_before: str | None = None
    nearest_after: str | None = None
    sort: str = "trending"
    category: str | None = None
    #: Local upvotes of the listed papers (rowid -> count), for display.
    local_upvotes: dict[int, int] = field(default_factory=dict)


def week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_key(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def period(kind: str, key: str) -> tuple[date, date]:
    """First and last day of a period, or InputError."""
    if kind == "day":
        day = parse_day(key)
        return day, day
    if kind == "week":
        match = _WEEK_RE.fullmatch(key)
        try:
            if not match:
                raise ValueError
            first = date.fromisocalendar(int(match[1]), int(match[2]), 1)
            if int(match[1]) > LAST_YEAR:
                raise ValueError
        except ValueError:
            raise InputError(
                f"not an ISO week: {key!r}", hint="weeks are YYYY-Www, e.g. 2026-W09"
            ) from None
        return first, first + timedelta(days=6)
    if kind == "month":
        match = _MONTH_RE.fullmatch(key)
        if not match or not 1 <= int(match[2]) <= 12 or not 1 <= int(match[1]) <= LAST_YEAR:
            raise InputError(f"not a month: {key!r}", hint="months are YYYY-MM, e.g. 2026-02")
        first = date(int(match[1]), int(match[2]), 1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return first, following - timedelta(days=1)
    raise InputError(f"unknown feed kind {kind!r}", hint="kinds: " + ", ".join(KINDS))


def label_of(kind: str, start: date, end: date) -> str:
    if kind == "day":
        return f"{start:%A}, {start.day} {start:%B %Y}"
    if kind == "week":
        year, week, _ = start.isocalendar()
        return f"Week {week} of {year} ({start.day} {start:%b} – {end.day} {end:%b %Y})"
    return f"{start:%B %Y}"


def _key_of(kind: str, day: date) -> str:
    return {"day": day.isoformat, "week": lambda: week_key(day), "month": lambda: month_key(day)}[
        kind
    ]()


#: Feed pages a process remembers (least recently asked forgotten first).
FEED_CACHE = 512
#: Seconds a remembered trending page is shown: its scores age with the clock (by hours, so a
#: minute moves no paper past another in practice), other sorts only change with the data.
TRENDING_TTL = 60.0
_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def feed_page(
    site,
    kind: str,
    key: str | None,
    sort: str = "trending",
    category: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> FeedView:
    """One page of the feed of a period (see the module docstring).

    Remembered per process until anything in the database changes (papers, upvotes,
    submissions: `Browse.data_state`), trending pages at most TRENDING_TTL seconds: people
    read the same few days, and a period's listing sorts all of its papers."""
    if sort not in SORTS:
        raise InputError(f"unknown sort {sort!r}", hint="sorts: " + ", ".join(SORTS))
    if kind not in KINDS:
        raise InputError(f"unknown feed kind {kind!r}", hint="kinds: " + ", ".join(KINDS))
    browse = Browse(site.store)
    cache = _caches.get(site)
    if cache is None:
        cache = _caches[site] = OrderedDict()
    state = browse.data_state()
    # the default period of an empty store is today's: the date is part of that key
    today = datetime.now(UTC).date() if key is None else None
    ident = (kind, key, today, sort, category or None, limit, offset)
    now = time.monotonic()
    found = cache.get(ident)
    if found and found[0] == state and (sort != "trending" or now - found[1] < TRENDING_TTL):
        cache.move_to_end(ident)
        return replace(found[2])  # a copy: callers may set fields of their own
    view = _feed_page(browse, kind, key, sort, category, limit, offset)
    cache[ident] = (state, now, replace(view))
    if len(cache) > FEED_CACHE:
        cache.popitem(last=False)
    return view


def _feed_page(
    browse: Browse,
    kind: str,
    key: str | None,
    sort: str,
    category: str | None,
    limit: int,
    offset: int,
) -> FeedView:
    if key is None:
        anchor = _newest_day(browse, category)
        key = _key_of(kind, parse_day(anchor) if anchor else datetime.now(UTC).date())
    start, end = period(kind, key)
    papers, total = browse.papers_between(
        start.isoformat(),
        end.isoformat(),
        category=category or None,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    view = FeedView(
        kind=kind,
        key=key,
        start=start.isoformat(),
        end=end.isoformat(),
        label=label_of(kind, start, end),
        prev_key=None,
        next_key=None,
        papers=papers,
        total=total,
        sort=sort,
        category=category or None,
        local_upvotes=browse.upvote_counts([r for r, _ in papers]),
    )
    # with a category, the neighbours are days with papers of it: the links keep the filter
    before = browse.nearest_days(start.isoformat(), category or None)[0]
    after = browse.nearest_days(end.isoformat(), category or None)[1]
    if kind == "day":
        view.prev_key, view.next_key = before, after
    else:
        # the periods of the nearest days with papers: empty weeks and months are skipped
        view.prev_key = _key_of(kind, parse_day(before)) if before else None
        view.next_key = _key_of(kind, parse_day(after)) if after else None
    if total == 0:
        view.nearest_before, view.nearest_after = before, after
        view.empty_hint = _nearest(start, end, before, after)
    return view


def _newest_day(browse: Browse, category: str | None) -> str | None:
    """The day a feed without a date opens on: the newest with papers (of `category`, when
    given: a category's feed opened on a day that lists none of its papers; a category
    without any opens on the store's newest day, which says so)."""
    return (category and browse.latest_day(category)) or browse.latest_day()


def _nearest(start: date, end: date, before: str | None, after: str | None) -> str | None:
    """The closer of the two days (the earlier one on a tie)."""
    if before is None or after is None:
        return before or after
    gap_before = (start - parse_day(before)).days
    gap_after = (parse_day(after) - end).days
    return before if gap_before <= gap_after else after


#: What a category code looks like ("cs.LG", "hep-ph"); anything else is an unknown category.
_CATEGORY_RE = re.compile(r"[A-Za-z][A-Za-z-]*(\.[A-Za-z][A-Za-z-]*)?")


def category_listing(
    site, code: str, *, limit: int, offset: int = 0
) -> tuple[list[tuple[int, Paper]], int]:
    """A category's papers, newest first, and their total: the page, the API and the Atom
    feed of a category all list these. NotFoundError when the category has no papers.

    The lexical index answers "newest of a category" in milliseconds at 100k papers, where
    SQL over the space-separated categories column scans the table.
    """
    if not _CATEGORY_RE.fullmatch(code):
        raise NotFoundError(f"no category {code!r}", hint="category codes look like cs.LG")
    node = query_lang.Category(code.lower(), False)
    result = site.engine.search(
        query_lang.to_string(node), mode="lexical", sort="newest", limit=limit, offset=offset
    )
    if result.total == 0:
        raise NotFoundError(
            f"no papers in category {code!r}", hint="category codes look like cs.LG or stat.ML"
        )
    return [(h.rowid, h.paper) for h in result.hits], result.total


def category_spelling(site, code: str, papers: list[tuple[int, Paper]]) -> str:
    """`code` as the listed `papers` spell it ("cs.lg" -> "cs.LG"): listings match any case, the
    author index keeps the papers' spelling (top authors of "cs.lg" were none). A page past
    the last lists none; the category's first paper tells then."""
    papers = papers or category_listing(site, code, limit=1)[0]
    wanted = code.lower()
    for _, paper in papers:
        for found in paper.categories:
            if found.lower() == wanted:
                return found
    return code
