"""The four frames honour the store's contract: columns, dtypes, keys, ranges, determinism."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from toyguide.data.schema import SCHEMA
from toyguide.data.synth import SynthConfig, SynthShop, generate_shop
from toyguide.data.taxonomy import EVENT_KINDS, FUNCTIONS

TODAY = dt.date(2026, 11, 27)
TINY = SynthConfig(n_shoppers=300, n_items=80, n_weeks=12, seed=11)


def test_same_seed_gives_identical_frames_and_truth() -> None:
    a, b = generate_shop(TINY), generate_shop(TINY)
    for name in a.frames:
        assert a.frames[name].equals(b.frames[name]), name
    for name in a.truth:
        assert a.truth[name].equals(b.truth[name]), name


def test_different_seed_gives_a_different_shop() -> None:
    a, b = generate_shop(TINY), generate_shop(TINY.with_(seed=12))
    for name in ("items", "shoppers", "events", "sales"):
        assert not a.frames[name].equals(b.frames[name]), name


@pytest.mark.parametrize("name", ["items", "shoppers", "events", "sales"])
def test_columns_and_dtypes_match_the_schema(shop: SynthShop, name: str) -> None:
    frame = shop.frames[name]
    assert frame.columns == SCHEMA[name].column_names
    assert dict(frame.schema) == SCHEMA[name].polars_schema
    assert frame.height > 0


@pytest.mark.parametrize("name", ["items", "shoppers", "events", "sales"])
def test_keys_are_unique_and_required_columns_filled(shop: SynthShop, name: str) -> None:
    table, frame = SCHEMA[name], shop.frames[name]
    assert not frame.select(table.key).is_duplicated().any()
    for col in table.columns:
        if col.required:
            assert frame[col.name].null_count() == 0, col.name


def test_foreign_keys_resolve(shop: SynthShop) -> None:
    f = shop.frames
    items, shoppers = set(f["items"]["item_id"]), set(f["shoppers"]["shopper_id"])
    assert set(f["events"]["item_id"]) <= items
    assert set(f["events"]["shopper_id"]) <= shoppers
    assert set(f["sales"]["item_id"]) <= items


def test_labels_are_taxonomy_values(shop: SynthShop) -> None:
    items, shoppers = shop.frames["items"], shop.frames["shoppers"]
    assert set(items["functions"].explode().drop_nulls()) <= set(FUNCTIONS)
    assert set(shoppers["interests"].explode().drop_nulls()) <= set(FUNCTIONS)
    assert set(items["gender_target"].drop_nulls()) <= {"boy", "girl", "unisex"}
    assert set(shoppers["child_gender"].drop_nulls()) <= {"boy", "girl"}
    assert set(shop.frames["events"]["kind"]) == set(EVENT_KINDS)
    assert (items["age_max_months"] >= items["age_min_months"]).all()
    assert items["title"].str.len_chars().min() > 5
    assert items["categories"].list.first().eq("Toys & Games").all()


def test_event_values(shop: SynthShop) -> None:
    ev = shop.frames["events"]
    buys = ev.filter(pl.col("kind") == "purchase")
    assert (buys["value"] >= 1).all() and (buys["value"] % 1 == 0).all()
    assert buys["price_paid"].null_count() == 0 and (buys["price_paid"] > 0).all()
    ratings = ev.filter(pl.col("kind") == "rating")["value"]
    assert ratings.is_between(1, 5).all() and ratings.n_unique() == 5
    rest = ev.filter(pl.col("kind").is_in(["view", "click", "cart"]))
    assert rest["value"].null_count() == rest.height
    assert rest["price_paid"].null_count() == rest.height


def test_everything_lies_in_the_period_and_in_the_past(shop: SynthShop) -> None:
    c, ev = shop.config, shop.frames["events"]
    assert ev["ts"].min() >= dt.datetime.combine(c.start_date, dt.time())
    assert ev["ts"].max() < dt.datetime.combine(c.end_date, dt.time())
    assert c.end_date <= TODAY
    births = shop.truth["shopper_truth"]["child_birth_date"]
    assert births.max() < c.end_date
    ages = (c.end_date - births).dt.total_days() / 365.25
    assert ages.min() < 0.5 and 13.5 < ages.max() < 15  # children of 0 to 14


def test_no_event_before_launch(shop: SynthShop) -> None:
    ev = shop.frames["events"].join(shop.frames["items"], on="item_id")
    assert (ev["ts"] >= ev["launch_date"].cast(pl.Datetime("us"))).all()
    new = shop.frames["items"].filter(pl.col("launch_date") > shop.config.start_date)
    assert new.height > 0.2 * shop.config.n_items  # launches during the period
    first = (
        shop.frames["sales"].group_by("item_id").agg(pl.col("week").min()).join(new, on="item_id")
    )
    assert (first["week"] == first["launch_date"]).all()  # launches on a Monday, sales from then


def test_event_count_follows_the_config(shop: SynthShop) -> None:
    assert shop.frames["events"].height == pytest.approx(shop.config.expected_events(), rel=0.1)
    quiet = generate_shop(TINY).frames["events"].height
    busy = generate_shop(TINY.with_(events_per_shopper_week=3.0)).frames["events"].height
    assert quiet == pytest.approx(TINY.expected_events(), rel=0.1)
    assert busy == pytest.approx(3 * quiet, rel=0.1)


def test_hidden_label_fractions_follow_the_config(shop: SynthShop) -> None:
    c, shoppers, items = shop.config, shop.frames["shoppers"], shop.frames["items"]
    assert shoppers["child_birth_date"].is_null().mean() == pytest.approx(
        c.hidden_child_fraction, abs=0.05
    )
    assert (shoppers["child_gender"].is_null() == shoppers["child_birth_date"].is_null()).all()
    assert shoppers["interests"].is_null().mean() == pytest.approx(
        c.hidden_interests_fraction, abs=0.05
    )
    hidden = items["gender_target"].is_null()
    assert hidden.mean() == pytest.approx(c.hidden_item_attributes_fraction, abs=0.08)
    for col in ("age_min_months", "age_max_months", "functions"):
        assert (items[col].is_null() == hidden).all(), col
    assert shoppers["child_age_months"].is_null().all() and shoppers["as_of"].is_null().all()
    none = generate_shop(TINY.with_(hidden_child_fraction=0.0, hidden_item_attributes_fraction=0.0))
    assert none.frames["shoppers"]["child_gender"].null_count() == 0
    assert none.frames["items"]["functions"].null_count() == 0
