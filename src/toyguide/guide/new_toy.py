"""A toy not in the catalogue, through the trained model: its item vector from text, brand and
price, and the sales head's forecast for it without history — for many prices in one batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import torch

from toyguide.features.words import word_ids, word_input
from toyguide.guide.loaded import LoadedModel
from toyguide.guide.pricing import Neighbour, new_toy_pricing, observed_demand
from toyguide.guide.views import ItemView, Pricing

__all__ = [
    "NewToy",
    "encode_new_toy",
    "forecast_new_toy",
    "new_toy_demand",
    "new_toy_tokens",
    "price_is_input",
    "toy_pricing",
]


@dataclass(frozen=True)
class NewToy:
    """A toy being evaluated: its text vector [1, text_dim], brand, and the text its word ids
    are read from."""

    vector: np.ndarray
    brand: str | None
    words: str


def price_is_input(loaded: LoadedModel) -> bool:
    """Whether the model learned from prices: price switched on and some catalogue toy encoded
    with one (a store without prices, or price_band as a target, leaves every price missing)."""
    missing = loaded.data.items.price_missing[1:]
    return bool(loaded.model.config.use_price and (missing == 0).any())


def encode_new_toy(
    loaded: LoadedModel, toy: NewToy, prices: list[float | None], model: Any = None
) -> torch.Tensor:
    """The toy once per price (None = no price given), as a toy whose id was dropped: [P, D]
    in the item space of ``model`` (default: the folder's model)."""
    data, p = loaded.data, len(prices)
    model = loaded.model if model is None else model
    log_price, missing = data.price.transform(pl.Series(prices, dtype=pl.Float64))
    if not price_is_input(loaded):  # as the model was trained: every price missing
        log_price, missing = np.zeros(p), np.ones(p)
    return model.encode_new_items(
        brand=torch.full((p,), data.vocabs["brands"].index(toy.brand)),
        categories=torch.zeros((p, data.items.categories.shape[1]), dtype=torch.long),
        log_price=torch.tensor(log_price, dtype=torch.float32),
        price_missing=torch.tensor(missing, dtype=torch.float32),
        text=torch.tensor(toy.vector, dtype=torch.float32).expand(p, -1),
        tokens=new_toy_tokens(loaded, toy).expand(p, -1),
    )  # [P, D]


def new_toy_tokens(loaded: LoadedModel, toy: NewToy) -> torch.Tensor:
    """The toy's word ids [1, L], read as the catalogue's toys were ([[0]], no word, when the
    run has none or the vocabulary knows none of them)."""
    tokens = word_ids(toy.words, word_input(loaded.config.features, loaded.data.vocabs))
    return torch.tensor([tokens or [0]], dtype=torch.long)


def forecast_new_toy(
    loaded: LoadedModel, toy: NewToy, prices: list[float | None]
) -> dict[str, torch.Tensor]:
    """The sales head on the new toy at each of ``prices`` in the weeks after the data,
    without history: ``quantiles`` [P, H, 3] and ``mean`` [P, H] in units, in one pass."""
    model = loaded.model_for("sales")
    items = encode_new_toy(loaded, toy, prices, model)
    p, n = items.shape[0], loaded.data.of("sales").weeks.n_weeks
    # item row 0 has no history: a scale of 1 (the level a toy without sales is forecast at)
    batch = loaded.streams["sales"].batch_at(np.zeros(p, dtype=np.int64), np.full(p, n), n)
    return model.sales_forecast(items, batch)


def new_toy_demand(loaded: LoadedModel, toy: NewToy, price: float | None) -> dict[str, list[float]]:
    """The weekly P10/P50/P90 and mean of the new toy in the weeks after the data."""
    out = forecast_new_toy(loaded, toy, [price])
    q = out["quantiles"][0].numpy().astype(np.float64)  # [H, 3]
    columns = {"p10": q[:, 0], "p50": q[:, 1], "p90": q[:, 2], "mean": out["mean"][0].numpy()}
    return {name: v.astype(np.float64).round(3).tolist() for name, v in columns.items()}


def toy_pricing(
    loaded: LoadedModel, views: Sequence[ItemView], toy: NewToy, price: float | None,
    scores: np.ndarray, rows: np.ndarray,
) -> Pricing:  # fmt: skip
    """The suggested range from the similar toys (catalogue ``rows`` with text ``scores``) and
    the sales model's curve over candidate prices, all prices in one forward pass."""
    has_sales = "sales" in loaded.model.tasks
    mean_units = first_units = np.full(len(rows), np.nan)
    horizon = loaded.config.features.horizon if has_sales else 0
    if has_sales:
        sales = loaded.data.of("sales")
        mean_units, first_units = observed_demand(
            sales.units[rows], sales.first_week[rows], horizon
        )

    def forecast(prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = forecast_new_toy(loaded, toy, list(prices))
        return out["quantiles"].double().numpy(), out["mean"].double().numpy()

    neighbours = [
        Neighbour(views[r], float(s), m, f)
        for s, r, m, f in zip(scores, rows, mean_units, first_units, strict=True)
    ]
    return new_toy_pricing(neighbours, price, forecast if has_sales else None,
                           price_is_input(loaded), horizon)  # fmt: skip
