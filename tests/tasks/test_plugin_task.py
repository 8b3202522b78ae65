"""A task added from this file alone: its spec, stream, head and evaluator live here, one
decorator registers it, and a run trains and evaluates it beside a built-in task — no other
file of toyguide changes (the point of ``toyguide.tasks``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor, nn

from toyguide.evaluation.metrics import metric_of
from toyguide.features.data import TaskData
from toyguide.features.splits import TEST, TRAIN, VALIDATION
from toyguide.features.streams import Batch, TaskStream, as_float, as_long
from toyguide.models.config import ModelConfig
from toyguide.models.losses import LossOutput
from toyguide.runs import run_config_from_dict, train_run
from toyguide.tasks import TASKS, Target, Task, TaskSpec, register_task


@dataclass(frozen=True)
class Popularity:
    log_count: np.ndarray  # [N+1] float32: log1p of the item's target events
    split: np.ndarray  # [N+1] int8


class PopularityStream(TaskStream):
    task = "toy_popularity"

    def examples(self, split: int) -> np.ndarray:
        return np.flatnonzero(self.task_data.split == split)

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        return {
            "items": as_long(examples),
            "log_count": as_float(self.task_data.log_count[examples]),
        }


@dataclass(frozen=True)
class RegressionHeadConfig:
    d_model: int


class RegressionHead(nn.Module):
    def __init__(self, config: RegressionHeadConfig) -> None:
        super().__init__()
        self.proj = nn.Linear(config.d_model, 1)

    def forward(self, h: Tensor) -> Tensor:
        return self.proj(h).squeeze(-1)  # [B]

    def loss(self, prediction: Tensor, batch: dict[str, Tensor]) -> LossOutput:
        target = batch["log_count"]
        return LossOutput(nn.functional.mse_loss(prediction, target), target.numel())


@register_task
class PopularityTask(Task):
    """How often a toy is bought or clicked, from what the item encoder sees."""

    spec = TaskSpec(
        "toy_popularity", "item", (Target("log_count", "regression", ("mse",)),), "MSE",
        ("log_count", "mse"),
    )  # fmt: skip
    stream = PopularityStream
    head_class = RegressionHead
    reads = frozenset({"events"})

    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> Popularity:
        seqs = data.sequences
        counts = np.bincount(seqs.items[seqs.is_target], minlength=data.n_items + 1)
        rows = np.arange(data.n_items + 1)
        split = np.select([rows == 0, rows % 10 == 0, rows % 10 == 1], [-1, VALIDATION, TEST],
                          TRAIN).astype(np.int8)  # fmt: skip
        return Popularity(np.log1p(counts).astype(np.float32), split)

    def head_config(self, dims: Mapping[str, int], config: ModelConfig) -> RegressionHeadConfig:
        return RegressionHeadConfig(config.d_model)

    def evaluate(self, model: Any, batches: Iterable[dict]) -> dict[str, float]:
        pairs = [(model.predict(self.name, b).numpy(), b["log_count"].numpy()) for b in batches]
        pred, true = (np.concatenate(p) for p in zip(*pairs, strict=True))
        return {"log_count/mse": metric_of("mse")(true, pred), "log_count/n": float(len(true))}


def test_a_task_from_one_file_trains_and_is_evaluated_beside_a_built_in_one(
    shop_path: Path, tmp_path: Path
) -> None:
    assert "toy_popularity" in TASKS
    config = run_config_from_dict({
        "threads": 1,
        "features": {"tasks": ["toy_popularity", "attributes"]},
        "model": {"d_model": 16, "expert_hidden": [16], "n_experts": 2},
        "train": {"epochs": 1, "steps_per_epoch": 1},
    })  # fmt: skip
    torch.manual_seed(0)
    metrics = train_run(config, shop_path, tmp_path / "run")
    mse = metrics["test"]["toy_popularity"]["log_count/mse"]
    assert np.isfinite(mse) and metrics["test"]["toy_popularity"]["log_count/n"] > 0
    assert "age_band/accuracy" in metrics["test"]["attributes"]
    steps = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    step = next(s for s in steps if "step" in s)
    assert set(step["loss"]) == {"toy_popularity", "attributes"}, step
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
