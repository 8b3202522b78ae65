"""The catalogue takes the model's predictions only for the targets the run trained."""

from __future__ import annotations

import numpy as np

from toyguide.data.taxonomy import FUNCTIONS
from toyguide.guide.catalogue import Catalogue


def catalogue() -> Catalogue:
    """Two items (plus padding row 0) with no stated ages or functions."""
    n = 3
    return Catalogue(
        ids=["", "A", "B"], views=[None] * n, price=np.full(n, np.nan),
        age_min=np.full(n, np.nan), age_max=np.full(n, np.nan),
        functions=np.zeros((n, len(FUNCTIONS)), dtype=bool), in_stock=np.ones(n, dtype=bool),
        currency=[None] * n,
    )  # fmt: skip


def test_untrained_age_leaves_ages_unknown() -> None:
    cat = catalogue()
    cat.fill_predictions(None, np.full((3, len(FUNCTIONS)), 0.9))
    assert np.isnan(cat.age_min).all() and cat.predicted_age is None
    assert cat.functions[1:].all() and not cat.functions[0].any()


def test_untrained_functions_leave_functions_unknown() -> None:
    cat = catalogue()
    cat.fill_predictions(np.array([0, 3, 3]), None)
    assert not cat.functions.any() and cat.predicted_functions is None
    assert cat.age_min[1] == 60 and cat.predicted_age is not None and cat.predicted_age[1]
