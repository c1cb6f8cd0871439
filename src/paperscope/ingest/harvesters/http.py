"""Polite HTTP for the harvesters: a User-Agent, timeouts, a rate limit and patient retries.

Every harvester takes a sync `httpx.Client` (so the CLI and the tests share the code) and sends
its requests through one `Fetcher`, which

- waits at least `interval` seconds after the previous response before the next request
  (arXiv asks for one request every 3 s; measuring from the end of the previous response keeps
  the gap the server sees at least that long, however slow the responses are);
- retries 429, 5xx and connection errors with exponential backoff, honouring ``Retry-After``
  (arXiv's OAI-PMH service answers 503 + Retry-After as its normal flow control);
- hands back any other response (200, or a 400 whose body explains the error) to the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version

import httpx

from paperscope.errors import SourceError

#: Statuses worth another try: rate limited, or the server is struggling right now.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=15.0)

#: Called before a retry with (what went wrong, seconds to wait, attempt number, attempts).
RetryNotice = Callable[[str, float, int, int], None]


def user_agent() -> str:
    try:
        release = version("paperscope")
    except PackageNotFoundError:
        release = "dev"
    return f"paperscope/{release} (self-hosted research-paper discovery; python-httpx)"


def make_client(timeout: float | httpx.Timeout | None = None) -> httpx.Client:
    """The client the CLI uses: our User-Agent, timeouts, redirects followed."""
    return httpx.Client(
        headers={"User-Agent": user_agent()},
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        follow_redirects=True,
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent
    or unreadable. Fractions are accepted (some servers send them)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if seconds == seconds else None  # NaN guard


@dataclass(slots=True)
class RetryPolicy:
    #: Retries after the first attempt (so `retries + 1` requests at most).
    retries: int = 5
    #: First backoff in seconds; doubles with every retry.
    backoff: float = 2.0
    #: Longest backoff between two attempts.
    max_backoff: float = 120.0
    #: Longest Retry-After we sit out; a server asking for more fails the harvest instead.
    max_retry_after: float = 600.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (1-based): what the server asked for
        (Retry-After) when it said, else exponential backoff."""
        if retry_after is not None:
            return retry_after
        return min(self.max_backoff, self.backoff * 2 ** (attempt - 1))


class RateLimiter:
    """At least `interval` seconds between the end of one response and the next request."""

    def __init__(self, interval: float, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = max(0.0, interval)
        self._sleep = sleep
        self._last_done: float | None = None

    def wait(self) -> None:
        if self._last_done is None:
            return
        remaining = self._last_done + self.interval - time.monotonic()
        if remaining > 0:
            self._sleep(remaining)

    def done(self) -> None:
        self._last_done = time.monotonic()


class Fetcher:
    """GET with the rate limit and retries; `source` names the service in error messages."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        source: str,
        interval: float,
        policy: RetryPolicy | None = None,
        on_retry: RetryNotice | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.source = source
        self.limiter = RateLimiter(interval, sleep=sleep)
        self.policy = policy or RetryPolicy()
        self.on_retry = on_retry
        self.sleep = sleep
        #: Requests sent so far, retries included.
        self.requests = 0

    def get(self, url: str, params: Mapping[str, str | int] | None = None) -> httpx.Response:
        """The first response that is not worth retrying; SourceError once retries run out."""
        attempts = self.policy.retries + 1
        for attempt in range(1, attempts + 1):
            problem, retry_after, response = self._attempt(url, params)
            if problem is None and response is not None:
                return response
            shown = _shown_url(url, params)
            if attempt == attempts:
                raise SourceError(
                    f"{self.source}: {problem} for {shown} (gave up after {attempts} attempts)",
                    hint="the service may be down or throttling; run the same command again "
                    "later to resume from the last completed page",
                )
            if retry_after is not None and retry_after > self.policy.max_retry_after:
                raise SourceError(
                    f"{self.source}: {problem} for {shown}; the server asks to wait "
                    f"{retry_after:.0f} s before retrying",
                    hint="run the same command again later to resume from the last completed page",
                )
            delay = self.policy.delay(attempt, retry_after)
            if self.on_retry:
                self.on_retry(problem or "error", delay, attempt, attempts)
            self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self, url: str, params: Mapping[str, str | int] | None
    ) -> tuple[str | None, float | None, httpx.Response | None]:
        """(problem worth a retry or None, Retry-After seconds, response)."""
        self.limiter.wait()
        self.requests += 1
        try:
            response = self.client.get(url, params=params)
        except httpx.TransportError as exc:
            # Connection refused or dropped, a timeout, a broken response: all transient.
            return f"{type(exc).__name__}: {exc or 'connection failed'}", None, None
        finally:
            self.limiter.done()
        if response.status_code in RETRY_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return f"HTTP {response.status_code}", retry_after, response
        return None, None, response


def _shown_url(url: str, params: Mapping[str, str | int] | None) -> str:
    return str(httpx.URL(url, params=dict(params)) if params else url)
