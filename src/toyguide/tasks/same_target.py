"""Same target: two shoppers' sequences that lead to the same next item are alike (DuoRec's
supervised positives, Qiu et al. 2022; ICSRec's coarse-grained intents, Qin et al. 2024).

A self-supervised auxiliary task on any store with event sequences. Each example is a training
position whose next event is a target (the preference task's unit); its partner is another
position with the same next item, drawn anew for every batch. InfoNCE over the batch pulls each
pair together; the other pairs in the batch with that same next item are not negatives (masked:
they are false negatives). One in twenty positions is held out for the ``pair/accuracy``
diagnostic (validation), one in twenty for test.
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
from toyguide.features.splits import TEST, TRAIN, VALIDATION, require_labels
from toyguide.features.streams import Batch, TaskStream, as_long, sequence_batch
from toyguide.models.config import ModelConfig
from toyguide.models.heads.contrastive import ContrastiveHead, ContrastiveHeadConfig
from toyguide.tasks import _contrast
from toyguide.tasks.base import Task, register_task
from toyguide.tasks.spec import Target, TaskSpec

__all__ = ["SameTargetStream", "SameTargetTask", "same_target_positions"]


@dataclass(frozen=True)
class Positions:
    """Training positions whose next item at least one other position shares, by next item."""

    shopper: np.ndarray  # [P] shopper row
    end: np.ndarray  # [P] exclusive end of the prefix (the event before the target, included)
    target: np.ndarray  # [P] the next item, ascending: each group is a contiguous run
    group_start: np.ndarray  # [P] first position of the row's group
    group_size: np.ndarray  # [P] positions in the group (>= 2)
    split: np.ndarray  # [P] TRAIN, VALIDATION or TEST


def same_target_positions(data: TaskData) -> Positions:
    """Every training position with a next target that another position shares."""
    seqs, loo = data.sequences, data.loo
    n_shoppers = len(loo.train_end)
    shopper = np.repeat(np.arange(n_shoppers), np.diff(seqs.offsets[: n_shoppers + 1]))
    event = np.arange(len(shopper))
    # the next event is a target inside the training events (held-out targets stay unseen)
    inside = (seqs.next_target[: len(shopper)] > 0) & (event + 1 < loo.train_end[shopper])
    event = event[inside]
    target = seqs.next_target[event].astype(np.int64)
    order = np.argsort(target, kind="stable")
    event, target = event[order], target[order]
    _, counts = np.unique(target, return_counts=True)
    shared = np.repeat(counts >= 2, counts)
    event, target = event[shared], target[shared]
    counts = counts[counts >= 2]  # the kept groups, still contiguous and in order
    first = np.cumsum(counts) - counts
    rows = np.arange(len(event))
    split = np.select([rows % 20 == 0, rows % 20 == 1], [VALIDATION, TEST], TRAIN).astype(np.int8)
    return Positions(
        shopper[event], event + 1, target, np.repeat(first, counts), np.repeat(counts, counts),
        split,
    )  # fmt: skip


class SameTargetStream(TaskStream):
    """Pairs of prefixes with the same next item: ``seq_*`` the example, ``b_seq_*`` its
    partner, ``target`` [B] the shared next item (the false-negative mask)."""

    task = "same_target"
    default_batch_size = 256

    def examples(self, split: int) -> np.ndarray:
        return np.flatnonzero(self.task_data.split == split)

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        pos = self.task_data
        # a partner other than the example itself, drawn from the batch's own seed (the same
        # batch always pairs the same way, so a resumed run sees the same pairs)
        rng = np.random.default_rng([self.config.seed, split, *examples[:2].tolist()])
        start, size = pos.group_start[examples], pos.group_size[examples]
        offset = (examples - start + 1 + rng.integers(0, size - 1)) % size
        partner = start + offset
        seqs, max_len = self.data.sequences, self.config.max_len
        batch, _, _ = sequence_batch(seqs, pos.shopper[examples], pos.end[examples], max_len)
        other, _, _ = sequence_batch(seqs, pos.shopper[partner], pos.end[partner], max_len)
        batch |= {f"b_{key}": value for key, value in other.items()}
        batch["target"] = as_long(pos.target[examples])
        return batch


@register_task
class SameTargetTask(Task):
    spec = TaskSpec(
        "same_target",
        "interaction",
        (Target("pair", "multiclass", ("accuracy",)),),
        "InfoNCE between prefixes with the same next item, same-item pairs not negatives",
        ("pair", "accuracy"),
    )
    stream = SameTargetStream
    head_class = ContrastiveHead
    reads = frozenset({"events"})
    encoders = frozenset({"item", "shopper"})

    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> Positions:
        positions = same_target_positions(data)
        require_labels(self.name, bool((positions.split == TRAIN).any()),
                       "no two training positions with the same next item")  # fmt: skip
        return positions

    def head_config(self, dims: Mapping[str, int], config: ModelConfig) -> ContrastiveHeadConfig:
        return _contrast.head_config(config, group_key="target")

    def represent(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        first = _contrast.encode(model, batch)
        return torch.cat([first, _contrast.encode(model, _contrast.view(batch, "b_"))])

    def evaluate(self, model: Any, batches: Iterable[dict]) -> dict[str, float]:
        return _contrast.pair_metrics(model, self.name, batches)
