"""Weekly sales per toy, aggregated from the purchase events, with price, promo and stock."""

from __future__ import annotations

import numpy as np
import polars as pl

from toyguide.data.synth.catalogue import Catalogue
from toyguide.data.synth.events import Simulated

__all__ = ["on_sale", "sales_frame", "stock_on_hand"]

_REORDER_WEEKS, _ORDER_UP_TO_WEEKS = 2.0, 6.0  # of mean expected weekly demand


def on_sale(sim: Simulated, cat: Catalogue) -> np.ndarray:
    """[toy, week] true from the toy's launch week on: the toy-weeks that have a sales row."""
    return np.arange(sim.units.shape[1])[None, :] >= cat.launch_week[:, None]


def stock_on_hand(sim: Simulated, selling: np.ndarray) -> np.ndarray:
    """[toy, week] stock at the end of each week under an (s, S) policy.

    A delivery arrives at the start of a week whose opening stock is below the reorder point.
    Stock-outs are not simulated (sales come from the events, which know no stock), so a week
    that sells more than the opening stock gets an expedited top-up instead of negative stock.
    """
    weeks_on_sale = np.maximum(selling.sum(axis=1), 1)
    mean = (sim.expected_units * selling).sum(axis=1) / weeks_on_sale
    reorder, up_to = np.ceil(_REORDER_WEEKS * mean) + 1, np.ceil(_ORDER_UP_TO_WEEKS * mean) + 5
    out = np.empty_like(sim.units)
    stock = up_to.copy()
    for w in range(sim.units.shape[1]):  # vectorised over toys
        opening = np.maximum(np.where(stock < reorder, up_to, stock), sim.units[:, w])
        stock = np.where(selling[:, w], opening - sim.units[:, w], up_to)
        out[:, w] = stock
    return out


def sales_frame(sim: Simulated, cat: Catalogue) -> pl.DataFrame:
    """The ``sales`` table: one row per toy and week from its launch (zero weeks included)."""
    selling = on_sale(sim, cat)
    stock = stock_on_hand(sim, selling)
    toy, week = np.nonzero(selling)  # toy-major, weeks in order
    units = sim.units[toy, week]
    price = sim.price[toy, week]
    return pl.DataFrame(
        {
            "item_id": cat.ids.gather(toy),
            "week": pl.Series(sim.weeks[week], dtype=pl.Int32).cast(pl.Date),
            "units": units,
            "revenue": np.round(units * price, 2),  # every purchase that week paid this price
            "price": price,
            "promo": sim.promo[toy, week],
            "stock_on_hand": stock[toy, week],
        }
    )
