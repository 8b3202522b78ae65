"""What every benchmark script shares: running the CLI, training a run, summarising seeds and
writing the one JSON document each script prints."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def toyguide(*argv: str) -> None:
    """Run a ``toyguide`` command in its own process (its peak memory is its own)."""
    subprocess.run([sys.executable, "-m", "toyguide", *argv], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def train(work: Path, store: Path, name: str, seed: int, config_text: str) -> dict:
    """Write the config, run ``toyguide train`` and return the run's metrics.json.

    A run that already finished in ``work`` with the same config is reused, so a benchmark
    stopped half-way resumes where it was (its rows can also be trained by separate processes).
    """
    run = work / f"{name}-seed{seed}"
    config = work / f"{name}-seed{seed}.toml"
    done = run / "metrics.json"
    if done.exists() and config.exists() and config.read_text() == config_text:
        return json.loads(done.read_text()) | {"run": str(run), "reused": True}
    config.write_text(config_text)
    toyguide("train", "--config", str(config), "--store", str(store), "--out", str(run))
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["run"] = str(run)
    return metrics


def grouped(config_text: str, run: Path, choose: str = "") -> str:
    """``config_text`` with ``[grouping]`` set to train the grouping that ``run`` (a finished
    multi-task run that measured task affinity) suggests: one model per group; ``choose =
    "validation"``: also every task together and each alone, each task served by its best."""
    import tomli_w

    grouping = {"suggested_by": str(run)} | ({"choose": choose} if choose else {})
    return config_text + "\n" + tomli_w.dumps({"grouping": grouping})


def cached(path: Path, key: Any, compute: Callable[[], dict]) -> tuple[dict, bool]:
    """``compute()``, kept in ``path`` with ``key`` (what it depends on) so a resumed benchmark
    does not redo it; returns the value and whether it was reused."""
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("key") == key:  # another key, or a file of another shape: compute again
            return saved["value"], True
    value = compute()
    path.write_text(json.dumps({"key": key, "value": value}))
    return value, False


def summarise(values: list[float | None]) -> dict:
    """Mean and sample standard deviation over seeds (missing values left out)."""
    clean = [v for v in values if v is not None]
    if not clean:
        return {"mean": None, "std": None}
    return {"mean": statistics.fmean(clean),
            "std": statistics.stdev(clean) if len(clean) > 1 else 0.0}  # fmt: skip


def fingerprint(store: Path) -> dict:
    from toyguide.data.store import Store
    from toyguide.runs import store_fingerprint

    with Store.open(store, read_only=True) as s:
        return store_fingerprint(s)


def peak_rss_mb() -> float:
    """The larger peak resident memory of this process and of its largest finished child."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)  # Linux reports KiB


def versions(*packages: str) -> dict:
    """Python, torch, toyguide and the named peer packages' versions."""
    from importlib.metadata import version

    import torch

    import toyguide

    return {"python": platform.python_version(), "torch": torch.__version__,
            "toyguide": toyguide.__version__, "machine": platform.machine(),
            **{name: version(name) for name in packages}}  # fmt: skip


def delta_m_of_rows(
    rows: dict, metrics: dict[str, tuple[str, ...]], metric_of: Callable[[dict, str], dict],
    mtl: str = "toyguide-mtl", stl: str = "toyguide-stl",
) -> dict:  # fmt: skip
    """Δm of row ``mtl`` against row ``stl`` over ``metrics`` ({task: names}).

    ``metric_of(row, task)`` is where a row keeps the task's metrics; a value may be a number
    or a ``{"mean", "std"}`` summary (its mean counts).
    """
    from toyguide.evaluation.metrics import delta_m

    def pick(name: str) -> dict:
        out = {}
        for task, names in metrics.items():
            values = metric_of(rows[name], task)
            out[task] = {m: _mean(values[m]) for m in names}
        return out

    return delta_m(pick(mtl), pick(stl))


# rows of the groupings the engine picks, beside toyguide-mtl (every task together)
GROUPED = "toyguide-grouped"  # the grouping the mtl run's measured task affinity suggests
CHOSEN = "toyguide-chosen"  # those groups, together and alone: each task by its validation


def served_by(metrics: dict, given: bool = False) -> dict[str, list[str]]:
    """Task → the group that serves it in a grouped run's metrics.json (``given``: the group
    the config gave or suggested for it, whatever ``grouping.choose`` chose)."""
    if given:
        return {t: g["tasks"] for g in metrics["groups"] if g["given"] for t in g["tasks"]}
    return {t: g["tasks"] for g in metrics["groups"] for t in g["serves"]}


def grouping_deltas(
    rows: dict, metrics: dict[str, tuple[str, ...]], metric_of: Callable[[dict, str], dict]
) -> dict:
    """``delta_m_grouped`` and ``delta_m_chosen``: Δm of the grouping rows against
    ``toyguide-stl`` (None for a row the report lacks)."""
    return {
        key: delta_m_of_rows(rows, metrics, metric_of, mtl=row) if row in rows else None
        for key, row in (("delta_m_grouped", GROUPED), ("delta_m_chosen", CHOSEN))
    }


def _mean(value: Any) -> float:
    return value["mean"] if isinstance(value, dict) else value


def relatedness_of(run: Path) -> dict:
    """A run's task-relatedness matrices (gradient cosine, lookahead affinity, label NMI) and
    suggested grouping, from its relatedness.json; {} when the run wrote none."""
    path = run / "relatedness.json"
    if not path.exists():
        return {}
    report = json.loads(path.read_text())
    matrices = {k: {"names": m["names"], "values": m["values"]}
                for k, m in report["matrices"].items()}  # fmt: skip
    return {"matrices": matrices, "grouping": report.get("grouping", [])}


def emit(report: dict[str, Any], out: Path | None) -> None:
    """Print the report as strict JSON (NaN → null) and write it to ``out`` when given."""
    from toyguide.runs import json_safe

    text = json.dumps(json_safe(report), indent=2)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    print(text)
