"""Per-client rate limit for the API: a token bucket per client address.

With a store (`serve` passes its path), the buckets live in the store (store/ratelimit.py),
so the worker processes of `serve --workers N`, and every serve node on one PostgreSQL, share
them and a client gets the configured limit, not N times it. The clock is the wall clock (UTC
seconds), the one clock that NTP keeps the same on every machine of a cluster: a monotonic
clock counts from each machine's boot, so two nodes would read each other's stamps as far in
the past or the future and hand out a full bucket every time. When the store is busy
(another writer holds it for longer than BUCKETS_BUSY allows) a request is counted in this
process's own buckets instead: the limit then errs towards letting requests through rather
than making them wait.

Without a store (tests, embedding) the buckets are this process's memory only.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import OrderedDict
from pathlib import Path

from paperscope.store.ratelimit import Bucket, BucketsBusy, RateBuckets

#: Buckets kept in memory before the least recently used are forgotten (bounded memory).
MAX_CLIENTS = 10_000
#: A bucket stamped further ahead than this (seconds) comes from a clock that was set back (or
#: an older version's monotonic stamps); a little ahead is another worker, or another node
#: whose clock runs slightly ahead, that read it just after this one.
CLOCK_SLACK = 60.0
#: How often (seconds) a process deletes the store's buckets that have filled up again.
PRUNE_EVERY = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, store_path: str | Path | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._store_path = store_path if per_minute > 0 else None
        self._shared: RateBuckets | None = None
        self._pruned = -math.inf
        #: Requests counted in memory because the store was busy (for tests and logs).
        self.fallbacks = 0

    def check(self, client: str, now: float | None = None) -> float:
        """0 if the request may go ahead, else the seconds until it may (Retry-After)."""
        if self.capacity <= 0:
            return 0.0
        now = time.time() if now is None else now
        shared = self._open_shared()
        if shared is not None:
            try:
                wait = shared.update(client, lambda bucket: self._take(bucket, now))
                self._prune(shared, now)
                return wait
            except BucketsBusy:
                self.fallbacks += 1
        (tokens, last), wait = self._take(self._buckets.pop(client, None), now)
        self._buckets[client] = (tokens, last)
        while len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)
        return wait

    def _take(self, bucket: Bucket | None, now: float) -> tuple[Bucket, float]:
        """The bucket after one request at `now`, and the wait (0 = allowed). A refused try
        costs no token. A bucket stamped far in the future (a clock set back) starts over."""
        fresh = bucket is None or bucket[1] > now + CLOCK_SLACK
        tokens, last = (self.capacity, now) if fresh else bucket
        tokens = min(self.capacity, tokens + max(0.0, now - last) * self.rate)
        stamp = max(now, last)
        if tokens >= 1:
            return (tokens - 1, stamp), 0.0
        return (tokens, stamp), (1 - tokens) / self.rate

    def _open_shared(self) -> RateBuckets | None:
        if self._shared is None and self._store_path is not None:
            self._shared = RateBuckets(self._store_path)
        return self._shared

    def _prune(self, shared: RateBuckets, now: float) -> None:
        if now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        # a bucket untouched for capacity / rate seconds is full: the same as no row; when
        # the store is busy the next prune will do
        with contextlib.suppress(BucketsBusy):
            shared.forget_outside(now - self.capacity / self.rate, now)

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
