"""Per-client rate limit for the API: a token bucket per client address, in memory.

Each worker process keeps its own buckets, so with N workers a client can reach at most N
times the limit; the limit is a guard against runaway scripts, not an accounting system.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

#: Buckets kept before the least recently used are forgotten (bounded memory).
MAX_CLIENTS = 10_000


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def check(self, client: str, now: float | None = None) -> float:
        """0 if the request may go ahead, else the seconds until it may (Retry-After)."""
        if self.capacity <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)
        return wait

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
