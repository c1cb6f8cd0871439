"""The API's per-client token bucket: the limiter itself with a given clock, and through the
app (429 JSON with Retry-After, other clients and pages unaffected)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from paperscope.serve.web import ratelimit
from paperscope.serve.web.app import create_app
from paperscope.serve.web.ratelimit import RateLimiter
from webtools import client_for, settings_for


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    limiter = RateLimiter(60)  # one token per second, bursts of 60
    assert all(limiter.check("a", now=100.0) == 0 for _ in range(60))
    wait = limiter.check("a", now=100.0)
    assert wait == 1.0
    assert limiter.check("a", now=100.5) == 0.5  # half a token came back; a refused try costs none
    assert limiter.check("a", now=101.0) == 0
    assert limiter.check("a", now=101.0) > 0


def test_bucket_never_holds_more_than_its_capacity() -> None:
    limiter = RateLimiter(5)
    limiter.check("a", now=0.0)
    # an hour idle refills to 5 tokens, not 300
    assert [limiter.check("a", now=3600.0) for _ in range(6)][-1] > 0
    assert sum(limiter.check("b", now=3600.0) == 0 for _ in range(10)) == 5


def test_clients_have_separate_buckets() -> None:
    limiter = RateLimiter(2)
    assert limiter.check("a", now=0) == 0 and limiter.check("a", now=0) == 0
    assert limiter.check("a", now=0) > 0
    assert limiter.check("b", now=0) == 0


def test_zero_means_unlimited() -> None:
    limiter = RateLimiter(0)
    assert all(limiter.check("a", now=0) == 0 for _ in range(10_000))


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert RateLimiter.retry_after(0.01) == "1"
    assert RateLimiter.retry_after(1.0) == "1"
    assert RateLimiter.retry_after(1.2) == "2"
    assert RateLimiter.retry_after(59.5) == "60"


def test_memory_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_CLIENTS", 3)
    limiter = RateLimiter(1)
    for client in ("a", "b", "c", "d"):
        limiter.check(client, now=0)
    assert list(limiter._buckets) == ["b", "c", "d"]
    # the forgotten client starts over with a full bucket
    assert limiter.check("a", now=0) == 0


@pytest.fixture
def frozen_clock(monkeypatch) -> None:
    """The limiter's clock stands still: at 5 requests a minute a token comes back every 12 s,
    and a slow first request (the engine opening) on a busy machine must not refill one."""
    monkeypatch.setattr(
        ratelimit, "time", SimpleNamespace(monotonic=lambda: 1000.0, time=lambda: 1000.0)
    )


def test_api_answers_429_with_retry_after(sample_store, frozen_clock) -> None:
    with client_for(sample_store, api_rate_limit=5) as client:
        for _ in range(5):
            assert client.get("/api/v1/paper/2611.00001").status_code == 200
        refused = client.get("/api/v1/paper/2611.00001")
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/json")
        retry = int(refused.headers["retry-after"])
        assert 1 <= retry <= 12  # 5 per minute: a token every 12 s
        error = refused.json()["error"]
        assert error["status"] == 429 and "too many requests" in error["message"]
        assert refused.headers["content-security-policy"]  # security headers still set
        # any /api/ route counts, errors included; pages and feeds are not limited
        assert client.get("/api/v1/search", params={"q": "x"}).status_code == 429
        assert client.get("/api/v1/nope").status_code == 429
        assert client.get("/opensearch.xml").status_code == 200
        assert client.get("/feed.atom").status_code == 200


def test_other_clients_are_unaffected(sample_store, frozen_clock) -> None:
    app = create_app(settings_for(sample_store, api_rate_limit=5))
    with (
        TestClient(app, base_url="http://127.0.0.1", client=("10.0.0.1", 5000)) as first,
        TestClient(app, base_url="http://127.0.0.1", client=("10.0.0.2", 5000)) as second,
    ):
        statuses = [first.get("/api/v1/paper/2611.00001").status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        assert second.get("/api/v1/paper/2611.00001").status_code == 200
        # the same address on another port is the same client
        with TestClient(app, base_url="http://127.0.0.1", client=("10.0.0.1", 6000)) as again:
            assert again.get("/api/v1/paper/2611.00001").status_code == 429


def test_limit_of_zero_turns_it_off(sample_store) -> None:
    with client_for(sample_store, api_rate_limit=0) as client:
        assert all(client.get("/api/v1/paper/2611.00001").status_code == 200 for _ in range(30))
