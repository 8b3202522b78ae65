"""PCGrad: remove from each task gradient its conflict with the others, then sum."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.weighting import WEIGHTINGS
from toyguide.weighting.base import (
    WeightingStrategy,
    backward_with_shared_grad,
    sum_losses,
    task_gradients,
)

__all__ = ["PCGrad", "project_conflicting"]

_EPS = 1e-12  # a zero gradient conflicts with nothing; never divide by its norm


def project_conflicting(grads: Tensor, generator: torch.Generator) -> Tensor:
    """Σ_i g_i^PC for grads [T, P]: each g_i is projected, in a random order of the other tasks,
    onto the normal plane of every original g_j it conflicts with (g_i · g_j < 0)."""
    n = grads.shape[0]
    sq_norms = (grads * grads).sum(dim=1).clamp_min(_EPS)  # [T]
    out = grads.clone()  # [T, P]
    for i in range(n):
        for j in torch.randperm(n, generator=generator).tolist():
            if j == i:
                continue
            dot = out[i] @ grads[j]
            if dot < 0:
                out[i] -= (dot / sq_norms[j]) * grads[j]
    return out.sum(dim=0)  # [P]


@WEIGHTINGS.register("pcgrad")
class PCGrad(WeightingStrategy):
    """Yu et al. 2020, "Gradient surgery for multi-task learning" (PCGrad).

    Surgery on the gradients of all shared parameters only; each task's own parameters get
    their plain gradient. PCGrad has no loss weights, so every present task is reported with
    weight 1. The projection order is drawn from a generator seeded by ``seed`` whose state is
    part of :meth:`state_dict`, so a resumed run draws the same orders.
    """

    def __init__(self, tasks: Sequence[str], *, seed: int = 0) -> None:
        super().__init__(tasks)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ConfigError(f"pcgrad seed must be an integer >= 0, got {seed!r}")
        self.generator = torch.Generator().manual_seed(seed)

    def _backward(self, losses: dict[str, Tensor], shared: list[nn.Parameter]) -> dict[str, float]:
        names = list(losses)
        task_losses = list(losses.values())
        grads = task_gradients(task_losses, shared)  # [T, P]
        combined = project_conflicting(grads, self.generator)  # [P]
        backward_with_shared_grad(sum_losses(task_losses), shared, combined)
        return dict.fromkeys(names, 1.0)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if "generator" not in state:
            raise ConfigError(f"checkpoint PCGrad state has no generator; keys: {sorted(state)}")
        self.generator.set_state(state["generator"])
