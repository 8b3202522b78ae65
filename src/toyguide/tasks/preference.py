"""Preference: the next item a shopper clicks, carts or buys, ranked over the whole catalogue.

Unit: a position in a shopper's event sequence (SASRec-style: every position with a next target
event is scored); leave-one-out split (last target event test, second-last validation). Loss:
softmax cross-entropy over the catalogue, sampled softmax with logQ past
``model.full_softmax_max_items``. Metrics: HR@K and NDCG@K, full ranking, the shopper's other
training items excluded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor, nn

from toyguide.data.store import Store
from toyguide.evaluation.protocols import ranking_metrics, target_ranks
from toyguide.features.data import FeatureConfig, TaskData
from toyguide.features.sequences import PreferenceData, build_preference
from toyguide.features.splits import TRAIN, VALIDATION, require_labels
from toyguide.features.streams import (
    Batch,
    TaskStream,
    as_long,
    padded,
    ragged_ranges,
    sequence_batch,
)
from toyguide.models.config import ModelConfig
from toyguide.models.encoders import last_state
from toyguide.models.heads.preference import PreferenceHead, PreferenceHeadConfig
from toyguide.models.losses import LossOutput, sampled_softmax_cross_entropy
from toyguide.tasks.base import MIN_LABELS, Task, register_task
from toyguide.tasks.spec import Target, TaskSpec

__all__ = ["PreferenceStream", "PreferenceTask", "next_item_data", "preference_space"]


class PreferenceStream(TaskStream):
    """SASRec-style next-item batches: inputs are events of every kind, ``next_items`` at each
    position is the next event's item when that event is of a target kind (0 otherwise).

    Evaluation batches add ``target_item`` Long [B] (the held-out item) and ``exclude`` Long
    [B, E] (the shopper's other training items, 0-padded, to be removed from the full ranking);
    their ``next_items`` holds the target at the last position only, so a validation loss uses
    the training loss unchanged.
    """

    task = "preference"
    salt = 11

    def __init__(self, data: TaskData) -> None:
        super().__init__(data)
        self._target_positions = np.flatnonzero(data.sequences.is_target)

    def examples(self, split: int) -> np.ndarray:
        pref = self.task_data
        return pref.train_shoppers if split == TRAIN else pref.eval_shoppers

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        seqs, loo = self.data.sequences, self.task_data.loo
        if split == TRAIN:
            ends = loo.train_end[examples]
            batch, idx, real = sequence_batch(seqs, examples, ends, self.config.max_len)
            inside = real & (idx + 1 < ends[:, None])  # the last event's next one is held out
            batch["next_items"] = as_long(np.where(inside, seqs.next_target[idx], 0))
            return batch
        ends = (loo.validation if split == VALIDATION else loo.test)[examples]
        batch, _, _ = sequence_batch(seqs, examples, ends, self.config.max_len)
        target = seqs.items[ends].astype(np.int64)
        next_items = np.zeros(batch["seq_items"].shape, dtype=np.int64)
        next_items[:, -1] = target
        batch["next_items"] = as_long(next_items)
        batch["target_item"] = as_long(target)
        batch["exclude"] = as_long(self.exclusions(seqs.offsets[examples], ends, target))
        return batch

    def exclusions(self, starts: np.ndarray, ends: np.ndarray, target: np.ndarray) -> np.ndarray:
        """[B, E] distinct items of each shopper's target events in [start, end), minus the
        target: the shopper's training items (plus, at test time, the validation item)."""
        pos = self._target_positions
        row, k = ragged_ranges(np.searchsorted(pos, starts), np.searchsorted(pos, ends))
        items = self.data.sequences.items[pos[k]].astype(np.int64)
        keep = items != target[row]
        width = self.data.n_items + 1
        key = np.unique(row[keep] * width + items[keep])  # distinct, sorted by row then item
        return padded(key // width, key % width, len(starts))


def next_item_data(task: str, data: TaskData) -> PreferenceData:
    """The leave-one-out next-item examples, for preference and the tasks that share them; a
    ConfigError naming ``task`` when the store has none."""
    seqs, kinds = data.sequences, ", ".join(data.config.target_kinds)
    require_labels(task, bool(seqs.is_target.any()), f"no events of the target kinds ({kinds})")
    preference = build_preference(seqs, data.loo)
    require_labels(task, len(preference.train_shoppers) > 0,
                   "no shopper with an event followed by one of the target kinds")  # fmt: skip
    return preference


def preference_space(model: Any, catalogue: Tensor) -> Tensor:
    """The encoded ``catalogue`` ``[N+1, D]`` in preference's item space (its item tower) when
    preference is in the model, else as it is: where the auxiliary tasks that score items
    against the catalogue put them, so that what they learn is in the space preference ranks."""
    tower = getattr(model, "item_tower", None)
    return tower(catalogue) if tower is not None else catalogue


@register_task
class PreferenceTask(Task):
    spec = TaskSpec(
        "preference",
        "interaction",
        (Target("next_item", "next_item", ("hr@10", "ndcg@10", "hr@20", "ndcg@20")),),
        "softmax cross-entropy over the catalogue (sampled softmax + logQ when large)",
        ("next_item", "ndcg@10"),
    )
    stream = PreferenceStream
    head_class = PreferenceHead
    reads = frozenset({"events"})
    encoders = frozenset({"item", "shopper"})

    def lacks(self, store: Store, config: FeatureConfig) -> str | None:
        """Leave-one-out needs shoppers with three target events or more (test, validation
        and at least one to train on)."""
        kinds = list(config.target_kinds)
        marks = ", ".join("?" for _ in kinds)
        n = store.query(
            "SELECT count(*) AS n FROM (SELECT shopper_id FROM events WHERE kind IN "
            f"({marks}) GROUP BY shopper_id HAVING count(*) >= 3)",
            kinds,
        )["n"][0]
        if n < MIN_LABELS:
            return f"{n} shoppers with 3+ events of the target kinds ({', '.join(kinds)})"
        return None

    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> PreferenceData:
        return next_item_data(self.name, data)

    def head_config(self, dims: Mapping[str, int], config: ModelConfig) -> PreferenceHeadConfig:
        return PreferenceHeadConfig(d_model=config.d_model)

    def own_modules(self, dims: Mapping[str, int], config: ModelConfig) -> dict[str, nn.Module]:
        # items in the preference space: the shared item vector through the task's own tower
        return {"item_tower": nn.Linear(config.d_model, config.d_model)}

    def item_vectors(self, model: Any) -> Tensor:
        """The catalogue in the preference head's space ``[N+1, D]`` (with gradients)."""
        return model.item_tower(model.item_encoder.all_items())

    def shopper_vector(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        """The state after each shopper's last event, through the mixer: ``[B, D]``."""
        states = model.shopper_encoder(batch, model.item_encoder)  # [B, L, D]
        return model.mixer(last_state(states, batch["seq_mask"]), self.name)  # [B, D]

    def represent(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        states = model.shopper_encoder(batch, model.item_encoder)  # [B, L, D]
        return states[batch["next_items"] > 0]  # [P, D]: the scored positions only

    def task_loss(self, model: Any, batch: dict[str, Tensor]) -> LossOutput:
        """The catalogue is encoded once per step and shared by the sequence's inputs and the
        softmax's outputs (as SASRec shares one embedding table) and by the other tasks of the
        step: encoding each position's item again would cost B × L more encoder passes."""
        catalogue = model.encoded_catalogue()  # [N+1, D]
        if model.dims["n_items"] <= model.config.full_softmax_max_items:
            targets = batch["next_items"][batch["next_items"] > 0]  # [P]
            log_p = self.scored_log_probs(model, batch, catalogue)  # [P, N+1]
            nll = -log_p.gather(1, targets[:, None]).sum() / max(len(targets), 1)
            return LossOutput(nll, len(targets))
        states = model.sequence_states(batch, catalogue)  # [B, L, D]
        h = model.mixer(states[batch["next_items"] > 0], self.name)  # [P, D]
        return self._loss(model, h, batch, model.item_tower(catalogue))

    def scored_log_probs(self, model: Any, batch: dict[str, Tensor], catalogue: Tensor) -> Tensor:
        """Log-probabilities ``[P, N+1]`` of every item at the batch's scored positions
        (``next_items > 0``), once per training step and batch: a task riding this batch
        (later_items) reads the same distribution instead of another catalogue softmax."""

        def compute() -> Tensor:
            states = model.sequence_states(batch, catalogue)  # [B, L, D]
            h = model.mixer(states[batch["next_items"] > 0], self.name)  # [P, D]
            logits = model.heads[self.name](h, model.item_tower(catalogue))
            return torch.log_softmax(logits, -1)

        return model.step_memo(batch, catalogue, "preference/log_probs", compute)

    def loss(self, model: Any, h: Tensor, batch: dict[str, Tensor]) -> LossOutput:
        return self._loss(model, h, batch, self.item_vectors(model))

    def _loss(self, model: Any, h: Tensor, batch: dict[str, Tensor], items: Tensor) -> LossOutput:
        targets = batch["next_items"][batch["next_items"] > 0]  # [P]
        head, config, n_items = model.heads[self.name], model.config, model.dims["n_items"]
        if n_items <= config.full_softmax_max_items:
            return head.loss(head(h, items), {"next_items": targets})
        # Uniform proposal over real items; the logQ term keeps the estimate consistent.
        probs = torch.ones(n_items + 1)
        probs[0] = 0.0
        probs = probs / probs.sum()
        logits = head.sampled_logits(h, items, targets, config.n_negatives, probs)
        return sampled_softmax_cross_entropy(logits, targets)

    def predict(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        """Scores ``[B, N+1]`` of every item as the next after each shopper's last event: the
        logits, or with item neighbours attached (``model.neighbours``) the log-probabilities
        plus the weighted neighbour scores of the shopper's events."""
        catalogue = model.encoded_catalogue()  # [N+1, D], once for the batch
        states = model.sequence_states(batch, catalogue)  # [B, L, D]
        h = model.mixer(last_state(states, batch["seq_mask"]), self.name)  # [B, D]
        logits = model.heads[self.name](h, model.item_tower(catalogue))
        if model.neighbours is None:
            return logits
        return model.neighbours.add_to(torch.log_softmax(logits, -1), batch["seq_items"])

    def evaluate(self, model: Any, batches: Iterable[dict]) -> dict[str, float]:
        ranks = [target_ranks(model.predict(self.name, batch), batch) for batch in batches]
        return ranking_metrics("next_item", np.concatenate(ranks) if ranks else np.zeros(0))
