"""Attributes: a toy's age band, gender target, functions and, when configured, its categories,
top-level category and price band, from what the item encoder sees (also for new toys).

Unit: an item; a seeded hold-out of the labelled items (or of the whole catalogue). Loss:
masked cross-entropy for the single-label targets, BCE for the multi-label ones. Metrics:
accuracy, macro-F1, band MAE, AUC, and ``all/macro_f1`` (the targets' mean macro-F1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl
from torch import Tensor

from toyguide.data.store import Store
from toyguide.evaluation.protocols import label_metrics, mean_macro_f1
from toyguide.features.data import FeatureConfig, TaskData
from toyguide.features.labels import AttributeData, build_attribute_data
from toyguide.features.streams import Batch, TaskStream, as_bool, as_float, as_long
from toyguide.models.config import ModelConfig
from toyguide.models.heads.attributes import AttributesHead, AttributesHeadConfig
from toyguide.tasks.base import MIN_LABELS, Task, register_task
from toyguide.tasks.spec import Target, TaskSpec

__all__ = ["AttributeStream", "AttributesTask", "labelled_items"]

_SINGLE_LABEL = ("age_band", "gender_target", "top_category", "price_band")
# target → (mask key, or '' for -1-coded labels; its metrics)
_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "age_band": ("", ("accuracy", "macro_f1", "mae_bands")),
    "gender_target": ("", ("accuracy", "macro_f1")),
    "functions": ("functions_mask", ("multilabel",)),
    "categories": ("categories_mask", ("multilabel",)),
    "top_category": ("", ("accuracy", "macro_f1")),
    "price_band": ("", ("accuracy", "macro_f1", "mae_bands")),
}

# What counts as a label of each target in the items table (as features.labels reads it: an
# empty functions or categories list is "unknown", not "none").
_LABELLED_SQL = {
    "age_band": "age_min_months IS NOT NULL",
    "gender_target": "gender_target IS NOT NULL",
    "functions": "len(functions) > 0",
    "categories": "len(categories) > 0",
    "top_category": "len(categories) > 0",
    "price_band": "price IS NOT NULL",
}


def labelled_items(store: Store, targets: Iterable[str]) -> dict[str, int]:
    """How many items of ``store`` carry a label of each target."""
    targets = list(targets)
    columns = ", ".join(f"count(*) FILTER (WHERE {_LABELLED_SQL[t]}) AS {t}" for t in targets)
    return store.query(f"SELECT {columns} FROM items").row(0, named=True) if targets else {}


class AttributeStream(TaskStream):
    """Item batches: item rows and the labels of the switched-on attribute targets
    (``features.attribute_targets``; categories only when predicted)."""

    task = "attributes"
    salt = 12

    def examples(self, split: int) -> np.ndarray:
        return np.flatnonzero(self.task_data.split == split)

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        labels, targets = self.task_data.labels, self.config.attribute_targets
        batch = {"items": as_long(examples)}
        for name in _SINGLE_LABEL:
            if name in targets:
                batch[name] = as_long(getattr(labels, name)[examples])
        if "functions" in targets:
            batch["functions"] = as_float(labels.functions[examples])
            batch["functions_mask"] = as_bool(labels.functions_mask[examples])
        if self.config.predict_categories:
            batch["categories"] = as_float(labels.categories[examples])
            batch["categories_mask"] = as_bool(labels.categories_mask[examples])
        return batch


@register_task
class AttributesTask(Task):
    spec = TaskSpec(
        "attributes",
        "item",
        (
            Target("age_band", "ordinal", ("accuracy", "macro_f1", "mae_bands")),
            Target("gender_target", "multiclass", ("accuracy", "macro_f1")),
            Target("functions", "multilabel", ("macro_f1", "auc")),
            Target("categories", "multilabel", ("macro_f1", "auc")),
            Target("top_category", "multiclass", ("accuracy", "macro_f1")),
            Target("price_band", "ordinal", ("accuracy", "macro_f1", "mae_bands")),
        ),
        "masked cross-entropy (age band, gender, top category, price band) and BCE "
        "(functions, categories)",
        ("age_band", "accuracy"),
    )
    stream = AttributeStream
    head_class = AttributesHead

    def lacks(self, store: Store, config: FeatureConfig) -> str | None:
        counts = labelled_items(store, config.attribute_targets)
        if any(n >= MIN_LABELS for n in counts.values()):
            return None
        shown = ", ".join(f"{n} items with {t}" for t, n in counts.items())
        return f"under {MIN_LABELS} labels per target ({shown})"

    def fit_to_store(
        self, config: FeatureConfig, store: Store, tasks: tuple[str, ...]
    ) -> FeatureConfig:
        """The targets with enough labels. A target that is also an input (top category,
        price band) is kept only when this task trains alone: blanking the input would take
        the categories or the price away from the other tasks too."""
        counts = labelled_items(store, config.attribute_targets)
        kept = tuple(t for t, n in counts.items() if n >= MIN_LABELS)
        if len(tasks) > 1:
            alone = tuple(t for t in kept if not self._blanks(config, t))
            kept = alone or kept  # only input-targets labelled: keep them rather than none
        return dataclasses.replace(config, attribute_targets=kept)

    def _blanks(self, config: FeatureConfig, target: str) -> bool:
        one = dataclasses.replace(config, attribute_targets=(target,), predict_categories=False)
        return bool(self.blanked_inputs(one))

    def selection(self, config: FeatureConfig) -> tuple[str, str]:
        """Age band accuracy when age is a target, else the targets' mean macro-F1."""
        target = self.spec.selection[0]
        return self.spec.selection if target in config.attribute_targets else ("all", "macro_f1")

    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> AttributeData:
        return build_attribute_data(frames["items"], data.vocabs, data.config)

    def blanked_inputs(self, config: FeatureConfig) -> frozenset[str]:
        """A prediction target must not also be an input: the categories when they or the top
        category are predicted, the price when its band is."""
        blanked = set()
        if config.predict_categories or "top_category" in config.attribute_targets:
            blanked.add("categories")
        if "price_band" in config.attribute_targets:
            blanked.add("price")
        return frozenset(blanked)

    def dims(self, data: TaskData) -> dict[str, int]:
        """The optional outputs' sizes (0 = the head has no such output)."""
        on = data.config.attribute_targets
        return {
            "n_price_bands": data.config.price_bands if "price_band" in on else 0,
            "top_category": int("top_category" in on),
        }

    def head_config(self, dims: Mapping[str, int], config: ModelConfig) -> AttributesHeadConfig:
        return AttributesHeadConfig(
            d_model=config.d_model,
            n_categories=dims["n_categories"],
            n_price_bands=dims.get("n_price_bands", 0),
            top_category=bool(dims.get("top_category", 0)),
            n_token_buckets=dims.get("text_buckets", 0) if config.attribute_words else 0,
            word_scale=config.attribute_word_scale,
            word_idf=config.attribute_word_idf,
        )

    def loss_targets(self, config: FeatureConfig) -> tuple[str, ...]:
        return (*config.attribute_targets, *(("categories",) if config.predict_categories else ()))

    def outputs(
        self, model: Any, item_vectors: Tensor, tokens: Tensor | None = None
    ) -> dict[str, Tensor]:
        """Logits per target of shared item vectors ``[B, D]`` (catalogue rows or new toys)
        and, for a head with a word term, the toys' hashed words ``[B, L]``."""
        idf = model.item_encoder.token_idf
        return model.heads[self.name](model.mixer(item_vectors, self.name), tokens, idf)

    def head_inputs(
        self, model: Any, batch: dict[str, Tensor]
    ) -> tuple[Tensor | None, Tensor | None]:
        """The toys' hashed words and the catalogue's word IDF, for a head with a word term
        (None: the encoder keeps no words)."""
        tokens, idf = model.item_encoder.tokens, model.item_encoder.token_idf
        return (None if tokens is None else tokens[batch["items"]], idf)

    def evaluate(self, model: Any, batches: Iterable[dict]) -> dict[str, float]:
        """Each switched-on target's metrics, and ``all/macro_f1``, their macro-F1s' mean: one
        number to select a multi-target run on without favouring one target."""
        out = label_metrics(lambda b: model.predict(self.name, b), batches, _METRICS)
        out["all/macro_f1"] = mean_macro_f1(out)
        return out
