"""Harvest arXiv metadata over OAI-PMH (ListRecords), resumable page by page.

The first request carries metadataPrefix/set/from/until; every following one only the
resumptionToken of the previous page (as OAI-PMH requires). Each page is committed with the
token of the next one, so a rerun with the same parameters continues from the last committed
token; the page with no (or an empty) token completes the harvest.

arXiv answers 503 + Retry-After when it wants clients to slow down; the shared `Fetcher`
sits those out. Tokens expire after a while: a stale one gives ``badResumptionToken``, and the
only way on is to start over (``--restart``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
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
from paperscope.ingest.importers.oai_pmh import parse_response
from paperscope.model import Item
from paperscope.normalize import clean_text
from paperscope.store.sqlite import SQLiteStore

SOURCE = "arxiv-oai"
DEFAULT_BASE_URL = "https://oaipmh.arxiv.org/oai"
ENV_BASE_URL = "PAPERSCOPE_ARXIV_OAI_URL"
PREFIXES = ("arXiv", "arXivRaw", "oai_dc")
#: arXiv asks automated clients for one request every 3 seconds.
DEFAULT_INTERVAL = 3.0

_ERROR_CODE_RE = re.compile(rb"<error\b[^>]*\bcode\s*=\s*[\"']([A-Za-z]+)[\"']")
_ERROR_TEXT_RE = re.compile(rb"<error\b[^>]*>([^<]*)</error>")


@dataclass(slots=True)
class OaiParams:
    prefix: str = "arXiv"
    set: str | None = None
    from_date: str | None = None
    until: str | None = None

    def validate(self) -> None:
        if self.prefix not in PREFIXES:
            raise InputError(
                f"unknown metadata prefix {self.prefix!r}",
                hint=f"use one of {', '.join(PREFIXES)}",
            )
        for name, value in (("--from", self.from_date), ("--until", self.until)):
            if value is not None:
                _check_day(name, value)
        if self.from_date and self.until and self.from_date > self.until:
            raise InputError(f"--from {self.from_date} is after --until {self.until}")
        today = datetime.now(UTC).date()
        if self.from_date and date.fromisoformat(self.from_date) > today:
            # as `harvest hf` does: the request could only come back empty
            raise InputError(
                f"--from {self.from_date} is in the future: arXiv has no records changed since",
                hint=f"today (UTC) is {today}",
            )

    def first_request(self) -> dict[str, str]:
        params = {"verb": "ListRecords", "metadataPrefix": self.prefix}
        if self.set:
            params["set"] = self.set
        if self.from_date:
            params["from"] = self.from_date
        if self.until:
            params["until"] = self.until
        return params

    def key_params(self) -> dict[str, str | None]:
        return {
            "prefix": self.prefix,
            "set": self.set,
            "from": self.from_date,
            "until": self.until,
        }


def _check_day(option: str, value: str) -> None:
    # arXiv's OAI-PMH datestamps are days; fromisoformat alone would also take "20240101".
    try:
        if len(value) == 10:
            date.fromisoformat(value)
            return
    except ValueError:
        pass
    raise InputError(f"{option} {value!r} is not a date", hint="dates are YYYY-MM-DD")


def harvest_arxiv_oai(
    store: SQLiteStore,
    client: httpx.Client,
    params: OaiParams,
    *,
    base_url: str | None = None,
    interval: float = DEFAULT_INTERVAL,
    policy: RetryPolicy | None = None,
    restart: bool = False,
    progress: HarvestProgress | None = None,
    on_retry: RetryNotice | None = None,
) -> HarvestSummary:
    """Harvest ListRecords into `store`; see the module docstring for resuming."""
    base = resolve_base_url(base_url, ENV_BASE_URL, DEFAULT_BASE_URL)
    summary = HarvestSummary(SOURCE, harvest_key(SOURCE, base, params.key_params()))
    try:
        params.validate()
    except InputError as exc:
        summary.error, summary.hint = str(exc), exc.hint
        return summary
    fetcher = Fetcher(
        client, source="arXiv OAI-PMH", interval=interval, policy=policy, on_retry=on_retry
    )

    def pages(position: dict[str, Any] | None) -> Iterator[Page]:
        token = (position or {}).get("token")
        saved = token is not None
        number = 0
        while True:
            number += 1
            request = {"verb": "ListRecords", "resumptionToken": token} if token else None
            response = fetcher.get(base, request or params.first_request())
            sent = token
            items, token = _read(response, base, saved_token=saved and number == 1)
            if token is not None and token == sent:
                raise SourceError(
                    f"arXiv OAI-PMH answered resumptionToken {token!r} with the same token",
                    hint="the service is misbehaving; try again later",
                )
            yield Page(items, {"token": token}, done=token is None, label=f"page {number}")
            if token is None:
                return

    return run_harvest(
        store, summary, pages, restart=restart, progress=progress, requests=lambda: fetcher.requests
    )


def _read(
    response: httpx.Response, base: str, *, saved_token: bool
) -> tuple[list[Item], str | None]:
    """(items, next token or None) of one response; OAI and HTTP errors as SourceError."""
    data = response.content
    code = _error_code(data)
    if code == "badResumptionToken":
        # A saved token may simply have expired; either way only a fresh start gets past it.
        which = "the saved resumptionToken" if saved_token else "its resumptionToken"
        raise SourceError(
            f"arXiv OAI-PMH refused {which} (badResumptionToken): {_error_text(data)}",
            hint="run the same command with --restart to harvest from the beginning",
        )
    if response.status_code != 200 and code is None:
        raise SourceError(
            f"arXiv OAI-PMH: HTTP {response.status_code} for {response.request.url}",
            hint="check --base-url" if response.status_code == 404 else None,
        )
    try:
        items, token = parse_response(data, base)
    except InputError as exc:
        raise SourceError(str(exc), hint=exc.hint) from exc
    return items, token or None


def _error_code(data: bytes) -> str | None:
    # Error elements sit right after <request>, so the head of the response is enough.
    match = _ERROR_CODE_RE.search(data[:4096])
    return match.group(1).decode() if match else None


def _error_text(data: bytes) -> str:
    match = _ERROR_TEXT_RE.search(data[:4096])
    return clean_text(match.group(1).decode("utf-8", "replace")) if match else ""
