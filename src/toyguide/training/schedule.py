"""Learning-rate schedules: the factor on ``train.lr`` at each optimiser step.

A schedule is a function of the step's place in the run's planned steps (``train.epochs`` ×
steps per epoch), so a resumed run continues with the same rates and a run is reproducible
from its config: nothing depends on the wall clock. A run under a wall-clock budget
(``train.max_minutes``) sets ``epochs`` to what fits in it, so that the rate has come down when
the budget ends (training to a budget learns most from a rate that decays to the end of the
budget, not from a constant one).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from toyguide.errors import ConfigError

__all__ = ["SCHEDULES", "lr_factor"]


def _constant(progress: float) -> float:
    return 1.0


def _linear(progress: float) -> float:
    return 1.0 - progress


def _cosine(progress: float) -> float:
    return 0.5 * (1.0 + math.cos(math.pi * progress))


# the factor after warm-up, from progress 0 (first step after warm-up) to 1 (the last step)
SCHEDULES: dict[str, Callable[[float], float]] = {
    "constant": _constant,
    "linear": _linear,
    "cosine": _cosine,
}


def lr_factor(schedule: str, step: int, total: int, warmup: int = 0, floor: float = 0.0) -> float:
    """The factor on the base rate at ``step`` (1-based) of ``total`` planned steps: a linear
    warm-up over the first ``warmup`` steps, then ``schedule`` decaying towards ``floor`` (a
    fraction of the base rate); past ``total`` (a run given more epochs on resume) it stays at
    the end value."""
    if schedule not in SCHEDULES:
        raise ConfigError(
            f"train.lr_schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}"
        )
    if warmup and step <= warmup:
        return step / warmup
    span = max(total - warmup - 1, 1)
    progress = min(max(step - warmup - 1, 0) / span, 1.0)
    return floor + (1.0 - floor) * SCHEDULES[schedule](progress)
