"""build_overview and find_by_title on a hand-made catalogue forecast (no model needed)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from toyguide.guide.overview import CatalogueForecast, build_overview, find_by_title

WEEKS = 4


def book(stock: list[float], weekly: list[float]) -> CatalogueForecast:
    """Toys t0, t1, ... selling ``weekly`` units each week, P10/P90 at ±20%."""
    mid = np.repeat(np.array(weekly, dtype=float)[:, None], WEEKS, axis=1)
    ids = pl.Series([f"t{i}" for i in range(len(stock))])
    titles = pl.Series([f"Toy number {i}" for i in range(len(stock))])
    return CatalogueForecast(
        ids=ids, titles=titles, p10=0.8 * mid, p50=mid, p90=1.2 * mid, mean=mid,
        stock=np.array(stock, dtype=float), sold_recently=np.array(weekly) * WEEKS,
        as_of=dt.date(2024, 1, 1), searchable=(ids + " " + titles).str.to_lowercase(),
    )  # fmt: skip


def make(b: CatalogueForecast, **kw):
    settings = dict(lead_time_weeks=2, service_level=0.9, review_weeks=1, limit=10,
                    segments=[], segments_source=None)  # fmt: skip
    return build_overview(b, **{**settings, **kw})


def test_lists_on_a_known_catalogue() -> None:
    # weekly demand 10: reorder point ≈ 20 + z·σ√2 ≈ 23; 12-week cover = 120 units
    answer = make(book([0, 15, 25, 500, 30, 40], [10, 10, 10, 10, 0, 10]))
    assert [r.item_id for r in answer.at_risk] == ["t0", "t1"]  # fewest weeks of cover first
    assert [r.item_id for r in answer.slow_movers] == ["t4", "t3"]  # no demand at all first
    assert answer.slow_movers[0].weeks_of_cover is None
    assert answer.slow_movers[1].weeks_of_cover == pytest.approx(50.0)
    assert [r.item_id for r in answer.top_sellers][:2] == ["t0", "t1"]  # ties keep id order
    assert answer.top_sellers[0].expected_units == 40.0
    assert answer.outlook_weeks[0] == "2024-01-08" and len(answer.outlook_weeks) == 4
    assert make(book([0] * 3, [5] * 3), limit=1).at_risk_count == 3


def test_no_stock_known_says_so_and_lists_nothing_at_risk() -> None:
    answer = make(book([np.nan] * 3, [10, 0, 5]))
    assert answer.at_risk == [] and answer.slow_movers == [] and answer.stock_known == 0
    assert "no stock on hand for any toy" in answer.notes[0]
    assert [r.item_id for r in answer.top_sellers] == ["t0", "t2", "t1"]
    assert answer.top_sellers[0].stock_on_hand is None
    assert answer.top_sellers[0].order_quantity is None


def test_partly_known_stock_counts_the_unknown() -> None:
    answer = make(book([np.nan, 0.0], [10, 10]))
    assert [r.item_id for r in answer.at_risk] == ["t1"]
    assert "known for 1 of 2 toys" in answer.notes[0]


def test_find_by_title_needs_every_word_and_ranks_exact_ids_first() -> None:
    b = book([1, 0, 2], [1, 5, 3])
    assert [t.item_id for t in find_by_title(b, "TOY number", 10)] == ["t1", "t2", "t0"]
    assert [t.item_id for t in find_by_title(b, "t2", 10)] == ["t2"]
    assert find_by_title(b, "toy robot", 10) == [] and find_by_title(b, "  ", 10) == []
