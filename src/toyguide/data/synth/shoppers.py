"""Shoppers: each buys for one child, who ages week by week and has a few interests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from toyguide.data.synth.catalogue import label_lists, make_ids
from toyguide.data.synth.config import SynthConfig
from toyguide.data.synth.model import (
    SENSITIVITY,
    SENSITIVITY_SHARE,
    age_bins,
    function_age_affinity,
    function_gender_affinity,
)
from toyguide.data.synth.season import day_number
from toyguide.data.synth.vocab import REGIONS
from toyguide.data.taxonomy import CHILD_GENDERS, FUNCTIONS

__all__ = ["MAX_INTERESTS", "Shoppers", "make_shoppers", "shopper_truth", "shoppers_frame"]

MAX_INTERESTS = 3
DAYS_PER_MONTH = 365.25 / 12
# Relative number of children of each age (years 0..13 at the end): toy buying peaks for the
# under-nines and thins out towards the teens.
_AGE_WEIGHTS = np.array([1.0] * 9 + [0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
_ACTIVITY_SIGMA = 0.9  # log-normal spread of how often shoppers come back


@dataclass(frozen=True)
class Shoppers:
    """The true shoppers, one numpy array per attribute (index = shopper number)."""

    ids: pl.Series
    birth_day: np.ndarray  # day number of the child's birth
    gender: np.ndarray  # index into CHILD_GENDERS
    interests: np.ndarray  # [shopper, MAX_INTERESTS] function index, -1 = none
    n_interests: np.ndarray
    sensitivity: np.ndarray  # index into model.SENSITIVITY
    activity: np.ndarray  # relative visit rate, mean 1
    region: np.ndarray  # index into REGIONS
    child_visible: np.ndarray  # bool: birth date and gender observable
    interests_visible: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.birth_day)

    def age_months(self, day: int) -> np.ndarray:
        """Each child's age in months on ``day`` (negative before birth)."""
        return (day - self.birth_day) / DAYS_PER_MONTH


def make_shoppers(config: SynthConfig, rng: np.random.Generator) -> Shoppers:
    """Draw ``config.n_shoppers`` shoppers. Children are 0 to 14 at the end of the period, so a
    few are born during it (their parents shop for the baby on the way)."""
    n = config.n_shoppers
    end = day_number(config.end_date) - 1
    years = rng.choice(len(_AGE_WEIGHTS), size=n, p=_AGE_WEIGHTS / _AGE_WEIGHTS.sum())
    age_days = ((years + rng.random(n)) * 365.25).astype(np.int64)
    birth_day = end - age_days
    gender = rng.integers(0, len(CHILD_GENDERS), size=n)
    mid = (day_number(config.start_date) + end) // 2
    interests, n_interests = _interests((mid - birth_day) / DAYS_PER_MONTH, gender, rng)
    sensitivity = rng.choice(len(SENSITIVITY), size=n, p=SENSITIVITY_SHARE)
    activity = rng.lognormal(0.0, _ACTIVITY_SIGMA, size=n)
    activity /= activity.mean()  # exactly mean 1, so the event count follows the config
    region = rng.integers(0, len(REGIONS), size=n)
    child_visible = rng.random(n) >= config.hidden_child_fraction
    interests_visible = rng.random(n) >= config.hidden_interests_fraction
    return Shoppers(
        make_ids("S", n, 7),
        birth_day,
        gender,
        interests,
        n_interests,
        sensitivity,
        activity,
        region,
        child_visible,
        interests_visible,
    )


def _interests(
    age_months: np.ndarray, gender: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """1-3 distinct interests per child, likelier where typical for its age and gender.

    Sampling without replacement by the Gumbel top-k trick, for all shoppers at once.
    """
    p = function_age_affinity()[:, age_bins(age_months)].T  # [S, F]
    p = p * function_gender_affinity()[:, gender].T + 1e-3
    keys = np.log(p) + rng.gumbel(size=p.shape)
    top = np.argsort(-keys, axis=1, kind="stable")[:, :MAX_INTERESTS]
    n_interests = 1 + rng.binomial(MAX_INTERESTS - 1, 0.45, size=len(p))
    top[np.arange(MAX_INTERESTS)[None, :] >= n_interests[:, None]] = -1
    return top, n_interests


def _interest_lists(shoppers: Shoppers) -> pl.Series:
    mask = np.zeros((len(shoppers), len(FUNCTIONS)), dtype=bool)
    rows = np.repeat(np.arange(len(shoppers)), MAX_INTERESTS)
    picked = shoppers.interests.ravel()
    mask[rows[picked >= 0], picked[picked >= 0]] = True
    return label_lists(mask)


def shoppers_frame(shoppers: Shoppers) -> pl.DataFrame:
    """The observable ``shoppers`` table: the child is known for some, interests for fewer."""
    child = pl.Series(shoppers.child_visible)
    likes = pl.Series(shoppers.interests_visible)
    return pl.DataFrame(
        {
            "shopper_id": shoppers.ids,
            "child_birth_date": pl.Series(shoppers.birth_day, dtype=pl.Int32).cast(pl.Date),
            "child_age_months": pl.Series([None] * len(shoppers), dtype=pl.Int64),
            "as_of": pl.Series([None] * len(shoppers), dtype=pl.Date),
            "child_gender": np.array(CHILD_GENDERS)[shoppers.gender],
            "interests": _interest_lists(shoppers),
            "region": np.array(REGIONS)[shoppers.region],
        }
    ).with_columns(
        pl.when(child).then(pl.col("child_birth_date")).otherwise(None).alias("child_birth_date"),
        pl.when(child).then(pl.col("child_gender")).otherwise(None).alias("child_gender"),
        pl.when(likes).then(pl.col("interests")).otherwise(None).alias("interests"),
    )


def shopper_truth(shoppers: Shoppers) -> pl.DataFrame:
    """Every shopper's true child, interests, price sensitivity and activity."""
    return pl.DataFrame(
        {
            "shopper_id": shoppers.ids,
            "child_birth_date": pl.Series(shoppers.birth_day, dtype=pl.Int32).cast(pl.Date),
            "child_gender": np.array(CHILD_GENDERS)[shoppers.gender],
            "interests": _interest_lists(shoppers),
            "price_sensitivity": SENSITIVITY[shoppers.sensitivity],
            "activity": shoppers.activity,
            "region": np.array(REGIONS)[shoppers.region],
            "child_visible": shoppers.child_visible,
            "interests_visible": shoppers.interests_visible,
        }
    )
