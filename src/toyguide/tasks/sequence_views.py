"""Sequence views: two augmented views of a shopper's event sequence are one shopper (CL4SRec,
Xie et al. 2022; DuoRec's unsupervised dropout views, Qiu et al. 2022).

A self-supervised auxiliary task on any store with event sequences: each view masks a share of
the items (and, in training, passes through its own dropout); InfoNCE over the batch pulls the
two views of a shopper together and pushes the other shoppers away, which shapes the shared
shopper encoder the preference task ranks with. Input: each shopper's training events (the
preference task's leave-one-out cut, so no held-out event is seen). Metric: ``pair/accuracy``,
how often a view's nearest neighbour in the batch is its other view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor

from toyguide.features.data import TaskData
from toyguide.features.splits import TRAIN, VALIDATION, LeaveOneOut, require_labels
from toyguide.features.streams import Batch, TaskStream, sequence_batch
from toyguide.models.config import ModelConfig
from toyguide.models.heads.contrastive import ContrastiveHead, ContrastiveHeadConfig
from toyguide.tasks import _contrast
from toyguide.tasks.base import Task, register_task
from toyguide.tasks.spec import Target, TaskSpec

__all__ = ["MASK_RATE", "SequenceViewsStream", "SequenceViewsTask"]

MASK_RATE = 0.2  # CL4SRec's item-mask ratio on Amazon data


@dataclass(frozen=True)
class ViewsData:
    loo: LeaveOneOut
    train_shoppers: np.ndarray  # shopper rows with two or more training events
    eval_shoppers: np.ndarray  # shopper rows with held-out events


class SequenceViewsStream(TaskStream):
    """Shopper sequence batches: training events (up to the leave-one-out cut) in training, the
    events before the validation or test event in evaluation."""

    task = "sequence_views"
    default_batch_size = 256

    def examples(self, split: int) -> np.ndarray:
        views = self.task_data
        return views.train_shoppers if split == TRAIN else views.eval_shoppers

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        loo = self.task_data.loo
        ends = {TRAIN: loo.train_end, VALIDATION: loo.validation}.get(split, loo.test)
        batch, _, _ = sequence_batch(self.data.sequences, examples, ends[examples],
                                     self.config.max_len)  # fmt: skip
        return batch


@register_task
class SequenceViewsTask(Task):
    spec = TaskSpec(
        "sequence_views",
        "shopper",
        (Target("pair", "multiclass", ("accuracy",)),),
        "InfoNCE between two item-masked (and dropout) views of each shopper's sequence",
        ("pair", "accuracy"),
    )
    stream = SequenceViewsStream
    head_class = ContrastiveHead
    reads = frozenset({"events"})
    encoders = frozenset({"item", "shopper"})

    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> ViewsData:
        loo, offsets = data.loo, data.sequences.offsets
        train = np.flatnonzero(loo.train_end - offsets[:-1] >= 2)
        require_labels(self.name, len(train) > 0, "no shopper with two or more events")
        return ViewsData(loo, train, np.flatnonzero(loo.held_out))

    def head_config(self, dims: Mapping[str, int], config: ModelConfig) -> ContrastiveHeadConfig:
        return _contrast.head_config(config)

    def represent(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        """Both views, stacked ``[2B, D]``; in evaluation the first view is unmasked and the
        second masked with a fixed generator, so the metric is the same at every call."""
        if model.training:
            first, second = _contrast.mask_items(batch, MASK_RATE), _contrast.mask_items(
                batch, MASK_RATE)  # fmt: skip
        else:
            fixed = torch.Generator().manual_seed(0)
            first, second = batch, _contrast.mask_items(batch, MASK_RATE, fixed)
        return torch.cat([_contrast.encode(model, first), _contrast.encode(model, second)])

    def evaluate(self, model: Any, batches: Iterable[dict]) -> dict[str, float]:
        return _contrast.pair_metrics(model, self.name, batches)
