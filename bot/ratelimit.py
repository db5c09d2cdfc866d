"""The one rate limiter: a token bucket per key, thread-safe, with the clock injected.

Two uses, one class:

* **Slack users** (:meth:`RateLimiter.acquire`): ``RateLimiter(n, per=60, burst=n)`` lets each user
  send ``n`` requests in a burst, refilled at ``n`` a minute; a request over the limit is refused
  at once with the seconds until the next token (never blocks a listener).
* **Shodan requests** (:meth:`RateLimiter.wait`): ``RateLimiter(rps)`` spaces request starts
  ``1/rps`` seconds apart across every thread that shares it; each caller reserves the next free
  slot under the lock and sleeps outside it.

``rate <= 0`` switches the limit off. Memory is bounded: at most ``max_keys`` buckets are kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    """One key's tokens and when they were last counted."""

    tokens: float
    at: float


class RateLimiter:
    """``rate`` tokens every ``per`` seconds per key, at most ``burst`` saved up (default 1)."""

    def __init__(
        self,
        rate: float,
        *,
        per: float = 1.0,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_keys: int = 10_000,
    ) -> None:
        self._lock = threading.Lock()
        self._now = clock
        self._sleep = sleep
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self.per = per
        self._burst = burst
        self.set_rate(rate)

    def set_rate(self, rate: float) -> None:
        """Change the rate (the process-wide Shodan limiter follows the latest setting)."""
        with self._lock:
            self.rate = rate  # tokens per ``per`` seconds, as configured (shown to users)
            self.capacity = float(max(self._burst if self._burst is not None else 1.0, 0))
            self._per_second = max(rate, 0) / self.per

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, key: str = "") -> float:
        """Take one token without waiting: 0.0 when allowed, else the seconds until the next token."""
        if not self.enabled:
            return 0.0
        now = self._now()
        with self._lock:
            bucket = self._refill(key, now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self._per_second

    def wait(self, key: str = "") -> float:
        """Reserve the next token (possibly in the future) and sleep until it is due; the seconds waited."""
        if not self.enabled:
            return 0.0
        now = self._now()
        with self._lock:
            bucket = self._refill(key, now)
            bucket.tokens -= 1.0
            wait = -bucket.tokens / self._per_second if bucket.tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def refund(self, key: str = "") -> None:
        """Give back a token taken for work that was then not accepted (runner busy)."""
        if not self.enabled:
            return
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.tokens = min(self.capacity, bucket.tokens + 1.0)

    def _refill(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self._per_second)
        bucket.at = now
        return bucket

    def _forget_full(self, now: float) -> None:
        """Drop keys whose bucket has refilled (they are indistinguishable from new ones)."""
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self._per_second >= self.capacity]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self._max_keys:  # everyone is active: forget the oldest
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k].at)[: len(self._buckets) // 2]
            for k in oldest:
                del self._buckets[k]


def per_user_limiter(per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
    """The Slack limiter: ``per_minute`` requests per user in a burst, refilled at that rate."""
    return RateLimiter(per_minute, per=60.0, burst=per_minute, clock=clock)
