"""Each task, or target, from its own best epoch (``selection.each``).

A multi-task run picks one epoch for all its tasks; each single-task run picks the epoch best
for its own task. Compared on that footing the multi-task run loses wherever its tasks peak at
different epochs (a price band that overfits by epoch 5 beside functions still improving at
30), which is a difference of selection, not of what was learned. With ``selection.each`` the
trainer also keeps, for every part of the run's selection, the weights of the epoch that part
validated best on (:func:`toyguide.training.trainer.part_checkpoint`); the part is tested from
those weights and the model folder serves it from them. A part is a task (``"sales"``) or one
target of a task (``"attributes/price_band"``) when the task is selected on all its targets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from toyguide.training.trainer import part_checkpoint

__all__ = ["BEST", "by_checkpoint", "merge_part", "part_task", "part_tasks", "served_checkpoints"]

BEST = "best"  # the run's own best checkpoint


def part_task(part: str) -> tuple[str, str | None]:
    """(task, target or None) of a part name."""
    task, _, target = part.partition("/")
    return task, target or None


def served_checkpoints(part_best: Mapping[str, int], best_epoch: int) -> dict[str, str]:
    """Part → the checkpoint that serves it: the run's best where the part's own best epoch
    is the same, else that epoch's part checkpoint."""
    return {part: BEST if epoch == best_epoch else part_checkpoint(epoch)
            for part, epoch in part_best.items()}  # fmt: skip


def by_checkpoint(served: Mapping[str, str]) -> dict[str, list[str]]:
    """Each checkpoint other than the run's best → the parts it serves, in checkpoint order."""
    out: dict[str, list[str]] = {}
    for part, checkpoint in sorted(served.items(), key=lambda kv: kv[1]):
        if checkpoint != BEST:
            out.setdefault(checkpoint, []).append(part)
    return out


def part_tasks(parts: list[str]) -> list[str]:
    """The tasks of ``parts``, each once, in their order."""
    return list(dict.fromkeys(part_task(part)[0] for part in parts))


def merge_part(metrics: dict, part: str, theirs: Mapping) -> dict:
    """``metrics`` (task → metric → value) with ``part``'s values taken from ``theirs``: a
    task's metrics whole, or one target's (``target/...``); a task's ``all/<metric>`` means
    are recomputed over its targets after the merge."""
    task, target = part_task(part)
    if task not in theirs:
        return metrics
    if target is None:
        return {**metrics, task: dict(theirs[task])}
    mine = dict(metrics.get(task, {}))
    mine |= {k: v for k, v in theirs[task].items() if k.startswith(f"{target}/")}
    return {**metrics, task: _with_means(mine)}


def _with_means(metrics: dict[str, float]) -> dict[str, float]:
    """Each ``all/<metric>`` as the mean of the targets' finite ``<target>/<metric>``."""
    out = dict(metrics)
    for key in metrics:
        if key.startswith("all/"):
            name = key.removeprefix("all/")
            values = [
                v for k, v in metrics.items()
                if not k.startswith("all/") and k.partition("/")[2] == name and _finite(v)
            ]  # fmt: skip
            out[key] = float(np.mean(values)) if values else math.nan
    return out


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
