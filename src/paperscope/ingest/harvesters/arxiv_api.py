"""Harvest the results of an arXiv API query (``search_query`` or ``id_list``), page by page.

Pages are requested with ``start``/``max_results``; each is committed with the start of the
next one, so a rerun with the same parameters continues where the last run stopped. The
harvest ends at `max_papers`, at the query's ``opensearch:totalResults``, or on an empty page.

The API is known to answer a page in the middle of a result list with no entries now and
then; such a page is asked for again (with backoff) before the run gives up. A bad query comes
back as an Atom feed with one "Error" entry: that becomes a clear error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

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
from paperscope.ingest.importers.arxiv_atom import feed_paging, parse_feed
from paperscope.model import Item
from paperscope.normalize import arxiv_version, normalize_arxiv_id
from paperscope.store.sqlite import SQLiteStore

SOURCE = "arxiv-api"
DEFAULT_BASE_URL = "https://export.arxiv.org/api/query"
ENV_BASE_URL = "PAPERSCOPE_ARXIV_API_URL"
DEFAULT_INTERVAL = 3.0
DEFAULT_PAGE_SIZE = 100
DEFAULT_MAX = 1000
#: The API refuses slices larger than this.
MAX_PAGE_SIZE = 2000
SORTS = ("submittedDate", "lastUpdatedDate", "relevance")
#: Times an unexpectedly empty page is asked for again before the run gives up.
EMPTY_PAGE_RETRIES = 3


@dataclass(slots=True)
class ApiParams:
    query: str | None = None
    id_list: list[str] = field(default_factory=list)
    max_papers: int = DEFAULT_MAX
    page_size: int = DEFAULT_PAGE_SIZE
    #: Ignored for a pure id list, which comes back in the order given.
    sort: str = "submittedDate"

    def validate(self) -> None:
        if not self.query and not self.id_list:
            raise InputError("nothing to ask the arXiv API for", hint="give --query or --id-list")
        if self.max_papers < 1 or self.page_size < 1:
            raise InputError("--max and --page-size must be at least 1")
        if self.sort not in SORTS:
            raise InputError(f"unknown sort {self.sort!r}", hint=f"use one of {', '.join(SORTS)}")
        self.id_list = [_api_id(i) for i in self.id_list]

    def request(self, start: int, count: int) -> dict[str, str | int]:
        params: dict[str, str | int] = {"start": start, "max_results": count}
        if self.query:
            params["search_query"] = self.query
            params["sortBy"] = self.sort
            params["sortOrder"] = "ascending" if self.sort == "relevance" else "descending"
        if self.id_list:
            params["id_list"] = ",".join(self.id_list)
        return params

    def key_params(self) -> dict[str, object]:
        return {
            "query": self.query,
            "ids": self.id_list,
            "sort": self.sort if self.query else None,
            "max": self.max_papers,
        }


def split_id_list(values: list[str]) -> list[str]:
    """Ids from options given as "a,b" or repeated, or as whitespace-separated text."""
    return [part for value in values for part in value.replace(",", " ").split()]


def _api_id(value: str) -> str:
    """The id as the API wants it (bare, with its version if one was given)."""
    ident = normalize_arxiv_id(value)
    if not ident:
        raise InputError(
            f"{value!r} is not an arXiv id", hint="ids look like 2301.12345 or hep-th/9901001"
        )
    version = arxiv_version(value)
    return f"{ident}v{version}" if version else ident


def harvest_arxiv_api(
    store: SQLiteStore,
    client: httpx.Client,
    params: ApiParams,
    *,
    base_url: str | None = None,
    interval: float = DEFAULT_INTERVAL,
    policy: RetryPolicy | None = None,
    restart: bool = False,
    progress: HarvestProgress | None = None,
    on_retry: RetryNotice | None = None,
) -> HarvestSummary:
    """Harvest the query's results into `store`; see the module docstring for resuming."""
    base = resolve_base_url(base_url, ENV_BASE_URL, DEFAULT_BASE_URL)
    invalid: InputError | None = None
    try:
        params.validate()
    except InputError as exc:
        invalid = exc
    summary = HarvestSummary(SOURCE, harvest_key(SOURCE, base, params.key_params()))
    if invalid:
        summary.error, summary.hint = str(invalid), invalid.hint
        return summary
    fetcher = Fetcher(
        client, source="arXiv API", interval=interval, policy=policy, on_retry=on_retry
    )
    page_size = min(params.page_size, MAX_PAGE_SIZE)

    def pages(position: dict[str, Any] | None) -> Iterator[Page]:
        start = int((position or {}).get("start", 0))
        number = 0
        while True:
            number += 1
            count = min(page_size, params.max_papers - start)
            items, total = _fetch_page(fetcher, base, params, start, count)
            items = items[:count]  # the API may send more than asked for
            start += len(items)
            done = not items or start >= params.max_papers or (total is not None and start >= total)
            label = f"page {number} (start {start - len(items)})"
            yield Page(items, {"start": start}, done=done, label=label)
            if done:
                return

    return run_harvest(
        store, summary, pages, restart=restart, progress=progress, requests=lambda: fetcher.requests
    )


def _fetch_page(
    fetcher: Fetcher, base: str, params: ApiParams, start: int, count: int
) -> tuple[list[Item], int | None]:
    """(items, totalResults) of the page at `start`, asking again while it is spuriously empty."""
    for attempt in range(1, EMPTY_PAGE_RETRIES + 2):
        response = fetcher.get(base, params.request(start, count))
        items, total = _read(response, base)
        if items or total is None or start >= total:
            return items, total
        if attempt <= EMPTY_PAGE_RETRIES:
            delay = fetcher.policy.delay(attempt, None)
            if fetcher.on_retry:
                fetcher.on_retry("empty page", delay, attempt, EMPTY_PAGE_RETRIES + 1)
            fetcher.sleep(delay)
    raise SourceError(
        f"arXiv API: no entries at start={start} although the query has {total} results "
        f"(asked {EMPTY_PAGE_RETRIES + 1} times)",
        hint="the API does this now and then; run the same command again to resume here",
    )


def _read(response: httpx.Response, base: str) -> tuple[list[Item], int | None]:
    data = response.content
    if response.status_code not in (200, 400):
        raise SourceError(
            f"arXiv API: HTTP {response.status_code} for {response.request.url}",
            hint="check --base-url" if response.status_code == 404 else None,
        )
    try:
        # A bad query is an error feed (with HTTP 400): parse_feed raises with its message.
        items = list(parse_feed(data, base))
        total = feed_paging(data).total_results
    except InputError as exc:
        raise SourceError(str(exc), hint=exc.hint) from exc
    if response.status_code != 200:
        raise SourceError(f"arXiv API: HTTP {response.status_code} for {response.request.url}")
    return items, total
