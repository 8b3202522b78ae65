"""Later items: the items a shopper goes to after the next one, predicted at every position
(a dense all-action loss over a short window, as PinnerFormer's, Pancha et al. 2022).

A self-supervised auxiliary of preference on any store with event sequences: from the state
after event t, every target item of events t+2 … t+1+W (``model.later_window`` = W) is a
positive of a softmax over the whole catalogue. The next item itself is preference's label, so
this task asks the state for what lies beyond it: a shopper's direction, not only the next
step. Its labels are read from preference's own batch (``next_items`` shifted): beside
preference it rides preference's batch of each step, no forward pass of its own.
``model.later_head``: "own" (default) gives the task its own head over preference's item
vectors (one more catalogue softmax per step; Amazon Toys, seed 0: 2.0× the seconds of a
preference step, and no gain at an equal number of epochs); "shared" scores the later items
with preference's own distribution at each position (the output layer shared too: no extra
softmax, no parameters of its own; on Amazon Toys it blurred the next-item ranking, 0.0407 vs
0.0463–0.0468 validation NDCG@10 at epoch 9).
Metrics (validation and test, preference's protocol: full ranking, the shopper's other
training items excluded): ``later_item/hr@10`` and ``ndcg@10`` of the held-out item ranked
from the state one event before the last, where it is the item after the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.evaluation.protocols import ranking_metrics, target_ranks
from toyguide.features.data import TaskData
from toyguide.features.sequences import PreferenceData
from toyguide.models.config import ModelConfig
from toyguide.models.encoders import last_state
from toyguide.models.heads.preference import PreferenceHead, PreferenceHeadConfig
from toyguide.models.losses import LossOutput
from toyguide.tasks.base import Task, register_task
from toyguide.tasks.preference import PreferenceStream, next_item_data, preference_space
from toyguide.tasks.spec import Target, TaskSpec

__all__ = ["LaterItemsStream", "LaterItemsTask", "later_targets"]


class LaterItemsStream(PreferenceStream):
    """Preference's batches: on its own a shuffle of its own, beside preference its batch."""

    task = "later_items"
    salt = 16
    rides = "preference"


def later_targets(next_items: Tensor, window: int) -> Tensor:
    """``[B, L, W]``: at position t, the next targets of positions t+1 … t+W (the items of
    events t+2 … t+1+W), 0 where there is none."""
    length = next_items.shape[1]
    padded = torch.nn.functional.pad(next_items, (0, window))  # [B, L + W]
    return torch.stack([padded[:, k : k + length] for k in range(1, window + 1)], dim=-1)


@register_task
class LaterItemsTask(Task):
    spec = TaskSpec(
        "later_items",
        "interaction",
        (Target("later_item", "next_item", ("hr@10", "ndcg@10")),),
        "softmax cross-entropy over the catalogue, every later item in the window a positive",
        ("later_item", "ndcg@10"),
    )
    stream = LaterItemsStream
    head_class = PreferenceHead
    reads = frozenset({"events"})
    encoders = frozenset({"item", "shopper"})

    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> PreferenceData:
        return next_item_data(self.name, data)

    def head_config(self, dims: Mapping[str, int], config: ModelConfig) -> PreferenceHeadConfig:
        return PreferenceHeadConfig(d_model=config.d_model)

    def build_head(self, dims: Mapping[str, int], config: ModelConfig) -> nn.Module:
        # a shared output layer is preference's: this task then has no parameters of its own
        return nn.Identity() if config.later_head == "shared" else super().build_head(dims, config)

    def task_loss(self, model: Any, batch: dict[str, Tensor]) -> LossOutput:
        later = later_targets(batch["next_items"], model.config.later_window)  # [B, L, W]
        catalogue = model.encoded_catalogue()
        if self._shared(model):
            # preference's distribution at its scored positions, where the later items are
            labels = later[batch["next_items"] > 0]  # [P, W]
            log_p = model.part("preference").scored_log_probs(model, batch, catalogue)
        else:
            scored = (later > 0).any(-1)  # [B, L]
            labels = later[scored]  # [P, W]
            states = model.sequence_states(batch, catalogue)  # preference's pass when it rides
            h = model.mixer(states[scored], self.name)  # [P, D]
            logits = model.heads[self.name](h, preference_space(model, catalogue))  # [P, N+1]
            log_p = torch.log_softmax(logits, -1)
        positive = labels > 0
        picked = log_p.gather(1, labels)  # [P, W]; item 0 is -inf
        count = int(positive.sum())
        return LossOutput(-torch.where(positive, picked, 0.0).sum() / max(count, 1), count)

    def predict(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        """Scores ``[B, N+1]`` from the state one event before each shopper's last: the
        held-out item is the one after that state's next."""
        mask = batch["seq_mask"]
        before_last = mask & (mask.long().cumsum(1) < mask.long().sum(1, keepdim=True))
        catalogue = model.encoded_catalogue()
        states = model.sequence_states(batch, catalogue)  # [B, L, D]
        name = "preference" if self._shared(model) else self.name
        h = model.mixer(last_state(states, before_last), name)  # [B, D]
        return model.heads[name](h, preference_space(model, catalogue))

    @staticmethod
    def _shared(model: Any) -> bool:
        if model.config.later_head != "shared":
            return False
        if "preference" not in model.tasks:
            raise ConfigError(
                "later_items with model.later_head = 'shared' reads preference's output layer: "
                "switch preference on in features.tasks, or set model.later_head = 'own'"
            )
        if model.dims["n_items"] > model.config.full_softmax_max_items:
            raise ConfigError(
                f"later_items needs the full softmax over the catalogue ({model.dims['n_items']} "
                f"items > model.full_softmax_max_items = {model.config.full_softmax_max_items})"
            )
        return True

    def evaluate(self, model: Any, batches: Iterable[dict]) -> dict[str, float]:
        ranks = []
        for batch in batches:
            two = batch["seq_mask"].sum(1) >= 2  # a state before the last event exists
            kept = {key: batch[key][two] for key in ("target_item", "exclude")}
            ranks.append(target_ranks(model.predict(self.name, batch)[two], kept))
        return ranking_metrics("later_item", np.concatenate(ranks) if ranks else np.zeros(0))
