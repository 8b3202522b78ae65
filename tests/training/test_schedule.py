"""Learning-rate schedules: warm-up, decay to the floor, and the end value held past the plan."""

from __future__ import annotations

import itertools

import pytest

from toyguide.errors import ConfigError
from toyguide.training.schedule import lr_factor


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_a_decay_starts_at_one_and_ends_near_the_floor(schedule: str) -> None:
    factors = [lr_factor(schedule, step, 101, floor=0.2) for step in range(1, 102)]
    assert factors[0] == 1.0
    assert factors[-1] == pytest.approx(0.2)
    assert all(a >= b for a, b in itertools.pairwise(factors))
    assert lr_factor(schedule, 500, 101, floor=0.2) == pytest.approx(0.2)  # past the plan


def test_the_two_decays_differ_halfway() -> None:
    assert lr_factor("linear", 51, 101) == pytest.approx(0.5)  # progress 50 of 100
    assert lr_factor("cosine", 26, 101) == pytest.approx(0.5 * (1 + 2**-0.5))


def test_warm_up_rises_linearly_then_a_constant_rate_holds() -> None:
    assert [lr_factor("constant", s, 10, warmup=4) for s in (1, 2, 4, 5, 10)] == [
        0.25, 0.5, 1.0, 1.0, 1.0
    ]  # fmt: skip


def test_an_unknown_schedule_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="constant, linear, cosine, got 'step'"):
        lr_factor("step", 1, 10)
