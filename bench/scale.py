"""Benchmark: what a shop of 1M, 3M and 10M events costs to train (issue 12).

For each scale the synthetic shop is generated into a store (kept in --workdir), then each
measurement runs in a fresh process so its peak memory is its own:

* ``build``: the features of every task built from the store (``runs.build``): seconds and
  peak RSS;
* one training epoch of the four-task model per process layout, ``1x2`` (one process, two
  torch threads) and ``2x1`` (two ranks under ``toyguide train --nproc 2``, one thread each):
  seconds of the epoch (from the run's metrics), wall seconds of the whole command and the peak
  RSS of its largest process.

Prints one JSON document (and writes it to --out) with ``rows`` keyed ``"<scale>/<nproc>"``
holding ``build_seconds``, ``epoch_seconds``, ``peak_rss_mb``; ``--plot FILE`` draws cost
against events. Run alone on the machine: timings of concurrent jobs mean nothing.

    python bench/scale.py --out bench/results/scale.json --plot docs/figures/scale.png
    python bench/scale.py --scales tiny --layouts 1x2 --quick     # a smoke test
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common  # bench/common.py: python puts the script's folder first on sys.path

SHOPS = {  # shoppers × toys × 52 weeks; ~50 events per shopper
    "tiny": (500, 150),
    "1m": (20_000, 2_000),
    "3m": (60_000, 6_000),
    "10m": (200_000, 12_000),
}
LAYOUTS = {"1x2": (1, 2), "2x1": (2, 1)}  # processes × threads each

CONFIG = """seed = 0
threads = {threads}
[features]
tasks = ["preference", "attributes", "sales", "profile"]
horizon = 12
[model]
d_model = 48
mixer = "mmoe"
[weighting]
name = "uncertainty"
[train]
epochs = 1
steps_per_epoch = {steps}
log_every = 100
[analysis]
every_steps = 0
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", default="1m,3m,10m", help=f"comma-separated of {', '.join(SHOPS)}")
    p.add_argument("--layouts", default="1x2,2x1", help="processes x threads: 1x2, 2x1")
    p.add_argument("--steps", type=int, default=0, help="steps per epoch (0 = a full pass)")
    p.add_argument("--build-only", action="store_true", help="measure the feature build only")
    p.add_argument("--workdir", type=Path, default=Path("bench/.work/scale"))
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--plot", type=Path, default=None, help="PNG of cost against events")
    p.add_argument("--quick", action="store_true", help="tiny shop, 5 steps: a smoke test")
    p.add_argument("--build-worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.scales, args.steps = "tiny", 5
    return args


def store_for(scale: str, workdir: Path) -> tuple[Path, int]:
    """The scale's synthetic store (generated once) and its number of events."""
    store = workdir / scale / "shop.duckdb"
    if not store.exists():
        shoppers, items = SHOPS[scale]
        store.parent.mkdir(parents=True, exist_ok=True)
        common.toyguide("data", "synth", "--shoppers", str(shoppers), "--items", str(items),
                        "--weeks", "52", "--seed", "0", "--store", str(store))  # fmt: skip
    return store, common.fingerprint(store)["stats"]["events"]


def measure(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of the largest process ``cmd`` ran (itself or a rank) and
    its last output line, measured by a fresh wrapper process so that no earlier measurement
    counts (a process's children's peak is the largest of all it ever waited for)."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        f"out = subprocess.run({cmd!r}, check=True, capture_output=True, text=True).stdout; "
        "last = (out.strip().splitlines() or [''])[-1]; "
        "print(time.perf_counter() - t, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, last)"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    seconds, rss, last = out.stdout.strip().split(" ", 2)
    return float(seconds), float(rss), last


def build_worker(store: Path) -> None:
    """In this process: build every task's features from the store; print seconds."""
    import tomllib

    from toyguide.data.store import Store
    from toyguide.runs import build, run_config_from_dict

    config = run_config_from_dict(tomllib.loads(CONFIG.format(threads=2, steps=0)))
    start = time.perf_counter()
    with Store.open(store, read_only=True) as shop:
        build(config, shop)
    print(json.dumps({"seconds": time.perf_counter() - start}))


def build_row(store: Path) -> dict[str, float]:
    wall, rss, last = measure([sys.executable, __file__, "--build-worker", str(store)])
    return {"build_seconds": round(json.loads(last)["seconds"], 2),
            "build_wall_seconds": round(wall, 2), "build_peak_rss_mb": round(rss, 1)}  # fmt: skip


def train_row(store: Path, scale: str, layout: str, args: argparse.Namespace) -> dict[str, Any]:
    nproc, threads = LAYOUTS[layout]
    run = args.workdir / scale / f"run-{layout}"
    config = args.workdir / scale / f"{layout}.toml"
    config.write_text(CONFIG.format(threads=nproc * threads, steps=args.steps))
    cmd = [sys.executable, "-m", "toyguide", "train", "--config", str(config),
           "--store", str(store), "--out", str(run), "--nproc", str(nproc)]  # fmt: skip
    wall, rss, _ = measure(cmd)
    metrics = json.loads((run / "metrics.json").read_text())
    return {"epoch_seconds": metrics["seconds_per_epoch"][0], "wall_seconds": round(wall, 2),
            "peak_rss_mb": round(rss, 1), "nproc": nproc, "threads": threads}  # fmt: skip


def plot(rows: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (cost, memory) = plt.subplots(1, 2, figsize=(10, 4))
    for layout, (nproc, _) in LAYOUTS.items():
        points = sorted((r["events"], r) for k, r in rows.items() if k.endswith(f"/{nproc}"))
        if not points or "epoch_seconds" not in points[0][1]:
            continue
        events = [e for e, _ in points]
        cost.plot(events, [r["epoch_seconds"] for _, r in points], "o-", label=layout)
        memory.plot(events, [r["peak_rss_mb"] for _, r in points], "o-", label=layout)
    cost.set(xlabel="events", ylabel="seconds per epoch", xscale="log", yscale="log")
    memory.set(xlabel="events", ylabel="peak RSS (MB)", xscale="log")
    for ax in (cost, memory):
        ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.build_worker is not None:
        build_worker(args.build_worker)
        return 0
    rows: dict[str, dict] = {}
    for scale in args.scales.split(","):
        store, events = store_for(scale, args.workdir)
        built = build_row(store)
        for layout in args.layouts.split(","):
            row = {"scale": scale, "events": events, **built}
            if not args.build_only:
                row |= train_row(store, scale, layout, args)
            rows[f"{scale}/{LAYOUTS[layout][0]}"] = row
            print(f"{scale}/{layout}: {row}", file=sys.stderr)
    report = {
        "benchmark": "scale",
        "config": {
            "scales": args.scales,
            "layouts": args.layouts,
            "steps": args.steps,
            "model": CONFIG,
        },
        "versions": common.versions("torch", "duckdb", "polars"),
        "rows": rows,
    }
    if args.plot is not None:
        plot(rows, args.plot)
    common.emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
