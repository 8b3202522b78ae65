"""Weekly sales forecasting on UCI Online Retail: toyguide against statistical and ML baselines
under one rolling-origin backtest (issue 4, item 4).

Imports ``../shared/data/uci-online-retail`` (``toyguide data import uci-online-retail``) and
scores every row on the same cells (bench/forecasting_protocol.py): weekly units per product,
zero-filled from its first sale, the partial last week dropped; origins = the last 12 complete
weeks, horizons 1–4, each (item, origin, horizon) whose target week exists and whose item sold
before the origin. Rows:

* statsforecast, refitted at every origin: ``naive``, ``moving_average`` (4 weeks),
  ``autoets`` (non-seasonal), ``croston_optimized``, ``tsb``, ``adida``, ``imapa``;
* ``lightgbm``: a global direct multi-horizon model on lags (bench/forecasting_baselines.py);
* ``toyguide-stl`` (the sales task alone) and ``toyguide-mtl`` (sales + preference over the
  same customers' purchases + attributes from product titles), each trained once with
  ``toyguide train`` on the store truncated before the first origin, its epoch chosen on the
  engine's validation weeks and then refitted through the weeks the engine held out
  (``--refit-epochs``; bench/forecasting_toyguide.py); ``toyguide-grouped``: the same tasks in
  the grouping each seed's ``toyguide-mtl`` run suggests from its measured task affinity;
  ``toyguide-chosen``: those groups, every task together and each alone, each task served by
  the model best on its validation metric (``grouping.choose = "validation"``).

**Seasonality.** The data covers one year (2010-11-29 … 2011-12-05), so no model can learn a
yearly pattern from a previous year: there is no seasonal naive and ETS is non-seasonal. The
backtest (Sept … Nov 2011) climbs into the Christmas peak; models follow it only through their
recent history. toyguide's calendar inputs (time of year, Christmas / Black Friday flags) cannot
be learnt either: its training targets stop in July 2011.

    python bench/forecast.py --out bench/results/forecast.json
    python bench/forecast.py --quick      # 300 items, 3 origins, short training: a smoke test
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import common  # bench/common.py: python puts the script's folder first on sys.path
from forecasting_baselines import STATS_ROWS, TSB_ALPHA, lightgbm_row, stats_rows
from forecasting_protocol import Backtest, Panel, load_panel, score
from forecasting_toyguide import (
    MTL_TASKS,
    forecast_run,
    item_sample_store,
    models,
    run_config,
    sales_run,
    truncated_store,
)

SOURCE_FILES = ("online_retail.csv.gz",)
GROUPED, CHOSEN = common.GROUPED, common.CHOSEN
DELTA_METRICS = {"sales": ("wape", "mase", "pinball")}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/uci-online-retail"))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--origins", type=int, default=12)
    p.add_argument("--horizon", type=int, default=4)
    p.add_argument("--history-weeks", type=int, default=8)
    p.add_argument("--sales-batch-size", type=int, default=512)
    p.add_argument("--max-len", type=int, default=20, help="purchases per shopper sequence")
    p.add_argument("--preference-batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--steps-per-epoch", type=int, default=150)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument(
        "--refit-epochs",
        type=int,
        default=2,
        help="train.refit_epochs: epochs through the engine's held-out weeks once chosen",
    )
    p.add_argument(
        "--selection-metric",
        default="",
        help='selection.metric, e.g. "units/wape_abs_bias" ("": the task\'s own)',
    )
    p.add_argument(
        "--boosted-sales",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="boosted_sales.enabled: LightGBM on the sales inputs and the shared item vector "
        "beside the neural head, blended with it as validation chooses",
    )
    p.add_argument(
        "--boosted-item-components",
        type=int,
        default=8,
        help="boosted_sales.item_components: the shared item vector's principal components "
        "the boosters read (0 = none: the sales inputs only)",
    )
    p.add_argument("--mixer", default="mmoe")
    p.add_argument("--weighting", default="uncertainty")
    p.add_argument("--mtl-tasks", default=",".join(MTL_TASKS), help="tasks of toyguide-mtl")
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument(
        "--analysis-every",
        type=int,
        default=50,
        help="analysis.every_steps of toyguide-mtl: the task affinity whose suggested grouping "
        "the toyguide-grouped row trains (0 = no such row)",
    )
    p.add_argument(
        "--lgbm-refit-every",
        type=int,
        default=0,
        help="origins between LightGBM refits; 0 = trained once, like toyguide",
    )
    p.add_argument("--items", type=int, default=0, help="score a seeded sample of items; 0 = all")
    p.add_argument("--threads", type=int, default=1, help="torch and LightGBM threads")
    p.add_argument("--workdir", type=Path, default=None, help="keep the stores and runs here")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quick", action="store_true", help="few items and origins: a smoke test")
    args = p.parse_args()
    args.mtl_tasks = tuple(t.strip() for t in args.mtl_tasks.split(",") if t.strip())
    if args.quick:
        args.seeds, args.origins, args.items = 1, 3, 300
        args.epochs, args.steps_per_epoch, args.patience, args.refit_epochs = 1, 20, 1, 1
        args.analysis_every = min(args.analysis_every, 5)
    return args


_START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


def sample_items(store: Path, work: Path, n: int) -> Path:
    """The store itself, or (``n`` > 0) a copy with a seeded sample of ``n`` of its items."""
    if not n:
        return store
    ids = load_panel(store).item_ids
    keep = np.sort(np.random.default_rng(0).choice(len(ids), min(n, len(ids)), replace=False))
    return item_sample_store(store, work / f"uci-{n}-items.duckdb", [ids[i] for i in keep])


def baseline_rows(panel: Panel, bt: Backtest, args: argparse.Namespace) -> dict:
    # one process: statsforecast's worker pool would fork beside the toyguide thread
    forecasts, seconds = stats_rows(panel, bt, 1)
    rows = {name: score(bt, f) for name, f in forecasts.items()}
    for name in rows:
        rows[name]["train_seconds"] = seconds["statsforecast_all_rows"]
    log(f"statsforecast done ({seconds})")
    lgbm, lgbm_seconds = lightgbm_row(panel, bt, seed=0, threads=args.threads,
                                      refit_every=args.lgbm_refit_every)  # fmt: skip
    rows["lightgbm"] = score(bt, lgbm) | {"train_seconds": lgbm_seconds}
    log(f"lightgbm done (train {lgbm_seconds} s)")
    return rows


def toyguide_rows(store: Path, work: Path, panel: Panel, bt: Backtest, args) -> dict:
    cutoff = panel.mondays[int(bt.origins[0])]
    train_store = truncated_store(store, work / "uci-train.duckdb", cutoff)
    runs: dict[str, list[dict]] = {}
    for seed in range(args.seeds):
        for name, config in row_configs(work, seed, args):
            metrics = common.train(work, train_store, name, seed, config)
            for row, run in backtested_runs(name, metrics):
                scored = score(bt, forecast_run(run, store, panel, bt))
                own = json.loads((run / "metrics.json").read_text())
                scored |= {"train_seconds": own["train_seconds"],
                           "engine_holdout": own["test"]["sales"],
                           "boosted_blend": own.get("boosted_sales", {}).get("blend")}  # fmt: skip
                runs.setdefault(row, []).append(scored)
                log(f"{row} seed {seed}: wape {scored['wape']:.4f}, bias {scored['bias']:+.4f}")
            if "groups" in metrics:
                for row, given in ((GROUPED, True), (CHOSEN, False)):
                    runs[row][-1]["served_by"] = common.served_by(metrics, given)
    rows = {name: summarise_seeds(per_seed) for name, per_seed in runs.items()}
    for name in (GROUPED, CHOSEN):
        if name in runs:
            rows[name]["served_by"] = [r["served_by"] for r in runs[name]]
    return rows


def backtested_runs(name: str, metrics: dict) -> list[tuple[str, Path]]:
    """(row, run folder of its sales model): a plain run is its own row; the run that chose on
    validation gives two, the suggested grouping's sales group and the one chosen for sales."""
    if name != CHOSEN:
        return [(name, sales_run(metrics))]
    return [(GROUPED, sales_run(metrics, given=True)), (CHOSEN, sales_run(metrics))]


def row_configs(work: Path, seed: int, args) -> list[tuple[str, str]]:
    """(row, run config) of one seed. The grouping rows are one run that trains the grouping
    the seed's toyguide-mtl run (trained first) suggests from the task affinity it measured,
    and every task together and each alone, then serves each task from its best on
    validation: toyguide-grouped is its suggested groups, toyguide-chosen what it chose."""
    rows = [(name, run_config(tasks, seed, args)) for name, tasks in models(args.mtl_tasks).items()]
    if args.analysis_every and len(args.mtl_tasks) > 1:
        mtl, measured = dict(rows)["toyguide-mtl"], work / f"toyguide-mtl-seed{seed}"
        rows.append((CHOSEN, common.grouped(mtl, measured, choose="validation")))
    return rows


def summarise_seeds(per_seed: list[dict]) -> dict:
    """The seeds' metrics as {mean, std, per_seed}, recursively through nested sections."""
    out: dict = {}
    for key, value in per_seed[0].items():
        values = [s[key] for s in per_seed]
        if isinstance(value, dict):
            out[key] = summarise_seeds(values)
        elif isinstance(value, int | float) or value is None:
            out[key] = common.summarise(values) | {"per_seed": values}
    return out


def goal(rows: dict) -> dict:
    """Issue 4: toyguide's WAPE at most 0.9 × the best baseline's, with |bias| ≤ 10%."""
    baselines = {k: v["wape"] for k, v in rows.items() if not k.startswith("toyguide")}
    best = min(baselines, key=baselines.get)
    out = {"best_baseline": best, "best_baseline_wape": baselines[best],
           "target_wape": 0.9 * baselines[best], "max_abs_bias": 0.10}  # fmt: skip
    for name in (k for k in rows if k.startswith("toyguide")):
        wape, bias = rows[name]["wape"]["mean"], rows[name]["bias"]["mean"]
        out[name] = {"wape": wape, "bias": bias,
                     "met": wape <= 0.9 * baselines[best] and abs(bias) <= 0.10}  # fmt: skip
    return out


def data_section(store: Path, panel: Panel, bt: Backtest, source: Path) -> dict:
    sha = {f: hashlib.sha256((source / f).read_bytes()).hexdigest() for f in SOURCE_FILES}
    return common.fingerprint(store) | {
        "source_sha256": sha,
        "items": len(panel.item_ids),
        "weeks": len(panel.mondays),
        "first_week": str(panel.mondays[0]),
        "last_week": str(panel.mondays[-1]),
        "dropped_partial_week": panel.dropped_partial_week,
        "origins": [str(panel.mondays[o]) for o in bt.origins],
        "cells": len(bt.actual),
        "new_product_cells": int((bt.history < 4).sum()),
        "zero_share": float((bt.actual == 0).mean()),
    }


def versions() -> dict:
    import lightgbm
    import statsforecast

    return common.versions() | {"statsforecast": statsforecast.__version__,
                                "lightgbm": lightgbm.__version__}  # fmt: skip


def peak_rss_mb() -> float:
    """The largest resident set of this process or any training process it waited for."""
    usage = (resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF,
             resource.RUSAGE_CHILDREN))  # fmt: skip
    return max(usage) / 1024


def main() -> None:
    import torch

    args = parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="toyguide-forecast-"))
    work.mkdir(parents=True, exist_ok=True)
    store = work / "uci.duckdb"
    if not store.exists():
        common.toyguide("data", "import", "uci-online-retail", "--source", str(args.data),
                        "--store", str(store))  # fmt: skip
    store = sample_items(store, work, args.items)
    panel = load_panel(store)
    bt = Backtest.of(panel, args.origins, args.horizon)
    # toyguide trains in its own processes meanwhile: the two halves share the machine
    with ThreadPoolExecutor(max_workers=1) as pool:
        toyguide = pool.submit(toyguide_rows, store, work, panel, bt, args)
        rows = baseline_rows(panel, bt, args)
        rows |= toyguide.result()
    report = {
        "benchmark": "forecast",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        | {"tsb_alpha": TSB_ALPHA, "statsforecast_rows": STATS_ROWS},
        "data": data_section(store, panel, bt, args.data),
        "rows": rows,
        "goal": goal(rows),
        "delta_m": common.delta_m_of_rows(rows, DELTA_METRICS, lambda row, task: row),
        **common.grouping_deltas(rows, DELTA_METRICS, lambda row, task: row),
        "relatedness": common.relatedness_of(work / "toyguide-mtl-seed0"),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": peak_rss_mb(),
        "versions": versions(),
        "workdir": str(work),
    }
    common.emit(report, args.out)


if __name__ == "__main__":
    main()
