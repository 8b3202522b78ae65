"""bench/soak.py's accounting: the request mix and the memory growth it reports."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest


@pytest.fixture
def soak(bench_module):
    return bench_module("soak")


def test_memory_growth_compares_the_first_and_the_last_windows_per_process(soak) -> None:
    # process 1 grows from 100 to 110 MB over 10 minutes; process 2 is flat; 3 appears late
    samples = [{"t": t, "rss_mb": {1: 100 + t / 60, 2: 50.0} | ({3: 9.0} if t > 300 else {})}
               for t in range(10, 610, 10)]  # fmt: skip
    got = soak.memory_growth(samples)
    # medians of 10..70 s and of 540..600 s, rounded to 0.1 MB
    assert got["1"]["first_minute_mb"] == pytest.approx(100 + 40 / 60, abs=0.05)
    assert got["1"]["last_minute_mb"] == pytest.approx(100 + 570 / 60, abs=0.05)
    assert got["1"]["growth"] == pytest.approx((570 - 40) / 60 / (100 + 40 / 60), abs=1e-3)
    assert got["2"]["growth"] == 0 and "3" not in got
    # a short run: the windows shrink to a quarter of it, so they never overlap
    short = soak.memory_growth(samples[:8])  # 10..80 s
    assert short["1"]["last_minute_mb"] > short["1"]["first_minute_mb"]


def test_the_workload_spreads_the_guide_share_evenly(soak, monkeypatch) -> None:
    monkeypatch.setattr(soak.serve, "shopper_ids", lambda store: ["s1", "s2", "s3"])
    requests = soak.workload(Path("unused"), 100, 0.2)
    routes = [route for route, _ in requests]
    assert routes.count("/v1/guide") == 20 and len(routes) == 100
    guide_at = [i for i, r in enumerate(routes) if r == "/v1/guide"]
    assert all(b - a == 5 for a, b in itertools.pairwise(guide_at))
    shoppers = {body["shopper_id"] for route, body in requests if route == "/v1/recommendations"}
    assert shoppers == {"s1", "s2", "s3"}
