"""Multi-task vs single-task on the synthetic toy shop, over several seeds (issue 3).

Builds the synthetic shop (default 20k shoppers, 2k toys, 52 weeks: about 1M events), then for
each seed trains the model with every task switched on ("toyguide-mtl") and the same model with
one task at a time ("toyguide-stl"), each in its own process (its peak memory is its own), and
prints one JSON document: per-task test metrics (mean and spread over seeds), Δm, how well the
hidden truth is recovered, time per epoch and peak memory.

    python bench/synthetic_mtl.py --out bench/results/synthetic_mtl.json
    python bench/synthetic_mtl.py --quick            # a small shop, one seed: a smoke test
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import common  # bench/common.py: python puts the script's folder first on sys.path

TASKS = ("preference", "attributes", "sales", "profile")
# The metrics Δm averages per task (each declares its direction in evaluation/metrics.py).
DELTA_METRICS = {
    "preference": ("next_item/ndcg@10", "next_item/hr@10"),
    "attributes": ("age_band/accuracy", "gender_target/accuracy", "functions/auc"),
    "sales": ("units/wape", "units/pinball"),
    "profile": ("age_band/accuracy", "gender/accuracy", "interests/auc"),
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shoppers", type=int, default=20_000)
    p.add_argument("--items", type=int, default=2_000)
    p.add_argument("--weeks", type=int, default=52)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--steps-per-epoch", type=int, default=100)
    p.add_argument("--mixer", default="mmoe")
    p.add_argument("--weighting", default="uncertainty")
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workdir", type=Path, default=None, help="keep stores and runs here")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quick", action="store_true", help="small shop, one seed, short training")
    args = p.parse_args()
    if args.quick:
        args.shoppers, args.items, args.weeks, args.seeds = 1_500, 200, 30, 1
        args.epochs, args.steps_per_epoch, args.d_model = 2, 20, 32
    return args


def run_config(args: argparse.Namespace, tasks: tuple[str, ...], seed: int) -> str:
    task_list = ", ".join(f'"{t}"' for t in tasks)
    return f"""seed = {seed}
threads = {args.threads}
[features]
tasks = [{task_list}]
[model]
d_model = {args.d_model}
mixer = "{args.mixer}"
[weighting]
name = "{args.weighting if len(tasks) > 1 else "equal"}"
[train]
epochs = {args.epochs}
steps_per_epoch = {args.steps_per_epoch}
patience = {args.epochs}
[analysis]
every_steps = {25 if len(tasks) > 1 else 0}
"""


def train(args: argparse.Namespace, work: Path, store: Path, name: str, tasks, seed: int) -> dict:
    from toyguide.data.ingest import truth_dir_for
    from toyguide.runs import recover_truth_for_run

    metrics = common.train(work, store, name, seed, run_config(args, tasks, seed))
    metrics["truth"] = recover_truth_for_run(Path(metrics["run"]), store, truth_dir_for(store))
    return metrics


def rows_from(runs: dict[str, list[dict]]) -> dict:
    """``rows[row][task][metric] = {mean, std}`` over seeds."""
    rows: dict = {"toyguide-mtl": {}, "toyguide-stl": {}}
    for task in TASKS:
        for row, key in (("toyguide-mtl", "mtl"), ("toyguide-stl", f"stl-{task}")):
            per_seed = [r["test"][task] for r in runs[key]]
            names = per_seed[0].keys()
            rows[row][task] = {m: common.summarise([s.get(m) for s in per_seed]) for m in names}
    return rows


def delta_m_of(rows: dict) -> dict:
    from toyguide.evaluation.metrics import delta_m

    def pick(row: str) -> dict:
        return {t: {m: rows[row][t][m]["mean"] for m in ms} for t, ms in DELTA_METRICS.items()}

    return delta_m(pick("toyguide-mtl"), pick("toyguide-stl"))


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="toyguide-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    store = work / "shop.duckdb"
    if not store.exists():
        common.toyguide("data", "synth", "--store", str(store), "--shoppers", str(args.shoppers),
                 "--items", str(args.items), "--weeks", str(args.weeks), "--seed", "0")  # fmt: skip
    runs: dict[str, list[dict]] = {"mtl": [], **{f"stl-{t}": [] for t in TASKS}}
    for seed in range(args.seeds):
        runs["mtl"].append(train(args, work, store, "mtl", TASKS, seed))
        for task in TASKS:
            runs[f"stl-{task}"].append(train(args, work, store, f"stl-{task}", (task,), seed))
        print(f"seed {seed} done after {time.perf_counter() - start:.0f}s", file=sys.stderr)
    rows = rows_from(runs)
    report = {
        "benchmark": "synthetic_mtl",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "data": common.fingerprint(store),
        "rows": rows,
        "delta_m": delta_m_of(rows),
        "truth_recovery": {k: [r.get("truth", {}) for r in v] for k, v in runs.items()},
        "seconds_per_epoch": {k: [r["seconds_per_epoch"] for r in v] for k, v in runs.items()},
        "train_seconds": {k: [r["train_seconds"] for r in v] for k, v in runs.items()},
        "peak_rss_mb": {k: max(r["peak_rss_mb"] for r in v) for k, v in runs.items()},
        "wall_seconds": round(time.perf_counter() - start, 1),
        "versions": common.versions(),
        "workdir": str(work),
    }
    common.emit(report, args.out)


if __name__ == "__main__":
    main()
