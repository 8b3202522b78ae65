"""The hidden truth written beside the data, and a summary of a generated shop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from toyguide.data.synth.catalogue import Catalogue
from toyguide.data.synth.events import Simulated
from toyguide.data.synth.sales import on_sale

if TYPE_CHECKING:
    from toyguide.data.synth.shop import SynthShop

__all__ = ["TRUTH_FILES", "demand_truth", "read_truth", "synth_summary", "write_truth"]

TRUTH_FILES = ("shopper_truth", "item_truth", "demand_truth")
CONFIG_FILE = "synth_config.json"


def demand_truth(sim: Simulated, cat: Catalogue) -> pl.DataFrame:
    """[toy, week] the expected units the week's sales were drawn from, on the sales rows."""
    toy, week = np.nonzero(on_sale(sim, cat))
    return pl.DataFrame(
        {
            "item_id": cat.ids.gather(toy),
            "week": pl.Series(sim.weeks[week], dtype=pl.Int32).cast(pl.Date),
            "expected_units": sim.expected_units[toy, week],
            "price": sim.price[toy, week],
            "promo": sim.promo[toy, week],
        }
    )


def write_truth(shop: SynthShop, folder: str | Path) -> Path:
    """Write the truth tables as Parquet and ``synth_config.json`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in TRUTH_FILES:
        shop.truth[name].write_parquet(folder / f"{name}.parquet")
    info = {
        "config": shop.config.to_dict(),
        "seed": shop.config.seed,
        "rows": {name: frame.height for name, frame in shop.frames.items()},
        "truth_rows": {name: shop.truth[name].height for name in TRUTH_FILES},
    }
    (folder / CONFIG_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return folder


def read_truth(folder: str | Path) -> dict[str, pl.DataFrame]:
    """The truth tables written by :func:`write_truth`."""
    return {name: pl.read_parquet(Path(folder) / f"{name}.parquet") for name in TRUTH_FILES}


def synth_summary(shop: SynthShop) -> dict[str, Any]:
    """Counts, date range, events per kind and the share of labelled shoppers and toys."""
    f = shop.frames
    events, shoppers, items = f["events"], f["shoppers"], f["items"]
    kinds = events.group_by("kind").len().sort("kind")
    return {
        "rows": {name: frame.height for name, frame in f.items()},
        "first_week": shop.config.start_date.isoformat(),
        "last_week": f["sales"]["week"].max().isoformat() if f["sales"].height else None,
        "first_event": _iso(events["ts"].min()),
        "last_event": _iso(events["ts"].max()),
        "event_kinds": dict(zip(kinds["kind"], kinds["len"], strict=True)),
        "labelled_child_share": _share(shoppers["child_gender"].is_not_null()),
        "labelled_interests_share": _share(shoppers["interests"].is_not_null()),
        "labelled_items_share": _share(items["gender_target"].is_not_null()),
        "units_sold": float(f["sales"]["units"].sum()),
        "revenue": round(float(f["sales"]["revenue"].sum()), 2),
    }


def _share(mask: pl.Series) -> float:
    return round(float(mask.mean()), 4) if len(mask) else 0.0


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
