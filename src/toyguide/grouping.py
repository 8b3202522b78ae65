"""Which tasks learn together: a run's tasks split into groups, one model per group.

``toyguide analyze tasks RUN`` suggests a grouping from the affinity it measured during RUN's
training (``relatedness.json``); a run config's ``[grouping]`` section trains one: its groups
spelled out, or ``suggested_by = "RUN"`` to take RUN's suggestion. Each group is trained as a
run of its own in ``OUT/groups/<tasks>``, with the rest of the config unchanged; a task alone
in its group is its single-task run, so the grouping that puts every task alone is the
single-task baseline and the one-group grouping is the plain multi-task run. With
``choose = "validation"`` the run also trains every task together and each task alone, and
serves each task from the group that scores it best on validation: affinity measured over a
few probe steps is a noisy guide, the validation split is what the run is judged on.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toyguide.errors import ConfigError
from toyguide.evaluation.analysis import with_suggested_grouping
from toyguide.evaluation.relatedness import RelatednessReport
from toyguide.tasks import get_task

__all__ = [
    "GroupingConfig",
    "candidate_groups",
    "group_config",
    "group_folder",
    "groups_of",
    "served_validation",
    "serving_groups",
]


@dataclass(frozen=True)
class GroupingConfig:
    """``groups``: the tasks of each model (together, every task of ``features.tasks`` once);
    ``suggested_by``: a finished run whose suggested grouping to train instead. Neither: one
    model for all tasks."""

    groups: tuple[tuple[str, ...], ...] = ()
    suggested_by: str = ""
    # "validation": also train every task together and each task alone, and serve each task
    # from the group whose model scores it best on validation (a task may then be trained in
    # several groups, as TAG's network selection does); "": serve each from its own group
    choose: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", tuple(tuple(g) for g in self.groups))
        if self.groups and self.suggested_by:
            raise ConfigError("grouping: give groups or suggested_by, not both")
        if self.choose not in ("", "validation"):
            raise ConfigError(f"grouping.choose '{self.choose}': use 'validation' or ''")
        if self.choose and not (self.groups or self.suggested_by):
            raise ConfigError("grouping.choose needs groups or suggested_by to choose among")

    @property
    def active(self) -> bool:
        return bool(self.groups or self.suggested_by)


def groups_of(grouping: GroupingConfig, tasks: Sequence[str]) -> list[tuple[str, ...]]:
    """The groups to train, checked to cover ``tasks`` exactly once each, in task order."""
    groups = list(grouping.groups) or _suggested(Path(grouping.suggested_by))
    named = [task for group in groups for task in group]
    if sorted(named) != sorted(tasks) or len(set(named)) != len(named):
        raise ConfigError(
            f"grouping {[list(g) for g in groups]} must hold every task of features.tasks "
            f"{list(tasks)} exactly once"
        )
    order = {task: i for i, task in enumerate(tasks)}
    ordered = [tuple(sorted(g, key=order.__getitem__)) for g in groups if g]
    return sorted(ordered, key=lambda g: order[g[0]])


def candidate_groups(
    grouping: GroupingConfig, tasks: Sequence[str], given: list[tuple[str, ...]] | None = None
) -> list[tuple[str, ...]]:
    """The groups to train: the ``given`` ones (default :func:`groups_of`), and with ``choose
    = "validation"`` also every task together and each task alone (each distinct group once,
    the given ones first)."""
    groups = list(groups_of(grouping, tasks) if given is None else given)
    if grouping.choose:
        groups += [tuple(tasks), *((task,) for task in tasks)]
    return list(dict.fromkeys(groups))


def serving_groups(
    tasks: Sequence[str], runs: Sequence[tuple[tuple[str, ...], dict]], selections: dict
) -> dict[str, tuple[str, ...]]:
    """Task → the trained group that serves it: of the groups holding the task, the one whose
    served model (:func:`served_validation`) scores the task's own selection metric best on
    validation; a tie or no value keeps the earliest (the given or suggested group).
    ``runs``: (group, its metrics.json); ``selections``: task → (metric, higher is better)."""
    chosen = {}
    for task in tasks:
        metric, higher = selections[task]
        best, best_value = None, math.nan
        for group, metrics in runs:
            if task not in group:
                continue
            value = served_validation(metrics, task).get(metric, math.nan)
            if best is None or _beats(value, best_value, higher):
                best, best_value = group, value
        if best is None:
            raise ConfigError(f"grouping: no trained group holds task '{task}'")
        chosen[task] = best
    return chosen


def served_validation(metrics: dict, task: str) -> dict:
    """A run's validation metrics of ``task`` as its model folder serves the task: the fused
    scores where item neighbours join the preference model (``served_validation``), else the
    model's own at its best epoch."""
    served = metrics.get("served_validation", {}).get(task)
    return served if served is not None else metrics.get("validation", {}).get(task, {})


def _beats(value: float, best: float, higher: bool) -> bool:
    """A measured value beats an unmeasured best; an unmeasured one never beats."""
    if math.isnan(value):
        return False
    return math.isnan(best) or (value > best if higher else value < best)


def _suggested(run: Path) -> list[tuple[str, ...]]:
    """The grouping ``toyguide analyze tasks RUN`` suggests, from the affinity RUN measured."""
    path = run / "relatedness.json"
    try:
        report = RelatednessReport.from_json(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"grouping.suggested_by: cannot read {path}: {exc}") from None
    groups = with_suggested_grouping(report).grouping
    if not groups:
        raise ConfigError(
            f"{path} holds no task affinity to group by (train RUN with two or more tasks "
            "and analysis.every_steps > 0)"
        )
    return [tuple(g) for g in groups]


def group_folder(out: Path, group: Sequence[str]) -> Path:
    return out / "groups" / "+".join(group)


def group_config(config: Any, group: Sequence[str]) -> Any:
    """``config`` (a RunConfig) for one group: its tasks only, no grouping, fixed weights and
    the selection narrowed to them (a selected task outside the group: every task alike), a
    refit (``train.refit_epochs``) only for a group with a task that holds weeks out, and a
    boosted sales head only for the group with sales. A
    task alone in its group, one loss unit, trains with equal weighting: there is nothing to
    weigh it against, and a strategy's learned scale (uncertainty's) would only change its
    step size, so that the group would not be the task's single-task run."""
    group = tuple(group)
    weighting = config.weighting
    weights = weighting.options.get("weights")
    if len(group) == 1 and not weighting.per_target:
        weighting = type(weighting)()
    elif isinstance(weights, dict):
        kept = {k: v for k, v in weights.items() if k.split("/")[0] in group}
        weighting = dataclasses.replace(weighting, options={**weighting.options, "weights": kept})
    selection = config.selection
    if selection.task and selection.task != "all" and selection.task not in group:
        selection = dataclasses.replace(selection, task="all" if len(group) > 1 else "", metric="")
    train = config.train
    if train.refit_epochs and not any(get_task(t).stream.holds_out_by_time for t in group):
        train = dataclasses.replace(train, refit_epochs=0)  # nothing held out to refit on
    boosted = config.boosted_sales  # the boosted sales head only beside a sales head
    if boosted.enabled and "sales" not in group:
        boosted = dataclasses.replace(boosted, enabled=False)
    return dataclasses.replace(
        config,
        features=dataclasses.replace(config.features, tasks=group),
        weighting=weighting,
        train=train,
        selection=selection,
        grouping=GroupingConfig(),
        boosted_sales=boosted,
    )
