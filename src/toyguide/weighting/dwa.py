"""Dynamic weight average: weights from how fast each task's loss is falling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from toyguide.weighting import WEIGHTINGS
from toyguide.weighting.base import WeightingStrategy, number_option, sum_losses

__all__ = ["DWA", "dwa_weights"]

_EPS = 1e-12  # a task whose loss reached 0 must not divide by zero


def dwa_weights(last: Sequence[float], before: Sequence[float], temperature: float) -> list[float]:
    """w_k = K softmax_k(r_k / T) with r_k = L_k(t-1) / L_k(t-2); the weights sum to K."""
    ratio = torch.tensor(last, dtype=torch.float64) / torch.tensor(
        before, dtype=torch.float64
    ).clamp_min(_EPS)  # [K]
    return (len(ratio) * torch.softmax(ratio / temperature, dim=0)).tolist()


@WEIGHTINGS.register("dwa")
class DWA(WeightingStrategy):
    """Liu, Johns & Davison 2019, "End-to-end multi-task learning with attention" (DWA).

    ``on_epoch_end`` records each task's mean epoch loss; a step's weights are the DWA softmax
    of the ratio of the last two recorded epoch losses, over the tasks present in the step (so
    they sum to the number of present tasks, to #tasks when all are present). A task with
    fewer than two recorded epochs has ratio 1, which makes all weights 1 in the first two
    epochs, as in the paper.
    """

    def __init__(self, tasks: Sequence[str], *, temperature: float = 2.0) -> None:
        super().__init__(tasks)
        self.temperature = number_option(temperature, "dwa temperature", positive=True)
        self.history: dict[str, list[float]] = {t: [] for t in self.tasks}  # last two epochs

    def current_weights(self, names: Sequence[str]) -> dict[str, float]:
        last = [self.history[t][-1] if len(self.history[t]) == 2 else 1.0 for t in names]
        before = [self.history[t][-2] if len(self.history[t]) == 2 else 1.0 for t in names]
        return dict(zip(names, dwa_weights(last, before, self.temperature), strict=True))

    def _backward(self, losses: dict[str, Tensor], shared: list[nn.Parameter]) -> dict[str, float]:
        weights = self.current_weights(list(losses))
        sum_losses(w * losses[t] for t, w in weights.items()).backward()
        return weights

    def on_epoch_end(self, epoch_losses: Mapping[str, float]) -> None:
        for t in self.present(epoch_losses):
            self.history[t] = [*self.history[t], float(epoch_losses[t])][-2:]

    def state_dict(self) -> dict[str, Any]:
        return {"history": {t: list(h) for t, h in self.history.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        history = state.get("history", {})
        self.check_state_tasks(history, "DWA loss history")
        self.history = {t: [float(x) for x in history[t]][-2:] for t in self.tasks}
