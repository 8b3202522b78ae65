"""The four tasks as data: what unit a label belongs to, its targets, loss and metrics (DESIGN §2).

A task is switched on by config; a run with one task is that task's single-task baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from toyguide.errors import ConfigError

__all__ = ["TASKS", "Target", "TaskSpec", "task_spec"]

Unit = Literal["interaction", "item", "item-week", "shopper"]
TargetKind = Literal["next_item", "multiclass", "ordinal", "multilabel", "quantiles"]


@dataclass(frozen=True)
class Target:
    name: str
    kind: TargetKind
    metrics: tuple[str, ...]


@dataclass(frozen=True)
class TaskSpec:
    """One task: ``selection`` is the (target, metric) early stopping and Δm lead with."""

    name: str
    unit: Unit
    targets: tuple[Target, ...]
    loss: str
    selection: tuple[str, str]

    @property
    def metric_names(self) -> list[str]:
        """``target/metric`` names this task reports."""
        return [f"{t.name}/{m}" for t in self.targets for m in t.metrics]


TASKS: dict[str, TaskSpec] = {
    "preference": TaskSpec(
        "preference",
        "interaction",
        (Target("next_item", "next_item", ("hr@10", "ndcg@10", "hr@20", "ndcg@20")),),
        "softmax cross-entropy over the catalogue (sampled softmax + logQ when large)",
        ("next_item", "ndcg@10"),
    ),
    "attributes": TaskSpec(
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
    ),
    "sales": TaskSpec(
        "sales",
        "item-week",
        (Target("units", "quantiles", ("wape", "mase", "pinball", "coverage_80", "bias")),),
        "pinball loss at P10/P50/P90 plus the Poisson deviance of the mean (the point forecast"
        " for WAPE, MASE and bias), on units scaled by the item's recent level",
        ("units", "wape"),
    ),
    "profile": TaskSpec(
        "profile",
        "shopper",
        (
            Target("age_band", "ordinal", ("accuracy", "macro_f1", "mae_bands")),
            Target("gender", "multiclass", ("accuracy", "auc")),
            Target("interests", "multilabel", ("macro_f1", "auc")),
        ),
        "masked cross-entropy (age band, gender) and BCE (interests)",
        ("age_band", "accuracy"),
    ),
}


def task_spec(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task '{name}'; known: {', '.join(TASKS)}") from None
