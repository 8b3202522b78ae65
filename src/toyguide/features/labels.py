"""Labels of the attributes and profile tasks: a toy's attribute targets (age band, gender
target, functions, categories, top category, price band) and a shopper's child profile, each with
the split that keeps held-out labels out of training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from toyguide.data.taxonomy import AGE_BANDS, CHILD_GENDERS, FUNCTIONS, GENDER_TARGETS
from toyguide.errors import ConfigError
from toyguide.features import splits
from toyguide.features.sequences import EventSequences
from toyguide.features.tables import list_codes
from toyguide.features.vocab import Vocabulary

if TYPE_CHECKING:
    from toyguide.features.data import FeatureConfig  # labels sit below the config's module

__all__ = [
    "ATTRIBUTE_TARGETS",
    "AttributeData",
    "ItemLabels",
    "ProfileData",
    "age_band_of_months",
    "build_attribute_data",
    "build_item_labels",
    "build_profile",
    "fit_price_edges",
    "multi_hot",
]

# the attribute targets features.attribute_targets may switch on ("categories" is switched on
# by features.predict_categories instead)
ATTRIBUTE_TARGETS: tuple[str, ...] = (
    "age_band", "gender_target", "functions", "top_category", "price_band",
)  # fmt: skip
_DAYS_PER_MONTH = 365.25 / 12
_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class ItemLabels:
    """Attribute labels per item row (numpy, row 0 = padding, never labelled).

    ``price_band`` is -1 until :meth:`with_price_bands` sets it: its band edges are fitted on
    the training items, so they need the split, which needs the other labels first.
    """

    age_band: np.ndarray  # [N+1] int64, -1 missing
    gender_target: np.ndarray  # [N+1] int64, -1 missing
    functions: np.ndarray  # [N+1, F] float32 multi-hot over taxonomy FUNCTIONS
    functions_mask: np.ndarray  # [N+1] bool
    categories: np.ndarray  # [N+1, C] float32; column j is category vocabulary index j + 1
    categories_mask: np.ndarray  # [N+1] bool
    top_category: np.ndarray  # [N+1] int64 vocabulary index - 1 of the path's root, -1 none
    price: np.ndarray  # [N+1] float64, NaN missing
    price_band: np.ndarray  # [N+1] int64, -1 missing (or not yet fitted)

    def masks(self) -> dict[str, np.ndarray]:
        """[N+1] bool per target: where the item carries that label."""
        return {
            "age_band": self.age_band >= 0,
            "gender_target": self.gender_target >= 0,
            "functions": self.functions_mask,
            "categories": self.categories_mask,
            "top_category": self.top_category >= 0,
            "price_band": ~np.isnan(self.price),
        }

    def labelled(
        self,
        with_categories: bool,
        targets: Sequence[str] = ("age_band", "gender_target", "functions"),
    ) -> np.ndarray:
        """[N+1] bool: the item has at least one label the attributes task trains on."""
        masks = self.masks()
        names = [*targets, "categories"] if with_categories else list(targets)
        return np.logical_or.reduce([masks[t] for t in names])

    def with_price_bands(self, edges: np.ndarray) -> ItemLabels:
        """Price band = how many of the ascending ``edges`` the price reaches (NaN → -1)."""
        band = np.searchsorted(edges, np.nan_to_num(self.price, nan=-1.0), side="right")
        return replace(self, price_band=np.where(np.isnan(self.price), -1, band).astype(np.int64))


def fit_price_edges(price: np.ndarray, fitted_on: np.ndarray, n_bands: int) -> np.ndarray:
    """The ``n_bands - 1`` inner quantiles of the known prices of the rows ``fitted_on`` (the
    training items, so held-out prices never shape the bands)."""
    known = price[fitted_on & ~np.isnan(price)]
    if known.size == 0:
        raise ConfigError("price_band: no training item has a price to fit the bands on")
    return np.quantile(known, np.arange(1, n_bands) / n_bands)


_BAND_STARTS = np.array([b.min_months for b in AGE_BANDS])


def age_band_of_months(months: np.ndarray) -> np.ndarray:
    """Index into AGE_BANDS for each age in months (NaN → -1; negative, i.e. not yet born, → 0)."""
    band = np.searchsorted(_BAND_STARTS, np.maximum(np.nan_to_num(months, nan=0.0), 0), "right")
    return np.where(np.isnan(months), -1, band - 1).astype(np.int64)


def multi_hot(
    rows: np.ndarray, lists: pl.Series, names: Sequence[str] | Vocabulary, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """([n, len(names)] float32 multi-hot, [n] bool mask) of a list column placed at ``rows``.

    An empty or null list is "unknown", not "none of these" (no toy has no function), so its
    mask is false; so is a list of names all unknown to ``names``.
    """
    vocab = names if isinstance(names, Vocabulary) else Vocabulary(names)
    order = np.argsort(rows, kind="stable")
    row, _, code = list_codes(rows[order], lists.gather(order), vocab.transform)
    hot = np.zeros((n, len(vocab) - 1), dtype=np.float32)
    hot[row, code - 1] = 1.0
    mask = np.zeros(n, dtype=bool)
    mask[row] = True
    return hot, mask


def build_item_labels(items: pl.DataFrame, vocabs: Mapping[str, Vocabulary]) -> ItemLabels:
    """Attribute targets. The age band of a toy is the band of the midpoint of its
    [age_min, age_max] range (one bound alone when the other is missing): toys span several
    bands, and the midpoint is the age the toy is most typically bought for."""
    n = len(vocabs["items"])
    rows = vocabs["items"].transform(items["item_id"])
    keep = pl.Series(rows > 0)
    items, rows = items.filter(keep), rows[rows > 0]
    lo = items["age_min_months"].cast(pl.Float64).to_numpy()
    hi = items["age_max_months"].cast(pl.Float64).to_numpy()
    mid = np.where(np.isnan(lo), hi, np.where(np.isnan(hi), lo, (lo + hi) / 2))
    age_band = np.full(n, -1, dtype=np.int64)
    age_band[rows] = age_band_of_months(mid)
    gender = np.full(n, -1, dtype=np.int64)
    gender[rows] = Vocabulary(GENDER_TARGETS).transform(items["gender_target"]) - 1
    functions, f_mask = multi_hot(rows, items["functions"], FUNCTIONS, n)
    categories, c_mask = multi_hot(rows, items["categories"], vocabs["categories"], n)
    # the root of the category path; no path (or a root the vocabulary lacks) is unlabelled
    top = np.full(n, -1, dtype=np.int64)
    top[rows] = vocabs["categories"].transform(items["categories"].list.first()) - 1
    price = np.full(n, np.nan)
    if "price" in items.columns:  # a truth frame of labels alone has none
        price[rows] = items["price"].cast(pl.Float64).to_numpy()
    no_band = np.full(n, -1, dtype=np.int64)
    return ItemLabels(age_band, gender, functions, f_mask, categories, c_mask, top, price, no_band)


@dataclass(frozen=True)
class AttributeData:
    labels: ItemLabels
    split: np.ndarray  # [N+1] int8 split codes


@dataclass(frozen=True)
class ProfileData:
    """Shopper labels, taken at the last event of the input sequence, which ends where the
    shopper's preference training events end: no held-out preference event is an input."""

    end: np.ndarray  # [S+1] exclusive end of the input sequence
    age_band: np.ndarray  # [S+1] int64, -1 missing
    gender: np.ndarray  # [S+1] int64, -1 missing
    interests: np.ndarray  # [S+1, F] float32
    interests_mask: np.ndarray  # [S+1] bool
    split: np.ndarray  # [S+1] int8


def _child_age_months(shoppers: pl.DataFrame, day: np.ndarray) -> np.ndarray:
    """Age in months on ``day`` from the birth date, else from child_age_months at as_of."""
    birth = shoppers["child_birth_date"].cast(pl.Int32).cast(pl.Float64).to_numpy()
    months = shoppers["child_age_months"].cast(pl.Float64).to_numpy()
    as_of = shoppers["as_of"].cast(pl.Int32).cast(pl.Float64).to_numpy()
    from_birth = (day - birth) / _DAYS_PER_MONTH
    return np.where(np.isnan(birth), months + (day - as_of) / _DAYS_PER_MONTH, from_birth)


def build_profile(
    shoppers: pl.DataFrame,
    vocab: Vocabulary,
    seqs: EventSequences,
    end: np.ndarray,
    config: FeatureConfig,
) -> ProfileData:
    n = len(vocab)
    rows = vocab.transform(shoppers["shopper_id"])
    has_events = end > seqs.offsets[:-1]
    last_day = np.where(has_events, seqs.ts[np.maximum(end - 1, 0)] // _US_PER_DAY, 0)
    day = np.where(has_events[rows], last_day[rows], np.nan)
    months = _child_age_months(shoppers, day)
    if config.profile_unborn == "missing":
        months = np.where(months < 0, np.nan, months)  # no age band before the birth
    age_band = np.full(n, -1, dtype=np.int64)
    age_band[rows] = age_band_of_months(months)
    gender = np.full(n, -1, dtype=np.int64)
    gender[rows] = Vocabulary(CHILD_GENDERS).transform(shoppers["child_gender"]) - 1
    interests, mask = multi_hot(rows, shoppers["interests"], FUNCTIONS, n)
    labelled = ((age_band >= 0) | (gender >= 0) | mask) & has_events  # no events: no input
    mode, n_folds, fold = config.profile_split, config.n_folds, config.fold
    split = splits.profile_split(labelled, config.seed, mode=mode, n_folds=n_folds, fold=fold)
    return ProfileData(end, age_band, gender, interests, mask, split)


def build_attribute_data(
    items: pl.DataFrame, vocabs: dict[str, Vocabulary], config: FeatureConfig
) -> AttributeData:
    labels = build_item_labels(items, vocabs)
    targets = config.attribute_targets
    labelled = labels.labelled(config.predict_categories, targets)
    what = " or ".join([*targets, *(["categories"] if config.predict_categories else [])])
    splits.require_labels("attributes", bool(labelled.any()), f"no item labelled with {what}")
    holdout = splits.holdout_catalogue if config.attribute_split == "catalogue" else (
        splits.holdout_items)  # fmt: skip
    split = holdout(labelled, config.split_seed, config.attribute_holdout)
    splits.require_training("attributes", split, "labelled items")
    if "price_band" in targets:
        edges = fit_price_edges(labels.price, split == splits.TRAIN, config.price_bands)
        labels = labels.with_price_bands(edges)
    return AttributeData(labels, split)
