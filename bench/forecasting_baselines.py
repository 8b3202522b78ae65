"""Baseline rows of ``bench/forecast.py``: statsforecast models refitted at every origin and a
global LightGBM on lags, each on the zero-filled weekly series from the item's first sale.

Point forecasts are the models' means. Intervals (80%, i.e. P10–P90):

* ``naive`` and ``autoets``: statsforecast's own ``level=[80]`` (Gaussian); ETS is
  non-seasonal (``season_length=1``: one year of data holds no second season) and series too
  short for ETS get statsforecast's ``fallback_model`` (the naive forecast and interval);
* ``moving_average`` (the mean of the last 4 weeks), ``croston_optimized``, ``tsb``, ``adida``
  and ``imapa``: conformal intervals (``ConformalIntervals(h=4, n_windows=2)``, statsforecast)
  where the series has the 9 weeks they need, none on shorter series (counted in
  ``interval_share``); a series shorter than the window averages the weeks it has.
* ``lightgbm``: a global direct multi-horizon model (the horizon is a feature) with a Tweedie
  mean and P10/P50/P90 from quantile objectives, on units divided by the item's recent level,
  trained on the half year of origins before the first backtest origin (by default once, like
  toyguide; ``refit_every`` refits it every so many origins) and fed each origin's history.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from forecasting_protocol import Backtest, Forecast, Panel

__all__ = ["STATS_ROWS", "lightgbm_row", "stats_rows"]

STATS_ROWS = ("naive", "moving_average", "autoets", "croston_optimized", "tsb", "adida", "imapa")
CONFORMAL_MIN_WEEKS = 9  # ConformalIntervals(h=4, n_windows=2) needs n_windows·h + 1 weeks
TSB_ALPHA = (0.1, 0.1)  # alpha_d, alpha_p: fixed textbook values, not tuned on the backtest


def _frame(panel: Panel, rows: np.ndarray, origin: int):
    """Long frame (unique_id, ds, y) of ``rows`` over their weeks first_week..origin−1."""
    import pandas as pd

    first = panel.first_week[rows]
    lengths = origin - first
    row = np.repeat(rows, lengths)
    week = np.concatenate([np.arange(f, origin) for f in first])
    mondays = np.array(panel.mondays, dtype="datetime64[ns]")
    return pd.DataFrame({"unique_id": row, "ds": mondays[week], "y": panel.units[row, week]})


def _forecast(models: list, df, h: int, level: bool, n_jobs: int, fallback=None):
    from statsforecast import StatsForecast

    sf = StatsForecast(models=models, freq="W-MON", n_jobs=n_jobs, fallback_model=fallback)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = sf.forecast(df=df, h=h, level=[80]) if level else sf.forecast(df=df, h=h)
    return out.sort_values(["unique_id", "ds"])


def _grid(out, column: str, n: int, h: int) -> np.ndarray:
    return out[column].to_numpy(dtype=np.float64).reshape(n, h)


def _one_origin(panel: Panel, bt: Backtest, origin: int, n_jobs: int) -> dict[str, np.ndarray]:
    """{row: [n, H, 3] (point, lo, hi)} for the items forecast at ``origin``."""
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        TSB,
        AutoETS,
        CrostonOptimized,
        Naive,
        WindowAverage,
    )
    from statsforecast.utils import ConformalIntervals

    rows, h = bt.pairs(origin), bt.horizon
    df = _frame(panel, rows, origin)
    n = len(rows)
    out: dict[str, np.ndarray] = {name: np.full((n, h, 3), np.nan) for name in STATS_ROWS}
    for name, model, fallback in (("naive", Naive(), None), ("autoets", AutoETS(), Naive())):
        f = _forecast([model], df, h, level=True, n_jobs=n_jobs, fallback=fallback)
        alias = type(model).__name__
        out[name] = np.stack([_grid(f, alias + s, n, h) for s in ("", "-lo-80", "-hi-80")], -1)
    conformal = ConformalIntervals(h=h, n_windows=2)

    def intermittent(ci):
        return {
            "moving_average": WindowAverage(4, prediction_intervals=ci),
            "croston_optimized": CrostonOptimized(prediction_intervals=ci),
            "tsb": TSB(*TSB_ALPHA, prediction_intervals=ci),
            "adida": ADIDA(prediction_intervals=ci),
            "imapa": IMAPA(prediction_intervals=ci),
        }

    long = (origin - panel.first_week[rows]) >= CONFORMAL_MIN_WEEKS
    for subset, level in ((long, True), (~long, False)):
        if not subset.any():
            continue
        models = intermittent(conformal if level else None)
        sub = df[df["unique_id"].isin(rows[subset])]
        f = _forecast(list(models.values()), sub, h, level=level, n_jobs=n_jobs)
        for name, model in models.items():
            alias = model.alias
            point = _grid(f, alias, int(subset.sum()), h)
            if name == "moving_average":  # fewer weeks than the window: their mean
                point = np.where(np.isnan(point), _mean_to_date(panel, rows[subset], origin), point)
            out[name][subset, :, 0] = point
            if level:
                out[name][subset, :, 1] = _grid(f, alias + "-lo-80", int(subset.sum()), h)
                out[name][subset, :, 2] = _grid(f, alias + "-hi-80", int(subset.sum()), h)
    return out


def _mean_to_date(panel: Panel, rows: np.ndarray, origin: int) -> np.ndarray:
    weeks = origin - panel.first_week[rows]
    return (panel.units[rows, :origin].sum(axis=1) / weeks)[:, None]


def stats_rows(
    panel: Panel, bt: Backtest, threads: int
) -> tuple[dict[str, Forecast], dict[str, float]]:
    """Every statsforecast row over the backtest, refitted at each origin; and the seconds
    spent (fit + forecast, all rows together)."""
    n_cells = len(bt.actual)
    grids = {name: np.full((n_cells, 3), np.nan) for name in STATS_ROWS}
    start = time.perf_counter()
    for origin in bt.origins:
        rows = bt.pairs(origin)
        for name, values in _one_origin(panel, bt, int(origin), threads).items():
            bt.place(rows, int(origin), values, grids[name])
    seconds = time.perf_counter() - start
    forecasts = {}
    for name, g in grids.items():
        quantiles = None
        if name in ("naive", "autoets"):  # Gaussian intervals: P50 = the mean
            quantiles = np.stack([g[:, 1], g[:, 0], g[:, 2]], axis=1)
        forecasts[name] = Forecast(point=g[:, 0], interval=g[:, 1:], quantiles=quantiles)
    return forecasts, {"statsforecast_all_rows": round(seconds, 2)}


# -- LightGBM ---------------------------------------------------------------------------------
LAGS = 8
TRAIN_ORIGINS = 26  # the model learns from the origins of the half year before its refit
LGBM_PARAMS = {
    "n_estimators": 200,
    "learning_rate": 0.08,
    "num_leaves": 31,
    "max_bin": 63,
    "min_child_samples": 100,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.9,
    "verbose": -1,
}


def _features(panel: Panel, rows: np.ndarray, origin: int) -> tuple[np.ndarray, np.ndarray]:
    """[n, F] features of ``rows`` at ``origin`` (weeks < origin only) and their scale [n]:
    lags and windows in units / scale, the scale's log, weeks of history, weeks since a sale."""
    units = panel.units[rows, :origin]
    first = panel.first_week[rows]
    weeks = origin - first
    known = np.arange(origin)[None, :] >= first[:, None]
    lags = np.full((len(rows), LAGS), np.nan)
    for k in range(1, LAGS + 1):
        if origin - k >= 0:
            lags[:, k - 1] = np.where(known[:, origin - k], units[:, origin - k], np.nan)
    scale = np.nanmean(lags, axis=1) + 1.0
    windows = [_window_mean(units, known, origin, w) for w in (4, 13, 26)]
    nonzero_share = np.nanmean(np.where(np.isnan(lags), np.nan, lags > 0), axis=1)
    last_sale = np.where(units > 0, np.arange(origin)[None, :], -1).max(axis=1)
    feats = np.column_stack([
        lags / scale[:, None], *[w / scale for w in windows], np.log(scale), nonzero_share,
        np.minimum(weeks, 52), origin - 1 - last_sale, units.sum(axis=1) / weeks / scale,
    ])  # fmt: skip
    return feats, scale


def _window_mean(units: np.ndarray, known: np.ndarray, origin: int, w: int) -> np.ndarray:
    lo = max(0, origin - w)
    n = known[:, lo:origin].sum(axis=1)
    total = (units[:, lo:origin] * known[:, lo:origin]).sum(axis=1)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _design(panel: Panel, origin: int, horizon: int, n_weeks: int, train: bool):
    """Rows (item, origin, h): features + horizon, scaled target (train) and the scale."""
    rows = np.flatnonzero(panel.first_week < origin)
    feats, scale = _features(panel, rows, origin)
    xs, ys, scales, hs = [], [], [], []
    for h in range(1, horizon + 1):
        if train and origin + h - 1 >= n_weeks:
            continue
        xs.append(np.column_stack([feats, np.full(len(rows), h)]))
        hs.append(np.full(len(rows), h))
        scales.append(scale)
        if train:
            ys.append(panel.units[rows, origin + h - 1] / scale)
    if not xs:
        return None
    y = np.concatenate(ys) if train else None
    return rows, np.concatenate(hs), np.concatenate(xs), y, np.concatenate(scales)


def _training_set(panel: Panel, until: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (item, origin, h) whose target week is before ``until`` (known at that origin)."""
    xs, ys = [], []
    for origin in range(max(1, until - TRAIN_ORIGINS), until):
        design = _design(panel, origin, horizon, until, train=True)
        if design is not None:
            xs.append(design[2])
            ys.append(design[3])
    return np.concatenate(xs), np.concatenate(ys)


def _fit_models(x: np.ndarray, y: np.ndarray, seed: int, threads: int) -> dict:
    import lightgbm as lgb

    common = {**LGBM_PARAMS, "random_state": seed, "n_jobs": threads}
    models = {"mean": lgb.LGBMRegressor(objective="tweedie", tweedie_variance_power=1.3, **common)}
    for q in (0.1, 0.5, 0.9):
        models[q] = lgb.LGBMRegressor(objective="quantile", alpha=q, **common)
    for model in models.values():
        model.fit(x, y)
    return models


def lightgbm_row(
    panel: Panel, bt: Backtest, seed: int, threads: int, refit_every: int
) -> tuple[Forecast, float]:
    """The global LightGBM row, fitted on the weeks before the first origin and refitted every
    ``refit_every`` origins (0: never) on the weeks before that origin; and its training
    seconds."""
    refit_every = refit_every or len(bt.origins)
    n_cells = len(bt.actual)
    point, quantiles = np.full(n_cells, np.nan), np.full((n_cells, 3), np.nan)
    train_seconds, models = 0.0, None
    for i, origin in enumerate(bt.origins):
        if i % refit_every == 0:
            start = time.perf_counter()
            x, y = _training_set(panel, int(origin), bt.horizon)
            models = _fit_models(x, y, seed, threads)
            train_seconds += time.perf_counter() - start
        rows, _, x, _, scale = _design(panel, int(origin), bt.horizon, 0, train=False)
        preds = [models["mean"].predict(x)] + [models[q].predict(x) for q in (0.1, 0.5, 0.9)]
        # design rows are horizon-major: [H * n] → [n, H] per output
        grid = np.stack(
            [(np.maximum(p, 0) * scale).reshape(bt.horizon, len(rows)).T for p in preds], axis=-1
        )  # [n, H, 4]
        grid[..., 1:] = np.sort(grid[..., 1:], axis=-1)  # separately fitted quantiles may cross
        cells = np.flatnonzero(bt.origin == origin)
        at = np.searchsorted(rows, bt.item[cells])
        point[cells] = grid[at, bt.h[cells] - 1, 0]
        quantiles[cells] = grid[at, bt.h[cells] - 1, 1:]
    interval = quantiles[:, [0, 2]]
    return Forecast(point, interval, quantiles), round(train_seconds, 2)
