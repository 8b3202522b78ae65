"""A per-client rate limit on the open routes: one token bucket per client address.

Each client may send ``burst`` requests at once, then ``rate`` a second; past that the request
is answered 429 with ``Retry-After`` (whole seconds) before any route reads its body, so a
flood costs the server almost nothing. The buckets live in this process (one uvicorn worker
each: under ``serve --workers N`` a client whose connections reach several workers may get up
to N times the rate, which is documented rather than divided by N, since one keep-alive
connection stays on one worker; behind a load balancer each instance limits on its own) and
at most ``max_clients`` are kept: the client seen longest ago is forgotten first, and a
forgotten client starts again with a full bucket, as it would after ``burst / rate`` seconds
of quiet anyway.

The address is the ASGI ``client``: behind a reverse proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips`` so that it is the shopper's, not the proxy's (a
forwarded header is never read here, since anyone can send one).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from toyguide.service.errors import error_body

__all__ = ["RateLimit", "TokenBuckets"]


class TokenBuckets:
    """Token buckets by key: ``rate`` tokens a second, at most ``burst`` saved up; thread-safe,
    at most ``max_clients`` keys kept (least recently seen evicted)."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_clients: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst, self.max_clients, self.clock = rate, burst, max_clients, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one of ``key``'s tokens: 0 when there was one, else the seconds until there
        will be (nothing is spent then)."""
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)  # now the newest
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimit:
    """ASGI middleware: requests to ``paths`` (a path or anything under it) take a token from
    their client's bucket; without one they are answered 429 and never reach the app."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets, paths: Iterable[str]) -> None:
        self.app, self.buckets, self.paths = app, buckets, tuple(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._limited(scope["path"]):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.buckets.take(client[0] if client else "unknown")
        if wait == 0:
            await self.app(scope, receive, send)
            return
        await _too_many(math.ceil(wait), self.buckets)(scope, receive, send)

    def _limited(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.paths)


def _too_many(seconds: int, buckets: TokenBuckets) -> JSONResponse:
    seconds = max(1, seconds)
    message = (
        f"too many requests from this address (at most {buckets.burst} at once, then "
        f"{buckets.rate:g} a second); retry in {seconds} s"
    )
    return JSONResponse(
        error_body("TooManyRequests", message), status_code=429,
        headers={"Retry-After": str(seconds)},
    )  # fmt: skip
