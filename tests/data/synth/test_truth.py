"""Truth files, the summary, the public API and ingestion into the store."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

import toyguide.data.synth as synth
from toyguide.data.store import Store
from toyguide.data.synth import (
    SynthConfig,
    SynthShop,
    generate_shop,
    read_truth,
    synth_summary,
    write_truth,
)


def test_truth_is_written_and_readable(shop: SynthShop, tmp_path: Path) -> None:
    folder = write_truth(shop, tmp_path / "shop.duckdb.truth")
    back = read_truth(folder)
    for name, frame in shop.truth.items():
        assert back[name].equals(frame), name
    info = json.loads((folder / "synth_config.json").read_text())
    assert info["seed"] == shop.config.seed
    assert info["config"]["n_items"] == shop.config.n_items
    assert info["rows"]["events"] == shop.frames["events"].height


def test_truth_has_every_label(shop: SynthShop) -> None:
    items, shoppers = shop.truth["item_truth"], shop.truth["shopper_truth"]
    assert items.height == shop.config.n_items and shoppers.height == shop.config.n_shoppers
    for frame in (items, shoppers):
        assert frame.null_count().sum_horizontal().item() == 0
    assert shoppers["interests"].list.len().is_between(1, 3).all()
    # The observable frames agree with the truth wherever they are filled.
    seen = shop.frames["items"].join(items, on="item_id", suffix="_true").drop_nulls("functions")
    assert (seen["gender_target"] == seen["gender_target_true"]).all()


def test_summary(shop: SynthShop) -> None:
    s = synth_summary(shop)
    assert s["rows"]["events"] == shop.frames["events"].height
    assert sum(s["event_kinds"].values()) == s["rows"]["events"]
    assert s["event_kinds"]["view"] > s["event_kinds"]["click"] > s["event_kinds"]["purchase"]
    assert 0.2 < s["labelled_child_share"] < 0.4
    assert s["first_week"] == shop.config.start_date.isoformat()
    json.dumps(s)  # JSON-ready


def test_public_api() -> None:
    assert set(synth.__all__) == {
        "SCALES",
        "SynthConfig",
        "SynthShop",
        "generate_shop",
        "read_truth",
        "synth_summary",
        "write_truth",
    }


def test_a_small_shop_ingests_cleanly(tmp_path: Path) -> None:
    shop = generate_shop(SynthConfig(n_shoppers=300, n_items=80, n_weeks=10, seed=5))
    with Store.open(tmp_path / "shop.duckdb") as store:
        reports = store.ingest_many(shop.parts(), source="synthetic")
        assert [r.rows for r in reports] == [shop.frames[n].height for n, _ in shop.parts()]
        counts = store.counts()
        stored = store.frame("events").sort("ts", "shopper_id", "item_id", "kind")
    assert counts == {name: frame.height for name, frame in shop.frames.items()}
    expected = shop.frames["events"].sort("ts", "shopper_id", "item_id", "kind")
    assert stored.select(expected.columns).equals(expected)
    assert isinstance(stored, pl.DataFrame)
