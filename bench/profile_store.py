"""The Tianchi mum-and-baby data re-keyed to categories, for the profile benchmark's MTL rows.

On the imported store (``toyguide data import tianchi-mum-baby``) an item is a listing and 96%
of listings sell once, so the engine's item-level auxiliary tasks carry nothing: the next
listing of a shopper is always a new one and a listing's weekly sales are a single 1. Here the
item is the Taobao leaf category instead (one item ``cat2:<leaf>`` per leaf id, its root as its
category), so that, unchanged, the engine's

* preference task predicts the next *category* a shopper buys, and
* sales task forecasts weekly units per *category* (category-level demand),

while the profile task sees the same purchases as before, each as its category. The shoppers
and their child labels are copied from the imported store, so the adapter's rules (ids,
birthday rule, genders) apply as documented in ``docs/datasets/tianchi-mum-baby.md``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

TRADES_FILE = "tianchi_mum_baby_trade_history.csv"
SHOPPER_PREFIX = "tianchi:"  # the adapter's ID_PREFIX: shoppers keep their imported ids
TOY_ROOT = 28


def read_trades(source: Path) -> pl.DataFrame:
    """The trade file typed: ``shopper_id``, ``leaf``, ``root``, ``units``, ``day`` (a date)."""
    raw = pl.read_csv(source / TRADES_FILE)
    return raw.select(
        (pl.lit(SHOPPER_PREFIX) + pl.col("user_id").cast(pl.String)).alias("shopper_id"),
        pl.col("category_2").alias("leaf"),
        pl.col("category_1").alias("root"),
        pl.col("buy_mount").cast(pl.Float64).alias("units"),
        pl.col("day").cast(pl.String).str.to_date("%Y%m%d").alias("day"),
    )


def category_item(leaf: pl.Expr) -> pl.Expr:
    return (pl.lit("cat2:") + leaf.cast(pl.String)).alias("item_id")


def category_items(trades: pl.DataFrame) -> pl.DataFrame:
    """One item per leaf category; its categories are its root (a leaf has exactly one)."""
    leaves = trades.group_by("leaf").agg(pl.col("root").first()).sort("leaf")
    is_toy = pl.col("root") == TOY_ROOT
    labels = pl.List(pl.String)
    return leaves.select(
        category_item(pl.col("leaf")),
        pl.concat_list(pl.lit("cat1:") + pl.col("root").cast(pl.String)).alias("categories"),
        # as the adapter: a toy of unknown function (null) or not a toy ([])
        pl.when(is_toy).then(pl.lit(None, labels)).otherwise(pl.lit([], labels)).alias("functions"),
    )


def category_events(trades: pl.DataFrame) -> pl.DataFrame:
    """One purchase per (shopper, leaf, day), quantities summed (the store's event key)."""
    return (
        trades.group_by("shopper_id", "leaf", "day")
        .agg(pl.col("units").sum().alias("value"))
        .select(
            "shopper_id",
            category_item(pl.col("leaf")),
            pl.col("day").cast(pl.Datetime("us")).alias("ts"),
            pl.lit("purchase").alias("kind"),
            "value",
        )
        .sort("ts", "shopper_id", "item_id")
    )


def category_sales(trades: pl.DataFrame) -> pl.DataFrame:
    """Weekly units per leaf (weeks start on Monday); weeks without a trade are absent rows,
    which the sales features read as 0 units once the category has sold."""
    week = pl.col("day").dt.truncate("1w").alias("week")  # polars weeks start on Monday
    return (
        trades.group_by("leaf", week)
        .agg(pl.col("units").sum())
        .select(category_item(pl.col("leaf")), "week", "units")
        .sort("item_id", "week")
    )


def build_category_store(source: Path, item_store: Path, out: Path) -> dict[str, int]:
    """Write the category store ``out`` from the raw trades and ``item_store``'s shoppers."""
    from toyguide.data.adapters._frames import canonical
    from toyguide.data.store import Store

    trades = read_trades(source)
    with Store.open(item_store, read_only=True) as s:
        shoppers = s.frame("shoppers")
    frames = {
        "shoppers": shoppers,
        "items": category_items(trades),
        "events": category_events(trades),
        "sales": category_sales(trades),
    }
    with Store.open(out) as s:
        s.ingest_many(
            [(name, canonical(name, f)) for name, f in frames.items()], "bench/profile_store.py"
        )
    return {name: f.height for name, f in frames.items()}
