"""Where multi-task learning stands: Δm per dataset, per mixer and per weighting (issue 4, item 6).

Two parts, one JSON document:

* ``sweep``: on a synthetic shop (all four tasks), every mixer × weighting strategy trained with
  the same budget and seed, each cell's Δm against the single-task runs of the same budget,
  and each cell's task-relatedness matrices (gradient cosine and lookahead affinity on shared
  parameters, measured during training on probe batches; label NMI of tasks sharing a unit);
* ``datasets``: the Δm and relatedness matrices that the other benchmark scripts wrote into
  their reports under ``--results`` (``delta_m`` and ``relatedness`` keys), side by side, with
  the Δm of the grouping the engine suggested (``delta_m_grouped``) and of the one chosen on
  validation (``delta_m_chosen``) where a benchmark trains them.

    python bench/mtl_summary.py --out bench/results/mtl_summary.json
    python bench/mtl_summary.py --quick        # a tiny shop, two cells: a smoke test
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import common  # bench/common.py: python puts the script's folder first on sys.path
from synthetic_mtl import DELTA_METRICS  # the metrics Δm averages on the synthetic shop

TASKS = tuple(DELTA_METRICS)
MIXERS = ("shared_bottom", "mmoe", "ple")
WEIGHTINGS = ("equal", "uncertainty", "dwa", "gradnorm", "mgda", "pcgrad")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, default=Path("bench/results"))
    p.add_argument("--shoppers", type=int, default=5_000)
    p.add_argument("--items", type=int, default=600)
    p.add_argument("--weeks", type=int, default=52)
    p.add_argument("--mixers", default=",".join(MIXERS))
    p.add_argument("--weightings", default=",".join(WEIGHTINGS))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps-per-epoch", type=int, default=60)
    p.add_argument("--d-model", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workdir", type=Path, default=None, help="keep the shop and runs here")
    p.add_argument(
        "--sweep-from",
        type=Path,
        default=None,
        help="reuse the sweep of an earlier report; only collect the datasets again",
    )
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quick", action="store_true", help="tiny shop, two cells, a few steps")
    args = p.parse_args()
    if args.quick:
        args.shoppers, args.items, args.weeks = 1_500, 200, 30
        args.mixers, args.weightings = "mmoe", "equal,pcgrad"
        args.epochs, args.steps_per_epoch, args.d_model = 1, 16, 16
    return args


def run_config(args: argparse.Namespace, tasks: tuple[str, ...], mixer: str, weighting: str) -> str:
    task_list = ", ".join(f'"{t}"' for t in tasks)
    return f"""seed = {args.seed}
threads = {args.threads}
[features]
tasks = [{task_list}]
[model]
d_model = {args.d_model}
mixer = "{mixer}"
[weighting]
name = "{weighting}"
[train]
epochs = {args.epochs}
steps_per_epoch = {args.steps_per_epoch}
patience = {args.epochs}
[analysis]
every_steps = {max(1, args.steps_per_epoch // 4) if len(tasks) > 1 else 0}
"""


def pick(test: dict) -> dict:
    """The Δm metrics of one run's test metrics: ``{task: {metric: value}}``."""
    return {t: {m: test[t][m] for m in ms} for t, ms in DELTA_METRICS.items()}


def sweep(args: argparse.Namespace, work: Path, store: Path) -> dict:
    """Δm and relatedness of every mixer × weighting cell against same-budget STL runs."""
    from toyguide.evaluation.metrics import delta_m

    stl = {}
    for task in TASKS:
        run = common.train(work, store, f"stl-{task}", args.seed,
                           run_config(args, (task,), "mmoe", "equal"))  # fmt: skip
        stl[task] = run["test"][task]
    stl_metrics = pick(stl)
    cells = {}
    for mixer in args.mixers.split(","):
        for weighting in args.weightings.split(","):
            start = time.perf_counter()
            run = common.train(work, store, f"mtl-{mixer}-{weighting}", args.seed,
                               run_config(args, TASKS, mixer, weighting))  # fmt: skip
            d = delta_m(pick(run["test"]), stl_metrics)
            cells[f"{mixer}/{weighting}"] = {
                "delta_m": d["delta_m"], "tasks": d["tasks"], "gains": d["gains"],
                "relatedness": common.relatedness_of(Path(run["run"])),
                "train_seconds": round(time.perf_counter() - start, 1),
            }  # fmt: skip
            print(f"{mixer}/{weighting}: Δm {d['delta_m']:+.1f}%", file=sys.stderr)
    return {"stl": stl_metrics, "cells": cells}


def datasets(results: Path, own: Path | None) -> dict:
    """Δm and relatedness each benchmark report under ``results`` carries."""
    out = {}
    for path in sorted(results.glob("*.json")):
        if own is not None and path.resolve() == own.resolve():
            continue
        report = json.loads(path.read_text())
        if "delta_m" in report:
            out[report.get("benchmark", path.stem)] = {
                "delta_m": report["delta_m"],
                # the grouping the engine suggested, trained (toyguide-grouped), where measured
                "delta_m_grouped": report.get("delta_m_grouped"),
                "delta_m_chosen": report.get("delta_m_chosen"),
                "served_by": _served_by(report.get("rows", {})),
                "relatedness": report.get("relatedness", {}),
                "source": str(path),
            }
    return out


def _served_by(rows: dict) -> dict[str, list]:
    """Of each grouping row: task → the group that served it, per seed or fold."""
    out = {}
    for name in (common.GROUPED, common.CHOSEN):
        row = rows.get(name, {})
        runs = row.get("runs", [])
        out[name] = row.get("served_by") or [r["served_by"] for r in runs if "served_by" in r]
    return out


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="toyguide-mtl-summary-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.sweep_from:
        earlier = json.loads(args.sweep_from.read_text())
        cells, data, sweep_config = earlier["sweep"], earlier["data"], earlier["sweep_config"]
    else:
        store = work / "shop.duckdb"
        if not store.exists():
            common.toyguide("data", "synth", "--store", str(store),
                            "--shoppers", str(args.shoppers), "--items", str(args.items),
                            "--weeks", str(args.weeks), "--seed", str(args.seed))  # fmt: skip
        cells, data = sweep(args, work, store), common.fingerprint(store)
        sweep_config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    report = {
        "benchmark": "mtl_summary",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "sweep_config": sweep_config,
        "data": data,
        "rows": {
            f"toyguide-mtl/{k}": {"delta_m": v["delta_m"], **v["tasks"]}
            for k, v in cells["cells"].items()
        },
        "sweep": cells,
        "datasets": datasets(args.results, args.out),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": common.peak_rss_mb(),
        "versions": common.versions(),
        "workdir": str(work),
    }
    common.emit(report, args.out)


if __name__ == "__main__":
    main()
