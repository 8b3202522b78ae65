"""The tasks of the engine, one module each; importing this package registers them all.

A new task is one file here (or anywhere imported before the run is built) with one
``@register_task`` class; see ``base.py`` for what it declares and docs/design/extending.md.
"""

from __future__ import annotations

from typing import Any

from toyguide.config import from_dict
from toyguide.data.store import Store
from toyguide.features.data import FeatureConfig, TaskData
from toyguide.features.streams import TaskStream
from toyguide.features.tables import TextVectors
from toyguide.tasks.base import TASKS, Task, get_task, register_task, tasks_of
from toyguide.tasks.spec import Target, TaskSpec

__all__ = [
    "TASKS",
    "Target",
    "Task",
    "TaskSpec",
    "build_task_data",
    "get_task",
    "make_streams",
    "register_task",
    "tasks_of",
]


def _register_all() -> None:
    # Imported for their @register_task side effect, in a fixed (alphabetical) order.
    import importlib
    import pkgutil

    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name not in ("base", "spec") and not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


def build_task_data(
    store: Store,
    config: FeatureConfig | None = None,
    *,
    text_vectors: TextVectors,
    state: dict[str, Any] | None = None,
) -> TaskData:
    """``TaskData`` of ``config.tasks`` over ``store``: fitted anew, or with a run's fitted
    ``state`` (whose config is used when ``config`` is None)."""
    if config is None:
        config = from_dict(FeatureConfig, state["config"]) if state else FeatureConfig()
    tasks = tasks_of(config.tasks)
    if state is None:
        return TaskData.build(store, config, text_vectors=text_vectors, tasks=tasks)
    return TaskData.from_state(store, state, text_vectors=text_vectors, tasks=tasks, config=config)


def make_streams(data: TaskData) -> dict[str, TaskStream]:
    """One stream per task switched on in ``data.config.tasks``, in that order."""
    return {task.name: task.make_stream(data) for task in tasks_of(data.config.tasks)}


_register_all()
