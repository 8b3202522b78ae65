"""``toyguide train --nproc 2``: two real ranks under torchrun (gloo) on the tiny synthetic shop.
Rank 0 alone writes; a rank killed with SIGKILL stops the run with a message naming it, and
``--resume`` continues to exactly the uninterrupted two-rank result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from toyguide.training.checkpoint import read_checkpoint

from .test_runs import (
    STEPS,
    _epoch_two_steps,
    error_line,
    read_log,
    train,
    without_wall_time,
    write_config,
)

NPROC = ("--nproc", "2")


@pytest.fixture(scope="module")
def ddp_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # gradnorm: a strategy that differentiates each task apart, whose per-task gradients the
    # ranks must share to decide alike
    path = tmp_path_factory.mktemp("config") / "ddp.toml"
    return write_config(path, weighting={"name": "gradnorm"})


@pytest.fixture(scope="module")
def run_ddp(shop_path: Path, ddp_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "ddp"
    done = train(ddp_config, shop_path, run, *NPROC)
    assert done.returncode == 0, done.stderr[-3000:]
    return run


def test_two_ranks_share_each_epoch_and_rank_0_alone_writes(run_ddp: Path) -> None:
    log = read_log(run_ddp)
    steps = [r for r in log if "step" in r]
    assert {r["step"] for r in steps if r["epoch"] == 1} == set(range(1, STEPS // 2 + 1))
    assert len(steps) == 3 * STEPS // 2  # one writer: no step logged twice
    _, meta = read_checkpoint(run_ddp / "checkpoints" / "epoch-0003")
    assert meta["world_size"] == 2
    metrics = json.loads((run_ddp / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3 and (run_ddp / "model" / "model.safetensors").exists()


def _rank_pid(launcher: int, rank: int) -> int | None:
    """The pid of the worker with RANK=rank among the launcher's descendants."""
    for child in psutil.Process(launcher).children(recursive=True):
        try:
            if child.environ().get("RANK") == str(rank):
                return child.pid
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return None


def _kill_rank_one_in_epoch_two(config: Path, store: Path, run: Path) -> str:
    cmd = [sys.executable, "-m", "toyguide", "train", "--config", str(config)]
    cmd += ["--store", str(store), "--out", str(run), *NPROC]
    latest = run / "checkpoints" / "LATEST"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    killed = False
    while proc.poll() is None and time.monotonic() < deadline:
        at_epoch_one = latest.exists() and latest.read_text().strip() == "epoch-0001"
        if at_epoch_one and _epoch_two_steps(run / "log.jsonl") >= 2:
            pid = _rank_pid(proc.pid, 1)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                killed = True
                break
        time.sleep(0.01)
    _, stderr = proc.communicate(timeout=120)
    if not killed:
        pytest.fail(f"rank 1 was not killed in epoch 2 (raise STEPS); stderr:\n{stderr[-2000:]}")
    assert proc.returncode == 1, stderr[-2000:]
    return stderr


# two more two-rank trainings (kill, then resume): `make test-all`
@pytest.mark.slow
def test_a_killed_rank_is_named_and_resume_matches_the_uninterrupted_run(
    shop_path: Path, ddp_config: Path, run_ddp: Path, tmp_path: Path
) -> None:
    run = tmp_path / "killed"
    stderr = _kill_rank_one_in_epoch_two(ddp_config, shop_path, run)
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("error: distributed training failed: rank 1 (pid "), line
    assert "was killed by SIGKILL" in line and "--resume" in line
    assert not (run / "metrics.json").exists()

    resumed = train(ddp_config, shop_path, run, "--resume", *NPROC)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = (json.loads((r / "metrics.json").read_text()) for r in (run_ddp, run))
    assert b["test"] == a["test"]
    assert without_wall_time(read_log(run)) == without_wall_time(read_log(run_ddp))
    best = [(r / "checkpoints" / "best" / "checksums.json").read_text() for r in (run_ddp, run)]
    assert best[0] == best[1]


def test_resuming_with_another_world_size_is_refused(
    shop_path: Path, ddp_config: Path, run_ddp: Path
) -> None:
    line = error_line(train(ddp_config, shop_path, run_ddp, "--resume"))
    assert "written by 2 process(es); resume it with --nproc 2" in line
