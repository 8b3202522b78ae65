"""The item-indexed tables: the item encoder's inputs (ids, brand, categories, price, text and
hashed words). Labels are in ``labels.py``, weekly sales in ``sales.py``.

Row 0 of every table is the padding / unknown item; the items of the item vocabulary are rows
1..N in vocabulary order. Inputs are built for every item, labelled or not and whatever its
split: a held-out toy keeps its id, text, brand and price (that is how a new toy is scored);
only its labels are kept out of training, by the splits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import polars as pl
import torch

from toyguide.errors import ConfigError
from toyguide.features.text import TEXT_DIM
from toyguide.features.vocab import Vocabulary
from toyguide.features.words import WordInput, word_ids, word_texts

__all__ = [
    "ItemTables",
    "PriceStats",
    "TextVectors",
    "build_item_tables",
    "category_table",
    "item_texts",
    "list_codes",
]

# TEXT_DIM (MiniLM, 384) is the width when no item has text; a fake embedder may use another
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


def list_codes(
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


def category_table(items: pl.DataFrame, rows: np.ndarray, vocab: Vocabulary, n: int) -> np.ndarray:
    """``[n, C_max]`` category ids of each item row (0 = pad) from the items' category lists."""
    order = np.argsort(rows, kind="stable")  # _list_codes needs rows ascending
    row, pos, code = list_codes(rows[order], items["categories"].gather(order), vocab.transform)
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
    words: WordInput | None = None,
) -> ItemTables:
    """Item tensors from the items frame, with ``vocabs`` "items", "brands" and "categories".

    ``use_categories=False`` leaves the category input empty: when categories are a prediction
    target they must not also be an input, or the task is a copy; ``use_price=False`` likewise
    marks every price missing (the price band is a target). ``words`` (with buckets > 0) fills
    the ``tokens`` table: the ids of each item's words (``features/words.py``).
    """
    n = len(vocabs["items"])
    rows = vocabs["items"].transform(items["item_id"])
    known = rows > 0
    brand = np.zeros(n, dtype=np.int64)
    brand[rows[known]] = vocabs["brands"].transform(items["brand"])[known]
    if use_categories:
        categories = category_table(
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
        tokens=torch.from_numpy(_token_table(items, rows, n, words or WordInput())),
    )


def _token_table(items: pl.DataFrame, rows: np.ndarray, n: int, words: WordInput) -> np.ndarray:
    if words.buckets <= 0:
        return np.zeros((n, 1), dtype=np.int64)
    per_item = [word_ids(t, words) for t in word_texts(items)]
    table = np.zeros((n, max(1, max(map(len, per_item), default=1))), dtype=np.int64)
    for row, tokens in zip(rows, per_item, strict=True):
        if row > 0:
            table[row, : len(tokens)] = tokens
    return table
