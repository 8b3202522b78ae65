"""The shop's calendar: weeks, seasonal demand peaks and promotions.

Peaks: the weeks before Christmas (the year's biggest), Singles' Day (11 November), Black Friday
and Children's Day (1 June), with a lull after Christmas. Outdoor toys sell in summer.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from toyguide.data.taxonomy import FUNCTIONS

__all__ = ["EPOCH", "day_number", "demand_season", "function_season", "promo_plan", "week_days"]

EPOCH = dt.date(1970, 1, 1)
_DISCOUNTS = np.array([0.1, 0.15, 0.2, 0.25, 0.3])


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01 (the integer behind a Polars Date)."""
    return (day - EPOCH).days


def week_days(start: dt.date, n_weeks: int) -> np.ndarray:
    """Day numbers of the Mondays that start each simulated week."""
    return day_number(start) + 7 * np.arange(n_weeks)


def _black_friday(year: int) -> dt.date:
    nov1 = dt.date(year, 11, 1)
    thanksgiving = nov1 + dt.timedelta(days=(3 - nov1.weekday()) % 7 + 21)
    return thanksgiving + dt.timedelta(days=1)


def _daily_demand(days: np.ndarray) -> np.ndarray:
    """Relative shopping activity on each day (1 = an ordinary day)."""
    first = (EPOCH + dt.timedelta(days=int(days.min()))).year
    last = (EPOCH + dt.timedelta(days=int(days.max()))).year
    out = np.ones_like(days, dtype=np.float64)
    for year in range(first - 1, last + 2):
        xmas = day_number(dt.date(year, 12, 25))
        before = (days < xmas) & (days > xmas - 60)
        out += before * 2.2 * np.exp(-0.5 * ((days - (xmas - 7)) / 9.0) ** 2)
        out -= ((days >= xmas) & (days < xmas + 21)) * 0.3  # everyone has just got presents
        for center, width, amp in (
            (dt.date(year, 11, 11), 1.5, 1.5),  # Singles' Day
            (_black_friday(year), 1.5, 0.8),
            (dt.date(year, 6, 1), 3.0, 0.8),  # Children's Day
        ):
            out += amp * np.exp(-0.5 * ((days - day_number(center)) / width) ** 2)
    return out


def demand_season(weeks: np.ndarray) -> np.ndarray:
    """[week] activity multiplier, the mean of its days, scaled to average 1 over the period."""
    daily = _daily_demand(weeks[:, None] + np.arange(7)[None, :]).mean(axis=1)
    return daily / daily.mean()


def function_season(weeks: np.ndarray) -> np.ndarray:
    """[function, week] appeal multiplier: outdoor toys peak in summer, indoor games in winter."""
    mid = weeks + 3
    phase = 2 * np.pi * ((mid - day_number(dt.date(2000, 7, 1))) % 365.25) / 365.25
    out = np.ones((len(FUNCTIONS), len(weeks)))
    out[FUNCTIONS.index("outdoor_active")] = 1 + 0.6 * np.cos(phase)
    for f in ("games", "puzzles", "arts_crafts"):
        out[FUNCTIONS.index(f)] = 1 - 0.15 * np.cos(phase)
    return out


def promo_plan(
    weeks: np.ndarray, n_items: int, rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """[toy, week] promo flags and discounts: ``rate`` of toy-weeks, far more around sale days."""
    days = weeks[:, None] + np.arange(7)[None, :]
    sale_days = np.zeros(days.shape, dtype=bool)
    years = range(
        (EPOCH + dt.timedelta(days=int(days.min()))).year - 1,
        (EPOCH + dt.timedelta(days=int(days.max()))).year + 1,
    )
    for year in years:
        for day in (dt.date(year, 11, 11), _black_friday(year)):
            sale_days |= days == day_number(day)
    p = np.where(sale_days.any(axis=1), min(1.0, 8 * rate), rate)  # [W]
    promo = rng.random((n_items, len(weeks))) < p[None, :]
    discount = rng.choice(_DISCOUNTS, size=(n_items, len(weeks))) * promo
    return promo, discount
