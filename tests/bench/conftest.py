"""Shared by the benchmark smoke tests: run a ``bench/`` script with ``--quick`` in its own
process, as ``make bench`` would, and return the JSON document it wrote."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
REQUIRED_KEYS = {"benchmark", "config", "data", "rows", "wall_seconds", "peak_rss_mb", "versions"}


@pytest.fixture
def run_bench(tmp_path: Path) -> Callable[..., dict]:
    """``run_bench("forecast.py", "--data", str(folder))``: the report of a ``--quick`` run."""

    def run(script: str, *args: str, timeout: float = 300) -> dict:
        out = tmp_path / f"{Path(script).stem}.json"
        argv = [sys.executable, str(BENCH / script), "--quick", "--out", str(out), *args]
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{script} failed:\n{done.stderr[-4000:]}"
        report = json.loads(out.read_text())
        assert json.loads(done.stdout) == report  # prints the same document it writes
        missing = REQUIRED_KEYS - report.keys()
        assert not missing, f"{script}'s report lacks {sorted(missing)}"
        return report

    return run


@pytest.fixture
def bench_module(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    """``bench_module("soak")``: a ``bench/`` script imported as a module (bench/ is not a
    package: it is on sys.path for this test only)."""

    def load(name: str) -> ModuleType:
        monkeypatch.syspath_prepend(str(BENCH))
        return importlib.import_module(name)

    return load
