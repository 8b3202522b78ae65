"""Co-bought items: from a toy's own vector, the toys the same shoppers bought (item2vec's
question, answered with item-kNN's neighbours as soft labels).

An auxiliary task on the item side of any store with event sequences: each item's labels are
its 20 nearest BM25 item-kNN neighbours over the shoppers' training events (the
events before each shopper's validation target: nothing held out is seen), weighted by their
similarity. The item's shared vector goes through the mixer and a head of its own and is
scored against the whole catalogue in the preference item space (the item tower's vectors when
preference is in the run), the item itself left out; the loss is the cross-entropy against the
normalised neighbour weights. It teaches the shared item vectors the co-purchase structure a
sequence model learns slowly from sequences, at the cost of one small catalogue softmax per
step (one row per item of the batch, no sequence pass).
Split: seeded 10 % / 10 % of the items with neighbours for validation / test. Metrics:
``co_item/hr@10`` and ``ndcg@10`` of each held-out item's nearest neighbour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor

from toyguide.evaluation.protocols import ranking_metrics, target_ranks
from toyguide.features.data import TaskData
from toyguide.features.neighbours import fit_neighbours
from toyguide.features.splits import TRAIN, holdout_catalogue, require_labels
from toyguide.features.streams import Batch, TaskStream, as_long
from toyguide.models.config import ModelConfig
from toyguide.models.heads.preference import PreferenceHead, PreferenceHeadConfig
from toyguide.models.losses import LossOutput
from toyguide.tasks.base import Task, register_task
from toyguide.tasks.preference import preference_space
from toyguide.tasks.spec import Target, TaskSpec

__all__ = ["CoItemsData", "CoItemsStream", "CoItemsTask"]

NEIGHBOURS = 20  # labels per item: item-kNN's nearest, by BM25 similarity


@dataclass(frozen=True)
class CoItemsData:
    split: np.ndarray  # [N+1] split code of each item (UNUSED: no neighbour, or row 0)
    neighbours: np.ndarray  # [N+1, K] the nearest other items, 0-padded, nearest first
    weights: np.ndarray  # [N+1, K] their similarities, each row summing to 1 (0 on padding)


def co_items_data(data: TaskData, k: int = NEIGHBOURS) -> CoItemsData:
    """Each item's ``k`` nearest other items by BM25 item-kNN over the training events."""
    knn = fit_neighbours(data.sequences, data.loo.train_end, data.n_items, k + 1)
    pairs = knn.similarity.tocoo()
    # an item is its own nearest neighbour: not a label
    keep = (pairs.row != pairs.col) & (pairs.data != 0)
    row, col, value = pairs.row[keep], pairs.col[keep], pairs.data[keep]
    order = np.lexsort((-value, row))  # by item, nearest first (stable: ties keep their order)
    row, col, value = row[order], col[order], value[order]
    rank = np.arange(len(row)) - np.searchsorted(row, row)  # place in the item's own list
    top = rank < k
    n_rows = data.n_items + 1
    neighbours = np.zeros((n_rows, k), dtype=np.int64)
    weights = np.zeros((n_rows, k), dtype=np.float32)
    neighbours[row[top], rank[top]] = col[top]
    weights[row[top], rank[top]] = value[top]
    weights /= np.maximum(weights.sum(1, keepdims=True), 1e-12)
    labelled = neighbours[:, 0] > 0
    return CoItemsData(holdout_catalogue(labelled, data.config.seed), neighbours, weights)


class CoItemsStream(TaskStream):
    """Batches of items: ``items`` [B], ``co_items`` [B, K] and ``co_weights`` [B, K]."""

    task = "co_items"
    salt = 17

    def examples(self, split: int) -> np.ndarray:
        return np.flatnonzero(self.task_data.split == split)

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        co = self.task_data
        return {
            "items": as_long(examples),
            "co_items": as_long(co.neighbours[examples]),
            "co_weights": torch.as_tensor(co.weights[examples]),
        }


@register_task
class CoItemsTask(Task):
    spec = TaskSpec(
        "co_items",
        "item",
        (Target("co_item", "next_item", ("hr@10", "ndcg@10")),),
        "cross-entropy over the catalogue against the item-kNN neighbours' normalised weights",
        ("co_item", "ndcg@10"),
    )
    stream = CoItemsStream
    head_class = PreferenceHead
    reads = frozenset({"events"})

    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> CoItemsData:
        require_labels(self.name, data.loo is not None, "no event sequences")
        co = co_items_data(data)
        no_pairs = "no item shares a shopper with another item in the training events"
        require_labels(self.name, bool((co.split == TRAIN).any()), no_pairs)
        return co

    def head_config(self, dims: Mapping[str, int], config: ModelConfig) -> PreferenceHeadConfig:
        return PreferenceHeadConfig(d_model=config.d_model)

    def task_loss(self, model: Any, batch: dict[str, Tensor]) -> LossOutput:
        log_p = self._log_probs(model, batch)  # [B, N+1]
        weights = batch["co_weights"]  # [B, K]
        picked = log_p.gather(1, batch["co_items"])  # [B, K]; padding: -inf, weight 0
        count = int((weights.sum(-1) > 0).sum())
        loss = -torch.where(weights > 0, weights * picked, 0.0).sum() / max(count, 1)
        return LossOutput(loss, count)

    def predict(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        """Log-probabilities ``[B, N+1]`` of every other item being co-bought with each."""
        return self._log_probs(model, batch)

    def evaluate(self, model: Any, batches: Iterable[dict]) -> dict[str, float]:
        ranks = []
        for batch in batches:
            nearest = batch["co_items"][:, 0]
            nothing = torch.zeros((len(nearest), 1), dtype=torch.long)  # nothing excluded
            scores = model.predict(self.name, batch)
            ranks.append(target_ranks(scores, {"target_item": nearest, "exclude": nothing}))
        return ranking_metrics("co_item", np.concatenate(ranks) if ranks else np.zeros(0))

    def _log_probs(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        catalogue = model.encoded_catalogue()  # [N+1, D], the step's shared pass
        items = batch["items"]
        h = model.mixer(catalogue[items], self.name)  # [B, D]
        logits = model.heads[self.name](h, preference_space(model, catalogue))
        logits = logits.scatter(1, items[:, None], float("-inf"))  # never the item itself
        return torch.log_softmax(logits, -1)
