"""The rolling-origin sales backtest every row of ``bench/forecast.py`` is scored under.

The panel is the store's weekly ``sales`` table as a dense item × week matrix, zero-filled from
each item's first sale on (a missing week after it is a week without sales). A final week that
the data does not cover to its end is dropped (UCI ends on a Friday at 12:50).

An **origin** o means weeks ..o−1 are known and weeks o..o+H−1 are forecast. The backtest
cells are every (item, origin, horizon h) with

* the item's first sale before the origin (at least one week of history: the statistical
  baselines cannot forecast a series that has none), and
* a target week o+h−1 inside the panel (origins near the end have fewer horizons).

An item's **history** at an origin is the number of weeks from its first sale to o−1,
``o − first_week``; **new products** are the cells with history < 4 weeks.

A forecast is a point forecast per cell (what WAPE, MASE and bias read: the mean where a model
gives one), optionally an 80% interval (P10, P90) and optionally P10/P50/P90 (pinball).
Forecasts are clipped at 0 before scoring (units are never negative). Metrics:

* WAPE = Σ|y − ŷ| / Σy, bias = Σŷ / Σy − 1 (pooled over cells), also WAPE per horizon.
* MASE: |y − ŷ| over the in-sample one-step naive MAE of the item's history up to o−1
  (from its first sale), averaged over cells; cells whose scale is 0 or undefined (one week of
  history, or a constant history) are left out and counted in ``mase_excluded_share``.
* pinball: mean over cells and the three quantiles (rows with quantiles only).
* coverage_80: share of cells with P10 ≤ y ≤ P90, over the cells that have an interval
  (``interval_share`` says how many); ``coverage_80_nonzero`` the same over weeks with sales.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Backtest", "Forecast", "Panel", "load_panel", "score"]

NEW_PRODUCT_WEEKS = 4
QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class Panel:
    """Weekly units per item over complete weeks (week 0 = the store's first Monday)."""

    item_ids: list[str]
    units: np.ndarray  # [N, W] float64, 0 before the first sale and in weeks without sales
    first_week: np.ndarray  # [N] int64
    mondays: list[dt.date]  # [W]
    dropped_partial_week: str | None  # the Monday of a dropped last week, if any


def load_panel(store: Path) -> Panel:
    """The store's weekly sales as a dense panel; a last week the events do not reach the end
    of (its Sunday) is dropped as partial."""
    import duckdb

    with duckdb.connect(str(store), read_only=True) as con:
        rows = con.execute("SELECT item_id, week, units FROM sales").fetchnumpy()
        last_ts = con.execute("SELECT max(ts) FROM events").fetchone()[0]
    weeks = np.array(rows["week"], dtype="datetime64[D]")
    first_monday, last_monday = weeks.min(), weeks.max()
    week = ((weeks - first_monday) // np.timedelta64(7, "D")).astype(np.int64)
    n_weeks = int(week.max()) + 1
    items, item_row = np.unique(np.asarray(rows["item_id"], dtype=object), return_inverse=True)
    units = np.zeros((len(items), n_weeks))
    np.add.at(units, (item_row, week), np.asarray(rows["units"], dtype=np.float64))
    dropped = None
    last_sunday = (last_monday + np.timedelta64(6, "D")).astype(object)
    if last_ts is not None and last_ts.date() < last_sunday:
        dropped = str(last_monday)
        units = units[:, :-1]
    keep = units.sum(axis=1) > 0  # items whose only sales were in the dropped week
    units = units[keep]
    mondays = [(first_monday + np.timedelta64(7 * w, "D")).astype(object) for w in
               range(units.shape[1])]  # fmt: skip
    return Panel(
        item_ids=[str(i) for i in items[keep]],
        units=units,
        first_week=(units > 0).argmax(axis=1).astype(np.int64),
        mondays=mondays,
        dropped_partial_week=dropped,
    )


@dataclass(frozen=True)
class Backtest:
    """The scored cells, flat and aligned: every forecast is an array over them."""

    origins: np.ndarray  # the origin weeks
    horizon: int
    item: np.ndarray  # [C] panel row
    origin: np.ndarray  # [C]
    h: np.ndarray  # [C] 1..horizon
    actual: np.ndarray  # [C]
    history: np.ndarray  # [C] weeks since the first sale before the origin (>= 1)
    mase_scale: np.ndarray  # [C] in-sample one-step naive MAE; NaN where undefined or 0

    @classmethod
    def of(cls, panel: Panel, n_origins: int, horizon: int) -> Backtest:
        n_weeks = panel.units.shape[1]
        origins = np.arange(n_weeks - n_origins, n_weeks)
        parts = []
        for o in origins:
            rows = np.flatnonzero(panel.first_week < o)
            for h in range(1, horizon + 1):
                if o + h - 1 < n_weeks:
                    parts.append((rows, np.full(len(rows), o), np.full(len(rows), h)))
        item, origin, h = (np.concatenate(p) for p in zip(*parts, strict=True))
        return cls(
            origins=origins,
            horizon=horizon,
            item=item,
            origin=origin,
            h=h,
            actual=panel.units[item, origin + h - 1],
            history=origin - panel.first_week[item],
            mase_scale=_naive_scales(panel, origins)[item, origin - origins[0]],
        )

    def pairs(self, origin: int) -> np.ndarray:
        """Panel rows forecast at ``origin`` (items with a sale before it)."""
        return np.unique(self.item[self.origin == origin])

    def place(self, rows: np.ndarray, origin: int, values: np.ndarray, out: np.ndarray) -> None:
        """Write ``values`` [len(rows), H, ...] of one origin into ``out`` [C, ...] cell-wise."""
        cells = np.flatnonzero(self.origin == origin)
        at = np.searchsorted(rows, self.item[cells])
        if not np.array_equal(rows[np.minimum(at, len(rows) - 1)], self.item[cells]):
            raise ValueError(f"origin {origin}: the forecast lacks some items of the backtest")
        out[cells] = values[at, self.h[cells] - 1]


def _naive_scales(panel: Panel, origins: np.ndarray) -> np.ndarray:
    """[N, len(origins)] mean |y_t − y_{t−1}| over the weeks from the first sale to o−1."""
    diffs = np.abs(np.diff(panel.units, axis=1))  # [N, W−1]; diff t pairs weeks t, t+1
    week = np.arange(1, panel.units.shape[1])
    valid = week[None, :] > panel.first_week[:, None]  # both weeks on or after the first sale
    cum = np.concatenate([np.zeros((len(diffs), 1)), np.cumsum(diffs * valid, axis=1)], axis=1)
    cnt = np.concatenate([np.zeros((len(diffs), 1)), np.cumsum(valid, axis=1)], axis=1)
    # differences of weeks < o: indices 0..o−2, i.e. cum[:, o−1]
    total, count = cum[:, origins - 1], cnt[:, origins - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = total / count
    return np.where((count > 0) & (scale > 0), scale, np.nan)


@dataclass
class Forecast:
    """One row's forecasts over the backtest cells; NaN where a model gave no interval."""

    point: np.ndarray  # [C]
    interval: np.ndarray | None = None  # [C, 2] P10, P90 (NaN rows: no interval)
    quantiles: np.ndarray | None = None  # [C, 3] P10, P50, P90
    median_point: np.ndarray | None = None  # [C] P50, scored too when the point is a mean


def score(bt: Backtest, f: Forecast) -> dict:
    """Overall, per-horizon and new-product metrics of one row."""
    new = bt.history < NEW_PRODUCT_WEEKS
    out = _metrics(bt, f, np.ones(len(bt.actual), dtype=bool))
    out["new_products"] = _metrics(bt, f, new)
    out["established"] = _metrics(bt, f, ~new)
    return out


def _metrics(bt: Backtest, f: Forecast, sel: np.ndarray) -> dict:
    y = bt.actual[sel]
    point = np.maximum(f.point[sel], 0.0)
    if not np.isfinite(point).all():
        raise ValueError("point forecasts must be finite on every backtest cell")
    out = {"n_cells": int(sel.sum()), "actual_units": float(y.sum())}
    out |= _point_metrics(y, point, bt.mase_scale[sel])
    out["wape_by_horizon"] = {
        str(h): _wape(y[bt.h[sel] == h], point[bt.h[sel] == h]) for h in range(1, bt.horizon + 1)
    }
    if f.median_point is not None:
        p50 = np.maximum(f.median_point[sel], 0.0)
        out["wape_p50"], out["bias_p50"] = _wape(y, p50), _bias(y, p50)
    out |= _interval_metrics(y, None if f.interval is None else f.interval[sel])
    q = None if f.quantiles is None else np.maximum(f.quantiles[sel], 0.0)
    out["pinball"] = _pinball(y, q) if q is not None else None
    return out


def _point_metrics(y: np.ndarray, point: np.ndarray, scale: np.ndarray) -> dict:
    ok = np.isfinite(scale)
    mase = float(np.mean(np.abs(y - point)[ok] / scale[ok])) if ok.any() else None
    return {
        "wape": _wape(y, point),
        "mase": mase,
        "mase_excluded_share": float(1 - ok.mean()) if len(ok) else None,
        "bias": _bias(y, point),
    }


def _interval_metrics(y: np.ndarray, interval: np.ndarray | None) -> dict:
    if interval is None:
        return {"coverage_80": None, "coverage_80_nonzero": None, "interval_share": 0.0}
    has = np.isfinite(interval).all(axis=1)
    lo, hi = np.maximum(interval[:, 0], 0.0), np.maximum(interval[:, 1], 0.0)
    inside = (lo <= y) & (y <= hi)
    nonzero = has & (y > 0)
    return {
        "coverage_80": float(inside[has].mean()) if has.any() else None,
        "coverage_80_nonzero": float(inside[nonzero].mean()) if nonzero.any() else None,
        "interval_share": float(has.mean()) if len(has) else 0.0,
    }


def _wape(y: np.ndarray, p: np.ndarray) -> float | None:
    return float(np.abs(y - p).sum() / y.sum()) if y.sum() > 0 else None


def _bias(y: np.ndarray, p: np.ndarray) -> float | None:
    return float(p.sum() / y.sum() - 1) if y.sum() > 0 else None


def _pinball(y: np.ndarray, q: np.ndarray) -> float:
    levels = np.asarray(QUANTILES)
    diff = y[:, None] - q
    return float(np.maximum(levels * diff, (levels - 1) * diff).mean())
