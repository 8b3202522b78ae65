"""The task registry: every task declares all its parts, checked when its module is imported."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from toyguide.errors import ConfigError, RegistryError, TaskDefinitionError
from toyguide.features.streams import TaskStream
from toyguide.tasks import TASKS, TaskSpec, get_task, tasks_of

BUILT_IN = ("attributes", "preference", "profile", "sales")

# A task module as a contributor would write it, less the part a test leaves out.
_MODULE = """
from toyguide.features.streams import TaskStream
from toyguide.models.heads.profile import ProfileHead, ProfileHeadConfig
from toyguide.tasks import Task, TaskSpec, Target, register_task


class CountStream(TaskStream):
    task = "{name}"
    def examples(self, split): ...
    def make_batch(self, examples, split): ...


@register_task
class CountTask(Task):
    spec = TaskSpec("{name}", "item", (Target("n", "regression", ("mse",)),), "MSE", ("n", "mse"))
    stream = CountStream
    head_class = ProfileHead
    def build_data(self, data, frames): ...
{parts}
"""
_HEAD_CONFIG = "    def head_config(self, dims, config): return ProfileHeadConfig(config.d_model)\n"
_EVALUATE = "    def evaluate(self, model, batches): return {}\n"


def _import_task_module(tmp_path: Path, name: str, parts: str) -> None:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(_MODULE).format(name=name, parts=parts))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)


def test_a_task_without_its_evaluator_fails_at_import_naming_task_and_part(
    tmp_path: Path,
) -> None:
    with pytest.raises(TaskDefinitionError, match=r"task 'no_evaluator' .*lacks its evaluator"):
        _import_task_module(tmp_path, "no_evaluator", _HEAD_CONFIG)
    assert "no_evaluator" not in TASKS


def test_a_task_without_head_config_or_evaluator_names_both(tmp_path: Path) -> None:
    with pytest.raises(TaskDefinitionError, match=r"head config factory.*evaluator"):
        _import_task_module(tmp_path, "bare", "")


def test_a_complete_task_module_registers_and_a_second_one_of_that_name_is_refused(
    tmp_path: Path,
) -> None:
    _import_task_module(tmp_path, "counted", _HEAD_CONFIG + _EVALUATE)
    try:
        assert get_task("counted").name == "counted"
        with pytest.raises(RegistryError, match="already registered"):
            _import_task_module(tmp_path, "counted", _HEAD_CONFIG + _EVALUATE)
    finally:
        TASKS.unregister("counted")
    assert "counted" not in TASKS


def test_unknown_task_names_are_config_errors_listing_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown task 'ranking'; known: attributes"):
        tasks_of(["preference", "ranking"])


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_task_declares_its_parts_under_its_own_name(name: str) -> None:
    task = TASKS.get(name)
    assert isinstance(task.spec, TaskSpec) and task.spec.name == name == task.name
    assert issubclass(task.stream, TaskStream) and task.stream.task == name
    assert callable(task.head_config) and callable(task.evaluate)
    assert task.spec.selection[0] in {t.name for t in task.spec.targets}


def test_built_in_streams_keep_their_own_shuffle_salts() -> None:
    salts = [TASKS.get(name).stream.salt for name in BUILT_IN]
    assert len(set(salts)) == len(salts)
