"""What a task is to the engine, and the registry every task module adds itself to.

A task is one module (``toyguide/tasks/<name>.py``) holding one :class:`Task` subclass decorated
with :func:`register_task`. It declares four parts — its ``spec`` (TaskSpec), its ``stream``
(a TaskStream subclass: examples, splits, batches), its head (``head_class`` and the
``head_config`` factory) and its evaluator (``evaluate``) — plus, where the defaults do not fit,
the tables it reads, its labels (``build_data``), how the shared model represents its batch and
its loss. The layers below (features, models, evaluation) never import this package: they are
handed the task objects, so a task added from any file is a task like the built-in ones.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import polars as pl
from torch import Tensor, nn

from toyguide.data.store import Store
from toyguide.errors import ConfigError, TaskDefinitionError
from toyguide.features.data import FeatureConfig, TaskData
from toyguide.features.streams import TaskStream
from toyguide.models.config import ModelConfig
from toyguide.models.losses import LossOutput
from toyguide.registry import Registry
from toyguide.tasks.spec import TaskSpec

__all__ = ["MIN_LABELS", "TASKS", "Task", "get_task", "register_task", "tasks_of"]

# Fewer labelled examples than this leave validation and test hold-outs of 10 % each too small
# to select an epoch on or to report; a run fitted to a store (``Task.lacks``) skips them.
MIN_LABELS = 100


class Task(ABC):
    """One task of the engine; the registry holds one instance per task, shared by every run
    (a task keeps no state of its own: everything it builds lives in the run's data, streams
    and model)."""

    spec: ClassVar[TaskSpec]
    stream: ClassVar[type[TaskStream]]
    head_class: ClassVar[type[nn.Module]]
    reads: ClassVar[frozenset[str]] = frozenset()  # of "events", "sales"
    encoders: ClassVar[frozenset[str]] = frozenset({"item"})  # shared encoders: item, shopper

    @property
    def name(self) -> str:
        return self.spec.name

    # -- features ------------------------------------------------------------------------------
    @abstractmethod
    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> Any:
        """The task's labels and split, from the store's ``frames`` and the shared ``data``
        built so far (vocabularies, item tables, sequences); a ConfigError when the store lacks
        what the task needs."""

    def lacks(self, store: Store, config: FeatureConfig) -> str | None:
        """What ``store`` lacks for this task to train ("no sales rows"), or None when it has
        what the task needs; a run fitted to a store (``runs.config_for_store``) leaves the task
        out with this reason. By default: a table the task reads that is empty. A cheap check
        of counts, not the full label build, so that choosing tasks costs no build per task."""
        counts = store.counts()
        empty = sorted(table for table in self.reads if counts.get(table, 0) == 0)
        return f"no {' and no '.join(empty)} rows" if empty else None

    def fit_to_store(
        self, config: FeatureConfig, store: Store, tasks: tuple[str, ...]
    ) -> FeatureConfig:
        """``config`` with this task's own settings narrowed to what ``store`` holds (the
        attributes task keeps the targets that have labels); ``tasks`` are the run's tasks."""
        return config

    def selection(self, config: FeatureConfig) -> tuple[str, str]:
        """The (target, metric) early stopping selects on by default: the spec's, unless the
        config switches that target off."""
        return self.spec.selection

    def blanked_inputs(self, config: FeatureConfig) -> frozenset[str]:
        """Item inputs ("categories", "price") to leave out because the task predicts them."""
        return frozenset()

    def dims(self, data: TaskData) -> dict[str, int]:
        """Sizes the task's head or own modules need, beyond the shared ``TaskData.dims()``."""
        return {}

    def make_stream(self, data: TaskData) -> TaskStream:
        return self.stream(data)

    # -- model ---------------------------------------------------------------------------------
    @abstractmethod
    def head_config(self, dims: Mapping[str, int], config: ModelConfig) -> Any:
        """The config ``head_class`` is built with."""

    def build_head(self, dims: Mapping[str, int], config: ModelConfig) -> nn.Module:
        return self.head_class(self.head_config(dims, config))

    def own_modules(self, dims: Mapping[str, int], config: ModelConfig) -> dict[str, nn.Module]:
        """Modules only this task trains besides its head, by attribute name on the model."""
        return {}

    def represent(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        """The task's input to the mixer ``[B, D]``; by default the batch's items encoded."""
        return model.item_encoder(batch["items"])

    def task_loss(self, model: Any, batch: dict[str, Tensor]) -> LossOutput:
        """The batch's loss: the mixer's output of :meth:`represent`, into :meth:`loss`."""
        return self.loss(model, model.mixer(self.represent(model, batch), self.name), batch)

    def loss(self, model: Any, h: Tensor, batch: dict[str, Tensor]) -> LossOutput:
        """The masked loss of the mixer's output ``h`` for this batch."""
        head = model.heads[self.name]
        return head.loss(head(h, *self.head_inputs(model, batch)), batch)

    def head_inputs(self, model: Any, batch: dict[str, Tensor]) -> tuple[Any, ...]:
        """What the head reads besides the mixer's output (a bag-of-words or bag-of-items
        term's ids); by default nothing."""
        return ()

    def loss_targets(self, config: FeatureConfig) -> tuple[str, ...]:
        """The targets whose losses a per-target weighting weighs apart (``weighting.per_target``),
        for a task with several; ``()``: the task's loss is one unit."""
        return ()

    def target_losses(self, model: Any, batch: dict[str, Tensor]) -> dict[str, LossOutput]:
        """Each of :meth:`loss_targets`' losses for this batch (those it has labels for); by
        default the head's ``losses`` of the mixer's output."""
        head = model.heads[self.name]
        h = model.mixer(self.represent(model, batch), self.name)
        return head.losses(head(h, *self.head_inputs(model, batch)), batch)

    def predict(self, model: Any, batch: dict[str, Tensor]) -> Any:
        """Eval-time outputs of a batch (what :meth:`evaluate` reads)."""
        h = model.mixer(self.represent(model, batch), self.name)
        return model.heads[self.name](h, *self.head_inputs(model, batch))

    def calibrate(self, model: Any, batches: Iterable[dict]) -> dict[str, Any] | None:
        """Fit what the trained model's outputs need on a held-out split's batches (the
        validation split, after the best checkpoint is chosen), in the model's own buffers so
        that the checkpoint carries it; returns what was fitted, or None (by default nothing)."""
        return None

    # -- evaluation ----------------------------------------------------------------------------
    @abstractmethod
    def evaluate(self, model: Any, batches: Iterable[dict]) -> dict[str, float]:
        """``{"target/metric": value}`` over a split's batches (the model is in eval mode)."""


TASKS: Registry[Task] = Registry("task")

# What every task module must declare, and how an error names it.
_PARTS = {
    "spec": "its spec (spec = TaskSpec(...))",
    "stream": "its stream (stream = a TaskStream subclass)",
    "head_class": "its head (head_class = an nn.Module class)",
    "head_config": "its head config factory (def head_config)",
    "evaluate": "its evaluator (def evaluate)",
}


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: check that ``cls`` declares every part of a task, then register one
    instance under its spec's name. Runs when the task's module is imported, so a task that
    lacks a part fails there, naming the task and the part."""
    spec = getattr(cls, "spec", None)
    name = spec.name if isinstance(spec, TaskSpec) else cls.__name__
    missing = [what for part, what in _PARTS.items() if not _declares(cls, part)]
    if missing:
        raise TaskDefinitionError(f"task '{name}' ({cls.__module__}) lacks {'; '.join(missing)}")
    if cls.stream.task != name:
        raise TaskDefinitionError(
            f"task '{name}': its stream {cls.stream.__name__} says task '{cls.stream.task}'"
        )
    TASKS.register(name)(cls())
    return cls


def _declares(cls: type, part: str) -> bool:
    value = getattr(cls, part, None)
    if value is None or getattr(value, "__isabstractmethod__", False):
        return False
    checks = {
        "spec": lambda: isinstance(value, TaskSpec),
        "stream": lambda: inspect.isclass(value) and issubclass(value, TaskStream),
        "head_class": lambda: inspect.isclass(value) and issubclass(value, nn.Module),
    }
    return checks.get(part, lambda: callable(value))()


def get_task(name: str) -> Task:
    """The registered task ``name``; an unknown name is a ConfigError listing the known ones."""
    if name not in TASKS:
        raise ConfigError(f"unknown task '{name}'; known: {', '.join(TASKS.names())}")
    return TASKS.get(name)


def tasks_of(names: Iterable[str]) -> list[Task]:
    """The task objects of ``names`` (``features.tasks``), in that order."""
    return [get_task(name) for name in names]
