"""Next-item categories: the categories (attribute ids) of the item a shopper goes to next,
predicted from the sequence state at every scored position.

S3-Rec's associated-attribute prediction, for the next item: an auxiliary of preference that
asks the shared state to know *what kind* of toy comes next, not only which one. Categories stay
an input of the item encoder (a task never takes an input away; the label here is the next
item's, which the state has not seen). Same examples and split as preference (leave-one-out).
Categories most toys carry (more than half) are left out of the targets: they tell nothing
apart.
Metrics: ``accuracy``, whether the top predicted category is one of the held-out item's
categories, and ``hr@5``, whether any of the top 5 is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from torch import Tensor

from toyguide.features.data import TaskData
from toyguide.features.sequences import PreferenceData
from toyguide.features.splits import require_labels
from toyguide.features.streams import Batch, as_long
from toyguide.features.tables import category_table
from toyguide.models.config import ModelConfig
from toyguide.models.encoders import last_state
from toyguide.models.heads.label_set import LabelSetHead, LabelSetHeadConfig, label_set_targets
from toyguide.models.losses import LossOutput
from toyguide.tasks.base import Task, register_task
from toyguide.tasks.preference import PreferenceStream, next_item_data
from toyguide.tasks.spec import Target, TaskSpec

__all__ = ["NextCategoriesData", "NextCategoriesStream", "NextCategoriesTask"]


@dataclass(frozen=True)
class NextCategoriesData(PreferenceData):
    """Preference's examples plus every item's category ids ``[N+1, C]`` (0 = pad)."""

    categories: np.ndarray


class NextCategoriesStream(PreferenceStream):
    """Preference batches (its own shuffle) with ``label_ids`` [B, L, C]: the categories of the
    next item at each scored position (all zeros where there is none)."""

    task = "next_categories"
    salt = 15

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        batch = super().make_batch(examples, split)
        batch["label_ids"] = as_long(self.task_data.categories[batch["next_items"].numpy()])
        return batch


def without_common_labels(table: np.ndarray, n_labels: int, share: float = 0.5) -> np.ndarray:
    """``table`` [N+1, C] (0 = pad) without the ids most items carry (more than ``share`` of
    them): a root category ("Toys & Games") tells nothing about the next item, and as a target
    it is right 99 % of the time while the informative ones are learned no faster."""
    items = table[1:]
    rows, cols = np.nonzero(items)
    pairs = np.unique(rows * (n_labels + 1) + items[rows, cols])  # (item, id), each once
    counts = np.bincount(pairs % (n_labels + 1), minlength=n_labels + 1)  # items per id
    common = counts > share * len(items)
    common[0] = False
    return np.where(common[table], 0, table)


@register_task
class NextCategoriesTask(Task):
    spec = TaskSpec(
        "next_categories",
        "interaction",
        (Target("category", "multilabel", ("accuracy", "hr@5")),),
        "cross-entropy against the next item's category set, at every scored position",
        ("category", "accuracy"),
    )
    stream = NextCategoriesStream
    head_class = LabelSetHead
    reads = frozenset({"events"})
    encoders = frozenset({"item", "shopper"})

    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> NextCategoriesData:
        preference = next_item_data(self.name, data)
        items, vocab = frames["items"], data.vocabs["categories"]
        rows = data.vocabs["items"].transform(items["item_id"])
        known = rows > 0
        table = category_table(items.filter(pl.Series(known)), rows[known], vocab,
                               len(data.vocabs["items"]))  # fmt: skip
        table = without_common_labels(table, len(vocab) - 1)
        require_labels(self.name, bool(table.any()), "no item has a category that tells it apart")
        return NextCategoriesData(**vars(preference), categories=table)

    def dims(self, data: TaskData) -> dict[str, int]:
        return {"n_next_categories": len(data.vocabs["categories"]) - 1}

    def head_config(self, dims: Mapping[str, int], config: ModelConfig) -> LabelSetHeadConfig:
        return LabelSetHeadConfig(d_model=config.d_model, n_labels=dims["n_next_categories"])

    def task_loss(self, model: Any, batch: dict[str, Tensor]) -> LossOutput:
        scored = batch["next_items"] > 0  # [B, L]
        states = model.sequence_states(batch)  # [B, L, D], the step's shared catalogue
        head = model.heads[self.name]
        logits = head(model.mixer(states[scored], self.name))  # [P, L]
        return head.loss(logits, {"label_ids": batch["label_ids"][scored]})

    def predict(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        """Logits ``[B, L]`` of the categories of the item after each shopper's last event."""
        states = model.sequence_states(batch)  # [B, L, D]
        h = model.mixer(last_state(states, batch["seq_mask"]), self.name)  # [B, D]
        return model.heads[self.name](h)

    def evaluate(self, model: Any, batches: Iterable[dict]) -> dict[str, float]:
        hits: dict[int, list[np.ndarray]] = {1: [], 5: []}
        for batch in batches:
            logits = model.predict(self.name, batch)  # [B, L]
            truth = label_set_targets(batch["label_ids"][:, -1], logits.shape[1])  # [B, L]
            has = truth.sum(-1) > 0
            for k in hits:
                top = logits.topk(min(k, logits.shape[1]), dim=-1).indices  # [B, k]
                hits[k].append(truth.gather(1, top).amax(-1)[has].numpy())
        found = {k: np.concatenate(v) if v else np.zeros(0) for k, v in hits.items()}
        n = len(found[1])
        value = {k: float(v.mean()) if n else float("nan") for k, v in found.items()}
        return {"category/accuracy": value[1], "category/hr@5": value[5], "category/n": float(n)}
