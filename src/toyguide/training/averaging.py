"""An exponential moving average of the model's weights (Polyak averaging), validated and kept.

A small validation set picks the best epoch by a noisy metric, and the raw weights of any one
step carry the noise of its last batches; the average over the recent steps is the smoother
model to validate, select and serve. Only the parameters are averaged, in place of
``torch.optim.swa_utils.AveragedModel``, which deep-copies the whole module: here that would
double the catalogue tables the model holds as buffers. The decay warms up as
``min(decay, (1 + t) / (10 + t))`` over the updates ``t``, so the first epochs are not
dominated by the initial weights.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

__all__ = ["WeightAverage"]


class WeightAverage:
    """The average of ``model``'s floating-point parameters; ``decay`` 0 keeps nothing."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.names = [n for n, p in model.named_parameters() if p.is_floating_point()]
        params = dict(model.named_parameters())
        self.average = [params[n].detach().clone() for n in self.names] if decay else []

    @property
    def active(self) -> bool:
        return self.decay > 0

    def _params(self, model: nn.Module) -> list[torch.Tensor]:
        params = dict(model.named_parameters())
        return [params[n].detach() for n in self.names]

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        if not self.active:
            return
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self.average, self._params(model), 1.0 - decay)

    @contextmanager
    def swapped_in(self, model: nn.Module) -> Iterator[None]:
        """``model`` holds the averaged weights inside the block and its own ones after it."""
        if not self.active:
            yield
            return
        params = self._params(model)
        own = [p.clone() for p in params]
        with torch.no_grad():
            torch._foreach_copy_(params, self.average)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_(params, own)

    def state_dict(self) -> dict[str, Any]:
        average = dict(zip(self.names, self.average, strict=True))
        return {"updates": self.updates, "average": average}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not self.active:
            return
        self.updates = int(state["updates"])
        with torch.no_grad():
            torch._foreach_copy_(self.average, [state["average"][n] for n in self.names])
