"""Harvest Hugging Face daily papers, one day (normally one request) at a time.

``GET {base}/daily_papers?date=YYYY-MM-DD`` lists the papers submitted for that day. Each day
is committed with the cursor "last completed day", so a rerun continues with the next day.
Today's list still grows, so today (UTC) is fetched but never counted as completed: a range
reaching today is never "done", and a rerun fetches today again. Days after today are not
asked for at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson

from paperscope.errors import InputError, SourceError
from paperscope.ingest.harvesters.http import Fetcher, RetryNotice, RetryPolicy
from paperscope.ingest.harvesters.state import (
    HarvestProgress,
    HarvestSummary,
    Page,
    harvest_key,
    resolve_base_url,
    run_harvest,
)
from paperscope.ingest.importers.hf_papers import parse_json
from paperscope.model import Item
from paperscope.store.sqlite import SQLiteStore

SOURCE = "hf-daily"
DEFAULT_BASE_URL = "https://huggingface.co/api"
ENV_BASE_URL = "PAPERSCOPE_HF_API_URL"
#: A modest pace for an API without a published limit.
DEFAULT_INTERVAL = 1.0
#: Entries asked for per request; a day with more is read in several pages (``p``).
PAGE_LIMIT = 100
#: No day has anywhere near this many pages; a guard against a server that ignores ``p``.
MAX_PAGES_PER_DAY = 20


@dataclass(slots=True)
class HfParams:
    from_day: str | None = None
    until: str | None = None

    def days(self, today: date) -> tuple[date, date]:
        """(first, last) day to fetch; the last is clamped to today."""
        if self.until and not self.from_day:
            raise InputError("--until needs --from", hint="--date D harvests the single day D")
        first = parse_day("--from", self.from_day) if self.from_day else today
        last = parse_day("--until", self.until) if self.until else max(first, today)
        if first > last:
            raise InputError(f"--from {first} is after --until {last}")
        if first > today:
            raise InputError(
                f"{first} is in the future: Hugging Face has no daily papers for it yet",
                hint=f"today (UTC) is {today}",
            )
        return first, min(last, today)

    def key_params(self) -> dict[str, str | None]:
        return {"from": self.from_day, "until": self.until}


def parse_day(option: str, value: str) -> date:
    """`value` as a day; an error naming `option` when it is not YYYY-MM-DD."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InputError(f"{option} {value!r} is not a date", hint="dates are YYYY-MM-DD")


def today_utc() -> date:
    return datetime.now(UTC).date()


def harvest_hf_daily(
    store: SQLiteStore,
    client: httpx.Client,
    params: HfParams,
    *,
    base_url: str | None = None,
    interval: float = DEFAULT_INTERVAL,
    policy: RetryPolicy | None = None,
    restart: bool = False,
    progress: HarvestProgress | None = None,
    on_retry: RetryNotice | None = None,
    today: date | None = None,
) -> HarvestSummary:
    """Harvest the daily papers of each day in the range into `store`."""
    base = resolve_base_url(base_url, ENV_BASE_URL, DEFAULT_BASE_URL)
    summary = HarvestSummary(SOURCE, harvest_key(SOURCE, base, params.key_params()))
    today = today or today_utc()
    try:
        first, last = params.days(today)
    except InputError as exc:
        summary.error, summary.hint = str(exc), exc.hint
        return summary
    fetcher = Fetcher(
        client, source="Hugging Face API", interval=interval, policy=policy, on_retry=on_retry
    )
    url = f"{base}/daily_papers"

    def pages(position: dict[str, Any] | None) -> Iterator[Page]:
        completed = (position or {}).get("day")
        day = first
        if completed:
            day = max(first, date.fromisoformat(completed) + timedelta(days=1))
        while day <= last:
            items = _fetch_day(fetcher, url, day)
            if day < today:
                completed = day.isoformat()
            done = day == last and last < today
            yield Page(items, {"day": completed}, done=done, label=day.isoformat())
            day += timedelta(days=1)

    return run_harvest(
        store, summary, pages, restart=restart, progress=progress, requests=lambda: fetcher.requests
    )


def _fetch_day(fetcher: Fetcher, url: str, day: date) -> list[Item]:
    items: list[Item] = []
    for page in range(MAX_PAGES_PER_DAY):
        params: dict[str, str | int] = {"date": day.isoformat(), "limit": PAGE_LIMIT}
        if page:
            params["p"] = page
        entries = _read(fetcher.get(url, params), url)
        items.extend(_parse(entries, f"{url}?date={day}"))
        if len(entries) < PAGE_LIMIT:
            break
    return items


def _parse(entries: list[Any], origin: str) -> list[Item]:
    try:
        return list(parse_json(entries, origin))
    except InputError as exc:
        raise SourceError(str(exc), hint=exc.hint) from exc


def _read(response: httpx.Response, url: str) -> list[Any]:
    """The JSON list of one response; an HTTP error (with what the API said) as SourceError."""
    try:
        obj = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        obj = None
    said = f": {obj['error']}" if isinstance(obj, dict) and obj.get("error") else ""
    if response.status_code != 200:
        raise SourceError(
            f"Hugging Face API: HTTP {response.status_code} for {response.request.url}{said}",
            hint="check --base-url" if response.status_code == 404 else None,
        )
    if not isinstance(obj, list):
        raise SourceError(
            f"Hugging Face API: {response.request.url} did not answer with a list of papers{said}"
        )
    return obj
