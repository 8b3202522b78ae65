"""Known shoppers' vectors kept between requests: the same answers, fewer encoder passes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toyguide.guide.engine import Guide
from toyguide.guide.recommend import CANDIDATES
from toyguide.guide.shopper_cache import ShopperVectors


def _with_history(guide: Guide, n: int) -> list[int]:
    offsets = guide.data.sequences.offsets
    rows = [r for r in range(1, len(offsets) - 1) if offsets[r + 1] > offsets[r]]
    assert len(rows) >= n
    return rows[:n]


def test_a_kept_vector_is_the_one_computed_fresh(guide: Guide) -> None:
    kept, fresh = (
        ShopperVectors(guide.loaded, CANDIDATES),
        ShopperVectors(guide.loaded, CANDIDATES, 0),
    )
    for row in _with_history(guide, 5):
        first, again, computed = kept.get(row), kept.get(row), fresh.get(row)
        assert again is first  # the second request is answered from the cache
        assert torch.equal(first.vector, computed.vector)
        assert torch.equal(first.events, computed.events)
        np.testing.assert_array_equal(first.retrieved, computed.retrieved)
    assert (kept.hits, kept.misses, len(kept)) == (5, 5, 5)
    assert (fresh.hits, fresh.misses, len(fresh)) == (0, 5, 0)  # size 0 keeps nothing


def test_the_least_recently_asked_shopper_goes_first(guide: Guide) -> None:
    a, b, c = _with_history(guide, 3)
    cache = ShopperVectors(guide.loaded, CANDIDATES, size=2)
    cache.get(a), cache.get(b), cache.get(a), cache.get(c)  # b is now the least recent
    assert len(cache) == 2
    misses = cache.misses
    cache.get(a)
    assert cache.misses == misses  # a was kept
    cache.get(b)
    assert cache.misses == misses + 1  # b was dropped


def test_recommendations_are_the_same_from_the_cache(guide: Guide) -> None:
    shopper = guide.data.vocabs["shoppers"].tokens[_with_history(guide, 8)[-1]]
    hits = guide.shoppers.hits
    first = guide.recommend(shopper, k=8).to_dict()
    again = guide.recommend(shopper, k=8).to_dict()
    assert guide.shoppers.hits == hits + 1
    assert again == first


def test_a_negative_size_is_refused(guide: Guide) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        ShopperVectors(guide.loaded, CANDIDATES, -1)
