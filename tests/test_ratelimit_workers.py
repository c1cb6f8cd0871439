"""The API rate limit across processes: `serve --workers 2` and two `serve` processes on one
store give a client the configured limit in total, not once per process (real servers)."""

from __future__ import annotations

import http.client
import time

from conftest import XSS_ID
from servetools import Serving, process_holding, serving, status_of

LIMIT = 30  # per minute: one token back every 2 s
REQUESTS = 3 * LIMIT
PATH = f"/api/v1/paper/{XSS_ID}"


def _allowed_at_most(elapsed: float) -> int:
    """The limit, plus the tokens that came back while the test ran (and one for rounding)."""
    return LIMIT + int(elapsed * LIMIT / 60) + 1


def _one_connection_per_worker(server: Serving, workers: int) -> list[http.client.HTTPConnection]:
    """Keep-alive connections, each held by a different worker process (looked up in /proc):
    which worker accepts a connection is up to the kernel."""
    held: dict[int, http.client.HTTPConnection] = {}
    for _ in range(200):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("GET", "/opensearch.xml")  # not under /api/: not counted
        conn.getresponse().read()
        pid = process_holding(server, conn.sock.getsockname()[1])
        if pid is not None and pid not in held:
            held[pid] = conn
            if len(held) == workers:
                return list(held.values())
        else:
            conn.close()
    raise AssertionError(f"connections reached {len(held)} of {workers} workers")


def _status(conn: http.client.HTTPConnection) -> int:
    port = conn.sock.getsockname()[1]
    conn.request("GET", PATH)
    response = conn.getresponse()
    response.read()
    # still the same connection, so still the same worker
    assert conn.sock is not None and conn.sock.getsockname()[1] == port
    return response.status


def test_two_workers_share_one_limit(store_copy):
    with serving(store_copy, "--api-rate-limit", str(LIMIT), workers=2) as server:
        conns = _one_connection_per_worker(server, 2)
        start = time.monotonic()
        # alternating between the workers: each alone would allow LIMIT, 2 * LIMIT in all
        statuses = [_status(conn) for _ in range(REQUESTS // 2) for conn in conns]
        elapsed = time.monotonic() - start
        for conn in conns:
            conn.close()
    assert set(statuses) <= {200, 429}
    allowed = statuses.count(200)
    assert LIMIT <= allowed <= _allowed_at_most(elapsed), (allowed, elapsed)
    assert statuses[:LIMIT] == [200] * LIMIT


def test_two_servers_on_one_store_share_one_limit(store_copy):
    with (
        serving(store_copy, "--api-rate-limit", str(LIMIT)) as first,
        serving(store_copy, "--api-rate-limit", str(LIMIT)) as second,
    ):
        start = time.monotonic()
        statuses = [
            status_of(server.base + PATH)
            for _ in range(REQUESTS // 2)
            for server in (first, second)
        ]
        elapsed = time.monotonic() - start
    allowed = statuses.count(200)
    assert LIMIT <= allowed <= _allowed_at_most(elapsed), (allowed, elapsed)
    assert statuses[:LIMIT] == [200] * LIMIT
    assert 429 in statuses[LIMIT:]
