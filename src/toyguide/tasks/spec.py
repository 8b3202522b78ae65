"""A task as data: what unit a label belongs to, its targets, loss and metrics (DESIGN §2).

Each task module (``toyguide/tasks/<task>.py``) declares its own ``TaskSpec``; a task is switched
on by config, and a run with one task is that task's single-task baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Target", "TargetKind", "TaskSpec", "Unit"]

Unit = Literal["interaction", "item", "item-week", "shopper"]
TargetKind = Literal[
    "next_item", "multiclass", "ordinal", "multilabel", "quantiles", "regression"
]  # fmt: skip


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
