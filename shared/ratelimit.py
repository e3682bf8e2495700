"""Per-client rate limits for the endpoints readers use without an account.

A token bucket per (endpoint, client address) in process memory: each web process limits on its
own, which bounds abuse by a factor of the process count; a shared store is not needed for that.
"""
from __future__ import annotations

import functools
import threading
import time

from flask import current_app, request

from shared.errors import TooManyRequests


class RateLimiter:
    """``per_minute`` requests a minute per client, with bursts up to ``burst``."""

    def __init__(self, per_minute: int, burst: int | None = None, clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = burst or per_minute
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        """Take one token for ``client``; False when its bucket is empty."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                return False
            self._buckets[client] = (tokens - 1, now)
            if len(self._buckets) > 100_000:  # forget idle clients rather than grow without end
                self._buckets.clear()
            return True


def client_address() -> str:
    """The caller's address. Behind trusted proxies (``LSQ_PROXY_HOPS``), ``create_service_app``
    installs werkzeug's ProxyFix, which sets ``remote_addr`` from X-Forwarded-For; a client's own
    X-Forwarded-For is never trusted otherwise."""
    return request.remote_addr or "unknown"


def rate_limited(per_minute: int, burst: int | None = None):
    """Decorate a view so each client gets at most ``per_minute`` calls a minute (429 beyond)."""
    limiter = RateLimiter(per_minute, burst)

    def decorate(view):
        @functools.wraps(view)
        def limited(*args, **kwargs):
            if current_app.config.get("RATE_LIMITS_ENABLED", True) and not limiter.allow(
                    f"{request.endpoint}:{client_address()}"):
                raise TooManyRequests("too many requests from this client; try again in a minute",
                                      "请求过于频繁，请一分钟后再试")
            return view(*args, **kwargs)
        limited.limiter = limiter
        return limited

    return decorate
