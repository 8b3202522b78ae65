"""The weekly sales matrices of the sales task and the calendar of the weeks they forecast."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from toyguide.features import splits
from toyguide.features.vocab import Vocabulary

__all__ = [
    "CALENDAR_FEATURES", "HISTORY_FEATURES", "SUMMARY_FEATURES", "SalesData", "build_sales",
    "calendar_features", "summary_features",
]  # fmt: skip

HISTORY_FEATURES = ("log1p_units_over_scale", "relative_price", "promo", "in_stock", "in_history")
SUMMARY_FEATURES = (
    "log1p_level_13_over_scale", "log1p_level_26_over_scale", "log1p_level_52_over_scale",
    "nonzero_share_26", "weeks_since_sale", "weeks_on_sale", "store_trend_4_13",
    "store_trend_4_52",
)  # fmt: skip
"""What an item's K-week history window cannot show: its level over longer windows, how
intermittent it is, how long since it last sold and how long it has been on sale (the features
of Croston-type methods), and where the whole shop's weekly units are heading (the ramp to a
peak season that every item shares)."""
_LONG_WINDOWS = (13, 26, 52)  # the levels' windows, in weeks
_SELLING_WINDOW = 26  # the share of selling weeks
_STORE_WINDOWS = (13, 52)  # the shop's last 4 weeks against these
CALENDAR_FEATURES = (
    "week_sin", "week_cos", "christmas", "childrens_day", "singles_day", "black_friday",
)  # fmt: skip
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class SalesData:
    """Dense [N+1, W] weekly matrices over the store's week grid (week 0 = its first Monday).

    An item is in its history from its first sales week on; a missing row after that week is a
    week without sales (sources that omit zero weeks and sources that list them agree).
    """

    mondays: np.ndarray  # [W] day numbers since 1970
    units: np.ndarray  # [N+1, W] float32
    rel_price: np.ndarray  # [N+1, W] float32: price / reference price - 1, 0 where unknown
    promo: np.ndarray  # [N+1, W] float32
    in_stock: np.ndarray  # [N+1, W] float32: stock_on_hand > 0 (unknown stock counts as in stock)
    in_history: np.ndarray  # [N+1, W] float32
    first_week: np.ndarray  # [N+1] int64, W for items that never sell
    calendar: np.ndarray  # [W + H, Fc] float32, past the data end too
    weeks: splits.WeekSplit
    # running sums over weeks 0..w-1 ([N+1, W+1]) and the last sales week before w (-1: none)
    cum_units: np.ndarray  # float64
    cum_selling: np.ndarray  # int32: weeks with a sale
    last_sale_before: np.ndarray  # int32
    cum_store_units: np.ndarray  # [W+1] float64


def _dense(
    rows: np.ndarray, week: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    out = np.full(shape, np.nan, dtype=np.float64)
    out[rows, week] = values
    return out


def _reference_price(items: pl.DataFrame, vocab: Vocabulary, price: np.ndarray) -> np.ndarray:
    """[N+1] the catalogue's list price, or the median weekly price where it has none."""
    reference = np.full(len(vocab), np.nan)
    reference[vocab.transform(items["item_id"])] = items["price"].cast(pl.Float64).to_numpy()
    reference[0] = np.nan  # unknown items may have been written to row 0
    need = np.isnan(reference) & ~np.isnan(price).all(axis=1)
    reference[need] = np.nanmedian(price[need], axis=1)
    return reference


def build_sales(
    sales: pl.DataFrame, items: pl.DataFrame, vocab: Vocabulary, horizon: int
) -> SalesData:
    rows, day = vocab.transform(sales["item_id"]), sales["week"].cast(pl.Int32).to_numpy()
    keep = rows > 0
    first_day = int(day.min())
    n_weeks = (int(day.max()) - first_day) // 7 + 1
    week_split = splits.week_split(n_weeks, horizon)
    rows, week, shape = rows[keep], (day[keep] - first_day) // 7, (len(vocab), n_weeks)
    column = {
        c: sales[c].cast(pl.Float64).to_numpy()[keep]
        for c in ("units", "price", "promo", "stock_on_hand")
    }
    first_week = np.full(len(vocab), n_weeks, dtype=np.int64)
    np.minimum.at(first_week, rows, week)
    in_history = np.arange(n_weeks)[None, :] >= first_week[:, None]
    price = _dense(rows, week, column["price"], shape)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero or unknown reference
        ratio = price / _reference_price(items, vocab, price)[:, None]
    rel_price = np.nan_to_num(ratio - 1.0, nan=0.0, posinf=0.0)
    stock = _dense(rows, week, column["stock_on_hand"], shape)
    mondays = first_day + 7 * np.arange(n_weeks + horizon)
    units = np.nan_to_num(_dense(rows, week, column["units"], shape)).astype(np.float32)
    return SalesData(
        mondays=mondays[:n_weeks],
        units=units,
        rel_price=(rel_price * in_history).astype(np.float32),
        promo=np.nan_to_num(_dense(rows, week, column["promo"], shape)).astype(np.float32),
        in_stock=np.where(np.isnan(stock), in_history, stock > 0).astype(np.float32),
        in_history=in_history.astype(np.float32),
        first_week=first_week,
        calendar=calendar_features(mondays),
        weeks=week_split,
        **_running_sums(units),
    )


def _running_sums(units: np.ndarray) -> dict[str, np.ndarray]:
    def cumulative(x: np.ndarray) -> np.ndarray:  # [.., W] → [.., W+1], 0 first
        zero = np.zeros((*x.shape[:-1], 1), dtype=x.dtype)
        return np.concatenate([zero, np.cumsum(x, axis=-1, dtype=x.dtype)], axis=-1)

    weeks = np.arange(units.shape[1], dtype=np.int32)
    last = np.maximum.accumulate(np.where(units > 0, weeks[None, :], np.int32(-1)), axis=1)
    return {
        "cum_units": cumulative(units.astype(np.float64)),
        "cum_selling": cumulative((units > 0).astype(np.int32)),
        "last_sale_before": np.concatenate([np.full((len(units), 1), -1, np.int32), last], 1),
        "cum_store_units": cumulative(units.sum(axis=0, dtype=np.float64)),
    }


def summary_features(
    sales: SalesData, rows: np.ndarray, origins: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """[B, len(SUMMARY_FEATURES)] float32 of (item row, origin week) pairs from the weeks
    before each origin only; ``scale`` [B] is the level the history window is divided by.

    Levels are mean weekly units over the weeks in the item's history, over ``scale``, as
    log1p; weeks since the last sale and weeks on sale are log1p(weeks) / log1p(52), capped at
    1 (an item that never sold counts as 52 weeks without a sale); the shop trends are
    log(mean weekly units of the shop's last 4 weeks / last 13 or 52). Row 0 (an unknown or
    new toy) has no history: levels 0, never sold, and the shop's trends.
    """
    o, first = np.clip(origins, 0, sales.weeks.n_weeks), sales.first_week[rows]

    def in_window(window: int) -> tuple[np.ndarray, np.ndarray]:
        """The window's first week and its weeks in the item's history (from its first sale)."""
        lo = np.maximum(o - window, 0)
        return lo, np.maximum(o - np.maximum(lo, first), 0)

    columns = []
    for window in _LONG_WINDOWS:
        lo, known = in_window(window)
        total = sales.cum_units[rows, o] - sales.cum_units[rows, lo]
        columns.append(np.log1p(total / np.maximum(known, 1) / scale))
    lo, known = in_window(_SELLING_WINDOW)
    selling = sales.cum_selling[rows, o] - sales.cum_selling[rows, lo]
    columns.append(selling / np.maximum(known, 1))
    last = sales.last_sale_before[rows, o]
    since = np.where(last >= 0, o - 1 - last, 52)
    columns += [_log_weeks(since), _log_weeks(o - first)]  # before the launch: 0
    columns += [_store_trend(sales, o, window) for window in _STORE_WINDOWS]
    return np.stack(columns, axis=-1).astype(np.float32)


def _log_weeks(weeks: np.ndarray) -> np.ndarray:
    return np.minimum(np.log1p(np.maximum(weeks, 0)) / np.log1p(52), 1.0)


def _store_trend(sales: SalesData, origins: np.ndarray, window: int) -> np.ndarray:
    """log of the shop's mean weekly units over the last 4 weeks / over the last ``window``."""
    cum = sales.cum_store_units

    def mean_over(weeks: int) -> np.ndarray:
        lo = np.maximum(origins - weeks, 0)
        return (cum[origins] - cum[lo]) / np.maximum(origins - lo, 1)

    with np.errstate(divide="ignore", invalid="ignore"):
        trend = np.log(mean_over(4) / mean_over(window))
    return np.nan_to_num(trend, nan=0.0, posinf=0.0, neginf=0.0)


def _black_friday(year: int) -> dt.date:
    nov1 = dt.date(year, 11, 1)
    return nov1 + dt.timedelta(days=(3 - nov1.weekday()) % 7 + 22)  # the day after Thanksgiving


def calendar_features(mondays: np.ndarray) -> np.ndarray:
    """[W, 6] features of the weeks starting on ``mondays`` (day numbers): sin/cos of the time
    of year at mid-week, and flags for the Christmas shopping weeks (the week of 25 December
    and the three before it), Children's Day (1 June), Singles' Day (11 November) and Black
    Friday (the weeks that contain the day)."""
    mid = (mondays + 3).astype("datetime64[D]")
    years = mid.astype("datetime64[Y]")
    day_of_year = (mid - years.astype("datetime64[D]")).astype(np.int64)
    phase = 2 * np.pi * day_of_year / 365.25
    years = years.astype(np.int64) + 1970
    flags = np.zeros((len(mondays), 4))
    for year in range(int(years.min()) - 1, int(years.max()) + 2):
        days = [
            dt.date(year, 12, 25),
            dt.date(year, 6, 1),
            dt.date(year, 11, 11),
            _black_friday(year),
        ]
        for j, day in enumerate(days):
            d = (day - _EPOCH).days
            lo = d - 21 if j == 0 else d  # 22 days always touch exactly 4 weeks
            flags[:, j] += (mondays <= d) & (mondays + 6 >= lo)
    return np.column_stack([np.sin(phase), np.cos(phase), np.minimum(flags, 1)]).astype(np.float32)
