"""The tianchi-mum-baby adapter: exact counts on the real data, its rules, and bad files."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from toyguide.data.adapters import ADAPTERS, AdapterResult
from toyguide.data.adapters.tianchi import (
    CHILDREN_FILE,
    ROOT_CATEGORIES,
    TOY_ROOT,
    TRADES_FILE,
)
from toyguide.data.schema import SCHEMA
from toyguide.data.store import Store
from toyguide.errors import DataValidationError

shared_data = pytest.mark.shared_data
load = ADAPTERS.get("tianchi-mum-baby")


@pytest.fixture(scope="module")
def source(shared_dataset) -> Path:
    return shared_dataset("tianchi-mum-baby")


@pytest.fixture(scope="module")
def result(source: Path) -> AdapterResult:
    return load(source)


@shared_data
def test_counts_are_exact(result: AdapterResult) -> None:
    assert set(result.frames) == {"items", "shoppers", "events"}  # no sales, by design
    assert result.counts == {
        "children_read": 953,
        "trades_read": 29_971,
        "shoppers": 29_944,
        "shoppers_with_child_label": 953,  # "tianchi gives 953 children"
        "child_birth_dates": 952,
        "birth_dates_invalid": 0,
        "birth_dates_before_1990": 1,
        "birth_dates_in_future": 0,
        "child_gender_girl": 489,
        "child_gender_boy": 438,
        "child_gender_unknown": 26,
        "children_without_trades": 0,
        "items": 28_422,
        "items_under_toy_root": 6_580,
        "items_with_several_leaf_categories": 71,
        "events": 29_971,
        "trades_merged": 0,
    }
    frames = result.frames
    assert (frames["shoppers"].height, frames["items"].height, frames["events"].height) == (
        29_944,
        28_422,
        29_971,
    )


@shared_data
def test_frames_have_the_store_schema_and_unique_keys(result: AdapterResult) -> None:
    for name, frame in result.frames.items():
        for key in ("shopper_id", "item_id"):
            if key in frame.columns:
                assert frame[key].str.starts_with("tianchi:").all(), (name, key)
        assert dict(frame.schema) == SCHEMA[name].polars_schema, name
        assert not frame.select(SCHEMA[name].key).is_duplicated().any(), name
    events, shoppers, items = (result.frames[t] for t in ("events", "shoppers", "items"))
    assert events["shopper_id"].is_in(shoppers["shopper_id"].implode()).all()
    assert events["item_id"].is_in(items["item_id"].implode()).all()


@shared_data
def test_child_labels(result: AdapterResult) -> None:
    shoppers = result.frames["shoppers"]
    labelled = shoppers.filter(
        pl.col("child_birth_date").is_not_null() | pl.col("child_gender").is_not_null()
    )
    assert labelled.height == 953
    assert labelled["child_gender"].value_counts(sort=True).rows() == [
        ("girl", 489),
        ("boy", 438),
        (None, 26),
    ]
    first = shoppers.filter(pl.col("shopper_id") == "tianchi:2757").row(0, named=True)
    assert (first["child_birth_date"], first["child_gender"]) == (dt.date(2013, 3, 11), "boy")
    # 1984-06-16 is the parent's own birthday: dropped, the gender kept.
    parent = shoppers.filter(pl.col("shopper_id") == "tianchi:89520261").row(0, named=True)
    assert (parent["child_birth_date"], parent["child_gender"]) == (None, "girl")
    assert labelled["child_birth_date"].min() == dt.date(2002, 12, 5)
    assert labelled["child_birth_date"].max() == dt.date(2015, 8, 15)
    assert shoppers["region"].null_count() == shoppers.height


@shared_data
def test_events_are_the_trades(result: AdapterResult) -> None:
    events = result.frames["events"]
    assert events["kind"].unique().to_list() == ["purchase"]
    assert events["value"].sum() == 76_250  # Σ buy_mount, outliers (max 10,000) kept
    assert events["value"].max() == 10_000
    assert (events["ts"].dt.time() == dt.time(0)).all()
    assert events["ts"].min() == dt.datetime(2012, 7, 2)
    assert events["ts"].max() == dt.datetime(2015, 2, 5)
    assert events["price_paid"].null_count() == events.height


@shared_data
def test_items_keep_every_leaf_and_map_roots(result: AdapterResult) -> None:
    items = result.frames["items"]
    moved = items.filter(pl.col("item_id") == "tianchi:18893782869").row(0, named=True)
    assert moved["categories"] == ["cat1:50008168", "cat2:50012451", "cat2:121394024"]
    roots = items.select(pl.col("categories").list.first().str.strip_prefix("cat1:").cast(int))
    assert set(roots.to_series()) == set(ROOT_CATEGORIES)
    toys = items.filter(pl.col("categories").list.first() == f"cat1:{TOY_ROOT}")
    assert toys["functions"].null_count() == toys.height == 6_580
    others = items.filter(pl.col("categories").list.first() != f"cat1:{TOY_ROOT}")
    assert (others["functions"].list.len() == 0).all()


def test_root_ids_are_taobao_roots_plus_three() -> None:
    # The evidence for the mapping (see the module docstring and the dataset doc).
    assert {here - taobao for here, (taobao, _, _) in ROOT_CATEGORIES.items()} == {3}
    assert ROOT_CATEGORIES[TOY_ROOT][1].startswith("玩具")


@shared_data
def test_ingests_into_the_store(result: AdapterResult, tmp_path: Path) -> None:
    parts = [(t, result.frames[t]) for t in ("items", "shoppers", "events")]
    with Store.open(tmp_path / "tianchi.duckdb") as store:
        store.ingest_many(parts, source="tianchi-mum-baby")
        assert store.counts() == {"items": 28_422, "shoppers": 29_944, "events": 29_971, "sales": 0}
        labelled = store.stats()["labelled"]
        assert (labelled["shoppers_with_child_age"], labelled["shoppers_with_child_gender"]) == (
            952,
            927,
        )


# -- rules on small hand-written files (no shared data needed) --------------------------------
CHILDREN = """user_id,birthday,gender
1,20130311,1
2,19840616,0
3,20130231,2
4,20990101,1
"""
TRADES = """user_id,auction_id,category_2,category_1,buy_mount,day
1,100,50012461,28,1,20131011
1,100,50012461,28,2,20131011
5,101,50018831,50014815,1,20141023
5,100,121394024,28,1,20141101
"""


def write_source(folder: Path, children: str = CHILDREN, trades: str = TRADES) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / CHILDREN_FILE).write_text(children, encoding="utf-8")
    (folder / TRADES_FILE).write_text(trades, encoding="utf-8")
    return folder


def test_birth_date_rules_and_merged_trades(tmp_path: Path) -> None:
    result = load(write_source(tmp_path / "t"))
    counts = result.counts
    assert (counts["birth_dates_before_1990"], counts["birth_dates_invalid"]) == (1, 1)
    assert counts["birth_dates_in_future"] == 1
    assert counts["shoppers"] == 5 and counts["children_without_trades"] == 3
    # user 3: invalid birthday and unknown gender → no label left
    assert counts["shoppers_with_child_label"] == 3
    assert (counts["trades_merged"], counts["events"]) == (1, 3)
    shoppers = {
        r["shopper_id"].removeprefix("tianchi:"): r
        for r in result.frames["shoppers"].iter_rows(named=True)
    }
    assert shoppers["1"]["child_birth_date"] == dt.date(2013, 3, 11)
    assert (shoppers["2"]["child_birth_date"], shoppers["2"]["child_gender"]) == (None, "girl")
    assert (shoppers["4"]["child_birth_date"], shoppers["4"]["child_gender"]) == (None, "boy")
    merged = result.frames["events"].filter(pl.col("shopper_id") == "tianchi:1")
    assert merged.select("item_id", "value").rows() == [("tianchi:100", 3.0)]
    items = {
        r["item_id"].removeprefix("tianchi:"): r
        for r in result.frames["items"].iter_rows(named=True)
    }
    assert items["100"]["categories"] == ["cat1:28", "cat2:50012461", "cat2:121394024"]
    assert (items["100"]["functions"], items["101"]["functions"]) == (None, [])


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError) as err:
        load(tmp_path / "nowhere")
    message = str(err.value)
    assert str(tmp_path / "nowhere" / CHILDREN_FILE) in message
    assert str(tmp_path / "nowhere" / TRADES_FILE) in message
    assert "file not found" in message


@pytest.mark.parametrize(
    ("children", "trades", "file", "line", "field"),
    [
        (CHILDREN + "x7,20120101,1\n", TRADES, CHILDREN_FILE, 6, "user_id"),
        (CHILDREN + "7,20120101,5\n", TRADES, CHILDREN_FILE, 6, "gender"),
        (CHILDREN + "1,20120101,0\n", TRADES, CHILDREN_FILE, 6, "user_id"),  # duplicate
        (CHILDREN, TRADES + "5,102,1,28,0,20141101\n", TRADES_FILE, 6, "buy_mount"),
        (CHILDREN, TRADES + "5,102,1,28,1,20141341\n", TRADES_FILE, 6, "day"),
        (CHILDREN, TRADES + "5,102,1,28,1\n", TRADES_FILE, 6, None),  # ragged
        (CHILDREN.replace("gender", "sex"), TRADES, CHILDREN_FILE, 1, "gender"),
    ],
)
def test_bad_rows_name_file_line_and_field(
    tmp_path: Path, children: str, trades: str, file: str, line: int, field: str | None
) -> None:
    with pytest.raises(DataValidationError) as err:
        load(write_source(tmp_path / "t", children, trades))
    problem = err.value.problems[0]
    assert (problem.source, problem.line, problem.field) == (
        str(tmp_path / "t" / file),
        line,
        field,
    )


@shared_data
def test_a_broken_line_in_a_copy_of_the_real_file(source: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    (copy / TRADES_FILE).chmod(0o644)
    lines = (copy / TRADES_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[500] = "786295544,oops,50014866,50022520,2,20140919\n"
    (copy / TRADES_FILE).write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataValidationError) as err:
        load(copy)
    assert f"{copy / TRADES_FILE}:501: field 'auction_id'" in str(err.value)
