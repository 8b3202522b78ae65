"""The evaluation splits of DESIGN.md §4, fixed so that numbers stay comparable.

Each split is a plain array of codes (``TRAIN``, ``VALIDATION``, ``TEST``, ``UNUSED``) or a
pair of index arrays, computed from the data and a seed only. Every random choice draws from
``numpy.random.default_rng([seed, salt])`` with a salt per split, so one seed fixes all of them
and changing how one split draws leaves the others as they were.

- **preference**: leave-one-out per shopper over the target-kind events (default click, cart,
  purchase) in time order: the last is the test target, the second-last the validation
  target, the rest (and every event of the other kinds before the validation target) is
  training. Shoppers with fewer than 3 target events are training only. Events after the test
  target are used nowhere.
- **attributes**: of the items with at least one label, a seeded 10% are validation and 10%
  test. Held-out items stay in the item tables (id, text, brand, price are inputs, as for a new
  toy); only their labels are kept out of training. The ``catalogue`` variant draws the shares
  from all items instead, so the test items are the same whichever targets are switched on
  (a benchmark's single-target and multi-target runs are scored on the same toys).
- **profile**: k-fold over the shoppers with at least one label: a seeded permutation deals
  them round-robin into ``n_folds`` folds; fold ``fold`` is the test set and a further 10% of
  all labelled shoppers, taken from the other folds in permutation order, is validation. The
  ``holdout`` mode is a single 80/10/10 split of the same permutation.
- **sales**: by time. An origin is the first forecast week; its history is the weeks before
  it. The last ``horizon`` weeks are the test origins, the ``horizon`` weeks before them the
  validation origins; training origins come earlier and their targets stop where validation
  begins (validation targets stop where test begins), so no split's targets reach into a
  later split's weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from toyguide.errors import ConfigError

__all__ = [
    "ATTRIBUTE_HOLDOUT",
    "PROFILE_VALIDATION",
    "SPLIT_NAMES",
    "TEST",
    "TRAIN",
    "UNUSED",
    "VALIDATION",
    "LeaveOneOut",
    "WeekSplit",
    "holdout_catalogue",
    "holdout_items",
    "leave_one_out",
    "profile_split",
    "split_code",
    "week_split",
]

UNUSED, TRAIN, VALIDATION, TEST = -1, 0, 1, 2
SPLIT_NAMES: dict[str, int] = {"train": TRAIN, "validation": VALIDATION, "test": TEST}
ATTRIBUTE_HOLDOUT = (0.1, 0.1)  # validation, test shares of the labelled items (DESIGN §4)
PROFILE_VALIDATION = 0.1  # share of labelled shoppers used for validation in k-fold mode
_SALT = {"attributes": 101, "profile": 202}  # one independent random stream per split


def split_code(name: str) -> int:
    """The code of a split name; an unknown name lists the known ones."""
    try:
        return SPLIT_NAMES[name]
    except KeyError:
        known = ", ".join(SPLIT_NAMES)
        raise ConfigError(f"unknown split '{name}'; known: {known}") from None


@dataclass(frozen=True)
class LeaveOneOut:
    """Per shopper (CSR over events sorted by shopper then time): where training ends and which
    event is the validation / test target (absolute event index, -1 when none)."""

    train_end: np.ndarray  # [S] exclusive end of the shopper's training events
    validation: np.ndarray  # [S] int64
    test: np.ndarray  # [S] int64

    @property
    def held_out(self) -> np.ndarray:
        """[S] bool: the shopper has validation and test targets."""
        return self.test >= 0


def leave_one_out(offsets: np.ndarray, is_target: np.ndarray) -> LeaveOneOut:
    """Leave-one-out over each shopper's target events; ``offsets`` [S+1] delimit the shoppers'
    events, ``is_target`` [E] marks the events of the target kinds."""
    n_shoppers = len(offsets) - 1
    positions = np.flatnonzero(is_target)  # ascending: grouped by shopper, in time order
    shopper = np.searchsorted(offsets, positions, side="right") - 1
    count = np.bincount(shopper, minlength=n_shoppers)
    last = np.cumsum(count) - 1  # index into ``positions`` of each shopper's last target
    held = count >= 3
    test = np.full(n_shoppers, -1, dtype=np.int64)
    validation = np.full(n_shoppers, -1, dtype=np.int64)
    test[held] = positions[last[held]]
    validation[held] = positions[last[held] - 1]
    train_end = np.where(held, validation, offsets[1:]).astype(np.int64)
    return LeaveOneOut(train_end, validation, test)


def _permutation(candidates: np.ndarray, seed: int, salt: int) -> np.ndarray:
    return candidates[np.random.default_rng([seed, salt]).permutation(len(candidates))]


def holdout_items(
    labelled: np.ndarray, seed: int, shares: tuple[float, float] = ATTRIBUTE_HOLDOUT
) -> np.ndarray:
    """[N+1] split codes: seeded 10% / 10% of the labelled items validation / test, the other
    labelled items training, unlabelled items (and row 0) ``UNUSED``."""
    out = np.full(len(labelled), UNUSED, dtype=np.int8)
    order = _permutation(np.flatnonzero(labelled), seed, _SALT["attributes"])
    n_val, n_test = (round(share * len(order)) for share in shares)
    out[order] = TRAIN
    out[order[:n_val]] = VALIDATION
    out[order[n_val : n_val + n_test]] = TEST
    return out


def holdout_catalogue(
    labelled: np.ndarray, seed: int, shares: tuple[float, float] = ATTRIBUTE_HOLDOUT
) -> np.ndarray:
    """[N+1] split codes: seeded ``shares`` (validation, test) of ALL items (rows 1..N) are
    validation / test, the rest training; then unlabelled items (and row 0) are ``UNUSED``."""
    out = np.full(len(labelled), UNUSED, dtype=np.int8)
    order = _permutation(np.arange(1, len(labelled)), seed, _SALT["attributes"])
    n_val, n_test = (round(share * len(order)) for share in shares)
    out[order] = TRAIN
    out[order[n_test : n_test + n_val]] = VALIDATION
    out[order[:n_test]] = TEST
    out[~labelled] = UNUSED
    out[0] = UNUSED
    return out


def profile_split(
    labelled: np.ndarray,
    seed: int,
    *,
    mode: Literal["kfold", "holdout"] = "kfold",
    n_folds: int = 5,
    fold: int = 0,
) -> np.ndarray:
    """[S] split codes over shoppers; unlabelled shoppers are ``UNUSED``."""
    if mode not in ("kfold", "holdout"):
        raise ConfigError(f"unknown profile split mode '{mode}'; known: kfold, holdout")
    if not 0 <= fold < n_folds:
        raise ConfigError(f"profile fold must be in 0..{n_folds - 1}, got {fold}")
    out = np.full(len(labelled), UNUSED, dtype=np.int8)
    order = _permutation(np.flatnonzero(labelled), seed, _SALT["profile"])
    out[order] = TRAIN
    n_val = round(PROFILE_VALIDATION * len(order))
    if mode == "holdout":
        out[order[:n_val]] = VALIDATION
        out[order[n_val : 2 * n_val]] = TEST
        return out
    in_test = np.arange(len(order)) % n_folds == fold
    out[order[in_test]] = TEST
    out[order[~in_test][:n_val]] = VALIDATION
    return out


@dataclass(frozen=True)
class WeekSplit:
    """Origins and target limits of the sales splits over week indices 0..n_weeks-1."""

    n_weeks: int
    horizon: int

    def origins(self, split: int) -> range:
        """Origin weeks of a split (training: every week before validation)."""
        first_val = self.n_weeks - 2 * self.horizon
        if split == TRAIN:
            return range(0, first_val)
        if split == VALIDATION:
            return range(first_val, first_val + self.horizon)
        return range(first_val + self.horizon, self.n_weeks)

    def target_end(self, split: int) -> int:
        """Exclusive week index a split's targets may reach."""
        return self.n_weeks - (TEST - split) * self.horizon


def week_split(n_weeks: int, horizon: int) -> WeekSplit:
    """The sales split of ``n_weeks`` weeks; it needs at least one training week."""
    if n_weeks <= 2 * horizon:
        raise ConfigError(
            f"task 'sales' needs more than 2 x horizon = {2 * horizon} weeks of sales "
            f"(the last {horizon} are test origins, the {horizon} before validation); "
            f"the store has {n_weeks}"
        )
    return WeekSplit(n_weeks, horizon)


def require_labels(task: str, ok: bool, missing: str) -> None:
    """A switched-on task whose labels the store lacks is a ConfigError saying what is missing."""
    if not ok:
        raise ConfigError(
            f"task '{task}' is switched on but the store has {missing}; "
            f"add those labels or leave '{task}' out of features.tasks"
        )


def require_training(task: str, split: np.ndarray, what: str) -> None:
    """Labels exist but the split left none for training (too few of them)."""
    n = int((split != UNUSED).sum())
    if not (split == TRAIN).any():
        raise ConfigError(
            f"task '{task}': the store has only {n} {what}, too few to leave any for "
            "training after the validation and test hold-outs"
        )
