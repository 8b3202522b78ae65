from __future__ import annotations

import itertools

import pytest

from toyguide.data.taxonomy import AGE_BANDS, FUNCTIONS, age_band_index, age_bands_between


def test_taxonomy_has_the_fifteen_design_labels() -> None:
    assert len(FUNCTIONS) == len(set(FUNCTIONS)) == 15
    assert {"animals_nature", "science_stem", "baby_sensory"} <= set(FUNCTIONS)


@pytest.mark.parametrize(
    ("months", "band"),
    [
        (0, "0-12m"),
        (11.9, "0-12m"),
        (12, "1-2y"),
        (35, "1-2y"),
        (36, "3-4y"),
        (60, "5-7y"),
        (71, "5-7y"),
        (96, "8-11y"),
        (143, "8-11y"),
        (144, "12y+"),
        (400, "12y+"),
    ],
)
def test_age_band_edges(months: float, band: str) -> None:
    assert AGE_BANDS[age_band_index(months)].name == band


def test_bands_are_contiguous_and_ranges_span_them() -> None:
    for a, b in itertools.pairwise(AGE_BANDS):
        assert a.max_months == b.min_months
    assert age_bands_between(36, 95) == [2, 3]
    with pytest.raises(ValueError):
        age_band_index(-1)
