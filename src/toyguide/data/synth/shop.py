"""Generate a whole synthetic shop: the four canonical frames plus its hidden truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from toyguide.data.schema import SCHEMA
from toyguide.data.synth.catalogue import Catalogue, item_truth, items_frame, make_catalogue
from toyguide.data.synth.config import SynthConfig
from toyguide.data.synth.events import Simulated, simulate
from toyguide.data.synth.sales import sales_frame
from toyguide.data.synth.shoppers import Shoppers, make_shoppers, shopper_truth, shoppers_frame
from toyguide.data.synth.truth import demand_truth
from toyguide.data.taxonomy import EVENT_KINDS

__all__ = ["SynthShop", "generate_shop"]


@dataclass(frozen=True)
class SynthShop:
    """A generated shop: ``frames`` (items, shoppers, events, sales — canonical columns and
    dtypes, ready for ``Store.ingest_many``) and ``truth`` (shopper_truth, item_truth,
    demand_truth)."""

    config: SynthConfig
    frames: dict[str, pl.DataFrame]
    truth: dict[str, pl.DataFrame]

    def parts(self) -> list[tuple[str, pl.DataFrame]]:
        """(table, frame) pairs in foreign-key order, for ``Store.ingest_many``."""
        return [(name, self.frames[name]) for name in ("items", "shoppers", "events", "sales")]


def generate_shop(config: SynthConfig | None = None) -> SynthShop:
    """Generate the shop ``config`` describes; the same config gives identical frames.

    Every random draw comes from ``numpy.random.default_rng(config.seed)``, split into one
    independent stream per stage so that each stage's draws do not shift the others'.
    """
    config = config or SynthConfig()
    items_rng, shoppers_rng, events_rng = np.random.default_rng(config.seed).spawn(3)
    cat = make_catalogue(config, items_rng)
    shoppers = make_shoppers(config, shoppers_rng)
    sim = simulate(config, cat, shoppers, events_rng)
    frames = {
        "items": items_frame(cat),
        "shoppers": shoppers_frame(shoppers),
        "events": events_frame(sim, cat, shoppers),
        "sales": sales_frame(sim, cat),
    }
    frames = {name: frame.select(SCHEMA[name].column_names) for name, frame in frames.items()}
    truth = {
        "shopper_truth": shopper_truth(shoppers),
        "item_truth": item_truth(cat),
        "demand_truth": demand_truth(sim, cat),
    }
    return SynthShop(config, frames, truth)


def events_frame(sim: Simulated, cat: Catalogue, shoppers: Shoppers) -> pl.DataFrame:
    """The ``events`` table from the simulation's arrays (ids looked up, NaN → null)."""
    return pl.DataFrame(
        {
            "shopper_id": shoppers.ids.gather(sim.shopper),
            "item_id": cat.ids.gather(sim.item),
            "ts": pl.Series(sim.ts).cast(pl.Datetime("us")),
            "kind": pl.Series(EVENT_KINDS).gather(sim.kind),
            "value": pl.Series(sim.value, nan_to_null=True),
            "price_paid": pl.Series(sim.price_paid, nan_to_null=True),
        }
    )
