from __future__ import annotations

import numpy as np
import pytest

from toyguide.errors import ConfigError
from toyguide.features.splits import (
    TEST,
    TRAIN,
    UNUSED,
    VALIDATION,
    holdout_items,
    leave_one_out,
    profile_split,
    split_code,
    week_split,
)


def test_leave_one_out_takes_last_and_second_last_target_events() -> None:
    # shopper 0: no events; shopper 1: events 0..5, targets at 1, 2, 4, 5; shopper 2: events
    # 6..8 with two targets (too few to hold out)
    offsets = np.array([0, 0, 6, 9])
    is_target = np.array([0, 1, 1, 0, 1, 1, 1, 0, 1], dtype=bool)
    loo = leave_one_out(offsets, is_target)
    assert loo.test.tolist() == [-1, 5, -1]
    assert loo.validation.tolist() == [-1, 4, -1]
    assert loo.train_end.tolist() == [0, 4, 9]
    assert loo.held_out.tolist() == [False, True, False]


def test_item_holdout_is_seeded_disjoint_and_ten_ten() -> None:
    labelled = np.zeros(1001, dtype=bool)
    labelled[1::2] = True  # 500 labelled items, row 0 never
    a, b = holdout_items(labelled, seed=3), holdout_items(labelled, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, holdout_items(labelled, seed=4))
    assert (a[~labelled] == UNUSED).all()
    counts = {code: int((a == code).sum()) for code in (TRAIN, VALIDATION, TEST)}
    assert counts == {TRAIN: 400, VALIDATION: 50, TEST: 50}


def test_profile_folds_partition_the_labelled_shoppers() -> None:
    labelled = np.random.default_rng(0).random(400) < 0.6
    tests = []
    for fold in range(5):
        split = profile_split(labelled, seed=1, n_folds=5, fold=fold)
        np.testing.assert_array_equal(split, profile_split(labelled, seed=1, fold=fold))
        assert (split[~labelled] == UNUSED).all()
        assert abs((split == VALIDATION).sum() - round(0.1 * labelled.sum())) == 0
        tests.append(np.flatnonzero(split == TEST))
    together = np.concatenate(tests)
    assert len(together) == len(set(together)) == labelled.sum()  # each once, all covered


def test_profile_holdout_is_80_10_10() -> None:
    labelled = np.ones(1000, dtype=bool)
    split = profile_split(labelled, seed=0, mode="holdout")
    assert [(split == c).sum() for c in (TRAIN, VALIDATION, TEST)] == [800, 100, 100]
    with pytest.raises(ConfigError, match="kfold, holdout"):
        profile_split(labelled, seed=0, mode="random")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="fold"):
        profile_split(labelled, seed=0, fold=5)


def test_week_split_keeps_targets_inside_their_split() -> None:
    weeks = week_split(20, 4)
    assert list(weeks.origins(TEST)) == [16, 17, 18, 19]
    assert list(weeks.origins(VALIDATION)) == [12, 13, 14, 15]
    assert list(weeks.origins(TRAIN)) == list(range(12))
    assert [weeks.target_end(s) for s in (TRAIN, VALIDATION, TEST)] == [12, 16, 20]
    with pytest.raises(ConfigError, match="sales"):
        week_split(8, 4)


def test_split_names() -> None:
    assert split_code("validation") == VALIDATION
    with pytest.raises(ConfigError, match="validation, test"):
        split_code("dev")
