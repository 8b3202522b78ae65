"""plan_inventory: hand-computed plans, monotonicity, a simulated service level, bad inputs."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toyguide.errors import ConfigError
from toyguide.guide.inventory import Z_P90, plan_inventory, plan_many, week_sigma
from toyguide.guide.views import InventoryPlan

Z_975 = 1.959963984540054  # Φ⁻¹(0.975), from tables


def _flat(p10: float, p50: float, p90: float, weeks: int) -> tuple[np.ndarray, ...]:
    return tuple(np.full(weeks, v, dtype=float) for v in (p10, p50, p90))


def test_zero_spread_gives_no_safety_stock() -> None:
    plan = plan_inventory(
        "toy-1", *_flat(5, 5, 5, 6), lead_time_weeks=2, review_weeks=1, service_level=0.95,
        stock_on_hand=4, on_order=3,
    )  # fmt: skip
    assert plan == InventoryPlan(
        item_id="toy-1", lead_time_weeks=2, review_weeks=1, service_level=0.95, stock_on_hand=4.0,
        demand_over_protection=15.0, safety_stock=0.0, reorder_point=10.0,
        order_quantity=8.0, weeks_of_cover=0.8,
    )  # fmt: skip
    assert plan.to_dict()["order_quantity"] == 8.0


def test_spread_gives_z_sigma_sqrt_weeks_of_safety_stock() -> None:
    # Each week: mean 10, σ 2 (P10/P90 placed at ±z₀.₉·σ); 3 + 1 weeks → σ = 2·√4 = 4.
    plan = plan_inventory(
        "toy-2", *_flat(10 - 2 * Z_P90, 10, 10 + 2 * Z_P90, 8), lead_time_weeks=3,
        review_weeks=1, service_level=0.975, stock_on_hand=50,
    )  # fmt: skip
    assert plan.demand_over_protection == pytest.approx(40.0)
    assert plan.safety_stock == pytest.approx(Z_975 * 4.0)
    assert plan.reorder_point == pytest.approx(30.0 + Z_975 * 2.0 * math.sqrt(3))
    assert plan.order_quantity == 0.0  # 50 on hand is above S ≈ 47.8
    assert plan.weeks_of_cover == pytest.approx(5.0)


def test_zero_lead_time_and_zero_demand() -> None:
    plan = plan_inventory(
        "toy-3", *_flat(0, 0, 0, 2), lead_time_weeks=0, service_level=0.9, stock_on_hand=0
    )
    assert plan.reorder_point == 0.0
    assert plan.order_quantity == 0.0
    assert plan.weeks_of_cover is None


def test_only_the_protection_period_counts() -> None:
    p10, p50, p90 = (np.array([1.0, 2.0, 100.0]), np.array([2.0, 3.0, 200.0]),
                     np.array([3.0, 4.0, 300.0]))  # fmt: skip
    plan = plan_inventory(
        "toy-4", p10, p50, p90, lead_time_weeks=1, review_weeks=1, service_level=0.9,
        stock_on_hand=0,
    )  # fmt: skip
    assert plan.demand_over_protection == 5.0


# --- monotonicity -------------------------------------------------------------------------------


@st.composite
def forecasts(draw: st.DrawFn, min_weeks: int = 1) -> tuple[np.ndarray, ...]:
    n = draw(st.integers(min_weeks, 12))
    value = st.floats(0, 500, allow_nan=False)
    rows = [sorted(draw(st.tuples(value, value, value))) for _ in range(n)]
    return tuple(np.array(col) for col in zip(*rows, strict=True))


levels = st.floats(0.5, 0.9999, exclude_min=True)


@settings(max_examples=60, deadline=None)
@given(forecasts(min_weeks=5), levels, levels, st.integers(0, 3), st.integers(1, 2))
def test_higher_service_level_raises_order_up_to(q, a, b, lead, review) -> None:
    low, high = sorted((a, b))
    kw = dict(lead_time_weeks=lead, review_weeks=review, stock_on_hand=0.0)
    p_low = plan_inventory("t", *q, service_level=low, **kw)
    p_high = plan_inventory("t", *q, service_level=high, **kw)
    up_low = p_low.demand_over_protection + p_low.safety_stock
    assert up_low <= p_high.demand_over_protection + p_high.safety_stock
    assert p_low.reorder_point <= p_high.reorder_point
    assert p_low.order_quantity <= p_high.order_quantity


@settings(max_examples=60, deadline=None)
@given(forecasts(min_weeks=5), levels, st.floats(0, 5000), st.floats(0, 5000), st.floats(0, 500))
def test_more_stock_never_orders_more(q, level, a, b, on_order) -> None:
    kw = dict(lead_time_weeks=2, review_weeks=2, service_level=level, on_order=on_order)
    less, more = sorted((a, b))
    assert (
        plan_inventory("t", *q, stock_on_hand=more, **kw).order_quantity
        <= plan_inventory("t", *q, stock_on_hand=less, **kw).order_quantity
    )


@settings(max_examples=60, deadline=None)
@given(forecasts(min_weeks=6), levels, st.integers(0, 4))
def test_longer_lead_time_raises_reorder_point(q, level, lead) -> None:
    kw = dict(review_weeks=1, service_level=level, stock_on_hand=0.0)
    shorter = plan_inventory("t", *q, lead_time_weeks=lead, **kw)
    longer = plan_inventory("t", *q, lead_time_weeks=lead + 1, **kw)
    assert shorter.reorder_point <= longer.reorder_point
    if q[1][lead] >= 1.0:  # the added week has real demand: strictly higher
        assert shorter.reorder_point < longer.reorder_point


# --- the service level holds on demand drawn from the fitted distributions -------------------


@pytest.mark.parametrize(
    ("p10", "p50", "p90", "lead", "review", "level"),
    [
        ([12.0] * 4, [20.0] * 4, [28.0] * 4, 2, 1, 0.95),
        ([30, 25, 40, 60, 80, 5], [45, 35, 50, 90, 100, 8], [70, 40, 65, 120, 140, 12], 3, 2, 0.9),
        ([8.0, 9.0], [10.0, 12.0], [13.0, 15.0], 0, 1, 0.99),
    ],
)
def test_simulated_cycle_service_matches_target(p10, p50, p90, lead, review, level) -> None:
    p10, p50, p90 = (np.asarray(v, dtype=float) for v in (p10, p50, p90))
    plan = plan_inventory(
        "sim", p10, p50, p90, lead_time_weeks=lead, review_weeks=review, service_level=level,
        stock_on_hand=0.0,
    )  # fmt: skip
    up_to = plan.demand_over_protection + plan.safety_stock
    weeks = lead + review
    rng = np.random.default_rng(20240601)
    draws = rng.normal(p50[:weeks], week_sigma(p10, p90)[:weeks], size=(20_000, weeks))
    demand = np.clip(draws, 0.0, None).sum(axis=1)  # demand is never negative
    assert abs(np.mean(demand <= up_to) - level) <= 0.015


# --- bad inputs -------------------------------------------------------------------------------

GOOD = dict(lead_time_weeks=2, review_weeks=1, service_level=0.95, stock_on_hand=10.0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service_level": 0.5}, "service_level"),
        ({"service_level": 1.0}, "service_level"),
        ({"service_level": float("nan")}, "service_level"),
        ({"lead_time_weeks": -1}, "lead_time_weeks"),
        ({"lead_time_weeks": 1.5}, "lead_time_weeks"),
        ({"lead_time_weeks": True}, "lead_time_weeks"),
        ({"review_weeks": 0}, "review_weeks"),
        ({"stock_on_hand": -1.0}, "stock_on_hand"),
        ({"stock_on_hand": float("nan")}, "stock_on_hand"),
        ({"on_order": -2.0}, "on_order"),
        ({"on_order": float("inf")}, "on_order"),
        ({"lead_time_weeks": 4}, "weekly_p10 has 4 weeks; lead_time_weeks + review_weeks = 5"),
    ],
)
def test_bad_settings_name_the_field(change, field) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(field)):
        plan_inventory("t", *_flat(1, 2, 3, 4), **{**GOOD, **change})


def _quantile_cases() -> list:
    ok = [1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0], [3.0, 3.0, 3.0, 3.0]
    nan = [1.0, float("nan"), 1.0, 1.0]
    return [
        ((nan, ok[1], ok[2]), "weekly_p10"),
        ((ok[0], [2.0, 2.0, -1.0, 2.0], ok[2]), "weekly_p50"),
        ((ok[0], ok[1], [3.0, 3.0, 3.0, float("inf")]), "weekly_p90"),
        ((ok[0], [0.5, 2.0, 2.0, 2.0], ok[2]), "weekly_p50"),  # P50 < P10
        ((ok[0], ok[1], [3.0, 1.5, 3.0, 3.0]), "weekly_p90"),  # P90 < P50
        ((ok[0], ok[1], [3.0, 3.0, 3.0, 3.0, 3.0]), "weekly_p10, weekly_p50 and weekly_p90"),
        ((ok[0], [[2.0] * 4], ok[2]), "weekly_p50"),
        ((ok[0], ["a", "b", "c", "d"], ok[2]), "weekly_p50"),
        ((ok[0][:2], ok[1], ok[2]), "weekly_p10"),  # shorter than lead + review
    ]


@pytest.mark.parametrize(("quantiles", "field"), _quantile_cases())
def test_bad_quantiles_name_the_field(quantiles, field) -> None:
    with pytest.raises(ConfigError, match=re.escape(field)):
        plan_inventory("t", *(np.asarray(q) for q in quantiles), **GOOD)


def test_item_id_must_be_given() -> None:
    with pytest.raises(ConfigError, match="item_id"):
        plan_inventory("", *_flat(1, 2, 3, 4), **GOOD)


# --- many toys at once ------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(forecasts(min_weeks=6), min_size=1, max_size=6).filter(
        lambda qs: len({len(q[0]) for q in qs}) == 1
    ),
    levels,
    st.integers(0, 4),
    st.integers(1, 2),
    st.data(),
)
def test_plan_many_matches_plan_inventory_toy_by_toy(qs, level, lead, review, data) -> None:
    stock = [data.draw(st.floats(0, 5000)) for _ in qs]
    ordered = [data.draw(st.floats(0, 500)) for _ in qs]
    kw = dict(lead_time_weeks=lead, review_weeks=review, service_level=level)
    many = plan_many(*(np.stack([q[i] for q in qs]) for i in range(3)),
                     stock_on_hand=np.array(stock), on_order=np.array(ordered), **kw)  # fmt: skip
    for i, q in enumerate(qs):
        one = plan_inventory("t", *q, stock_on_hand=stock[i], on_order=ordered[i], **kw)
        assert many.reorder_point[i] == pytest.approx(one.reorder_point)
        assert many.order_quantity[i] == pytest.approx(one.order_quantity)
        assert many.safety_stock[i] == pytest.approx(one.safety_stock)
        assert many.demand_over_protection[i] == pytest.approx(one.demand_over_protection)
        assert many.lead_time_demand[i] == pytest.approx(float(q[1][:lead].sum()))
        cover = many.weeks_of_cover[i]
        assert (one.weeks_of_cover is None) == bool(np.isnan(cover))
        if one.weeks_of_cover is not None:
            assert cover == pytest.approx(one.weeks_of_cover)


def test_plan_many_keeps_unknown_stock_unknown() -> None:
    p10, p50, p90 = (np.stack([np.array(v)] * 2) for v in _flat(1, 2, 3, 4))
    many = plan_many(p10, p50, p90, lead_time_weeks=2, service_level=0.9,
                     stock_on_hand=np.array([np.nan, 1.0]), on_order=np.zeros(2))  # fmt: skip
    assert np.isnan(many.order_quantity[0]) and np.isnan(many.weeks_of_cover[0])
    assert many.order_quantity[1] > 0 and many.weeks_of_cover[1] == pytest.approx(0.5)
    assert many.reorder_point[0] == many.reorder_point[1]  # demand alone, stock or not


def test_plan_many_names_the_toy_row_of_a_bad_quantile() -> None:
    p10, p50, p90 = (np.stack([np.array(v)] * 3) for v in _flat(1, 2, 3, 4))
    p50[2, 1] = 5.0  # above P90
    with pytest.raises(ConfigError, match="toy row 2, week 1"):
        plan_many(p10, p50, p90, lead_time_weeks=1, service_level=0.9,
                  stock_on_hand=np.ones(3), on_order=np.zeros(3))  # fmt: skip
    with pytest.raises(ConfigError, match="stock_on_hand must hold one value per toy"):
        plan_many(p10, np.minimum(p50, 2.0), p90, lead_time_weeks=1, service_level=0.9,
                  stock_on_hand=np.ones(2), on_order=np.zeros(3))  # fmt: skip
