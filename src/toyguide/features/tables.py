"""The item-indexed tables: the item encoder's inputs, the attribute labels and the weekly
sales matrices.

Row 0 of every table is the padding / unknown item; the items of the item vocabulary are rows
1..N in vocabulary order. Inputs are built for every item, labelled or not and whatever its
split: a held-out toy keeps its id, text, brand and price (that is how a new toy is scored);
only its labels are kept out of training, by the splits.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import polars as pl
import torch

from toyguide.data.taxonomy import AGE_BANDS, FUNCTIONS, GENDER_TARGETS
from toyguide.errors import ConfigError
from toyguide.features import splits
from toyguide.features.text import TEXT_DIM
from toyguide.features.vocab import Vocabulary

__all__ = [
    "CALENDAR_FEATURES",
    "HISTORY_FEATURES",
    "ItemLabels",
    "ItemTables",
    "PriceStats",
    "SalesData",
    "TextVectors",
    "age_band_of_months",
    "build_item_labels",
    "build_item_tables",
    "build_sales",
    "calendar_features",
    "fit_price_edges",
    "hashed_tokens",
    "item_texts",
    "multi_hot",
]

# TEXT_DIM (MiniLM, 384) is the width when no item has text; a fake embedder may use another
HISTORY_FEATURES = ("log1p_units_over_scale", "relative_price", "promo", "in_stock", "in_history")
CALENDAR_FEATURES = (
    "week_sin", "week_cos", "christmas", "childrens_day", "singles_day", "black_friday",
)  # fmt: skip
_EPOCH = dt.date(1970, 1, 1)
TextVectors = Callable[[list[str]], Any]
"""Texts → an array-like [n, D]; production passes ``TextEmbedder().embed_cached``."""


@dataclass(frozen=True)
class ItemTables:
    """The item encoder's inputs; see docs/design/mtl-contracts.md."""

    brand: torch.Tensor  # [N+1] long, 0 = unknown
    categories: torch.Tensor  # [N+1, C_max] long, 0 = pad
    log_price: torch.Tensor  # [N+1] float, standardised, 0 when missing
    price_missing: torch.Tensor  # [N+1] float
    text: torch.Tensor  # [N+1, D] float, zeros when the item has no text
    tokens: torch.Tensor  # [N+1, L] long hashed text tokens (1..buckets), 0 = pad; [N+1, 1] off

    @property
    def n_items(self) -> int:
        """N, the number of real items (row 0 excluded)."""
        return self.brand.shape[0] - 1

    def to(self, device: torch.device | str) -> ItemTables:
        return ItemTables(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


@dataclass(frozen=True)
class PriceStats:
    """Mean and standard deviation of log1p(price) over the items seen when fitting."""

    mean: float
    std: float

    @classmethod
    def fit(cls, prices: pl.Series) -> PriceStats:
        logs = np.log1p(prices.drop_nulls().to_numpy().astype(np.float64))
        if logs.size == 0:
            return cls(0.0, 1.0)  # no prices at all: every item is "price missing"
        std = float(logs.std())
        return cls(float(logs.mean()), std if std > 1e-8 else 1.0)

    def transform(self, prices: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        """(standardised log price with 0 where missing, missing flag)."""
        raw = prices.cast(pl.Float64).to_numpy()
        missing = np.isnan(raw)
        logs = (np.log1p(np.where(missing, 0.0, raw)) - self.mean) / self.std
        return np.where(missing, 0.0, logs).astype(np.float32), missing.astype(np.float32)


def item_texts(items: pl.DataFrame) -> pl.Series:
    """title + ". " + description, either alone when the other is missing, null when both are."""
    return items.select(
        pl.when(pl.col("title").is_not_null() & pl.col("description").is_not_null())
        .then(pl.concat_str(pl.col("title"), pl.lit(". "), pl.col("description")))
        .otherwise(pl.coalesce("title", "description"))
        .alias("text")
    ).to_series()


def _list_codes(
    rows: np.ndarray, lists: pl.Series, codes: Callable[[pl.Series], np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Explode a list column into (row, position within the list, code) triples; code 0 dropped."""
    frame = pl.DataFrame({"row": rows, "value": lists}).explode("value").drop_nulls("value")
    code = codes(frame["value"])
    keep = code > 0
    row = frame["row"].to_numpy()[keep]
    # position within each row's (filtered) list: rows come out of explode in order
    pos = np.arange(row.size) - np.searchsorted(row, row, side="left") if row.size else row
    return row, pos, code[keep]


def _category_table(items: pl.DataFrame, rows: np.ndarray, vocab: Vocabulary, n: int) -> np.ndarray:
    order = np.argsort(rows, kind="stable")  # _list_codes needs rows ascending
    row, pos, code = _list_codes(rows[order], items["categories"].gather(order), vocab.transform)
    table = np.zeros((n, max(1, int(pos.max()) + 1 if pos.size else 1)), dtype=np.int64)
    table[row, pos] = code
    return table


def _text_table(items: pl.DataFrame, rows: np.ndarray, embed: TextVectors, n: int) -> np.ndarray:
    texts = item_texts(items)
    has = texts.is_not_null().to_numpy() & (rows > 0)
    if not has.any():
        return np.zeros((n, TEXT_DIM), dtype=np.float32)
    vectors = np.asarray(embed(texts.filter(pl.Series(has)).to_list()), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != int(has.sum()):
        raise ConfigError(
            f"the text embedder returned shape {vectors.shape} for {int(has.sum())} texts; "
            "it must return one row per text"
        )
    table = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    table[rows[has]] = vectors
    return table


def build_item_tables(
    items: pl.DataFrame,
    vocabs: Mapping[str, Vocabulary],
    text_vectors: TextVectors,
    *,
    price: PriceStats,
    use_categories: bool = True,
    use_price: bool = True,
    text_buckets: int = 0,
    max_tokens: int = 128,
) -> ItemTables:
    """Item tensors from the items frame, with ``vocabs`` "items", "brands" and "categories".

    ``use_categories=False`` leaves the category input empty: when categories are a prediction
    target they must not also be an input, or the task is a copy; ``use_price=False`` likewise
    marks every price missing (the price band is a target). ``text_buckets > 0`` fills the
    ``tokens`` table (:func:`hashed_tokens` of title, brand and description).
    """
    n = len(vocabs["items"])
    rows = vocabs["items"].transform(items["item_id"])
    known = rows > 0
    brand = np.zeros(n, dtype=np.int64)
    brand[rows[known]] = vocabs["brands"].transform(items["brand"])[known]
    if use_categories:
        categories = _category_table(
            items.filter(pl.Series(known)), rows[known], vocabs["categories"], n
        )
    else:
        categories = np.zeros((n, 1), dtype=np.int64)
    log_price, missing = np.zeros(n, np.float32), np.ones(n, np.float32)  # row 0: no price
    if use_price:
        item_log_price, item_missing = price.transform(items["price"])
        log_price[rows[known]] = item_log_price[known]
        missing[rows[known]] = item_missing[known]
    return ItemTables(
        brand=torch.from_numpy(brand),
        categories=torch.from_numpy(categories),
        log_price=torch.from_numpy(log_price),
        price_missing=torch.from_numpy(missing),
        text=torch.from_numpy(_text_table(items, rows, text_vectors, n)),
        tokens=torch.from_numpy(_token_table(items, rows, n, text_buckets, max_tokens)),
    )


_WORD = re.compile(r"[^\W_]+")


def hashed_tokens(text: str | None, buckets: int, max_tokens: int) -> list[int]:
    """The lower-cased words of ``text`` and its adjacent word pairs, each hashed (CRC-32, so
    the same in every process) into 1..``buckets``; the first ``max_tokens`` words are used."""
    words = _WORD.findall((text or "").lower())[:max_tokens]
    grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return [zlib.crc32(g.encode()) % buckets + 1 for g in grams]


def _token_table(
    items: pl.DataFrame, rows: np.ndarray, n: int, buckets: int, max_tokens: int
) -> np.ndarray:
    if buckets <= 0:
        return np.zeros((n, 1), dtype=np.int64)
    texts = items.select(
        pl.concat_str("title", "brand", "description", separator=" ", ignore_nulls=True)
    ).to_series()
    per_item = [hashed_tokens(t, buckets, max_tokens) for t in texts.to_list()]
    table = np.zeros((n, max(1, max(map(len, per_item), default=1))), dtype=np.int64)
    for row, tokens in zip(rows, per_item, strict=True):
        if row > 0:
            table[row, : len(tokens)] = tokens
    return table


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
    row, _, code = _list_codes(rows[order], lists.gather(order), vocab.transform)
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
class SalesData:
    """Dense [N+1, W] weekly matrices over the store's week grid (week 0 = its first Monday).

    An item is in its history from its first sales week on; a missing row after that week is a
    week without sales (sources that omit zero weeks and sources that list them agree).
    """

    mondays: np.ndarray  # [W] day numbers since 1970
    units: np.ndarray  # [N+1, W] float32
    rel_price: np.ndarray  # [N+1, W] float32: price / reference price - 1, 0 where unknown
    promo: np.ndarray  # [N+1, W] float32
    in_stock: np.ndarray  # [N+1, W] float32: stock_on_hand > 0 (unknown stock counts as in stock)
    in_history: np.ndarray  # [N+1, W] float32
    first_week: np.ndarray  # [N+1] int64, W for items that never sell
    calendar: np.ndarray  # [W + H, Fc] float32, past the data end too
    weeks: splits.WeekSplit


def _dense(
    rows: np.ndarray, week: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    out = np.full(shape, np.nan, dtype=np.float64)
    out[rows, week] = values
    return out


def _reference_price(items: pl.DataFrame, vocab: Vocabulary, price: np.ndarray) -> np.ndarray:
    """[N+1] the catalogue's list price, or the median weekly price where it has none."""
    reference = np.full(len(vocab), np.nan)
    reference[vocab.transform(items["item_id"])] = items["price"].cast(pl.Float64).to_numpy()
    reference[0] = np.nan  # unknown items may have been written to row 0
    need = np.isnan(reference) & ~np.isnan(price).all(axis=1)
    reference[need] = np.nanmedian(price[need], axis=1)
    return reference


def build_sales(
    sales: pl.DataFrame, items: pl.DataFrame, vocab: Vocabulary, horizon: int
) -> SalesData:
    rows, day = vocab.transform(sales["item_id"]), sales["week"].cast(pl.Int32).to_numpy()
    keep = rows > 0
    first_day = int(day.min())
    n_weeks = (int(day.max()) - first_day) // 7 + 1
    week_split = splits.week_split(n_weeks, horizon)
    rows, week, shape = rows[keep], (day[keep] - first_day) // 7, (len(vocab), n_weeks)
    column = {
        c: sales[c].cast(pl.Float64).to_numpy()[keep]
        for c in ("units", "price", "promo", "stock_on_hand")
    }
    first_week = np.full(len(vocab), n_weeks, dtype=np.int64)
    np.minimum.at(first_week, rows, week)
    in_history = np.arange(n_weeks)[None, :] >= first_week[:, None]
    price = _dense(rows, week, column["price"], shape)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero or unknown reference
        ratio = price / _reference_price(items, vocab, price)[:, None]
    rel_price = np.nan_to_num(ratio - 1.0, nan=0.0, posinf=0.0)
    stock = _dense(rows, week, column["stock_on_hand"], shape)
    mondays = first_day + 7 * np.arange(n_weeks + horizon)
    return SalesData(
        mondays=mondays[:n_weeks],
        units=np.nan_to_num(_dense(rows, week, column["units"], shape)).astype(np.float32),
        rel_price=(rel_price * in_history).astype(np.float32),
        promo=np.nan_to_num(_dense(rows, week, column["promo"], shape)).astype(np.float32),
        in_stock=np.where(np.isnan(stock), in_history, stock > 0).astype(np.float32),
        in_history=in_history.astype(np.float32),
        first_week=first_week,
        calendar=calendar_features(mondays),
        weeks=week_split,
    )


def _black_friday(year: int) -> dt.date:
    nov1 = dt.date(year, 11, 1)
    return nov1 + dt.timedelta(days=(3 - nov1.weekday()) % 7 + 22)  # the day after Thanksgiving


def calendar_features(mondays: np.ndarray) -> np.ndarray:
    """[W, 6] features of the weeks starting on ``mondays`` (day numbers): sin/cos of the time
    of year at mid-week, and flags for the Christmas shopping weeks (the week of 25 December
    and the three before it), Children's Day (1 June), Singles' Day (11 November) and Black
    Friday (the weeks that contain the day)."""
    mid = (mondays + 3).astype("datetime64[D]")
    years = mid.astype("datetime64[Y]")
    day_of_year = (mid - years.astype("datetime64[D]")).astype(np.int64)
    phase = 2 * np.pi * day_of_year / 365.25
    years = years.astype(np.int64) + 1970
    flags = np.zeros((len(mondays), 4))
    for year in range(int(years.min()) - 1, int(years.max()) + 2):
        days = [
            dt.date(year, 12, 25),
            dt.date(year, 6, 1),
            dt.date(year, 11, 11),
            _black_friday(year),
        ]
        for j, day in enumerate(days):
            d = (day - _EPOCH).days
            lo = d - 21 if j == 0 else d  # 22 days always touch exactly 4 weeks
            flags[:, j] += (mondays <= d) & (mondays + 6 >= lo)
    return np.column_stack([np.sin(phase), np.cos(phase), np.minimum(flags, 1)]).astype(np.float32)
