"""Profile: the child behind a shopper's account — age band, gender and interests — from the
shopper encoder's state after their events.

Unit: a shopper with a known label and events; k-fold or hold-out over those shoppers. The
labels are taken at the last input event, where the shopper's preference training events end.
Loss: masked cross-entropy (age band, gender) and BCE (interests). Metrics: accuracy, macro-F1,
band MAE, AUC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl
from torch import Tensor

from toyguide.data.store import Store
from toyguide.evaluation.protocols import label_metrics
from toyguide.features.data import FeatureConfig, TaskData
from toyguide.features.labels import ProfileData, build_profile
from toyguide.features.splits import UNUSED, require_labels, require_training
from toyguide.features.streams import Batch, TaskStream, as_bool, as_float, as_long, sequence_batch
from toyguide.models.config import ModelConfig
from toyguide.models.encoders import last_state
from toyguide.models.heads.profile import ProfileHead, ProfileHeadConfig
from toyguide.tasks.base import MIN_LABELS, Task, register_task
from toyguide.tasks.spec import Target, TaskSpec

__all__ = ["ProfileStream", "ProfileTask"]

_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "age_band": ("", ("accuracy", "macro_f1", "mae_bands")),
    "gender": ("", ("accuracy", "auc", "macro_f1")),
    "interests": ("interests_mask", ("multilabel",)),
}


class ProfileStream(TaskStream):
    """Shopper batches: the shopper's event sequence and the child's profile labels."""

    task = "profile"
    salt = 14

    def examples(self, split: int) -> np.ndarray:
        return np.flatnonzero(self.task_data.split == split)

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        prof = self.task_data
        ends = prof.end[examples]
        batch, _, _ = sequence_batch(self.data.sequences, examples, ends, self.config.max_len)
        batch["age_band"] = as_long(prof.age_band[examples])
        batch["gender"] = as_long(prof.gender[examples])
        batch["interests"] = as_float(prof.interests[examples])
        batch["interests_mask"] = as_bool(prof.interests_mask[examples])
        return batch


@register_task
class ProfileTask(Task):
    spec = TaskSpec(
        "profile",
        "shopper",
        (
            Target("age_band", "ordinal", ("accuracy", "macro_f1", "mae_bands")),
            Target("gender", "multiclass", ("accuracy", "auc")),
            Target("interests", "multilabel", ("macro_f1", "auc")),
        ),
        "masked cross-entropy (age band, gender) and BCE (interests)",
        ("age_band", "accuracy"),
    )
    stream = ProfileStream
    head_class = ProfileHead
    reads = frozenset({"events"})
    encoders = frozenset({"item", "shopper"})

    def lacks(self, store: Store, config: FeatureConfig) -> str | None:
        """Labels count only for shoppers with events: the encoder reads the events."""
        n = store.query(
            "SELECT count(*) AS n FROM shoppers s WHERE (child_birth_date IS NOT NULL"
            " OR child_age_months IS NOT NULL OR child_gender IS NOT NULL"
            " OR len(interests) > 0) AND EXISTS"
            " (SELECT 1 FROM events e WHERE e.shopper_id = s.shopper_id)"
        )["n"][0]
        if n < MIN_LABELS:
            return f"{n} shoppers with events and a known child age, gender or interests"
        return None

    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> ProfileData:
        profile = build_profile(
            frames["shoppers"], data.vocabs["shoppers"], data.sequences, data.loo.train_end,
            data.config,
        )  # fmt: skip
        require_labels(
            self.name,
            bool((profile.split != UNUSED).any()),
            "no shopper with a known child age, child gender or interests and any events",
        )
        require_training(self.name, profile.split, "labelled shoppers with events")
        return profile

    def head_config(self, dims: Mapping[str, int], config: ModelConfig) -> ProfileHeadConfig:
        return ProfileHeadConfig(
            d_model=config.d_model,
            n_items=dims["n_items"] if config.profile_items else 0,
            item_scale=config.profile_item_scale,
        )

    def loss_targets(self, config: FeatureConfig) -> tuple[str, ...]:
        return tuple(target.name for target in self.spec.targets)

    def represent(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        states = model.shopper_encoder(batch, model.item_encoder)  # [B, L, D]
        return last_state(states, batch["seq_mask"])  # [B, D]

    def head_inputs(self, model: Any, batch: dict[str, Tensor]) -> tuple[Tensor]:
        """The events' items, for the head's item term (padding is item 0, which it skips)."""
        return (batch["seq_items"],)

    def evaluate(self, model: Any, batches: Iterable[dict]) -> dict[str, float]:
        return label_metrics(lambda b: model.predict(self.name, b), batches, _METRICS)
