"""The API rate limit across processes: `serve --workers 2` and two `serve` processes on one
store give a client the configured limit in total, not once per process (real servers)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from conftest import XSS_ID
from servetools import serving, status_of

LIMIT = 30  # per minute: one token back every 2 s
REQUESTS = 3 * LIMIT


def _allowed_at_most(elapsed: float) -> int:
    """The limit, plus the tokens that came back while the test ran (and one for rounding)."""
    return LIMIT + int(elapsed * LIMIT / 60) + 1


def test_two_workers_share_one_limit(store_copy):
    with serving(store_copy, "--api-rate-limit", str(LIMIT), workers=2) as base:
        url = f"{base}/api/v1/paper/{XSS_ID}"
        start = time.monotonic()
        # four at a time on new connections, so both workers take requests
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(lambda _: status_of(url), range(REQUESTS)))
        elapsed = time.monotonic() - start
    assert set(statuses) <= {200, 429}
    allowed = statuses.count(200)
    # per-process buckets would have let up to 2 * LIMIT through
    assert LIMIT <= allowed <= _allowed_at_most(elapsed), (allowed, elapsed)


def test_two_servers_on_one_store_share_one_limit(store_copy):
    with (
        serving(store_copy, "--api-rate-limit", str(LIMIT)) as first,
        serving(store_copy, "--api-rate-limit", str(LIMIT)) as second,
    ):
        start = time.monotonic()
        # alternating: each process alone would allow LIMIT, 2 * LIMIT in all
        statuses = [
            status_of(f"{base}/api/v1/paper/{XSS_ID}")
            for _ in range(REQUESTS // 2)
            for base in (first, second)
        ]
        elapsed = time.monotonic() - start
    allowed = statuses.count(200)
    assert LIMIT <= allowed <= _allowed_at_most(elapsed), (allowed, elapsed)
    assert statuses[:LIMIT] == [200] * LIMIT
    assert 429 in statuses[LIMIT:]
