"""Uncertainty weighting: learned homoscedastic task uncertainty."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from toyguide.weighting import WEIGHTINGS
from toyguide.weighting.base import WeightingStrategy, sum_losses

__all__ = ["Uncertainty"]


@WEIGHTINGS.register("uncertainty")
class Uncertainty(WeightingStrategy):
    """Kendall, Gal & Cipolla 2018, "Multi-task learning using uncertainty to weigh losses".

    Minimises Σ_t exp(-s_t) L_t + s_t with a learnable log-variance s_t per task (the common
    form that drops the paper's ½ for regression); at the optimum exp(-s_t) = 1 / L_t, so tasks
    are weighted by the inverse of their loss scale. Each s_t is its own scalar parameter so
    that an absent task's s_t gets no gradient (None), rather than a zero that Adam would
    still move with momentum.
    """

    def __init__(self, tasks: Sequence[str]) -> None:
        super().__init__(tasks)
        self.log_vars = {t: nn.Parameter(torch.zeros(())) for t in self.tasks}

    def parameters(self) -> list[nn.Parameter]:
        return [self.log_vars[t] for t in self.tasks]

    def _backward(self, losses: dict[str, Tensor], shared: list[nn.Parameter]) -> dict[str, float]:
        s = self.log_vars
        sum_losses(torch.exp(-s[t]) * loss + s[t] for t, loss in losses.items()).backward()
        return {t: float(torch.exp(-s[t].detach())) for t in losses}

    def state_dict(self) -> dict[str, Any]:
        return {"log_vars": {t: p.detach().clone() for t, p in self.log_vars.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.check_state_tasks(state.get("log_vars", {}), "uncertainty log-variances")
        with torch.no_grad():  # in place: the optimiser holds these very parameters
            for t, value in state["log_vars"].items():
                self.log_vars[t].copy_(value)
