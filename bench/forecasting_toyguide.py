"""toyguide rows of ``bench/forecast.py``: train on the weeks before the backtest, then forecast
every backtest cell with the trained model under the benchmark's protocol.

**What training sees.** The engine's sales split (features/splits.py) holds out the last
``horizon`` weeks of the store as test origins and the ``horizon`` before them as validation,
training on origins before that with targets that stop where validation begins. On the full
store the engine's test weeks would be the last 4 of the 12 backtest weeks and its training
targets would cover the first 4, so the model is trained on a **truncated copy** of the store:
sales rows from the first backtest week on and events from its Monday on are deleted, and each
item's catalogue price is replaced by the median of its weekly prices before that week (items
with no sale before it keep the catalogue's). The engine then trains on targets before week
cutoff−8, selects its epoch on targets in weeks cutoff−8 … cutoff−5 and reports its own "test"
on weeks cutoff−4 … cutoff−1: nothing from the backtest weeks. With ``train.refit_epochs``
(``--refit-epochs``, default 2) it then trains on from the chosen epoch with targets up to
cutoff−1, the 8 weeks it held out included, and the backtest uses those refitted weights: the
baselines see every week before the first origin, and a model 8 weeks stale forecasts a rising
season low. The catalogue (ids, titles, functions) stays whole, as a shop knows its listings
before they sell.

**How it forecasts the backtest.** The run is loaded against the full store with its fitted
encoders (``evaluation.experiment.build`` with the run's ``features.json``) and the best
checkpoint; for each origin the engine's own batch (``SalesStream.batch_at``) is built from the
weeks before that origin only, so later origins use the newer history without a refit (the
baselines are refitted at every origin; the model is trained once, on data before the first).
The point forecast is the head's mean; P10/P50/P90 give pinball and the interval.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np

from forecasting_protocol import Backtest, Forecast, Panel

__all__ = [
    "MTL_TASKS",
    "forecast_run",
    "item_sample_store",
    "models",
    "run_config",
    "truncated_store",
]

MTL_TASKS = ("sales", "preference", "attributes")


def models(mtl_tasks: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Row name → tasks. Sales comes first: early stopping and the best checkpoint follow the
    first task's selection metric (sales WAPE on the validation weeks)."""
    others = tuple(t for t in mtl_tasks if t != "sales")
    return {"toyguide-stl": ("sales",), "toyguide-mtl": ("sales", *others)}


def truncated_store(full: Path, out: Path, cutoff: dt.date) -> Path:
    """A copy of ``full`` without sales from week ``cutoff`` on or events from that day on."""
    import duckdb

    if out.exists():
        out.unlink()
    shutil.copyfile(full, out)
    with duckdb.connect(str(out)) as con:
        con.execute("DELETE FROM sales WHERE week >= ?", [cutoff])
        con.execute("DELETE FROM events WHERE ts >= ?", [dt.datetime.combine(cutoff, dt.time())])
        con.execute(
            "UPDATE items SET price = s.p FROM (SELECT item_id, median(price) AS p FROM sales "
            "WHERE price IS NOT NULL GROUP BY item_id) s WHERE items.item_id = s.item_id"
        )
        con.execute("CHECKPOINT")
    return out


def item_sample_store(full: Path, out: Path, item_ids: list[str]) -> Path:
    """A copy of ``full`` with only ``item_ids`` in items, sales and events (a quick run)."""
    import duckdb

    if out.exists():
        out.unlink()
    shutil.copyfile(full, out)
    with duckdb.connect(str(out)) as con:
        con.execute("CREATE TEMP TABLE keep AS SELECT unnest(?::VARCHAR[]) AS item_id", [item_ids])
        for table in ("items", "sales", "events"):
            con.execute(f"DELETE FROM {table} WHERE item_id NOT IN (SELECT item_id FROM keep)")
        con.execute("CHECKPOINT")
    return out


def run_config(tasks: tuple[str, ...], seed: int, args) -> str:
    task_list = ", ".join(f'"{t}"' for t in tasks)
    weighting = args.weighting if len(tasks) > 1 else "equal"
    return f"""seed = {seed}
threads = {args.threads}
[features]
tasks = [{task_list}]
horizon = {args.horizon}
history_weeks = {args.history_weeks}
sales_batch_size = {args.sales_batch_size}
max_len = {args.max_len}
preference_batch_size = {args.preference_batch_size}
[model]
d_model = {args.d_model}
mixer = "{args.mixer}"
[weighting]
name = "{weighting}"
[train]
epochs = {args.epochs}
steps_per_epoch = {args.steps_per_epoch}
lr = {args.lr}
patience = {args.patience}
refit_epochs = {args.refit_epochs}
[selection]
metric = "{args.selection_metric}"
[analysis]
every_steps = {args.analysis_every if len(tasks) > 1 else 0}
[boosted_sales]
enabled = {str(args.boosted_sales).lower()}
item_components = {args.boosted_item_components}
"""


def sales_run(metrics: dict, given: bool = False) -> Path:
    """The run folder that holds the sales model: the run, or in a grouped run the group that
    serves sales (``given``: the given or suggested group with sales, of a run that chose)."""
    run = Path(metrics["run"])
    groups = metrics.get("groups")
    if not groups:
        return run
    if given:
        return run / next(g["run"] for g in groups if g["given"] and "sales" in g["tasks"])
    return run / next(g["run"] for g in groups if "sales" in g["serves"])


def forecast_run(run: Path, store: Path, panel: Panel, bt: Backtest) -> Forecast:
    """The trained run's forecasts of every backtest cell (history up to each origin only)."""
    import polars as pl
    import torch

    from toyguide.runs import load_best

    served = "refit" if (run / "checkpoints" / "refit").is_dir() else "best"
    data, streams, model, _ = load_best(run, store, served)
    vocab_rows = data.vocabs["items"].transform(pl.Series(panel.item_ids))
    if (vocab_rows == 0).any():
        raise ValueError(f"{int((vocab_rows == 0).sum())} backtest items are unknown to the run")
    n_cells, n_weeks, size = len(bt.actual), panel.units.shape[1], data.config.eval_batch_size
    point, quantiles = np.full(n_cells, np.nan), np.full((n_cells, 3), np.nan)
    stream = streams["sales"]
    with torch.no_grad():
        for origin in bt.origins:
            rows = bt.pairs(int(origin))
            grid = np.zeros((len(rows), bt.horizon, 4))
            for start in range(0, len(rows), size):
                part = rows[start : start + size]
                batch = stream.batch_at(vocab_rows[part], np.full(len(part), origin), n_weeks)
                out = {k: v.numpy() for k, v in model.sales_outputs(batch).items()}
                grid[start : start + len(part), :, :3] = out["quantiles"]
                grid[start : start + len(part), :, 3] = out["mean"]
            cells = np.flatnonzero(bt.origin == origin)
            at = np.searchsorted(rows, bt.item[cells])
            point[cells] = grid[at, bt.h[cells] - 1, 3]
            quantiles[cells] = grid[at, bt.h[cells] - 1, :3]
    return Forecast(point, quantiles[:, [0, 2]], quantiles, median_point=quantiles[:, 1])
