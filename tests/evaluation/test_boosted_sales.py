"""Choosing the boosted sales head's blend with the neural head on validation."""

from __future__ import annotations

import math

from toyguide.evaluation.boosted_sales import chosen_blend


def test_the_lowest_validation_score_wins() -> None:
    assert chosen_blend({0.0: 0.70, 0.5: 0.65, 1.0: 0.72}) == 0.5


def test_a_tie_goes_to_the_more_neural_blend() -> None:
    assert chosen_blend({0.0: 0.70, 0.25: 0.70, 1.0: 0.71}) == 0.25


def test_without_validation_scores_the_neural_head_stays() -> None:
    assert chosen_blend({0.0: math.nan, 0.5: math.nan, 1.0: math.nan}) == 1.0
    assert chosen_blend({0.0: math.nan, 1.0: 0.9}) == 1.0
