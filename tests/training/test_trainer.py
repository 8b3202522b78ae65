"""The trainer on a small real two-task model: resume equals an uninterrupted run; bad losses stop."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from toyguide.errors import CheckpointError, ConfigError, NonFiniteLossError
from toyguide.training.callbacks import Callback
from toyguide.training.checkpoint import read_checkpoint
from toyguide.training.trainer import (
    MeanSelection,
    Selection,
    TrailingSelection,
    TrainConfig,
    Trainer,
    trailing,
)
from toyguide.weighting import build_weighting


class TwoTaskNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2))
        self.heads = nn.ModuleDict({"a": nn.Linear(16, 1), "b": nn.Linear(16, 1)})
        self.poison = False

    def task_loss(self, task: str, batch: dict) -> tuple[torch.Tensor, int]:
        pred = self.heads[task](self.trunk(batch["x"])).squeeze(-1)
        loss = ((pred - batch["y"]) ** 2).mean()
        if self.poison and task == "b":
            loss = loss * float("nan")
        return loss, len(batch["y"])

    def shared_parameters(self) -> list[nn.Parameter]:
        return list(self.trunk.parameters())


class Stream:
    def __init__(self, task: str, n: int = 64, batch: int = 16) -> None:
        g = torch.Generator().manual_seed(hash(task) % 1000)
        self.x = torch.randn(n, 4, generator=g)
        w = torch.randn(4, generator=g)
        self.y = self.x @ w + (1.0 if task == "a" else -1.0)
        self.batch, self.task = batch, task

    def __len__(self) -> int:
        return len(self.y) // self.batch

    def batches(self, epoch: int, shard: tuple[int, int] = (0, 1)):
        order = torch.randperm(len(self.y), generator=torch.Generator().manual_seed(epoch))
        for i in range(len(self))[shard[0] :: shard[1]]:
            idx = order[i * self.batch : (i + 1) * self.batch]
            yield {"x": self.x[idx], "y": self.y[idx]}


def make_trainer(
    run_dir: Path, epochs: int = 4, weighting: str = "uncertainty", callbacks=(), **train
) -> Trainer:
    torch.manual_seed(0)
    model = TwoTaskNet()
    streams = {"a": Stream("a"), "b": Stream("b", n=32)}

    def evaluate(m, split: str) -> dict:
        m.eval()
        with torch.no_grad():
            out = {
                t: {"mse": float(m.task_loss(t, {"x": s.x, "y": s.y})[0])}
                for t, s in streams.items()
            }
        m.train()
        return out

    return Trainer(
        model,
        streams,
        build_weighting(weighting, ["a", "b"]),
        evaluate,
        Selection("a", "mse", higher_is_better=False),
        TrainConfig(epochs=epochs, lr=0.01, patience=10, log_every=1, **train),
        run_dir,
        callbacks,
    )


def test_training_reduces_loss_and_logs(tmp_path: Path) -> None:
    result = make_trainer(tmp_path).fit()
    history = result.history
    assert history[-1]["validation"]["a"]["mse"] < history[0]["validation"]["a"]["mse"]
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert {"loss", "weight"} <= set(records[0]) and records[-1]["epoch"] == 4
    assert (tmp_path / "checkpoints" / "best" / "model.safetensors").is_file()


def test_resume_gives_the_same_result(tmp_path: Path) -> None:
    full = make_trainer(tmp_path / "full").fit()
    make_trainer(tmp_path / "cut", epochs=2).fit()  # as if killed after epoch 2
    resumed = make_trainer(tmp_path / "cut", epochs=4).fit(resume=True)
    assert without_time(resumed.history) == without_time(full.history)
    assert log_of(tmp_path / "cut") == log_of(tmp_path / "full")


def without_time(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("seconds", "validation_seconds")}
            for r in records]  # fmt: skip


def log_of(run_dir: Path) -> list[dict]:
    lines = (run_dir / "log.jsonl").read_text().splitlines()
    return without_time([json.loads(line) for line in lines])


def test_non_finite_loss_stops_and_keeps_last_checkpoint(tmp_path: Path) -> None:
    trainer = make_trainer(tmp_path, epochs=1)
    trainer.fit()
    trainer2 = make_trainer(tmp_path, epochs=3)
    trainer2.model.poison = True
    with pytest.raises(
        NonFiniteLossError, match=r"task 'b' loss is nan at epoch 2, step 1.*epoch-0001"
    ):
        trainer2.fit(resume=True)
    assert (tmp_path / "checkpoints" / "LATEST").read_text() == "epoch-0001"


def test_a_selection_never_measured_keeps_the_latest_epoch_as_the_best(tmp_path: Path) -> None:
    trainer = make_trainer(tmp_path, epochs=5)
    trainer.selection = Selection("a", "absent", higher_is_better=True)  # NaN every epoch
    trainer.config = dataclasses.replace(trainer.config, patience=2)
    result = trainer.fit()
    assert result.epochs_run == 5 and not result.stopped_early  # NaN epochs are not "bad"
    assert result.best_epoch == 5 and result.best_value is None
    assert read_checkpoint(tmp_path / "checkpoints" / "best")[1]["epoch"] == 5


def test_resume_without_checkpoint_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="nothing to resume from"):
        make_trainer(tmp_path).fit(resume=True)


def test_a_wall_clock_budget_stops_before_the_next_epoch(tmp_path: Path) -> None:
    trainer = make_trainer(tmp_path, epochs=50)
    trainer.config = dataclasses.replace(trainer.config, max_minutes=1e-9)  # spent by epoch 1
    result = trainer.fit()
    assert result.epochs_run == 1 and not result.stopped_early
    resumed = make_trainer(tmp_path, epochs=50)
    resumed.config = trainer.config
    assert resumed.fit(resume=True).epochs_run == 1  # the budget counts the recorded epochs


class KillAtEpoch(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_start(self, trainer, epoch: int, steps: int) -> None:
        if epoch == self.epoch:
            raise KeyboardInterrupt  # as if the process were killed here


def step_rates(run_dir: Path) -> list[float]:
    return [r["lr"] for r in map(json.loads, (run_dir / "log.jsonl").read_text().splitlines())
            if "lr" in r]  # fmt: skip


def test_a_decaying_rate_follows_the_planned_steps_and_resumes_exactly(tmp_path: Path) -> None:
    schedule = {"lr_schedule": "linear", "warmup_steps": 2, "lr_floor": 0.1}
    full = make_trainer(tmp_path / "full", **schedule).fit()
    rates = step_rates(tmp_path / "full")
    steps = 4 * 4  # 4 epochs of the longer stream's 4 batches, every step logged
    assert len(rates) == steps
    assert rates[:2] == pytest.approx([0.005, 0.01])  # warm-up to lr = 0.01
    assert rates[2] == pytest.approx(0.01)
    assert all(a > b for a, b in itertools.pairwise(rates[2:]))  # then down
    assert rates[-1] == pytest.approx(0.001)  # lr_floor × lr at the last planned step
    with pytest.raises(KeyboardInterrupt):
        make_trainer(tmp_path / "cut", callbacks=[KillAtEpoch(3)], **schedule).fit()
    resumed = make_trainer(tmp_path / "cut", **schedule).fit(resume=True)
    assert without_time(resumed.history) == without_time(full.history)
    assert step_rates(tmp_path / "cut") == rates


class RidingStream(Stream):
    rides = "a"

    def batches(self, epoch: int, shard: tuple[int, int] = (0, 1)):
        raise AssertionError("a riding task's own batches are not drawn beside its host")


def test_a_riding_task_trains_on_its_hosts_batch_of_each_step(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    class Recording(TwoTaskNet):
        def task_loss(self, task: str, batch: dict) -> tuple[torch.Tensor, int]:
            seen.append((task, id(batch)))
            return super().task_loss("b" if task == "c" else task, batch)

    streams = {"a": Stream("a"), "c": RidingStream("c")}
    trainer = Trainer(
        Recording(), streams, build_weighting("equal", ["a", "c"]),
        lambda m, split: {"a": {"mse": 1.0}}, Selection("a", "mse", higher_is_better=False),
        TrainConfig(epochs=1, lr=0.01), tmp_path,
    )  # fmt: skip
    trainer.fit()
    assert [task for task, _ in seen] == ["a", "c"] * 4
    assert all(seen[i][1] == seen[i + 1][1] for i in range(0, 8, 2))  # the same batch


def test_a_task_stops_training_after_its_last_epoch_and_still_validates(tmp_path: Path) -> None:
    trainer = make_trainer(tmp_path, epochs=3, task_epochs={"b": 1})
    result = trainer.fit()
    assert [set(h["train_loss"]) for h in result.history] == [{"a", "b"}, {"a"}, {"a"}]
    assert all("b" in h["validation"] for h in result.history)
    steps = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert all(set(r["loss"]) == {"a"} for r in steps if "loss" in r and r["epoch"] > 1)
    with pytest.raises(ConfigError, match="task_epochs must be >= 1"):
        TrainConfig(task_epochs={"b": 0})


def test_an_unknown_schedule_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="lr_schedule must be one of constant, linear, cosine"):
        TrainConfig(lr_schedule="step")


def test_mean_selection_weighs_each_task_by_its_relative_gain() -> None:
    parts = (("a", "ndcg@10", True), ("b", "wape", False))
    selection = MeanSelection("all", "mean_relative_gain", True, parts)
    first = {"a": {"ndcg@10": 0.02}, "b": {"wape": 0.8}}
    history = [{"validation": first}]
    assert selection.value(first, []) == 0.0  # the first epoch is its own reference
    # a doubled NDCG (+100 %) and a WAPE 10 % worse: +0.45, whatever the metrics' scales
    later = {"a": {"ndcg@10": 0.04}, "b": {"wape": 0.88}}
    assert selection.value(later, history) == pytest.approx((1.0 - 0.1) / 2)
    partial = {"a": {"ndcg@10": 0.03}, "b": {"wape": math.nan}}  # b left out this epoch
    assert selection.value(partial, history) == pytest.approx(0.5)


# validation mse per epoch: "a" is best at epoch 2, "b" keeps improving until epoch 5
SCRIPTED_A = [3.0, 1.0, 2.0, 2.5, 2.6, 2.7, 2.8, 2.9]
SCRIPTED_B = [5.0, 4.0, 3.0, 2.0, 1.5, 1.6, 1.7, 1.8]


def scripted_trainer(run_dir: Path, epochs: int, parts: bool) -> Trainer:
    trainer = make_trainer(run_dir, epochs=epochs)
    trainer.config = dataclasses.replace(trainer.config, patience=2)

    def scripted(model, split: str) -> dict:
        epoch = trainer.state.epoch + 1  # the epoch being validated
        return {"a": {"mse": SCRIPTED_A[epoch - 1]}, "b": {"mse": SCRIPTED_B[epoch - 1]}}

    trainer.evaluate = scripted
    if parts:
        trainer.parts = {t: Selection(t, "mse", higher_is_better=False) for t in ("a", "b")}
    return trainer


def test_each_part_keeps_its_own_best_epoch_and_the_run_waits_for_the_last(
    tmp_path: Path,
) -> None:
    alone = scripted_trainer(tmp_path / "alone", 8, parts=False).fit()
    assert (alone.best_epoch, alone.epochs_run, alone.part_best) == (2, 4, {})
    result = scripted_trainer(tmp_path / "parts", 8, parts=True).fit()
    # the selection's best is still epoch 2; b's improvements keep the run going to 5 + 2
    assert (result.best_epoch, result.epochs_run) == (2, 7)
    assert result.part_best == {"a": 2, "b": 5}
    checkpoints = tmp_path / "parts" / "checkpoints"
    assert sorted(p.name for p in checkpoints.glob("best-at-*")) == [
        "best-at-0002",
        "best-at-0005",
    ]  # epochs 1, 3 and 4 were a part's best once and are gone
    assert read_checkpoint(checkpoints / "best-at-0005")[1]["epoch"] == 5
    assert result.history[4]["parts"] == {"a": 2.6, "b": 1.5}


def test_a_trailing_selection_averages_the_last_epochs_it_has_a_value_for() -> None:
    mse = Selection("a", "mse", higher_is_better=False)
    assert trailing(mse, 1) is mse
    windowed = trailing(mse, 3)
    assert isinstance(windowed, TrailingSelection) and not windowed.higher_is_better
    history = [{"validation": {"a": {"mse": v}}} for v in (9.0, 1.0, math.nan, 2.0)]
    assert windowed.value({"a": {"mse": 3.0}}, []) == 3.0  # the first epoch: itself alone
    assert windowed.value({"a": {"mse": 3.0}}, history[:2]) == pytest.approx((9 + 1 + 3) / 3)
    assert windowed.value({"a": {"mse": 3.0}}, history) == pytest.approx(2.5)  # NaN left out
    assert math.isnan(windowed.value({"b": {}}, [{"validation": {"b": {}}}]))


def test_a_part_judged_on_its_trailing_mean_skips_a_lone_lucky_epoch(tmp_path: Path) -> None:
    spiky = [3.0, 1.0, 3.0, 1.6, 1.5, 1.6, 2.0, 2.5]  # epoch 2 alone is best; 4-6 hold steady

    def run(window: int) -> dict[str, int]:
        trainer = make_trainer(tmp_path / f"w{window}", epochs=8)
        trainer.config = dataclasses.replace(trainer.config, patience=8)
        trainer.evaluate = lambda model, split: {"a": {"mse": spiky[trainer.state.epoch]}}
        trainer.parts = {"a": trailing(Selection("a", "mse", higher_is_better=False), window)}
        return trainer.fit().part_best

    assert run(1)["a"] == 2
    assert run(3)["a"] == 6  # (1.6 + 1.5 + 1.6) / 3: the best mean of three epochs in a row


def test_a_resumed_run_keeps_its_parts_best_epochs(tmp_path: Path) -> None:
    full = scripted_trainer(tmp_path / "full", 8, parts=True).fit()
    scripted_trainer(tmp_path / "cut", 4, parts=True).fit()  # as if killed after epoch 4
    resumed = scripted_trainer(tmp_path / "cut", 8, parts=True).fit(resume=True)
    assert resumed.part_best == full.part_best and resumed.epochs_run == full.epochs_run
    assert without_time(resumed.history) == without_time(full.history)
