"""Mixers: the layer between the shared encoders and the task heads.

A mixer maps a task's input ``[B, d_in]`` to that task's representation ``[B, d_out]``. Tasks
arrive in separate batches (each has its own data stream), so ``forward`` serves one task at a
time; where all tasks label the same samples (a CTR model's click and purchase), ``mix_all``
serves them all from one pass over the shared work. Every parameter is either shared or owned
by exactly one task: subclasses put each task's own modules under ``self.per_task[task]``
and everything else counts as shared, so :meth:`Mixer.shared_parameters` and
:meth:`Mixer.task_parameters` partition ``parameters()``.

A mixer is one module with one ``@MIXERS.register("name")`` class taking a :class:`MixerConfig`;
importing this package registers them all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.registry import Registry

__all__ = ["MIXERS", "Mixer", "MixerConfig", "build_mixer", "combine", "mlp"]


@dataclass(frozen=True)
class MixerConfig:
    """Sizes of a mixer.

    ``n_experts`` is the number of shared experts (per level for PLE), ``n_task_experts`` the
    number of each task's own experts per PLE level, ``expert_hidden`` the hidden widths of an
    expert (for shared_bottom: of the shared MLP), ``n_layers`` the number of PLE levels
    (1 = CGC). A mixer ignores the fields it has no use for.
    """

    d_in: int
    d_out: int
    tasks: tuple[str, ...]
    n_experts: int = 4
    n_task_experts: int = 1
    expert_hidden: tuple[int, ...] = (256,)
    n_layers: int = 1
    dropout: float = 0.1

    def __post_init__(self) -> None:
        for name in ("d_in", "d_out", "n_experts", "n_task_experts", "n_layers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"mixer: {name} must be >= 1, got {getattr(self, name)}")
        if not self.expert_hidden or min(self.expert_hidden) < 1:
            raise ConfigError(
                f"mixer: expert_hidden must be one or more widths >= 1, got {self.expert_hidden}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"mixer: dropout must be in [0, 1), got {self.dropout}")
        _check_task_names(self.tasks)


def _check_task_names(tasks: Sequence[str]) -> None:
    if not tasks:
        raise ConfigError("mixer: tasks must name at least one task")
    if len(set(tasks)) != len(tasks):
        raise ConfigError(f"mixer: tasks must be unique, got {', '.join(tasks)}")
    bad = [t for t in tasks if not t or "." in t]  # ModuleDict keys cannot hold dots
    if bad:
        raise ConfigError(f"mixer: task names must be non-empty without '.', got {bad}")


class Mixer(nn.Module, ABC):
    """Base class: validates the task, then calls :meth:`mix`.

    Subclasses create ``self.per_task = nn.ModuleDict({task: ...})`` holding each task's own
    modules (an empty ``nn.Module`` when a task owns nothing) and implement :meth:`mix`.
    """

    per_task: nn.ModuleDict

    def __init__(self, config: MixerConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, x: Tensor, task: str) -> Tensor:
        """``x`` [B, d_in] → the task's representation [B, d_out]."""
        self.check_task(task)
        return self.mix(x, task)

    @abstractmethod
    def mix(self, x: Tensor, task: str) -> Tensor:
        """What the mixer does for ``task``; ``forward`` checked the task name first."""

    def mix_all(self, x: Tensor, tasks: Sequence[str] | None = None) -> dict[str, Tensor]:
        """Every task's representation of one input all tasks share: ``x`` [B, d_in] →
        ``{task: [B, d_out]}`` for ``tasks`` (default: all, in config order).

        For workloads whose tasks are labels of the same samples (e.g. click and purchase of
        one impression). Subclasses run the shared work once per batch instead of once per
        task; the outputs are those of ``forward`` per task (up to float rounding), but a loss
        on them may reach every served task's parameters.
        """
        return {task: self.mix(x, task) for task in self.served(tasks)}

    def served(self, tasks: Sequence[str] | None) -> tuple[str, ...]:
        """``tasks`` checked, or every task when None (what ``mix_all`` serves)."""
        tasks = self.config.tasks if tasks is None else tuple(tasks)
        for task in tasks:
            self.check_task(task)
        return tasks

    def check_task(self, task: str) -> None:
        if task not in self.config.tasks:
            known = ", ".join(self.config.tasks)
            raise ConfigError(f"unknown task '{task}' for this mixer; known: {known}")

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """Parameters only ``task``'s forward uses; a one-task loss moves no other task's."""
        self.check_task(task)
        return list(self.per_task[task].parameters())

    def shared_parameters(self) -> list[nn.Parameter]:
        """Every parameter not owned by a task (what gradient-based weighting acts on)."""
        owned = {id(p) for p in self.per_task.parameters()}
        return [p for p in self.parameters() if id(p) not in owned]


MIXERS: Registry[type[Mixer]] = Registry("mixer")


def build_mixer(name: str, config: MixerConfig) -> Mixer:
    """The registered mixer ``name`` built from ``config``."""
    return MIXERS.get(name)(config)


def mlp(d_in: int, hidden: Sequence[int], d_out: int | None, dropout: float) -> nn.Sequential:
    """Linear → ReLU → Dropout per hidden width, then a linear output layer if ``d_out``."""
    layers: list[nn.Module] = []
    width = d_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
        width = h
    if d_out is not None:
        layers.append(nn.Linear(width, d_out))
    return nn.Sequential(*layers)


def combine(weights: Tensor, experts: Sequence[Tensor]) -> Tensor:
    """Gate-weighted sums of expert outputs: ``weights`` [B, E] or [B, T, E] (T gates) and
    ``experts`` E tensors [B, D] (or one [E, B, D]) → [B, D] or [T, B, D].

    A multiply-add per expert: with a handful of experts this beats stacking them and a batched
    matmul of B tiny matrices (which an einsum becomes), forward and backward.
    """
    w = weights.movedim(0, -1).unsqueeze(-1)  # [E, B, 1] or [T, E, B, 1]
    out = w[..., 0, :, :] * experts[0]
    for e in range(1, len(experts)):
        out = torch.addcmul(out, w[..., e, :, :], experts[e])
    return out


def _register_all() -> None:
    # Imported for their @MIXERS.register side effect.
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


_register_all()
