"""New-toy pricing: the range, the candidate grid, the price-response verdict and the curve."""

from __future__ import annotations

import numpy as np
import pytest

from toyguide.guide.pricing import (
    N_CANDIDATES,
    Neighbour,
    candidate_prices,
    new_toy_pricing,
    observed_demand,
    price_response,
    suggested_range,
    weighted_quantiles,
)
from toyguide.guide.views import ItemView


def toy(item_id: str, price: float | None, currency: str | None = "GBP") -> ItemView:
    return ItemView(
        item_id, f"toy {item_id}", None, price, currency, None, None, None, [], [], None
    )


def neighbours(prices: list[float | None], currency: str | None = "GBP") -> list[Neighbour]:
    return [Neighbour(toy(f"t{i}", p, currency), 0.9, 1.0, None) for i, p in enumerate(prices)]


def test_equal_weights_give_the_unweighted_quartiles() -> None:
    prices = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 9.0])
    expected = np.percentile(prices, [25, 50, 75], method="hazen")  # midpoints of the weights
    assert suggested_range(prices, np.ones(6)) == tuple(expected.round(2))
    assert weighted_quantiles(prices, np.zeros(6), [0.5])[0] == 3.5  # no weight: equal


def test_similarity_pulls_the_range_towards_the_closest_toys() -> None:
    prices = np.array([5.0, 10.0, 40.0, 50.0])
    low, mid, high = suggested_range(prices, np.array([0.9, 0.9, 0.1, 0.1]))
    assert 5.0 <= low <= mid <= high < 20.0
    assert suggested_range(prices, np.array([0.9, 0.9, -0.5, -0.5]))[2] <= 10.0  # negative = 0


def test_candidate_prices_span_the_similar_prices_and_the_given_one() -> None:
    grid = candidate_prices(np.array([8.0, 10.0, 12.0]), 30.0)
    assert len(grid) == N_CANDIDATES and np.all(np.diff(grid) > 0)
    assert grid[0] < 8.0 and grid[-1] > 30.0
    ratios = grid[1:] / grid[:-1]
    assert np.allclose(ratios, ratios[0], rtol=0.02)  # equal steps in log price


def test_price_response_reads_direction_flatness_and_noise() -> None:
    prices = np.arange(1.0, 6.0)
    assert price_response(prices, np.array([10, 8, 6, 5, 4])) == "falls"
    assert price_response(prices, np.array([4, 5, 6, 8, 10])) == "rises"
    assert price_response(prices, np.array([10, 10.1, 10, 10.05, 10])) == "flat"
    assert price_response(prices, np.array([10, 4, 10, 4, 10])) == "non_monotone"
    assert price_response(prices[::-1], np.array([4, 5, 6, 8, 10])) == "falls"  # sorted by price


def test_observed_demand_counts_first_weeks_only_for_toys_launched_inside_the_data() -> None:
    units = np.array([[5, 5, 5, 5, 5, 5], [0, 0, 2, 4, 6, 0], [0, 0, 0, 0, 3, 3]], float)
    first_week = np.array([0, 2, 4])
    mean, first = observed_demand(units, first_week, horizon=3)
    assert mean.tolist() == [5.0, 3.0, 3.0]
    assert np.isnan(first[0])  # on sale from week 0: it may have launched long before
    assert first[1] == 12.0
    assert np.isnan(first[2])  # two weeks of data after launch, not three


class Recorder:
    """A stand-in sales model whose units fall with price; records each call's batch."""

    def __init__(self, horizon: int = 4) -> None:
        self.horizon, self.calls = horizon, []

    def __call__(self, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(np.array(prices))
        weekly = 20.0 / prices[:, None] * np.ones((1, self.horizon))  # [P, H]
        q = np.stack([0.5 * weekly, weekly, 2.0 * weekly], axis=-1)  # [P, H, 3]
        return q, weekly


def test_the_curve_has_one_point_per_candidate_price_from_one_batched_call() -> None:
    model = Recorder()
    pricing = new_toy_pricing(neighbours([8.0, 9.0, 10.0, 12.0, 15.0]), 11.0, model, True, 4)
    assert len(model.calls) == 1  # one forward pass for every price, not one per price
    assert [p.price for p in pricing.curve] == model.calls[0].tolist()
    assert len(pricing.curve) == N_CANDIDATES and pricing.horizon_weeks == 4
    for point in pricing.curve:
        assert 0 <= point.p10 <= point.p50 <= point.p90 and point.mean >= 0
    assert pricing.curve[0].mean == pytest.approx(4 * 20.0 / pricing.curve[0].price, rel=1e-3)
    assert pricing.price_response == "falls" and pricing.currency == "GBP"
    assert pricing.suggested_low <= pricing.suggested_median <= pricing.suggested_high
    assert "25th to 75th percentile" in pricing.method and "not an elasticity" in pricing.method


def test_the_level_is_checked_against_the_similar_toys_launch_weeks() -> None:
    launched = [Neighbour(toy(f"t{i}", p), 0.9, 10.0, 400.0) for i, p in enumerate([9.0, 11.0])]
    pricing = new_toy_pricing(launched, None, Recorder(), True, 4)
    assert "sold a median of 400.0 units in their first 4 weeks" in pricing.uncertainty
    assert "off by more than 3x" in pricing.uncertainty  # the stand-in expects about 8
    unlaunched = new_toy_pricing(neighbours([9.0, 11.0]), None, Recorder(), True, 4)
    assert "level goes unchecked" in unlaunched.uncertainty


def test_a_model_without_price_input_gets_no_curve_and_says_why() -> None:
    model = Recorder()
    pricing = new_toy_pricing(neighbours([8.0, 10.0]), None, model, price_is_input=False, horizon=4)
    assert model.calls == [] and pricing.curve == [] and pricing.price_response == "no_price_input"
    assert pricing.horizon_weeks == 4  # the similar toys' first-weeks units still need it
    assert "without prices as an input" in pricing.method
    assert pricing.suggested_low is not None  # the similar toys' range still holds


def test_a_flat_model_is_reported_flat() -> None:
    def flat(prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.ones((len(prices), 2, 3)), np.ones((len(prices), 2))

    pricing = new_toy_pricing(neighbours([8.0, 10.0]), None, flat, True, 2)
    assert pricing.price_response == "flat" and "no curve is drawn" in pricing.method


def test_currencies_are_never_mixed() -> None:
    mixed = neighbours([10.0, 11.0, 12.0]) + neighbours([900.0], "CNY")
    pricing = new_toy_pricing(mixed, None, None, True, 0)
    assert pricing.currency == "GBP" and {s.price for s in pricing.similar} == {10.0, 11.0, 12.0}
    assert pricing.price_response == "no_sales_task" and pricing.curve == []


def test_no_priced_neighbours_gives_no_range() -> None:
    pricing = new_toy_pricing(neighbours([None, None]), 10.0, Recorder(), True, 4)
    assert pricing.suggested_low is None and pricing.price_response == "no_prices"
