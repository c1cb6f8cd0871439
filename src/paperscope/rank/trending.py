"""Trending: how much attention a paper gets for its age.

              LOCAL_WEIGHT * local_upvotes + source_upvotes + 1
    score = ---------------------------------------------------
                 (age_hours + OFFSET_HOURS) ** GRAVITY

* ``local_upvotes``: upvotes by users of this server (table ``upvotes``), each worth
  LOCAL_WEIGHT (3) source upvotes: they are fewer and closer to this server's readers.
* ``source_upvotes``: what a source reports (Hugging Face Daily Papers), 0 when unknown.
* ``+ 1``: a paper without votes still ranks by its age (newest first).
* ``age_hours``: hours from publication to now (0 for a date in the future); a paper without a
  date counts as ten years old.
* ``OFFSET_HOURS`` (2) keeps a brand-new paper's score finite; ``GRAVITY`` (1.8, as on Hacker
  News) sets how fast age wins: at equal votes newer ranks higher, at equal age more votes rank
  higher, and an old paper, however voted, eventually sinks below a fresh one.

The feed computes the same score in SQL (`paperscope.store.browse`, where the constants live
so the store layer needs nothing from here); this module is the reference and serves the
search engine's "trending" sort.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from paperscope.model import Paper
from paperscope.store.browse import GRAVITY, LOCAL_WEIGHT, OFFSET_HOURS, UNDATED_AGE_HOURS

__all__ = ["GRAVITY", "LOCAL_WEIGHT", "OFFSET_HOURS", "age_hours", "rank", "trending_score"]


def _instant(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = value.strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(text if "T" in text or " " in text else text + "T00:00:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def age_hours(published: str | None, now: str | datetime) -> float:
    """Hours from `published` (a day or an ISO timestamp, UTC) to `now`, never negative."""
    if not published:
        return UNDATED_AGE_HOURS
    try:
        seconds = (_instant(now) - _instant(published)).total_seconds()
    except ValueError:
        return UNDATED_AGE_HOURS
    return max(seconds / 3600.0, 0.0)


def trending_score(
    local_upvotes: int, source_upvotes: int | None, published: str | None, now: str | datetime
) -> float:
    """The trending score of one paper at `now` (see the module docstring)."""
    votes = LOCAL_WEIGHT * (local_upvotes or 0) + (source_upvotes or 0) + 1.0
    return votes / (age_hours(published, now) + OFFSET_HOURS) ** GRAVITY


def rank(
    papers: Mapping[int, Paper],
    local_upvotes: Mapping[int, int],
    now: str | datetime | None = None,
    rowids: Iterable[int] | None = None,
) -> list[tuple[int, float]]:
    """(rowid, score) of `rowids` (default: every paper given), highest score first; ties go
    to the newer paper, then the higher rowid, as in the feed."""
    moment = now or datetime.now(UTC)
    scored = [
        (
            r,
            trending_score(local_upvotes.get(r, 0), papers[r].upvotes, papers[r].published, moment),
        )
        for r in (rowids if rowids is not None else papers)
        if r in papers
    ]
    return sorted(scored, key=lambda t: (-t[1], _neg(papers[t[0]].published), -t[0]))


def _neg(published: str | None) -> tuple:
    # sort key putting newer dates first inside an ascending sort
    return tuple(-ord(c) for c in (published or ""))
