"""Fixed weighting: constant per-task weights from config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.weighting import WEIGHTINGS
from toyguide.weighting.base import WeightingStrategy, number_option, sum_losses

__all__ = ["Fixed"]


@WEIGHTINGS.register("fixed")
class Fixed(WeightingStrategy):
    """Fixed weights Σ w_t L_t (hand-tuned weighting, the static baseline in Kendall et al. 2018).

    ``weights`` maps task → weight (finite, ≥ 0); a task it does not name has weight 1, so a
    config only lists the tasks it changes. With per-target units (``task/target``) a weight
    may name a unit or its task (then every target of it).
    """

    def __init__(self, tasks: Sequence[str], *, weights: Mapping[str, float] | None = None) -> None:
        super().__init__(tasks)
        weights = dict(weights or {})
        owners = {t.split("/")[0] for t in self.tasks}  # a per-target unit is "task/target"
        unknown = sorted(set(weights) - set(self.tasks) - owners)
        if unknown:
            raise ConfigError(
                f"fixed weights name unknown task(s) {', '.join(unknown)}; "
                f"tasks are: {', '.join(self.tasks)}"
            )
        given = {t: number_option(w, f"fixed weight for '{t}'") for t, w in weights.items()}
        self.weights = {t: given.get(t, given.get(t.split("/")[0], 1.0)) for t in self.tasks}

    def _backward(self, losses: dict[str, Tensor], shared: list[nn.Parameter]) -> dict[str, float]:
        sum_losses(self.weights[t] * loss for t, loss in losses.items()).backward()
        return {t: self.weights[t] for t in losses}
