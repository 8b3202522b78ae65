"""Reorder point and order quantity for one toy from its weekly P10/P50/P90 demand forecast.

Policy: periodic review, order up to S. Every ``review_weeks`` the merchant looks at the
inventory position (stock on hand plus stock on order) and orders up to S. An order placed
now arrives after ``lead_time_weeks``, and the next chance to order comes ``review_weeks``
later, so this order must cover the *protection period* of lead time + review period.

Method, step by step:

1. Each week's demand is fitted as a normal distribution with mean P50 and
   σ = (P90 − P10) / (2 · z₀.₉), z₀.₉ = 1.2816 — the σ of a normal whose 10th and 90th
   percentiles are P10 and P90.
2. Weeks are taken as independent: over a span of weeks the mean is Σ P50 and σ = √(Σ σ²).
3. With z = Φ⁻¹(service_level) (``statistics.NormalDist`` from the stdlib):
   order-up-to level S = mean + z·σ over the protection period; safety stock = S − mean;
   reorder point = mean + z·σ over the lead time alone (0 when the lead time is 0);
   order quantity = max(0, S − stock on hand − on order).
4. Weeks of cover = stock on hand / mean weekly P50 over the protection period
   (``None`` when that demand is 0).

Service level here is the *cycle* service level: the probability that demand over the
protection period does not exceed S (no stock-out in a cycle), not the fill rate.

Limitations, stated so nobody reads more into the numbers than is there:

* The normal is symmetric and centred on P50: it ignores skew (P90 − P50 ≠ P50 − P10), which
  slow-moving toys usually have, and puts some probability on negative demand. Demand cannot
  be negative, so for an item with P10 near 0 the true upper tail is heavier than the normal
  and S is too low; for such items a Poisson or negative-binomial fit would be better.
* Treating weeks as independent understates σ when forecast errors are positively correlated
  across weeks (a whole season running hot), which is common; S is then too low. Fully
  correlated weeks would give σ = Σ σ_w instead of √(Σ σ²_w).
* Only the first lead time + review weeks of the forecast are used; later weeks are validated
  but do not enter the plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from statistics import NormalDist

import numpy as np

from toyguide.errors import ConfigError
from toyguide.guide.views import InventoryPlan

__all__ = [
    "MAX_SERVICE_LEVEL",
    "MIN_SERVICE_LEVEL",
    "Z_P90",
    "PlanArrays",
    "plan_inventory",
    "plan_many",
    "week_sigma",
]

MIN_SERVICE_LEVEL = 0.5  # exclusive: at 0.5 there is no safety stock to plan
MAX_SERVICE_LEVEL = 0.9999  # inclusive: beyond it z grows without bound on forecast tails
Z_P90 = NormalDist().inv_cdf(0.9)  # 1.2816; P90 − P10 spans 2·Z_P90 standard deviations


def week_sigma(weekly_p10: np.ndarray, weekly_p90: np.ndarray) -> np.ndarray:
    """σ of each week's fitted normal: (P90 − P10) / (2 · z₀.₉)."""
    return (np.asarray(weekly_p90, dtype=float) - np.asarray(weekly_p10, dtype=float)) / (
        2.0 * Z_P90
    )


def plan_inventory(
    item_id: str,
    weekly_p10: np.ndarray,
    weekly_p50: np.ndarray,
    weekly_p90: np.ndarray,
    *,
    lead_time_weeks: int,
    service_level: float,
    stock_on_hand: float,
    on_order: float = 0.0,
    review_weeks: int = 1,
) -> InventoryPlan:
    """Plan one toy's stock under a periodic-review order-up-to policy (see the module docstring).

    ``weekly_p10/p50/p90`` are per-week demand quantiles starting with the coming week, at least
    ``lead_time_weeks + review_weeks`` long. Every bad input raises ``ConfigError`` naming the
    field and what is allowed.
    """
    if not isinstance(item_id, str) or not item_id:
        raise ConfigError(f"item_id must be a non-empty string; got {item_id!r}")
    lead, review, level = _settings(lead_time_weeks, review_weeks, service_level)
    stock = _non_negative("stock_on_hand", stock_on_hand)
    ordered = _non_negative("on_order", on_order)
    p10, p50, p90 = _quantiles(weekly_p10, weekly_p50, weekly_p90, needed=lead + review, ndim=1)
    plan = _plan(p10[None], p50[None], p90[None], lead, review, level,
                 np.array([stock]), np.array([ordered]))  # fmt: skip
    cover = float(plan.weeks_of_cover[0])
    return InventoryPlan(
        item_id=item_id,
        lead_time_weeks=lead,
        review_weeks=review,
        service_level=level,
        stock_on_hand=stock,
        demand_over_protection=float(plan.demand_over_protection[0]),
        safety_stock=float(plan.safety_stock[0]),
        reorder_point=float(plan.reorder_point[0]),
        order_quantity=float(plan.order_quantity[0]),
        weeks_of_cover=None if math.isnan(cover) else cover,
    )


@dataclass(frozen=True)
class PlanArrays:
    """``plan_inventory``'s numbers for many toys at once, each an ``[N]`` array."""

    lead_time_demand: np.ndarray  # expected units over the lead time alone (Σ P50)
    demand_over_protection: np.ndarray  # expected units over lead time + review
    safety_stock: np.ndarray
    reorder_point: np.ndarray
    order_up_to: np.ndarray
    order_quantity: np.ndarray  # max(0, S − stock − on order); NaN where stock is unknown
    weeks_of_cover: np.ndarray  # stock / mean weekly P50; NaN when no demand or stock unknown


def plan_many(
    weekly_p10: np.ndarray,
    weekly_p50: np.ndarray,
    weekly_p90: np.ndarray,
    *,
    lead_time_weeks: int,
    service_level: float,
    stock_on_hand: np.ndarray,
    on_order: np.ndarray,
    review_weeks: int = 1,
) -> PlanArrays:
    """``plan_inventory`` for N toys in one go: quantiles ``[N, weeks]``, stock and on order
    ``[N]``. Unknown stock is NaN and stays NaN in what depends on it (order quantity, weeks
    of cover); the settings and quantiles are checked as ``plan_inventory`` checks them."""
    lead, review, level = _settings(lead_time_weeks, review_weeks, service_level)
    p10, p50, p90 = _quantiles(weekly_p10, weekly_p50, weekly_p90, needed=lead + review, ndim=2)
    stock = np.asarray(stock_on_hand, dtype=float)
    ordered = np.asarray(on_order, dtype=float)
    for name, values in (("stock_on_hand", stock), ("on_order", ordered)):
        if values.shape != (len(p50),):
            raise ConfigError(
                f"{name} must hold one value per toy ({len(p50)}); got {values.shape}"
            )
        if (values < 0).any() or np.isinf(values).any() or (name == "on_order" and
                                                             np.isnan(values).any()):  # fmt: skip
            raise ConfigError(f"{name} must be finite and ≥ 0 units (stock may be NaN: unknown)")
    return _plan(p10, p50, p90, lead, review, level, stock, ordered)


def _plan(
    p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, lead: int, review: int, level: float,
    stock: np.ndarray, ordered: np.ndarray,
) -> PlanArrays:  # fmt: skip
    """The method of the module docstring on checked ``[N, weeks]`` quantiles."""
    sigma = week_sigma(p10, p90)
    z = NormalDist().inv_cdf(level)
    protection = lead + review
    mean_p = p50[:, :protection].sum(1)
    up_to = mean_p + z * np.sqrt(np.square(sigma[:, :protection]).sum(1))
    lead_mean = p50[:, :lead].sum(1)
    reorder = lead_mean + z * np.sqrt(np.square(sigma[:, :lead]).sum(1))
    weekly_mean = mean_p / protection
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(weekly_mean > 0, stock / weekly_mean, np.nan)
    return PlanArrays(
        lead_time_demand=lead_mean,
        demand_over_protection=mean_p,
        safety_stock=up_to - mean_p,
        reorder_point=reorder,
        order_up_to=up_to,
        order_quantity=np.maximum(0.0, up_to - stock - ordered),  # NaN stock stays NaN
        weeks_of_cover=cover,
    )


def _settings(
    lead_time_weeks: object, review_weeks: object, service_level: object
) -> tuple[int, int, float]:
    lead = _whole_weeks("lead_time_weeks", lead_time_weeks, minimum=0)
    review = _whole_weeks("review_weeks", review_weeks, minimum=1)
    level = _number("service_level", service_level)
    if not MIN_SERVICE_LEVEL < level <= MAX_SERVICE_LEVEL:
        raise ConfigError(
            f"service_level must be in ({MIN_SERVICE_LEVEL}, {MAX_SERVICE_LEVEL}]; got {level}"
        )
    return lead, review, level


def _whole_weeks(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ConfigError(f"{name} must be a whole number of weeks ≥ {minimum}; got {value!r}")
    return int(value)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number; got {value!r}")
    return float(value)


def _non_negative(name: str, value: object) -> float:
    number = _number(name, value)
    if number < 0:
        raise ConfigError(f"{name} must be ≥ 0 units; got {number}")
    return number


def _quantiles(
    p10: object, p50: object, p90: object, *, needed: int, ndim: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three quantile arrays, checked: ``ndim`` 1 (weeks) or 2 (toys × weeks)."""
    shape = "a 1-D array, one entry per week" if ndim == 1 else "a 2-D array, toys × weeks"
    arrays = {}
    for name, values in (("weekly_p10", p10), ("weekly_p50", p50), ("weekly_p90", p90)):
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{name} must be {shape} of numbers; {err}") from None
        if array.ndim != ndim:
            raise ConfigError(f"{name} must be {shape}; got {array.shape}")
        if array.shape[-1] < needed:
            raise ConfigError(
                f"{name} has {array.shape[-1]} weeks; lead_time_weeks + review_weeks = {needed} "
                "weeks of forecast are needed"
            )
        bad = np.argwhere(~np.isfinite(array) | (array < 0))
        if bad.size:
            raise ConfigError(
                f"{name} must be finite and ≥ 0 (no NaN); {_where(bad[0])} is "
                f"{array[tuple(bad[0])]}"
            )
        arrays[name] = array
    low, mid, high = arrays.values()
    if not low.shape == mid.shape == high.shape:
        raise ConfigError(
            "weekly_p10, weekly_p50 and weekly_p90 must have the same number of weeks; got "
            f"{low.shape}, {mid.shape}, {high.shape}"
        )
    for name, lower, upper in (("weekly_p50", low, mid), ("weekly_p90", mid, high)):
        crossed = np.argwhere(lower > upper)
        if crossed.size:
            at = tuple(crossed[0])
            raise ConfigError(
                f"quantiles cross in {_where(crossed[0])}: need P10 ≤ P50 ≤ P90, but {name} is "
                f"{upper[at]} < {lower[at]}; sort each week's quantiles first"
            )
    return low, mid, high


def _where(index: np.ndarray) -> str:
    """``week 3`` for a 1-D position, ``toy row 12, week 3`` for a 2-D one."""
    return f"week {index[-1]}" if len(index) == 1 else f"toy row {index[0]}, week {index[-1]}"
