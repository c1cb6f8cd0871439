"""Dates that know their precision: a year, a month or a day.

A date is an ISO 8601 string in UTC cut to what its source knows: ``"2026"`` (a year),
``"2026-02"`` (a month), ``"2026-02-23"`` (a day) or a full ``"2026-02-23T10:00:00Z"``
timestamp. The precision is the length of the string, so the record stays one type, the store
keeps exactly what a source said, and no importer has to invent 1 January for a year.

Strings of mixed precision still sort sensibly ("2026" < "2026-02" < "2026-02-01"), but a
coarse date is a *period*, not its first day: `earliest` and `latest` treat a year or month
that contains a day as less precise, not as earlier, and `display_date` shows only what is
known ("2026", "Feb 2026", "2026-02-23").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

Precision = Literal["year", "month", "day"]

_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def iso_utc(moment: datetime | None = None) -> str:
    """`moment` (default: now; an aware datetime) as the store writes an instant: ISO 8601 in
    UTC to the second, with Z ("2026-12-07T21:40:01Z")."""
    return (moment or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")


def precision(value: str | None) -> Precision | None:
    """ "year", "month" or "day" (a timestamp counts as a day); None for no date."""
    if not value:
        return None
    if len(value) == 4:
        return "year"
    if len(value) == 7:
        return "month"
    return "day"


def within(fine: str, coarse: str) -> bool:
    """True when `fine` is a more precise date inside the period `coarse` ("2026-02-23" in
    "2026-02" or "2026")."""
    return len(fine) > len(coarse) and fine.startswith(coarse)


def _pick(a: str | None, b: str | None, later: bool) -> str | None:
    if not a or not b:
        return a or b
    # A year or month never overrides a day inside it: the precise date is the same moment,
    # better known. Otherwise the periods do not overlap and plain comparison orders them.
    if within(a, b):
        return a
    if within(b, a):
        return b
    return max(a, b) if later else min(a, b)


def earliest(a: str | None, b: str | None) -> str | None:
    """The earlier of two dates at the best precision known ("2026" and "2026-02-23" give
    "2026-02-23"; "2025" and "2026-02-23" give "2025")."""
    return _pick(a, b, later=False)


def latest(a: str | None, b: str | None) -> str | None:
    """The later of two dates at the best precision known ("2026-03" and "2026-02-23" give
    "2026-03"; "2026" and "2026-02-23" give "2026-02-23")."""
    return _pick(a, b, later=True)


def display_date(value: str | None) -> str:
    """What a page, feed, export or terminal shows: "2026", "Feb 2026" or "2026-02-23";
    "" for no date. Timestamps show their day."""
    kind = precision(value)
    if kind is None or value is None:
        return ""
    if kind == "year":
        return value
    if kind == "month":
        month = int(value[5:7])
        return f"{_MONTH_ABBR[month - 1]} {value[:4]}" if 1 <= month <= 12 else value[:4]
    return value[:10]
