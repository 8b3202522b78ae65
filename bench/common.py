"""What every benchmark script shares: running the CLI, training a run, summarising seeds and
writing the one JSON document each script prints."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any


def toyguide(*argv: str) -> None:
    """Run a ``toyguide`` command in its own process (its peak memory is its own)."""
    subprocess.run([sys.executable, "-m", "toyguide", *argv], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def train(work: Path, store: Path, name: str, seed: int, config_text: str) -> dict:
    """Write the config, run ``toyguide train`` and return the run's metrics.json."""
    run = work / f"{name}-seed{seed}"
    config = work / f"{name}-seed{seed}.toml"
    config.write_text(config_text)
    toyguide("train", "--config", str(config), "--store", str(store), "--out", str(run))
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["run"] = str(run)
    return metrics


def summarise(values: list[float | None]) -> dict:
    """Mean and sample standard deviation over seeds (missing values left out)."""
    clean = [v for v in values if v is not None]
    if not clean:
        return {"mean": None, "std": None}
    return {"mean": statistics.fmean(clean),
            "std": statistics.stdev(clean) if len(clean) > 1 else 0.0}  # fmt: skip


def fingerprint(store: Path) -> dict:
    from toyguide.data.store import Store
    from toyguide.evaluation.experiment import store_fingerprint

    with Store.open(store, read_only=True) as s:
        return store_fingerprint(s)


def versions() -> dict:
    import torch

    import toyguide

    return {"python": platform.python_version(), "torch": torch.__version__,
            "toyguide": toyguide.__version__, "machine": platform.machine()}  # fmt: skip


def emit(report: dict[str, Any], out: Path | None) -> None:
    """Print the report as strict JSON (NaN → null) and write it to ``out`` when given."""
    from toyguide.evaluation.experiment import json_safe

    text = json.dumps(json_safe(report), indent=2)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    print(text)
