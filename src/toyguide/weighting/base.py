"""The weighting-strategy interface and the gradient helpers the gradient methods share.

A strategy receives the task losses of one step and the model's shared parameters, does the
backward pass itself and returns the weight it gave each task (STYLE.md §4: composition, no
mixins). Any subset of its tasks may be present in a step — a task whose stream had no labels
in the batch is simply absent — and weights are returned for the present tasks only. The public
:meth:`WeightingStrategy.backward` checks the task names and orders them; a strategy implements
``_backward`` for a non-empty, ordered dict of losses.

Gradient methods (MGDA, PCGrad) combine the per-task gradients of the shared parameters; every
other parameter (task heads, task experts) receives its own task's plain gradient. Both come from
one backward of the plain sum of the losses, during which a hook on each shared parameter swaps
the sum's gradient for the strategy's combination before it is accumulated into ``.grad``
(:func:`backward_with_shared_grad`). So ``.grad`` accumulates exactly as ``loss.backward()``
would, and gradient accumulation over micro-batches keeps working.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from toyguide.distributed import all_reduce_mean
from toyguide.errors import ConfigError

__all__ = [
    "WeightingStrategy",
    "backward_with_shared_grad",
    "number_option",
    "sum_losses",
    "task_gradients",
    "trainable",
]


class WeightingStrategy(ABC):
    """Turns one step's task losses into gradients; see the module docstring.

    Subclasses take their options as keyword-only constructor arguments (plain values from
    config) and check them there, so a bad config fails before training starts.
    """

    def __init__(self, tasks: Sequence[str]) -> None:
        tasks = list(tasks)
        if not tasks:
            raise ConfigError("a weighting strategy needs at least one task")
        if len(set(tasks)) != len(tasks):
            raise ConfigError(f"duplicate task names in {tasks}")
        self.tasks = tasks

    @classmethod
    def option_names(cls) -> list[str]:
        """The keyword options the constructor accepts (what config may set)."""
        params = inspect.signature(cls.__init__).parameters.values()
        return sorted(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)

    def backward(
        self, losses: Mapping[str, Tensor], shared: Iterable[nn.Parameter]
    ) -> dict[str, float]:
        """Fill ``.grad`` of every parameter the losses reach; return the weights used.

        ``losses`` holds any subset of the strategy's tasks; with none (no task had labels in
        this step) there is nothing to differentiate and the result is ``{}``.
        """
        names = self.present(losses)
        if not names:
            return {}
        return self._backward({t: losses[t] for t in names}, trainable(shared))

    @abstractmethod
    def _backward(self, losses: dict[str, Tensor], shared: list[nn.Parameter]) -> dict[str, float]:
        """:meth:`backward` for a non-empty dict of losses in the strategy's task order and the
        shared parameters that take gradients."""

    def parameters(self) -> list[nn.Parameter]:
        """The strategy's own learnable parameters, for the trainer's optimiser."""
        return []

    def on_epoch_end(self, epoch_losses: Mapping[str, float]) -> None:
        """Called by the trainer with each task's mean training loss over the epoch."""
        self.present(epoch_losses)

    def state_dict(self) -> dict[str, Any]:
        """What an exact resume needs: tensors and JSON-able values only."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state:
            raise ConfigError(f"{type(self).__name__} keeps no state; got keys {sorted(state)}")

    def present(self, losses: Iterable[str]) -> list[str]:
        """The tasks named in ``losses``, in the strategy's task order (keeps RNG use stable)."""
        names = set(losses)
        unknown = sorted(names - set(self.tasks))
        if unknown:
            raise ConfigError(
                f"losses for unknown task(s) {', '.join(unknown)}; "
                f"this strategy was built for: {', '.join(self.tasks)}"
            )
        return [t for t in self.tasks if t in names]

    def check_state_tasks(self, found: Iterable[str], what: str) -> None:
        """A checkpoint must hold ``what`` for exactly this strategy's tasks."""
        found = sorted(found)
        if found != sorted(self.tasks):
            raise ConfigError(
                f"checkpoint {what} is for tasks {found}; this run has {sorted(self.tasks)}"
            )


def number_option(value: Any, what: str, *, positive: bool = False) -> float:
    """``value`` as a float if a finite number >= 0 (> 0 if ``positive``), else a ConfigError."""
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not number or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ConfigError(f"{what} must be a finite number {bound}, got {value!r}")
    return float(value)


def trainable(shared: Iterable[nn.Parameter]) -> list[nn.Parameter]:
    """Shared parameters that take gradients (a frozen encoder has none to combine)."""
    return [p for p in shared if p.requires_grad]


def task_gradients(losses: Sequence[Tensor], shared: Sequence[nn.Parameter]) -> Tensor:
    """Each loss's gradient on the shared parameters, flattened: [T, P].

    The graph is retained for the final backward; a parameter a loss does not reach gets zeros.
    In a distributed run the rows are the mean over the ranks, so that the strategy combining
    them decides the same on every rank.
    """
    if not shared:
        return losses[0].new_zeros(len(losses), 0)
    rows = []
    for loss in losses:
        grads = torch.autograd.grad(loss, shared, retain_graph=True, allow_unused=True)
        parts = [
            (torch.zeros_like(p) if g is None else g).reshape(-1)
            for p, g in zip(shared, grads, strict=True)
        ]
        rows.append(torch.cat(parts))  # [P]
    return all_reduce_mean(torch.stack(rows))  # [T, P]


def backward_with_shared_grad(
    total: Tensor, shared: Sequence[nn.Parameter], combined: Tensor
) -> None:
    """``total.backward()``, except each shared parameter receives its slice of ``combined`` [P].

    Leaf-tensor hooks run before accumulation and their return value replaces the gradient, so
    task-specific parameters get the plain sum's gradient (their own task's) and shared ones the
    combination. A shared parameter ``total`` does not reach gets nothing, as its slice is zero.
    """
    handles = []
    offset = 0
    for p in shared:
        # clone: accumulation may adopt the returned tensor as .grad; it must not alias `combined`
        piece = combined[offset : offset + p.numel()].view_as(p).to(p.dtype).clone()
        handles.append(p.register_hook(lambda _grad, piece=piece: piece))
        offset += p.numel()
    try:
        total.backward()
    finally:
        for handle in handles:
            handle.remove()


def sum_losses(losses: Iterable[Tensor]) -> Tensor:
    """Sum of scalar losses (``sum()`` would start from the int 0)."""
    return torch.stack(list(losses)).sum()
