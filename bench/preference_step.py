"""Where a preference training step's milliseconds go on Amazon Toys (issue 10, part 1).

Imports ``../shared/data/amazon-toys-5core`` into a temporary store, builds the preference run
of ``configs/amazon_toys.toml`` and times training steps (forward, backward, Adam) on real
batches: seconds per step, per epoch and training samples (shoppers) per second, then a
``torch.profiler`` table of one step's operators grouped by kind. When the config has more
tasks than preference, a row times a step of all of them (one batch each, fixed weights).
``--autocast`` adds the same timing under bf16 autocast for comparison.

    python bench/preference_step.py --threads 2 --out bench/results/preference_step.json
    python bench/preference_step.py --quick    # a few steps: a smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import tempfile
import time
import tomllib
from pathlib import Path

import common  # bench/common.py: python puts the script's folder first on sys.path

REPO = Path(__file__).resolve().parents[1]
# operator → what it is in this model (the profile is grouped by these)
KINDS = {
    "aten::mm": "matmul", "aten::addmm": "matmul", "aten::bmm": "matmul",
    "aten::bernoulli_": "dropout masks", "aten::_log_softmax": "softmax",
    "aten::_log_softmax_backward_data": "softmax", "aten::embedding_dense_backward": "embeddings",
    "aten::index_select": "embeddings", "aten::index": "gather",
}  # fmt: skip


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/amazon-toys-5core"))
    p.add_argument("--config", type=Path, default=REPO / "configs" / "amazon_toys.toml")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--autocast", action="store_true", help="also time bf16 autocast")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.steps = 3
    return args


def build_run(args: argparse.Namespace, store: Path):  # type: ignore[no-untyped-def]
    from toyguide.data.store import Store
    from toyguide.runs import build, run_config_from_dict

    raw = tomllib.loads(args.config.read_text())
    raw["features"] |= {"predict_categories": False}
    raw["threads"] = args.threads
    config = run_config_from_dict(raw)
    with Store.open(store, read_only=True) as s:
        _, streams, model = build(config, s)
    return config, streams, model


def time_steps(model, steps, optimizer, weights=None, autocast=False) -> float:  # type: ignore[no-untyped-def]
    """Seconds per training step over ``steps`` (each ``{task: batch}``; the loss is the
    weighted sum of the tasks', as the fixed weighting trains them), after one warm-up."""
    import torch

    weights = weights or {}
    context = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()

    def step(batches: dict) -> None:
        with context:
            loss = sum(weights.get(task, 1.0) * model.task_loss(task, batch)[0]
                       for task, batch in batches.items())  # fmt: skip
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step(steps[0])  # warm-up
    start = time.perf_counter()
    for batches in steps[1:]:
        step(batches)
    return (time.perf_counter() - start) / (len(steps) - 1)


def profile(model, batches, optimizer) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches:
            loss, _ = model.task_loss("preference", batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    grouped: dict[str, float] = {}
    for event in prof.key_averages():
        kind = KINDS.get(event.key, "elementwise and other")
        grouped[kind] = grouped.get(kind, 0.0) + event.self_cpu_time_total / 1000 / len(batches)
    return {k: round(v, 2) for k, v in sorted(grouped.items(), key=lambda kv: -kv[1])}


def main() -> None:
    args = parse_args()
    import torch

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "toys.duckdb"
        common.toyguide("data", "import", "amazon-toys", "--source", str(args.data),
                        "--store", str(store))  # fmt: skip
        config, streams, model = build_run(args, store)
        stream = streams["preference"]
        torch.set_num_threads(args.threads)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr)
        model.train()
        it = stream.batches(0)
        batches = [next(it) for _ in range(args.steps + 1)]
        width = sum(b["seq_items"].shape[1] for b in batches) / len(batches)
        steps = [{"preference": batch} for batch in batches]
        rows = {}
        for name, buckets in (("one_pass", False), ("length_buckets", True)):
            set_length_buckets(model, buckets)
            rows[name] = _row(time_steps(model, steps, optimizer), len(stream),
                              stream.batch_size, width)  # fmt: skip
        if args.autocast:
            rows["length_buckets+bf16"] = _row(time_steps(model, steps, optimizer, autocast=True),
                                               len(stream), stream.batch_size, width)  # fmt: skip
        if len(streams) > 1:  # a step of every task of the config, one batch each
            its = {task: s.batches(0) for task, s in streams.items()}
            every = [{task: next(it) for task, it in its.items()} for _ in range(args.steps + 1)]
            weights = config.weighting.options.get("weights", {})
            seconds = time_steps(model, every, optimizer, weights)
            rows["+".join(streams)] = _row(seconds, len(stream), stream.batch_size, width)
        ms = profile(model, batches[: min(8, len(batches))], optimizer)
        common.emit({
            "benchmark": "preference_step", "config": str(args.config), "threads": args.threads,
            "data": common.fingerprint(store), "steps_timed": args.steps, "rows": rows,
            "profile_ms_per_step": ms, "recbole_sasrec_seconds_per_epoch": 203.0,
            "wall_seconds": time.perf_counter() - started, "peak_rss_mb": common.peak_rss_mb(),
            "versions": common.versions(),
        }, args.out)  # fmt: skip


def set_length_buckets(model, on: bool) -> None:  # type: ignore[no-untyped-def]
    """Switch the shopper encoder's length buckets (``model.length_buckets``) in place."""
    encoder = model.shopper_encoder
    encoder.config = dataclasses.replace(encoder.config, length_buckets=on)


def _row(seconds: float, steps_per_epoch: int, batch_size: int, width: float) -> dict[str, float]:
    return {"seconds_per_step": round(seconds, 4),
            "seconds_per_epoch": round(seconds * steps_per_epoch, 1),
            "samples_per_second": round(batch_size / seconds, 1),
            "mean_batch_width": round(width, 1)}  # fmt: skip


if __name__ == "__main__":
    main()
