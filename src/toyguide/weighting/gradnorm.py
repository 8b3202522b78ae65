"""GradNorm: learned weights that balance the tasks' gradient norms on the shared parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.weighting import WEIGHTINGS
from toyguide.weighting.base import (
    WeightingStrategy,
    number_option,
    sum_losses,
    task_gradients,
)

__all__ = ["GradNorm"]

_EPS = 1e-12  # a zero initial loss must not divide by zero
_MIN_WEIGHT = 1e-4  # a weight the optimiser pushed below zero must not flip its task's loss


@WEIGHTINGS.register("gradnorm")
class GradNorm(WeightingStrategy):
    """Chen et al. 2018, "GradNorm: gradient normalization for adaptive loss balancing".

    Learnable weights w_t scale the whole task loss (heads included, as in the paper). The
    gradient norms G_t = w_t ||∇_W L_t|| are taken over *all* shared parameters W (the paper
    uses the last shared layer to save time; a model here only says which parameters are
    shared, not which layer is last). The GradNorm loss Σ_t |G_t - mean(G) r_t^alpha|, with
    r_t the loss ratio L_t / L_t(first step) relative to its mean over tasks and the target held
    constant, is differentiated with respect to the weights only and its gradient accumulated
    into their ``.grad``; the network gets Σ w_t L_t with the weights detached. The trainer's
    optimiser steps the weights (they are in :meth:`parameters`; a param group with a higher
    learning rate may suit them), and each backward first renormalises them to sum to #tasks.
    """

    def __init__(self, tasks: Sequence[str], *, alpha: float = 1.5) -> None:
        super().__init__(tasks)
        self.alpha = number_option(alpha, "gradnorm alpha")
        self.weights = {t: nn.Parameter(torch.ones(())) for t in self.tasks}
        self.initial_losses: dict[str, float] = {}

    def parameters(self) -> list[nn.Parameter]:
        return [self.weights[t] for t in self.tasks]

    def _backward(self, losses: dict[str, Tensor], shared: list[nn.Parameter]) -> dict[str, float]:
        names = list(losses)
        self._renormalise()
        for t in names:
            self.initial_losses.setdefault(t, float(losses[t].detach()))
        task_losses = list(losses.values())
        norms = task_gradients(task_losses, shared).norm(dim=1)  # [T]
        self._weight_gradient(names, torch.stack(task_losses).detach(), norms)
        used = {t: float(self.weights[t].detach()) for t in names}
        sum_losses(used[t] * losses[t] for t in names).backward()
        return used

    def _renormalise(self) -> None:
        with torch.no_grad():  # in place: the optimiser holds these very parameters
            values = torch.stack(self.parameters()).clamp_min(_MIN_WEIGHT)  # [K]
            values = values * (len(self.tasks) / values.sum())
            for p, v in zip(self.parameters(), values, strict=True):
                p.copy_(v)

    def _weight_gradient(self, names: list[str], losses: Tensor, norms: Tensor) -> None:
        params = [self.weights[t] for t in names]
        # T numbers: work where the weights live (CPU), whatever device the model is on
        grad_norms = torch.stack(params) * norms.detach().to(params[0])  # [T] G_t
        initial = torch.tensor([self.initial_losses[t] for t in names], dtype=grad_norms.dtype)
        ratio = losses.to(grad_norms) / initial.clamp_min(_EPS)  # [T] inverse training rate
        target = (grad_norms.mean() * (ratio / ratio.mean()).pow(self.alpha)).detach()  # [T]
        gn_loss = (grad_norms - target).abs().sum()
        for p, g in zip(params, torch.autograd.grad(gn_loss, params), strict=True):
            p.grad = g if p.grad is None else p.grad + g

    def state_dict(self) -> dict[str, Any]:
        return {
            "weights": {t: p.detach().clone() for t, p in self.weights.items()},
            "initial_losses": dict(self.initial_losses),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.check_state_tasks(state.get("weights", {}), "GradNorm weights")
        initial = dict(state.get("initial_losses", {}))
        unknown = sorted(set(initial) - set(self.tasks))
        if unknown:
            raise ConfigError(f"checkpoint GradNorm initial losses name unknown tasks {unknown}")
        with torch.no_grad():
            for t, value in state["weights"].items():
                self.weights[t].copy_(value)
        self.initial_losses = {t: float(v) for t, v in initial.items()}
