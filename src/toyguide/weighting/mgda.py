"""MGDA: the common descent direction of minimum norm in the hull of the task gradients."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
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

__all__ = ["MGDA", "min_norm_weights"]

NORMALISATIONS = ("loss+", "l2", "loss", "none")
_EPS = 1e-12  # a zero gradient or loss must not divide by zero
_MAX_ITER = 1000
_GAP = 1e-10  # stop when the Frank-Wolfe gap is this small relative to the largest |g_t|²


def min_norm_weights(grads: Tensor) -> Tensor:
    """α on the simplex minimising ||Σ_t α_t g_t|| for grads [T, P] (float64 [T]).

    Frank-Wolfe on the Gram matrix, started like the paper's solver from the best pair of tasks
    (exact for two). The paper's plain FW steps zig-zag when the point lies inside a face, so
    this uses the pairwise variant (Lacoste-Julien & Jaggi 2015): move weight from the active
    task most aligned with the current point to the least aligned one, with exact line search;
    it converges linearly on the simplex. Stops on the FW duality gap, a bound on the error.
    """
    gram = (grads @ grads.T).double().cpu().numpy()  # [T, T]; tiny, so the loop runs in numpy
    if len(gram) == 1:
        return torch.ones(1, dtype=torch.float64)
    alpha = _best_pair(gram)  # [T]
    tol = _GAP * max(float(gram.diagonal().max()), _EPS)
    for _ in range(_MAX_ITER):
        g = gram @ alpha  # [T] <g_t, u> with u the current point
        s = int(np.argmin(g))
        if alpha @ g - g[s] <= tol:
            break
        active = np.flatnonzero(alpha > 0)
        v = int(active[np.argmax(g[active])])
        curvature = gram[s, s] + gram[v, v] - 2 * gram[s, v]  # |g_s - g_v|²
        step = alpha[v] if curvature <= 0 else min(alpha[v], (g[v] - g[s]) / curvature)
        alpha[s] += step
        alpha[v] -= step
    return torch.from_numpy(alpha)


def _segment_min(aa: float, ab: float, bb: float) -> float:
    """γ in [0, 1] minimising ||γ a + (1 - γ) b||² from the inner products (closed form)."""
    denom = aa + bb - 2 * ab  # |a - b|²
    if denom <= _EPS * (aa + bb):  # a == b (relative, as gradients may be tiny): all points equal
        return 0.5
    return min(max((bb - ab) / denom, 0.0), 1.0)


def _best_pair(gram: np.ndarray) -> np.ndarray:
    """The min-norm point over the best segment between two tasks, as weights [T]."""
    best, best_norm = (0, 1, 0.5), float("inf")
    for i, j in itertools.combinations(range(len(gram)), 2):
        gamma = _segment_min(gram[i, i], gram[i, j], gram[j, j])
        norm = gamma**2 * gram[i, i] + 2 * gamma * (1 - gamma) * gram[i, j]
        norm += (1 - gamma) ** 2 * gram[j, j]
        if norm < best_norm:
            best, best_norm = (i, j, gamma), norm
    i, j, gamma = best
    alpha = np.zeros(len(gram))
    alpha[i], alpha[j] = gamma, 1 - gamma
    return alpha


@WEIGHTINGS.register("mgda")
class MGDA(WeightingStrategy):
    """Sener & Koltun 2018, "Multi-task learning as multi-objective optimization" (MGDA).

    Acts on the gradients of *all* shared parameters, i.e. the exact MGDA of the paper rather
    than MGDA-UB: the upper bound differentiates a shared representation that every task sees
    on the same inputs, but here each task has its own batch, so there is no common one. As in
    the paper's code, gradients are normalised only to find α (``normalisation``: "loss+" —
    divide by loss × l2 norm, the default — "l2", "loss" or "none"); the shared parameters then
    get Σ α_t g_t of the raw gradients, with α on the simplex (the returned weights sum to 1),
    and each task's own parameters their plain gradient.
    """

    def __init__(self, tasks: Sequence[str], *, normalisation: str = "loss+") -> None:
        super().__init__(tasks)
        if normalisation not in NORMALISATIONS:
            raise ConfigError(
                f"mgda normalisation must be one of {', '.join(NORMALISATIONS)}, "
                f"got {normalisation!r}"
            )
        self.normalisation = normalisation

    def _backward(self, losses: dict[str, Tensor], shared: list[nn.Parameter]) -> dict[str, float]:
        names = list(losses)
        task_losses = list(losses.values())
        grads = task_gradients(task_losses, shared)  # [T, P]
        scale = self._scale(grads, torch.stack(task_losses).detach())  # [T]
        alpha = min_norm_weights(grads / scale[:, None]).to(grads)  # [T]
        combined = (alpha[:, None] * grads).sum(dim=0)  # [P]
        backward_with_shared_grad(sum_losses(task_losses), shared, combined)
        return dict(zip(names, alpha.tolist(), strict=True))

    def _scale(self, grads: Tensor, losses: Tensor) -> Tensor:
        norms = grads.norm(dim=1)  # [T]
        scale: dict[str, Tensor] = {
            "l2": norms,
            "loss": losses.to(grads.dtype),
            "loss+": losses.to(grads.dtype) * norms,
            "none": torch.ones_like(norms),
        }
        return scale[self.normalisation].clamp_min(_EPS)
