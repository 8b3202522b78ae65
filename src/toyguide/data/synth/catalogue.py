"""The toy catalogue: true attributes, prices, launches and English titles and descriptions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from toyguide.data.synth.config import SynthConfig
from toyguide.data.synth.season import day_number
from toyguide.data.synth.vocab import (
    GENERAL_BRANDS,
    GENERAL_SENTENCES,
    SPECS,
    FunctionSpec,
    spec_table,
)
from toyguide.data.taxonomy import FUNCTIONS, GENDER_TARGETS

__all__ = ["Catalogue", "item_truth", "items_frame", "label_lists", "make_catalogue", "make_ids"]

_PRICE_SIGMA = 0.45  # log-normal spread of prices within a function
_SECOND_FUNCTION = 0.35  # share of toys with a second function
_AGE_IN_TEXT = 0.5  # share of descriptions that state the age range
_DEPARTMENT = 0.75  # share of toys whose categories name a department
_LAUNCH_HISTORY_DAYS = 3 * 365  # toys on sale before the start launched within this


@dataclass(frozen=True)
class Catalogue:
    """The true catalogue, one numpy array per attribute (index = toy number)."""

    ids: pl.Series
    primary: np.ndarray  # function index of the main function
    functions: np.ndarray  # [toy, function] bool
    age_min: np.ndarray  # months
    age_max: np.ndarray  # months, inclusive
    gender: np.ndarray  # index into GENDER_TARGETS
    price: np.ndarray  # list price in USD
    reference_price: np.ndarray  # median price of the main function
    popularity: np.ndarray  # relative appeal, mean about 1
    quality: np.ndarray  # 0..1, drives conversion and ratings
    launch_day: np.ndarray  # day number
    launch_week: np.ndarray  # first simulated week with sales (0 for toys already on sale)
    attributes_visible: np.ndarray  # bool: age range, gender target, functions observable
    titles: list[str]
    descriptions: list[str]
    brands: list[str]
    categories: list[list[str]]

    def __len__(self) -> int:
        return len(self.primary)


def make_ids(prefix: str, n: int, width: int) -> pl.Series:
    """``prefix`` + zero-padded numbers 0..n-1, widened when n needs more digits."""
    width = max(width, len(str(max(n - 1, 0))))
    return pl.select(
        pl.concat_str(pl.lit(prefix), pl.int_range(n).cast(pl.String).str.zfill(width))
    ).to_series()


def label_lists(mask: np.ndarray) -> pl.Series:
    """[row, function] bool → a List(String) column of taxonomy names, built without a loop."""
    rows, cols = np.nonzero(mask)
    offsets = np.zeros(len(mask) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(mask)), out=offsets[1:])
    names = pa.array(FUNCTIONS, type=pa.large_string()).take(pa.array(cols))
    return pl.Series(pa.LargeListArray.from_arrays(pa.array(offsets), names)).cast(
        pl.List(pl.String)
    )


def make_catalogue(config: SynthConfig, rng: np.random.Generator) -> Catalogue:
    """Draw ``config.n_items`` toys; the order of draws is fixed so a seed gives one catalogue."""
    n = config.n_items
    share = np.array(spec_table("share"))
    primary = rng.choice(len(FUNCTIONS), size=n, p=share / share.sum())
    functions = _functions(primary, rng)
    age_min, age_max = _age_ranges(primary, rng)
    gender = _gender_targets(primary, rng)
    quality = rng.beta(4.0, 2.0, size=n)
    reference = np.array(spec_table("price"))[primary]
    raw = reference * np.exp(_PRICE_SIGMA * rng.standard_normal(n) + 0.4 * (quality - 4 / 6))
    price = np.maximum(np.round(raw) - 0.01, 2.99)
    popularity = rng.lognormal(-0.5, 1.0, size=n)  # mean 1, a long tail of hits
    launch_day, launch_week = _launches(config, rng)
    visible = rng.random(n) >= config.hidden_item_attributes_fraction
    text = _texts(primary, functions, gender, age_min, age_max, rng)
    return Catalogue(
        make_ids("T", n, 6),
        primary,
        functions,
        age_min,
        age_max,
        gender,
        price,
        reference,
        popularity,
        quality,
        launch_day,
        launch_week,
        visible,
        *text,
    )


def _functions(primary: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((len(primary), len(FUNCTIONS)), dtype=bool)
    out[np.arange(len(primary)), primary] = True
    second = rng.random(len(primary)) < _SECOND_FUNCTION
    pick = rng.integers(0, 1 << 30, size=len(primary))
    for f, name in enumerate(FUNCTIONS):  # a loop over functions, not toys
        rows = np.flatnonzero(second & (primary == f))
        partners = [FUNCTIONS.index(p) for p in SPECS[name].partners]
        out[rows, np.array(partners)[pick[rows] % len(partners)]] = True
    return out


def _age_ranges(primary: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.zeros(len(primary), np.int64), np.zeros(len(primary), np.int64)
    pick = rng.integers(0, 1 << 30, size=len(primary))
    for f, name in enumerate(FUNCTIONS):
        rows = np.flatnonzero(primary == f)
        ranges = np.array(SPECS[name].ages)
        chosen = ranges[pick[rows] % len(ranges)]
        lo[rows], hi[rows] = chosen[:, 0], chosen[:, 1]
    return lo, hi


def _gender_targets(primary: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cdf = np.cumsum(np.array(spec_table("gender")), axis=1)[primary]  # [toy, 3]
    u = rng.random(len(primary))[:, None]
    return np.minimum((u >= cdf).sum(axis=1), len(GENDER_TARGETS) - 1)


def _launches(config: SynthConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """New toys launch on the Monday of a simulated week (so no event precedes the launch);
    at least one toy is on sale from the start so that the first week has something to view."""
    n, start = config.n_items, day_number(config.start_date)
    n_new = min(round(config.new_item_fraction * n), n - 1) if config.n_weeks > 1 else 0
    is_new = rng.permutation(n) < n_new
    week = np.where(is_new, rng.integers(1, max(config.n_weeks, 2), size=n), 0)
    before = start - rng.integers(1, _LAUNCH_HISTORY_DAYS, size=n)
    return np.where(is_new, start + 7 * week, before), week


def _texts(
    primary: np.ndarray,
    functions: np.ndarray,
    gender: np.ndarray,
    age_min: np.ndarray,
    age_max: np.ndarray,
    rng: np.random.Generator,
) -> tuple[list[str], list[str], list[str], list[list[str]]]:
    """Titles, descriptions, brands and categories, composed from each function's words.

    The one Python loop over toys (not events); all randomness is drawn up front as integers.
    """
    picks = rng.integers(0, 1 << 30, size=(len(primary), 9))
    flags = rng.random((len(primary), 4))
    titles, descriptions, brands, categories = [], [], [], []
    for i, f in enumerate(primary):
        spec = SPECS[FUNCTIONS[f]]
        r, x = picks[i], flags[i]
        brand = _pick(GENERAL_BRANDS, r[0]) if x[0] < 0.15 else _pick(spec.brands, r[0])
        core = _core_title(spec, GENDER_TARGETS[gender[i]], r)
        title = f"{brand} {core}" if x[1] < 0.5 else core
        second = [FUNCTIONS[g] for g in np.flatnonzero(functions[i]) if g != f]
        blurb = " ".join(_pick(SPECS[name].blurbs, r[5]) for name in [FUNCTIONS[f], *second])
        ages = ""
        if x[2] < _AGE_IN_TEXT:
            ages = f" Recommended for ages {_age_text(age_min[i], age_max[i])}."
        extra = f" {_pick(GENERAL_SENTENCES, r[6])}" if r[7] % 5 < 3 else ""
        descriptions.append(f"The {core} from {brand}. {blurb}{extra}{ages}")
        titles.append(title)
        brands.append(brand)
        dept = [spec.category] if x[3] < _DEPARTMENT else []
        categories.append(["Toys & Games", *dept])
    return titles, descriptions, brands, categories


def _core_title(spec: FunctionSpec, target: str, r: np.ndarray) -> str:
    pool = spec.themes + (spec.boy_themes if target == "boy" else ())
    pool += spec.girl_themes if target == "girl" else ()
    return f"{_pick(pool, r[1])} {_pick(spec.subjects, r[2])} {_pick(spec.products, r[3])}"


def _pick(options: tuple[str, ...], r: int) -> str:
    return options[int(r) % len(options)]


def _age_text(lo: int, hi: int) -> str:
    if hi < 24:
        return f"{lo} to {hi} months"
    if lo < 12:
        return f"{lo} months to {hi // 12} years"
    return f"{lo // 12} to {hi // 12} years"


def items_frame(cat: Catalogue) -> pl.DataFrame:
    """The observable ``items`` table: hidden toys have no age range, gender target or functions."""
    vis = pl.Series(cat.attributes_visible)
    frame = pl.DataFrame(
        {
            "item_id": cat.ids,
            "title": cat.titles,
            "description": cat.descriptions,
            "brand": cat.brands,
            "categories": pl.Series(cat.categories, dtype=pl.List(pl.String)),
            "price": cat.price,
            "currency": "USD",
            "age_min_months": cat.age_min,
            "age_max_months": cat.age_max,
            "gender_target": np.array(GENDER_TARGETS)[cat.gender],
            "functions": label_lists(cat.functions),
            "launch_date": pl.Series(cat.launch_day, dtype=pl.Int32).cast(pl.Date),
        }
    )
    hidden = ["age_min_months", "age_max_months", "gender_target", "functions"]
    return frame.with_columns(pl.when(vis).then(pl.col(c)).otherwise(None).alias(c) for c in hidden)


def item_truth(cat: Catalogue) -> pl.DataFrame:
    """Every toy's true attributes and the hidden drivers of its demand."""
    return pl.DataFrame(
        {
            "item_id": cat.ids,
            "age_min_months": cat.age_min,
            "age_max_months": cat.age_max,
            "gender_target": np.array(GENDER_TARGETS)[cat.gender],
            "functions": label_lists(cat.functions),
            "primary_function": np.array(FUNCTIONS)[cat.primary],
            "list_price": cat.price,
            "popularity": cat.popularity,
            "quality": cat.quality,
            "launch_date": pl.Series(cat.launch_day, dtype=pl.Int32).cast(pl.Date),
            "attributes_visible": cat.attributes_visible,
        }
    )
