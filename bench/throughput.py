"""Multi-task CTR training throughput: toyguide's MMoE and PLE against torch-rechub's (issue 4).

A seeded synthetic CTR workload (default 200k training and 20k test samples, 16 categorical
fields, 8 dense features, 3 binary tasks sharing latent signals; see ``ctr_models.generate``)
is trained for a few epochs by every row on the same tensors in the same shuffled order (batch
1,024, Adam lr 1e-3, BCE summed over the tasks), each row in its own process so that its peak
memory is its own (``--in-process``, as ``--quick`` does, runs them all in this one). Per row:
parameters, training samples/s (median over epochs, epoch wall time without evaluation),
inference samples/s (test set, eval mode, no_grad, batch 1,024; median of passes), peak RSS,
test AUC per task and mean after the first and the last epoch; then the ratios toyguide /
torch-rechub per architecture.

Rows ending in ``-bf16`` train and predict under ``torch.autocast("cpu", torch.bfloat16)``
(bfloat16 matmuls, float32 weights and optimiser); the issue's comparison is the float32 rows.

    .venv/bin/python bench/throughput.py --out bench/results/throughput.json
    .venv/bin/python bench/throughput.py --quick      # 8k/2k samples, 1 epoch: a smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

import common  # bench/common.py
import ctr_models

# Row name → (library, architecture, precision); pairs side by side so that a machine getting
# busier during the run does not favour one library.
ROWS = {
    "toyguide-mmoe": ("toyguide", "mmoe", "fp32"),
    "torch-rechub-mmoe": ("torch-rechub", "mmoe", "fp32"),
    "toyguide-ple": ("toyguide", "ple", "fp32"),
    "torch-rechub-ple": ("torch-rechub", "ple", "fp32"),
    "toyguide-mmoe-bf16": ("toyguide", "mmoe", "bf16"),
    "torch-rechub-mmoe-bf16": ("torch-rechub", "mmoe", "bf16"),
    "toyguide-ple-bf16": ("toyguide", "ple", "bf16"),
    "torch-rechub-ple-bf16": ("torch-rechub", "ple", "bf16"),
}
FP32_ROWS = [name for name, (_, _, precision) in ROWS.items() if precision == "fp32"]
GOAL_RATIO = 2.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-train", type=int, default=200_000)
    p.add_argument("--n-test", type=int, default=20_000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seeds", type=int, default=3, help="data, init and shuffle seeds 0..n-1")
    p.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated of: {', '.join(ROWS)}")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads in every row")
    p.add_argument("--inference-passes", type=int, default=5)
    p.add_argument("--workdir", type=Path, default=None, help="keep the generated data here")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quick", action="store_true", help="8k/2k samples, 1 epoch, fp32 rows")
    p.add_argument(
        "--validation",
        action="store_true",
        help="evaluate on the last n-test training rows (trained on the rest), never the test set:"
        " for model choices",
    )
    p.add_argument("--no-input-norm", action="store_true", help="toyguide without its LayerNorm")
    p.add_argument(
        "--in-process",
        action="store_true",
        help="run the rows in this process (faster start; peak RSS then accumulates over rows)",
    )
    p.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # a row's job file
    args = p.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.epochs, args.seeds = 8_192, 2_048, 1, 1
        args.rows, args.inference_passes, args.in_process = ",".join(FP32_ROWS), 1, True
    unknown = set(args.rows.split(",")) - ROWS.keys()
    if unknown:
        p.error(f"unknown rows {sorted(unknown)}; known: {', '.join(ROWS)}")
    return args


# -- one row, in its own process ---------------------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_row(job: dict[str, Any]) -> dict[str, Any]:
    """Train and measure one row on the saved data set; what the worker process prints."""
    torch.set_num_threads(job["threads"])
    spec = ctr_models.CTRSpec(**job["spec"])
    arrays = np.load(job["data"])
    data = {k: torch.from_numpy(arrays[k]) for k in ("sparse", "dense", "labels")}
    if job["validation"]:  # hold out the training part's last n_test rows; the test set unused
        n_fit = spec.n_train - spec.n_test
        train = {k: v[:n_fit] for k, v in data.items()}
        test = {k: v[n_fit : spec.n_train] for k, v in data.items()}
        spec = replace(spec, n_train=n_fit)
    else:
        train = {k: v[: spec.n_train] for k, v in data.items()}
        test = {k: v[spec.n_train :] for k, v in data.items()}
    # torch-rechub loads before the baseline in every row: peak_rss_model_mb is the model's.
    import torch_rechub.models.multi_task  # noqa: F401

    rss_before_model, load_before = _peak_rss_mb(), os.getloadavg()[0]
    library, kind, precision = ROWS[job["row"]]
    torch.manual_seed(job["seed"])
    model = _Runner(spec, library, kind, precision)
    optimiser = torch.optim.Adam(model.model.parameters(), lr=spec.lr)
    shuffle = torch.Generator().manual_seed(job["seed"])  # the same order for every row
    epoch_seconds, cpu_seconds, result = [], [], {}
    for epoch in range(1, job["epochs"] + 1):
        cpu = time.process_time()
        epoch_seconds.append(_train_epoch(model, optimiser, train, spec.batch_size, shuffle))
        cpu_seconds.append(time.process_time() - cpu)
        if epoch in (1, job["epochs"]):
            result |= _auc(model, test, spec, f"auc_epoch{epoch}")
    rates = [spec.n_train / s for s in epoch_seconds]
    return {
        "parameters": sum(p.numel() for p in model.model.parameters()),
        "train_samples_per_s": statistics.median(rates),
        "train_seconds": sum(epoch_seconds),
        "epoch_seconds": epoch_seconds,
        # CPU time of this process (all its threads, OpenMP spinning included): less sensitive
        # than wall time to other processes, not comparable across thread counts.
        "train_samples_per_cpu_s": statistics.median(spec.n_train / s for s in cpu_seconds),
        "inference_samples_per_s": _inference_rate(model, test, spec, job["inference_passes"]),
        **result,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_model_mb": rss_before_model,
        "peak_rss_model_mb": _peak_rss_mb() - rss_before_model,
        # Other processes on the machine make the rates noisy; the 1-minute load average
        # before and after the row says how busy it was (quiet: about 0 plus --threads).
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
    }


class _Runner:
    """One model behind one interface: logits-or-probabilities out, a loss, predictions."""

    def __init__(self, spec: ctr_models.CTRSpec, library: str, kind: str, precision: str) -> None:
        self.spec, self.library = spec, library
        build = ctr_models.toyguide_model if library == "toyguide" else ctr_models.rechub_model
        self.model = build(spec, kind)
        self.autocast = (
            (lambda: torch.autocast("cpu", dtype=torch.bfloat16))
            if precision == "bf16"
            else contextlib.nullcontext
        )

    def loss(self, sparse: Any, dense: Any, labels: Any) -> Any:
        """Per-task mean BCE summed over the tasks (equal weights)."""
        with self.autocast():
            out = self._forward(sparse, dense)
        out = out.float()
        if self.library == "toyguide":  # toyguide's heads give logits
            per_task = F.binary_cross_entropy_with_logits(out, labels, reduction="none")
        else:  # torch-rechub's models give probabilities (its trainer uses BCELoss)
            per_task = F.binary_cross_entropy(out, labels, reduction="none")
        return per_task.mean(0).sum()

    def predict(self, sparse: Any, dense: Any) -> Any:
        """Probabilities [B, T]."""
        with self.autocast():
            out = self._forward(sparse, dense)
        return out.float().sigmoid() if self.library == "toyguide" else out.float()

    def _forward(self, sparse: Any, dense: Any) -> Any:
        if self.library == "toyguide":
            return self.model(sparse, dense)
        return self.model(ctr_models.rechub_inputs(self.spec, sparse, dense))


def _train_epoch(
    runner: _Runner, optimiser: Any, train: dict[str, Any], batch_size: int, shuffle: Any
) -> float:
    """One pass over the training set; its wall time in seconds (batch gathering included)."""
    runner.model.train()
    n = len(train["labels"])
    order = torch.randperm(n, generator=shuffle)
    start = time.perf_counter()
    for i in range(0, n, batch_size):
        idx = order[i : i + batch_size]
        loss = runner.loss(train["sparse"][idx], train["dense"][idx], train["labels"][idx])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return time.perf_counter() - start


def _predict_all(runner: _Runner, test: dict[str, Any], batch_size: int) -> Any:
    runner.model.eval()
    with torch.no_grad():
        parts = [
            runner.predict(test["sparse"][i : i + batch_size], test["dense"][i : i + batch_size])
            for i in range(0, len(test["labels"]), batch_size)
        ]
    return torch.cat(parts)


def _auc(
    runner: _Runner, test: dict[str, Any], spec: ctr_models.CTRSpec, prefix: str
) -> dict[str, float]:
    probs = _predict_all(runner, test, spec.batch_size).numpy()
    labels = test["labels"].numpy()
    out = {
        f"{prefix}_{task}": float(roc_auc_score(labels[:, t], probs[:, t]))
        for t, task in enumerate(spec.tasks)
    }
    return {prefix: statistics.fmean(out.values()), **out}


def _inference_rate(
    runner: _Runner, test: dict[str, Any], spec: ctr_models.CTRSpec, passes: int
) -> float:
    """Test samples per second of the prediction pass (median of ``passes``)."""
    rates = []
    for _ in range(passes):
        start = time.perf_counter()
        _predict_all(runner, test, spec.batch_size)
        rates.append(len(test["labels"]) / (time.perf_counter() - start))
    return statistics.median(rates)


# -- the benchmark -----------------------------------------------------------------------------


def save_data(spec: ctr_models.CTRSpec, seed: int, work: Path) -> tuple[Path, dict[str, Any]]:
    """Generate the seed's data set once, save it for the rows, and describe it."""
    start = time.perf_counter()
    arrays = ctr_models.generate(spec, seed)
    seconds = time.perf_counter() - start
    path = work / f"ctr-seed{seed}.npz"
    np.savez(path, **arrays)
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(arrays[name].tobytes())
    train, test = arrays["labels"][: spec.n_train], arrays["labels"][spec.n_train :]
    return path, {
        "seed": seed,
        "sha256": digest.hexdigest(),
        "generate_seconds": seconds,
        "train_positive_rate": dict(zip(spec.tasks, train.mean(0).tolist(), strict=True)),
        "test_positive_rate": dict(zip(spec.tasks, test.mean(0).tolist(), strict=True)),
        "label_correlation": np.corrcoef(arrays["labels"].T).round(3).tolist(),
    }


def run_worker(job: dict[str, Any], work: Path) -> dict[str, Any]:
    job_file = work / f"{job['row']}-seed{job['seed']}.json"
    job_file.write_text(json.dumps(job))
    cmd = [sys.executable, __file__, "--worker", str(job_file)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"row {job['row']} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


def summarise_row(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and std over seeds of every numeric metric, and the per-seed values."""
    keys = [k for k, v in per_seed[0].items() if isinstance(v, int | float)]
    row = {k: common.summarise([s[k] for s in per_seed]) for k in keys}
    return row | {"per_seed": per_seed}


def compare(per_seed: dict[str, list[dict[str, Any]]], epochs: int) -> dict[str, Any]:
    """toyguide / torch-rechub per architecture, for the rows present on both sides: at the
    same precision (float32: the issue's comparison; bfloat16) and toyguide in bfloat16
    against torch-rechub in float32 (``same_precision`` false)."""
    out = {}
    for kind in ("mmoe", "ple"):
        pairs = [
            (f"toyguide-{kind}", f"torch-rechub-{kind}"),
            (f"toyguide-{kind}-bf16", f"torch-rechub-{kind}-bf16"),
            (f"toyguide-{kind}-bf16", f"torch-rechub-{kind}"),
        ]
        for ours, theirs in pairs:
            if ours in per_seed and theirs in per_seed:
                entry = _pair(per_seed[ours], per_seed[theirs], epochs)
                entry["same_precision"] = ROWS[ours][2] == ROWS[theirs][2]
                out[f"{ours} vs {theirs}"] = entry
    return out


def _pair(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], epochs: int) -> dict:
    seeds = list(zip(ours, theirs, strict=True))
    entry: dict[str, Any] = {
        f"{metric}_ratio": common.summarise([a[metric] / b[metric] for a, b in seeds])
        for metric in (
            "train_samples_per_s",
            "train_samples_per_cpu_s",
            "inference_samples_per_s",
            "peak_rss_mb",
        )
    }
    for epoch in sorted({1, epochs}):
        key = f"auc_epoch{epoch}"
        entry[f"{key}_diff"] = common.summarise([a[key] - b[key] for a, b in seeds])
    ratio = entry["train_samples_per_s_ratio"]["mean"]
    entry["goal"] = f"train_samples_per_s_ratio >= {GOAL_RATIO} and auc_epoch{epochs}_diff >= 0"
    entry["goal_met"] = ratio >= GOAL_RATIO and entry[f"auc_epoch{epochs}_diff"]["mean"] >= 0
    return entry


def versions() -> dict[str, Any]:
    out = common.versions("torch-rechub", "numpy", "scikit-learn")
    out["cpu"] = _cpu_model()
    out["cpu_count"] = os.cpu_count()
    out["mkldnn"] = torch.backends.mkldnn.is_available()
    return out


def _cpu_model() -> str | None:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), None)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_row(json.loads(args.worker.read_text()))))
        return 0
    start = time.perf_counter()
    spec = ctr_models.CTRSpec(
        n_train=args.n_train, n_test=args.n_test, input_norm=not args.no_input_norm
    )
    rows = args.rows.split(",")
    per_seed: dict[str, list[dict[str, Any]]] = {row: [] for row in rows}
    data = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for seed in range(args.seeds):
            path, description = save_data(spec, seed, work)
            data.append(description)
            # Odd seeds run the rows in reverse order: drift in machine load then evens out.
            for row in rows if seed % 2 == 0 else rows[::-1]:
                job = {
                    "row": row, "seed": seed, "data": str(path), "spec": asdict(spec),
                    "epochs": args.epochs, "threads": args.threads,
                    "inference_passes": args.inference_passes, "validation": args.validation,
                }  # fmt: skip
                result = run_row(job) if args.in_process else run_worker(job, work)
                per_seed[row].append(result)
                print(f"seed {seed} {row}: {_brief(per_seed[row][-1])}", file=sys.stderr)
    report = {
        "benchmark": "throughput",
        "evaluated_on": "validation (last n_test training rows)" if args.validation else "test",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        | {"spec": asdict(spec), "rows": rows, "models": MODEL_NOTES},
        "data": {"generator": "bench/ctr_models.py:generate", "seeds": data},
        "rows": {row: summarise_row(per_seed[row]) for row in rows},
        "comparison": compare(per_seed, args.epochs),
        "wall_seconds": time.perf_counter() - start,
        "peak_rss_mb": common.peak_rss_mb(),
        "peak_rss_note": (
            "rows in this process: cumulative high-water marks (--in-process)"
            if args.in_process
            else "largest of this process and any one row process; per row: its own"
        ),
        "versions": versions(),
    }
    common.emit(report, args.out)
    return 0


def _brief(result: dict[str, Any]) -> str:
    last = max(k for k in result if k.startswith("auc_epoch") and k[9:].isdigit())
    return (
        f"{result['train_samples_per_s']:.0f} train/s, "
        f"{result['inference_samples_per_s']:.0f} infer/s, {last} {result[last]:.4f}"
    )


MODEL_NOTES = {
    "input": "16 field embeddings (dim 16, both sides initialised N(0, 1e-4), torch-rechub's "
    "default) concatenated with 8 dense features: 264 wide",
    "experts": "Linear 264→256, ReLU, Linear 256→128 per expert (dropout 0 on both sides)",
    "mmoe": "4 shared experts, one softmax gate (Linear 264→4) per task",
    "ple": "one CGC level (torch-rechub n_level=1): 1 shared expert + 1 expert per task "
    "(4 experts of the same size), per task a softmax gate over its 2 experts",
    "towers": "per task Linear 128→64, ReLU, Linear 64→1",
    "torch-rechub differences": (
        "its MLP always adds BatchNorm1d after every Linear (experts, gates, towers; no option "
        "to turn it off) and a ReLU after the experts' last layer; it outputs probabilities "
        "(its trainer's BCELoss), toyguide logits (BCEWithLogits)"
    ),
    "toyguide model": (
        "bench/ctr_models.py ToyguideCTR: one embedding table with per-field offsets, a "
        "LayerNorm over the 264-wide input (as toyguide's item encoder), the mixer's mix_all "
        "(experts once per batch as one ExpertBank), towers"
    ),
    "input_norm choice": (
        "made on validation (train 180k / the next 20k training rows, seed 0, 1 thread; "
        "--validation [--no-input-norm] reruns it), one setting for both mixers by their mean "
        "AUC after 3 epochs: with the LayerNorm mmoe 0.7144, ple 0.7120 (mean 0.7132); without "
        "mmoe 0.7062, ple 0.7142 (mean 0.7102); torch-rechub mmoe 0.7116, ple 0.7096"
    ),
    "training": "same tensors and per-epoch shuffle (torch.randperm, seeded) for every row; "
    "torch.optim.Adam(lr=1e-3) defaults; loss = sum over tasks of the batch-mean BCE; one "
    "training loop for both libraries (torch-rechub gets each batch as a dict of column views, "
    "not through its DataLoader/collate and MTLTrainer: its fastest path)",
    "inference": "test set in batches of 1,024, eval mode, torch.no_grad, probabilities out",
    "parameters": "trainable parameters (BatchNorm running statistics are buffers, not counted)",
    "peak_rss": "each row runs in its own process: peak_rss_mb is that process's high-water mark; "
    "peak_rss_model_mb is it minus the high-water mark after loading the data",
}


if __name__ == "__main__":
    raise SystemExit(main())
