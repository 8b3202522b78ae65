"""The per-client rate limit: token buckets, the 429 answer, which routes it covers."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from toyguide.service import create_app
from toyguide.service.ratelimit import RateLimit, TokenBuckets
from toyguide.service.routers import RATE_LIMITED

from .conftest import ADMIN_AUTH, settings_for
from .test_routes import error_of


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_the_burst_then_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, max_clients=10, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token every 1/rate s
    assert buckets.take("b") == 0  # another client has its own bucket
    clock.now += 0.25
    assert buckets.take("a") == pytest.approx(0.25)  # refused requests spend nothing
    clock.now += 0.25
    assert buckets.take("a") == 0 and buckets.take("a") > 0
    clock.now += 60  # quiet for long: the bucket is full again, never fuller
    assert [buckets.take("a") for _ in range(4)][-1] > 0


def test_memory_is_bounded_and_the_longest_unseen_client_goes_first() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=1.0, burst=1, max_clients=3, clock=clock)
    for key in ("a", "b", "c"):
        assert buckets.take(key) == 0
    assert buckets.take("a") > 0  # "a" is now the most recently seen
    for n in range(100):
        buckets.take(f"flood-{n}")
        assert len(buckets) <= 3
    assert buckets.take("b") == 0  # forgotten: starts with a full bucket
    buckets = TokenBuckets(rate=1.0, burst=1, max_clients=3, clock=clock)
    for key in ("a", "b", "c", "a", "d"):  # "d" pushes out "b", not "a"
        buckets.take(key)
    assert buckets.take("a") > 0 and buckets.take("b") == 0


def test_buckets_are_safe_to_share_between_threads() -> None:
    buckets = TokenBuckets(rate=1e-9, burst=50, max_clients=10, clock=Clock())
    allowed: list[int] = []
    start = threading.Barrier(8)

    def hammer() -> None:
        start.wait()
        allowed.append(sum(buckets.take("same") == 0 for _ in range(500)))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 50  # exactly the burst, however the threads interleave


def limited_client(served, guide, rate: float, burst: int, address: str) -> TestClient:
    app = create_app(settings_for(served, rate_limit=rate, rate_burst=burst), guide)
    return TestClient(app, client=(address, 40000))


def test_over_the_limit_a_client_gets_429_with_retry_after(served, guide) -> None:
    client = limited_client(served, guide, rate=0.5, burst=2, address="10.0.0.1")
    item = f"/v1/items/{served.item}"
    assert [client.get(item).status_code for _ in range(2)] == [200, 200]
    refused = client.get(item)
    err = error_of(refused, 429)
    assert err["type"] == "TooManyRequests" and "retry in 2 s" in err["message"]
    assert refused.headers["Retry-After"] == "2"  # 1 token / 0.5 a second, whole seconds
    denied = client.post("/v1/recommendations", json={"shopper_id": served.shopper})
    assert denied.status_code == 429  # one bucket for all of a client's limited routes
    too_big = client.post("/v1/events", content=b"x" * (3 << 20))
    assert too_big.status_code == 429  # refused before the body is read at all
    for path in ("/health", "/ready", "/", "/merchant", "/openapi.json"):
        assert client.get(path).status_code == 200, path  # probes and pages are not limited
    assert client.post("/v1/admin/reload", headers={}).status_code == 401  # reached auth
    other = TestClient(client.app, client=("10.0.0.2", 40000))
    assert other.get(item).status_code == 200


def test_retry_after_is_at_least_one_second(served, guide) -> None:
    client = limited_client(served, guide, rate=1.01, burst=1, address="10.0.0.3")
    item = f"/v1/items/{served.item}"
    # the route's first call is its slowest; made from another address, it does not count
    # into the gap between this client's two calls, which must stay under 1 / rate
    assert TestClient(client.app, client=("10.0.0.4", 40000)).get(item).status_code == 200
    assert client.get(item).status_code == 200
    refused = client.get(item)  # the next token in 0.99 s less the gap: rounded up to 1
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"


def test_no_limit_unless_configured(served, guide) -> None:
    app = create_app(settings_for(served), guide)
    assert not any(m.cls is RateLimit for m in app.user_middleware)
    client = TestClient(app)
    assert all(client.get(f"/v1/items/{served.item}").status_code == 200 for _ in range(25))


def test_the_limit_covers_the_open_resources_and_nothing_else(served, guide) -> None:
    app = create_app(settings_for(served, rate_limit=1.0), guide)
    paths = {getattr(r, "path", "") for r in app.routes}

    def limited(path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in RATE_LIMITED)

    for resource in ("recommendations", "guide", "items", "shoppers", "segments", "events"):
        assert all(limited(p) for p in paths if p.startswith(f"/v1/{resource}")), resource
    for path in paths:
        if path in ("/health", "/ready", "/", "/merchant") or path.startswith(
            ("/v1/admin", "/v1/forecast", "/v1/inventory", "/static", "/docs", "/openapi")
        ):
            assert not limited(path), path
    reload = TestClient(app).post("/v1/admin/reload", headers=ADMIN_AUTH, json={"model_dir": "x"})
    assert reload.status_code == 400
