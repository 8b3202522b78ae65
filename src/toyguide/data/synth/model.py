"""The shopper's choice model: how age, gender, interests and price turn into events.

A week's views are Poisson per shopper. Each view has a *motive* function (one of the child's
interests, or a function typical for the child's age and gender), then picks a toy with
probability proportional to

    age fit(age bin, toy) x gender fit(gender, toy) x function fit(motive, toy) x appeal(toy, week)

and then runs the funnel view → click → cart → purchase (→ rating). The purchase step depends on
the shopper's price-sensitivity level, the toy's quality and the week's price. Because every
factor depends on the shopper only through (age bin, gender, motive, sensitivity level), the
expected weekly units per toy — the Poisson mean the sales are drawn from (Poisson thinning) —
can be computed exactly per segment instead of per shopper.
"""

from __future__ import annotations

import numpy as np

from toyguide.data.synth.vocab import SPECS
from toyguide.data.taxonomy import FUNCTIONS

__all__ = [
    "AGE_EDGES",
    "C_CART",
    "C_CLICK",
    "C_RATE",
    "GENDER_FIT",
    "MEAN_EXTRA_QTY",
    "MOTIVE_INTEREST",
    "N_AGE_BINS",
    "SENSITIVITY",
    "SENSITIVITY_SHARE",
    "age_bins",
    "age_overlap",
    "buy_probability",
    "default_motive",
    "function_age_affinity",
    "function_gender_affinity",
    "sample_rows",
]

AGE_EDGES = np.array([0, 6, 12, 18, 24, *range(36, 180, 12)], dtype=np.float64)
"""Lower edges (months) of the age bins the choice model works in: half-years for babies,
then years up to 14+. Finer than the six reporting bands so that age fit is sharp."""
_AGE_TOP = 216.0  # upper edge of the open last bin, for overlaps
N_AGE_BINS = len(AGE_EDGES)
N_FUNCTIONS = len(FUNCTIONS)

GENDER_FIT = np.array([[1.0, 0.12, 0.7], [0.12, 1.0, 0.7]])
"""[child gender (boy, girl), toy target (boy, girl, unisex)] → relative appeal."""

SENSITIVITY = np.array([0.3, 0.8, 1.5, 2.5])
"""Price-sensitivity levels (elasticity of the purchase odds to price / reference price)."""
SENSITIVITY_SHARE = np.array([0.25, 0.35, 0.25, 0.15])

MOTIVE_INTEREST = 0.7  # share of views driven by one of the child's interests
OFF_FUNCTION = 0.02  # appeal of a toy without the motive function (browsing, gifts)
OFF_AGE = 0.04  # appeal of a toy outside the child's age (siblings, gifts)
C_CLICK = 0.45  # P(click | view)
C_CART = 0.4  # P(cart | click)
C_RATE = 0.3  # P(rating | purchase)
MEAN_EXTRA_QTY = 0.2  # quantity = 1 + Poisson(MEAN_EXTRA_QTY)
_BUY_BIAS, _BUY_QUALITY, _MEAN_QUALITY = 0.0, 3.0, 4 / 6


def age_bins(months: np.ndarray) -> np.ndarray:
    """Age bin index of each age in months (negative ages, the unborn, count as 0)."""
    return (np.searchsorted(AGE_EDGES, months, side="right") - 1).clip(0, N_AGE_BINS - 1)


def age_overlap(age_min: np.ndarray, age_max: np.ndarray) -> np.ndarray:
    """[age bin, toy] share of each bin inside the toy's age range (max inclusive, in months)."""
    lo = AGE_EDGES[:, None]
    hi = np.append(AGE_EDGES[1:], _AGE_TOP)[:, None]
    inside = np.minimum(hi, np.asarray(age_max)[None, :] + 1) - np.maximum(lo, age_min[None, :])
    return inside.clip(0, None) / (hi - lo)


def age_fit(age_min: np.ndarray, age_max: np.ndarray) -> np.ndarray:
    """[age bin, toy] appeal from age: 1 inside the range, OFF_AGE outside."""
    return OFF_AGE + (1 - OFF_AGE) * age_overlap(age_min, age_max)


def function_age_affinity() -> np.ndarray:
    """[function, age bin] how typical each function is at each age (mean over its ranges)."""
    rows = []
    for f in FUNCTIONS:
        ranges = np.array(SPECS[f].ages, dtype=np.float64)
        rows.append(age_overlap(ranges[:, 0], ranges[:, 1]).mean(axis=1))
    return np.array(rows)


def function_gender_affinity() -> np.ndarray:
    """[function, child gender] expected gender fit of a toy of each function."""
    targets = np.array([SPECS[f].gender for f in FUNCTIONS])  # [F, 3]
    return targets @ GENDER_FIT.T


def default_motive() -> np.ndarray:
    """[age bin * 2 + gender, function] P(motive) of a view not driven by an interest."""
    share = np.array([SPECS[f].share for f in FUNCTIONS])
    age = function_age_affinity()  # [F, bins]
    gender = function_gender_affinity()  # [F, 2]
    p = age.T[:, None, :] * gender.T[None, :, :] * share  # [bins, 2, F]
    p = p.reshape(N_AGE_BINS * 2, N_FUNCTIONS) + 1e-6
    return p / p.sum(axis=1, keepdims=True)


def buy_probability(quality: np.ndarray, price: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """[sensitivity level, toy] P(purchase | cart): better and cheaper toys convert more."""
    logit = _BUY_BIAS + _BUY_QUALITY * (quality - _MEAN_QUALITY)
    logit = logit[None, :] - SENSITIVITY[:, None] * np.log(price / reference)[None, :]
    return 1.0 / (1.0 + np.exp(-logit))


def sample_rows(weights: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draw one column per query from the categorical distribution in ``weights[rows[j]]``.

    Inverse CDF over all rows at once: each row's CDF is shifted by its row number so that one
    ``searchsorted`` over the flattened table answers every query. A column of zero weight is
    never drawn (side="right" lands on the first column whose CDF exceeds u). ``u`` in [0, 1).
    """
    cdf = np.cumsum(weights, axis=1)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0
    cdf += np.arange(len(weights))[:, None]
    # Keep u clear of 1 so that rounding in row + u never spills into the next row.
    needles = rows + np.minimum(u, 1 - 1e-9)
    order = np.argsort(needles)  # sorted needles search ~5x faster (cache locality)
    pos = np.empty(len(needles), dtype=np.int64)
    pos[order] = np.searchsorted(cdf.ravel(), needles[order], side="right")
    return pos - rows * weights.shape[1]
