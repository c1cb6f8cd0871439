"""Browsing the store by date, category and organisation: the queries behind the feed pages.

    browse = Browse(store)
    day = browse.latest_day()
    papers, total = browse.papers_between(day, day, sort="trending", limit=20)

Dates are compared as strings: `published` holds ``YYYY-MM-DD`` or a full ISO timestamp, and
both sort the same way, so a day range is ``published >= start AND published < day after end``
and uses the index on `published` (0001_papers.sql). Organisations are matched through the
index of 0009_browse.sql.

Trending is computed here in SQL (one ORDER BY ... LIMIT in SQLite, no papers loaded to rank a
month) with the constants below; `paperscope.rank.trending` is the documented reference
implementation of the same formula in Python, used by the search engine's "trending" sort, and
the tests check that both agree.
"""

from __future__ import annotations

import math
import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from datetime import date, timedelta

from paperscope.dates import iso_utc
from paperscope.errors import InputError, NotFoundError
from paperscope.model import Paper
from paperscope.normalize import fold
from paperscope.store.sqlite import SQLiteStore

#: Trending score = (LOCAL_WEIGHT * local + source + 1) / (age_hours + OFFSET_HOURS) ** GRAVITY.
#: A local upvote (someone on this server) counts as much as LOCAL_WEIGHT upvotes a source
#: reports (Hugging Face): local votes are rarer and closer to this server's readers.
LOCAL_WEIGHT = 3.0
#: Keeps a brand-new paper's score finite and damps the first hours' advantage.
OFFSET_HOURS = 2.0
#: How fast age wins over votes (Hacker News' classic 1.8): doubling the age divides the score
#: by about 3.5, so a year-old paper with a thousand votes ranks below a fresh one with none.
GRAVITY = 1.8
#: Age given to papers without a publication date (ten years): they sink.
UNDATED_AGE_HOURS = 24 * 365 * 10.0

SORTS = ("trending", "newest", "upvotes")
_CHUNK = 900


#: The last year a day may be in: pages step a day, week or month on either side of it, and
#: Python's dates end with 9999.
LAST_YEAR = 9998


def parse_day(text: str) -> date:
    """A ``YYYY-MM-DD`` day (ASCII digits, year up to LAST_YEAR), or InputError."""
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        day = date.fromisoformat(text)
        if day.year > LAST_YEAR:
            raise ValueError
        return day
    except ValueError:
        raise InputError(
            f"not a date: {text!r}", hint=f"dates are YYYY-MM-DD, up to {LAST_YEAR}"
        ) from None


def next_day(day: str) -> str:
    return (parse_day(day) + timedelta(days=1)).isoformat()


#: A published date that names a day (not only a year or a month, `paperscope.dates`).
_DAY_PRECISE = "length(published) >= 10"


def _in_category(column: str = "categories") -> str:
    """SQL true when one of `column`'s space-separated codes is the parameter's code, in any
    case (as search's `cat:` and the category pages match): `cat=cs.lg` lists cs.LG papers.
    The parameter is `_category_needle(code)`."""
    return f"instr(' ' || lower({column}) || ' ', ?) > 0"


def _category_needle(category: str) -> str:
    """The parameter of `_in_category`, or InputError for what is no category code."""
    if not re.fullmatch(r"[A-Za-z0-9._-]+", category):
        # the search API's rule: an empty page would hide the mistake
        raise InputError(f"not a category code: {category!r}", hint="as in cs.LG")
    return f" {category.lower()} "


def _category_filter(category: str | None) -> tuple[str, list[str]]:
    """(" AND ..." SQL, its parameters) keeping the papers of `category`; nothing for None."""
    if not category:
        return "", []
    return f" AND {_in_category()}", [_category_needle(category)]


def _period_bounds(start: str, end: str) -> tuple[str, str, int]:
    """(low, high, shortest) for `low <= published < high AND length(published) >= shortest`
    over the days `start`..`end`.

    Dates of mixed precision sort "2026" < "2026-02" < "2026-02-01" < "2026-03". When the
    period is whole months, the bounds become month prefixes ("2026-02" .. "2026-03"), which
    take in a month-only date inside it, and years are left out (a year prefix can sort inside
    a span of months: "2025-12" < "2026" < "2026-02"); whole years take years and months too.
    Any other period admits day-precise dates only.
    """
    first, after = parse_day(start), parse_day(next_day(end))
    low, high = first.isoformat(), after.isoformat()
    if first.day == 1 and after.day == 1:
        if first.month == 1 and after.month == 1:
            return low[:4], high[:4], 4
        return low[:7], high[:7], 7
    return low, high, 10


def org_slug(name: str) -> str:
    """URL slug of an organisation name: "NAVER AI Lab" -> "naver-ai-lab", "Université Paris
    VII" -> "universite-paris-vii", "Яндекс" -> "яндекс". Letters of every script are kept, as
    in author slugs: dropping what is not ASCII gave "清华大学 AI Lab" and "北京大学 AI Lab" one
    page ("ai-lab") and a name with no Latin letter none at all (the empty slug)."""
    return _spelt_org_slug(_without_own_acronym(name))


def _spelt_org_slug(name: str) -> str:
    return _ORG_SEPARATORS_RE.sub("-", fold(name)).strip("-")


#: Words an acronym skips: "Massachusetts Institute of Technology (MIT)".
_ACRONYM_SKIPS = {"of", "and", "for", "the", "de", "du", "des", "la", "le", "&", "at", "in"}
_TRAILING_ACRONYM_RE = re.compile(r"^(?P<name>.*\S)\s*\((?P<acronym>[A-Za-z]{2,10})\)\s*$")


def _without_own_acronym(name: str) -> str:
    """The name without a trailing acronym of its own words: sources name one organisation
    "Amazon Web Services" and "Amazon Web Services (AWS)", which were two pages. An acronym of
    other words ("Google (DeepMind)") is part of the name."""
    match = _TRAILING_ACRONYM_RE.match(name)
    if not match:
        return name
    words = [w for w in re.split(r"[\s-]+", match["name"]) if w]
    initials = "".join(w[0] for w in words if w.lower() not in _ACRONYM_SKIPS)
    return match["name"] if initials.lower() == match["acronym"].lower() else name


def _ascii_org_slug(name: str) -> str:
    """The slug before non-ASCII letters were kept ("Straße" -> "strae"): links made with it
    must keep leading to the organisation."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


_ORG_SEPARATORS_RE = re.compile(r"[\W_]+")


class Browse:
    """Date, category and organisation listings of one store (read-only)."""

    def __init__(self, store: SQLiteStore, *, now: str | None = None) -> None:
        self.store = store
        self.conn = store.conn
        #: The moment trending ages are measured from; None = the time of each call.
        self.now = now
        _ensure_pow(self.conn)

    def data_state(self) -> tuple[int, int]:
        """A pair that changes whenever anything in the database changed (the store's
        `data_state`), for caches of what is read here."""
        return self.store.data_state()

    # ------------------------------------------------------------ days

    def latest_day(self, category: str | None = None) -> str | None:
        """The newest day with papers (of `category`, when given)."""
        where, params = _category_filter(category)
        row = self.conn.execute(
            f"SELECT max(published) FROM papers WHERE deleted = 0 AND {_DAY_PRECISE}{where}",
            params,
        ).fetchone()
        return row[0][:10] if row and row[0] else None

    def earliest_day(self) -> str | None:
        row = self.conn.execute(
            f"SELECT min(published) FROM papers WHERE deleted = 0 AND {_DAY_PRECISE}"
        ).fetchone()
        return row[0][:10] if row and row[0] else None

    def nearest_days(self, day: str, category: str | None = None) -> tuple[str | None, str | None]:
        """The closest day before `day` and the closest day after it that have papers (of
        `category`, when given: the feed's links keep its filter, so they must lead to days
        that list something under it)."""
        parse_day(day)
        where, params = _category_filter(category)
        found = []
        for pick, op, bound in (("max", "<", day), ("min", ">=", next_day(day))):
            value = self.conn.execute(
                f"SELECT {pick}(published) FROM papers WHERE published {op} ? AND deleted = 0 "
                f"AND {_DAY_PRECISE}{where}",
                [bound, *params],
            ).fetchone()[0]
            found.append(value[:10] if value else None)
        return found[0], found[1]

    # ------------------------------------------------------------ listings

    def papers_between(
        self,
        start: str,
        end: str,
        *,
        category: str | None = None,
        sort: str = "trending",
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[tuple[int, Paper]], int]:
        """Papers published from day `start` to day `end` (inclusive), optionally of one
        category (any of a paper's categories), one page of them and how many there are.

        A paper known only by its month or year is listed when that whole month or year lies
        in the period (a month page lists "Feb 2026", a day or week page does not): it is never
        placed on a day it may not belong to (`_period_bounds`).

        Sorts: "trending" (the score above), "newest", "upvotes" (source + local upvotes).
        """
        if sort not in SORTS:
            raise InputError(f"unknown sort {sort!r}", hint="sorts: " + ", ".join(SORTS))
        _check_page(limit, offset)
        low, high, shortest = _period_bounds(start, end)
        where = (
            "p.deleted = 0 AND p.published >= ? AND p.published < ? AND length(p.published) >= ?"
        )
        params: list = [low, high, shortest]
        if category:
            where += " AND " + _in_category("p.categories")
            params.append(_category_needle(category))
        total = self.conn.execute(
            f"SELECT count(*) FROM papers p WHERE {where}", params
        ).fetchone()[0]
        local = "(SELECT count(*) FROM upvotes u WHERE u.paper_rowid = p.rowid)"
        order = {
            "newest": "p.published DESC, p.rowid DESC",
            "upvotes": f"coalesce(p.upvotes, 0) + {local} DESC, p.published DESC, p.rowid DESC",
            "trending": f"{_trending_sql(local)} DESC, p.published DESC, p.rowid DESC",
        }[sort]
        sort_params = [self.now or iso_utc()] * 2 if sort == "trending" else []
        rowids = [
            r[0]
            for r in self.conn.execute(
                f"SELECT p.rowid FROM papers p WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*params, *sort_params, limit, offset],
            )
        ]
        return self._load(rowids), total

    def organizations(self) -> list[tuple[str, str, int]]:
        """Every organisation a source names: (slug, display name, papers), most papers first."""
        counts: dict[str, list] = {}
        for name, n in self.conn.execute(
            "SELECT organization, count(*) FROM papers WHERE organization IS NOT NULL "
            "AND deleted = 0 GROUP BY organization"
        ):
            slug = org_slug(name)
            if not slug:
                continue
            entry = counts.setdefault(slug, [name, 0, 0])
            entry[1] += n
            if n > entry[2]:  # the most used spelling names the organisation
                entry[0], entry[2] = name, n
        return sorted(((s, e[0], e[1]) for s, e in counts.items()), key=lambda t: (-t[2], t[0]))

    def organization(
        self, slug: str, *, limit: int = 20, offset: int = 0
    ) -> tuple[str, list[tuple[int, Paper]], int]:
        """Display name, papers newest first and total of the organisation with this slug
        (the slug of its name, or the Hugging Face org slug a search page shows)."""
        _check_page(limit, offset)
        counts = dict(
            self.conn.execute(
                "SELECT organization, count(*) FROM papers WHERE organization IS NOT NULL "
                "AND deleted = 0 GROUP BY organization"
            ).fetchall()
        )
        names = {name: n for name, n in counts.items() if org_slug(name) == slug}
        if not names:
            # An old link (see _ascii_org_slug; or with the name's own acronym, which
            # org_slug now drops) leads to the organisation its names have now, whole; only
            # when no organisation has that slug now, so "ai-lab" is "AI Lab" once there is one.
            now = {
                org_slug(name)
                for name in counts
                if slug in (_ascii_org_slug(name), _spelt_org_slug(name))
            }
            names = {name: n for name, n in counts.items() if org_slug(name) in now}
        if not names:
            for (name,) in self.conn.execute(
                "SELECT DISTINCT organization FROM papers WHERE organization IS NOT NULL "
                "AND deleted = 0 AND json_extract(external_ids, '$.hf_org') = ?",
                (slug,),
            ):
                names[name] = 1
        if not names:
            raise NotFoundError(
                f"no organisation {slug!r} in the store",
                hint="organisations come from Hugging Face and author-profile pages",
            )
        display = max(names, key=lambda n: (names[n], n))
        marks = ",".join("?" * len(names))
        total = self.conn.execute(
            f"SELECT count(*) FROM papers WHERE organization IN ({marks}) AND deleted = 0",
            list(names),
        ).fetchone()[0]
        rowids = [
            r[0]
            for r in self.conn.execute(
                f"SELECT rowid FROM papers WHERE organization IN ({marks}) AND deleted = 0 "
                "ORDER BY published DESC, rowid DESC LIMIT ? OFFSET ?",
                [*names, limit, offset],
            )
        ]
        return display, self._load(rowids), total

    # ------------------------------------------------------------ community

    def upvote_counts(self, rowids: Iterable[int]) -> dict[int, int]:
        """Local upvotes (table `upvotes`) of each of `rowids` that has any."""
        found: dict[int, int] = {}
        ids = list(rowids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                self.conn.execute(
                    f"SELECT paper_rowid, count(*) FROM upvotes WHERE paper_rowid IN ({marks}) "
                    "GROUP BY paper_rowid",
                    chunk,
                ).fetchall()
            )
        return found

    def featured(self, day: str) -> list[tuple[int, Paper, str]]:
        """Community submissions featured on `day` (not hidden): rowid, paper, submitter's
        display name ("a reader" when the user set none or is gone), in submission order."""
        rows = self.conn.execute(
            "SELECT s.paper_rowid, coalesce(nullif(u.display_name, ''), 'a reader') "
            "FROM submissions s LEFT JOIN users u ON u.id = s.user_id "
            "WHERE s.day = ? AND s.hidden = 0 ORDER BY s.submitted_at, s.id",
            (parse_day(day).isoformat(),),
        ).fetchall()
        papers = self.store.load_rowids([r[0] for r in rows])
        return [(r[0], papers[r[0]], r[1]) for r in rows if r[0] in papers]

    # ------------------------------------------------------------ internals

    def _load(self, rowids: list[int]) -> list[tuple[int, Paper]]:
        papers = self.store.load_rowids(rowids)
        return [(r, papers[r]) for r in rowids if r in papers]


def _trending_sql(local: str) -> str:
    """The trending score as an SQL expression; two parameters: now, now (ISO timestamp)."""
    hours = "(julianday(?) - julianday(p.published)) * 24.0"
    # max(hours, 0.0) that stays NULL for an undated paper, in SQL both backends accept
    age = f"coalesce(CASE WHEN {hours} < 0.0 THEN 0.0 ELSE {hours} END, {UNDATED_AGE_HOURS})"
    return (
        f"(({LOCAL_WEIGHT} * {local} + coalesce(p.upvotes, 0) + 1.0) "
        f"/ pow({age} + {OFFSET_HOURS}, {GRAVITY}))"
    )


def _check_page(limit: int, offset: int) -> None:
    if limit < 1 or offset < 0:
        raise InputError("limit must be positive and offset not negative")


def _ensure_pow(conn: sqlite3.Connection) -> None:
    """SQLite builds without the math functions lack pow(): provide it."""
    try:
        conn.execute("SELECT pow(2, 2)").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("pow", 2, math.pow, deterministic=True)
