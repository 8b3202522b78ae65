"""Equal weighting: the plain sum of the task losses, the usual MTL baseline."""

from __future__ import annotations

from torch import Tensor, nn

from toyguide.weighting import WEIGHTINGS
from toyguide.weighting.base import WeightingStrategy, sum_losses

__all__ = ["Equal"]


@WEIGHTINGS.register("equal")
class Equal(WeightingStrategy):
    """Equal weights (the unweighted sum; the baseline of every MTL weighting paper)."""

    def _backward(self, losses: dict[str, Tensor], shared: list[nn.Parameter]) -> dict[str, float]:
        sum_losses(losses.values()).backward()
        return dict.fromkeys(losses, 1.0)
