"""New-toy pricing: a suggested price range from the most similar toys, and the sales model's
expected first-weeks units at candidate prices.

Two sources, kept apart because they answer different questions:

- the similar toys (nearest by text) say what the shop charges for toys like this one: their
  similarity-weighted interquartile price range is the suggestion, in one currency;
- the sales model, run once on the new toy at every candidate price (one batch, the price the
  only input that differs), says how its forecast moves with price. It learned that from how
  units differ between toys at different prices (across the catalogue), not from changing one
  toy's price, so the curve is an association, not a measured price elasticity. When the
  model has no price input or its forecast does not move with price, the verdict says so and
  the page draws no curve.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from toyguide.guide.views import ItemView, PricePoint, PriceResponse, Pricing, SimilarPrice

__all__ = [
    "FLAT",
    "MONOTONE",
    "N_CANDIDATES",
    "Neighbour",
    "NewToyForecast",
    "candidate_prices",
    "new_toy_pricing",
    "observed_demand",
    "price_response",
    "suggested_range",
    "weighted_quantiles",
]

N_CANDIDATES = 9  # prices on the curve
FLAT = 0.05  # a forecast that moves less than 5% of its level over the grid ignores price
MONOTONE = 0.8  # at least 80% of the curve's movement must go one way to read a direction
# The grid spans the similar toys' prices, widened a little so the range sits inside it.
GRID_MARGIN = 1.25

NewToyForecast = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""Prices [P] → (quantiles [P, H, 3], mean [P, H]) in units: the new toy at each price, all
computed in one batched forward pass of the sales model."""


@dataclass(frozen=True)
class Neighbour:
    """A catalogue toy near the new one, with what it sold (None or NaN where the data cannot
    say: no sales task, or no launch inside the data)."""

    item: ItemView
    similarity: float
    mean_weekly_units: float | None
    first_weeks_units: float | None


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles of ``values`` where each counts ``weight`` times, interpolating between the
    midpoints of the sorted values' cumulative weights (equal weights give the usual median)."""
    order = np.argsort(values)
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    if w.sum() <= 0:
        w = np.ones_like(w)
    mid = (np.cumsum(w) - 0.5 * w) / w.sum()  # [n] position of each value's weight centre
    return np.interp(qs, mid, v)


def suggested_range(prices: np.ndarray, weights: np.ndarray) -> tuple[float, float, float]:
    """(P25, P50, P75) of the similar toys' prices weighted by similarity."""
    low, mid, high = weighted_quantiles(prices, np.clip(weights, 0.0, None), (0.25, 0.5, 0.75))
    return round(float(low), 2), round(float(mid), 2), round(float(high), 2)


def candidate_prices(prices: np.ndarray, given: float | None, n: int = N_CANDIDATES) -> np.ndarray:
    """``n`` geometrically spaced prices over the similar toys' prices (and the given one),
    widened by :data:`GRID_MARGIN` each way: equal steps in log price, as the model sees it."""
    known = [p for p in [*np.asarray(prices, float), given or 0.0] if p > 0]
    low, high = min(known) / GRID_MARGIN, max(known) * GRID_MARGIN
    return np.unique(np.round(np.geomspace(low, high, n), 2))  # cheap toys: no equal prices


def price_response(prices: np.ndarray, units: np.ndarray) -> PriceResponse:
    """ "falls" or "rises" (units as price rises), "flat" (moves < :data:`FLAT` of its level)
    or "non_monotone" (under :data:`MONOTONE` of the movement goes one way)."""
    u = np.asarray(units, float)[np.argsort(prices)]
    moved = np.abs(np.diff(u)).sum()
    if moved <= FLAT * max(float(u.mean()), 1e-9):
        return "flat"
    net = float(u[-1] - u[0])
    if abs(net) < MONOTONE * moved:
        return "non_monotone"
    return "falls" if net < 0 else "rises"


def observed_demand(
    units: np.ndarray, first_week: np.ndarray, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean weekly units from each toy's first sales week on, and its units over its first
    ``horizon`` weeks (NaN unless it first sold after the data began and ``horizon`` weeks
    followed: a toy on sale from week 0 may have launched long before). ``units`` [M, W]."""
    n_weeks = units.shape[1]
    week = np.arange(n_weeks)[None, :]
    on_sale = week >= first_week[:, None]  # [M, W]
    weeks = on_sale.sum(1)
    mean = np.where(weeks > 0, (units * on_sale).sum(1) / np.maximum(weeks, 1), np.nan)
    first = on_sale & (week < first_week[:, None] + horizon)
    launched = (first_week > 0) & (first_week + horizon <= n_weeks)
    return mean, np.where(launched, (units * first).sum(1), np.nan)


def new_toy_pricing(
    neighbours: list[Neighbour],
    price: float | None,
    forecast: NewToyForecast | None,
    price_is_input: bool,
    horizon: int,
) -> Pricing:
    """The pricing block of a new toy's evaluation. ``forecast`` is None without a sales task;
    ``price_is_input`` says whether the model was trained with prices as an item input;
    ``horizon`` is the weeks of the neighbours' first-weeks units and of the curve."""
    currency, priced = _one_currency(neighbours)
    if not priced:
        text = "None of the most similar toys has a price: no range and no curve."
        return Pricing(currency, [], None, None, None, horizon, [], "no_prices", text, "")
    prices = np.array([n.item.price for n in priced], float)
    low, mid, high = suggested_range(prices, np.array([n.similarity for n in priced]))
    similar = [_similar_price(n) for n in priced]
    if forecast is None or not price_is_input:
        verdict: PriceResponse = "no_sales_task" if forecast is None else "no_price_input"
        method, uncertainty = _method(len(priced), currency, verdict, 0), _uncertainty(verdict, 0)
        return Pricing(currency, similar, low, mid, high, horizon, [], verdict, method, uncertainty)
    grid = candidate_prices(prices, price)
    quantiles, mean = forecast(grid)  # [P, H, 3], [P, H]
    curve = curve_points(grid, quantiles, mean)
    verdict: PriceResponse = price_response(grid, np.array([p.mean for p in curve]))
    check = _launch_check(priced, curve, mid, horizon, currency)
    uncertainty = f"{_uncertainty(verdict, horizon)} {check}"
    return Pricing(
        currency, similar, low, mid, high, horizon, curve, verdict,
        _method(len(priced), currency, verdict, horizon), uncertainty.strip(),
    )  # fmt: skip


def curve_points(prices: np.ndarray, quantiles: np.ndarray, mean: np.ndarray) -> list[PricePoint]:
    """One point per price: units over the H weeks, the mean summed and each quantile summed
    over the weeks (the total's own P10/P90 is narrower unless the weeks move together)."""
    total_q = np.clip(quantiles.sum(1), 0.0, None)  # [P, 3]
    total_mean = np.clip(mean.sum(1), 0.0, None)  # [P]
    return [
        PricePoint(float(p), *(round(float(v), 3) for v in (*q, m)))
        for p, q, m in zip(prices, total_q, total_mean, strict=True)
    ]


def _launch_check(
    priced: list[Neighbour], curve: list[PricePoint], mid: float, h: int, currency: str | None
) -> str:
    """The model's level beside what the similar toys sold in their own first weeks: the one
    check of the curve the data allows for each request."""
    sold = [n.first_weeks_units for n in priced if n.first_weeks_units is not None]
    sold = [u for u in sold if not np.isnan(u)]
    if not sold:
        return "None of the similar toys launched inside the data, so the level goes unchecked."
    nearest = min(curve, key=lambda p: abs(np.log(p.price / mid)))
    observed = float(np.median(sold))
    text = (
        f"Check: the {len(sold)} similar toys that launched inside the data sold a median of "
        f"{observed:.1f} units in their first {h} weeks; the model expects {nearest.mean:.1f} at "
        f"{nearest.price:g}{f' {currency}' if currency else ''}."
    )
    ratio = (nearest.mean + 1.0) / (observed + 1.0)
    if not 1 / 3 <= ratio <= 3:
        text += " The model's level is off by more than 3x from theirs: trust neither blindly."
    return text


def _one_currency(neighbours: list[Neighbour]) -> tuple[str | None, list[Neighbour]]:
    """The similar toys' most common currency and the priced toys in it: prices in two
    currencies are never compared (a toy without a currency counts as the shop's one)."""
    priced = [n for n in neighbours if n.item.price is not None and n.item.price > 0]
    stated = Counter(n.item.currency for n in priced if n.item.currency)
    if not stated:
        return None, priced
    currency = stated.most_common(1)[0][0]
    return currency, [n for n in priced if n.item.currency in (currency, None)]


def _similar_price(n: Neighbour) -> SimilarPrice:
    def rounded(value: float | None) -> float | None:
        return None if value is None or np.isnan(value) else round(float(value), 3)

    return SimilarPrice(
        n.item.item_id, n.item.title, float(n.item.price or 0.0), n.item.currency,
        round(n.similarity, 4), rounded(n.mean_weekly_units), rounded(n.first_weeks_units),
    )  # fmt: skip


_VERDICTS = {
    "falls": "the forecast falls as the price rises",
    "rises": "the forecast rises with the price",
    "flat": f"the forecast moves less than {FLAT:.0%} across these prices: this model does "
    "not respond to price, so no curve is drawn",
    "non_monotone": "the forecast goes up and down across these prices, which reads as noise "
    "rather than a price effect, so no curve is drawn",
    "no_price_input": "this model was trained without prices as an input (none in the "
    "catalogue, or price is a prediction target), so it cannot say how price changes demand",
    "no_sales_task": "this model has no sales task, so there is no demand curve",
}


def _method(n: int, currency: str | None, verdict: str, horizon: int) -> str:
    unit = f" in {currency}" if currency else ""
    prices = f"prices{unit}" if currency else "prices (no currency stated)"
    text = (
        f"Suggested range: the 25th to 75th percentile of the {prices} of the {n} most similar "
        "toys by text, each weighted by its similarity."
    )
    if horizon:
        text += (
            f" Curve: the sales model's expected units in the first {horizon} weeks after "
            f"launch, for this toy at {N_CANDIDATES} prices{unit} spanning the similar toys' "
            "prices, all in one batch in which only the price input differs. The model learned "
            "how units differ between toys at different prices across the catalogue, not what "
            "happens when one toy's price changes; read it as an association, not an elasticity."
        )
    return f"{text} Verdict: {_VERDICTS[verdict]}."


def _uncertainty(verdict: str, horizon: int) -> str:
    if not horizon:
        return "The range shows how the similar toys' prices spread, not a confidence interval."
    return (
        f"The band is the sum of the weekly P10 and P90 over the {horizon} weeks: as wide as the "
        "total's own 80% interval only if the weeks move together, wider otherwise. It holds "
        "the model's uncertainty for a toy without sales history, not the uncertainty of the "
        "price effect itself, which the data cannot measure (no toy's price was varied at "
        "random)."
        + (" No curve is drawn for this model." if verdict not in ("falls", "rises") else "")
    )


def price_percentile(price: float | None, others: list[float | None]) -> float | None:
    """Where ``price`` falls among the ``others`` known (0-100), or None."""
    known = [p for p in others if p is not None]
    if price is None or not known:
        return None
    return round(100.0 * sum(p < price for p in known) / len(known), 1)
