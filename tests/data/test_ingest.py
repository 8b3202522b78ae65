"""Ingestion: every kind of bad file is rejected with its line and field, nothing stored changes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from toyguide.data.ingest import ingest_file
from toyguide.data.store import Store
from toyguide.errors import DataValidationError

ITEMS_CSV = """item_id,title,brand,categories,price,currency,age_min_months,age_max_months,gender_target,functions,launch_date
T1,"Dino Explorer, 12 pieces",Acme,Toys|Dinosaurs,12.5,USD,36,84,unisex,animals_nature|building,2024-03-01
T2,Racing Car,Zoom,,8,USD,60,,boy,vehicles,
T3,"Plush bear
with a bow",Cuddle,,19.99,USD,0,36,unisex,plush,2023-01-15
"""
SHOPPERS_CSV = """shopper_id,child_birth_date,child_gender,interests,region
S1,2019-05-02,girl,animals_nature|arts_crafts,UK
S2,,,,
"""
EVENTS_CSV = """shopper_id,item_id,ts,kind,value,price_paid
S1,T1,2024-05-01T10:00:00,view,,
S1,T1,2024-05-01T10:05:00Z,purchase,1,12.5
S1,T3,2024-05-02 09:00,rating,5,
S2,T2,2024-05-03T11:00:00+01:00,click,,
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def filled(store: Store, tmp_path: Path) -> Store:
    ingest_file(store, "items", write(tmp_path / "items.csv", ITEMS_CSV))
    ingest_file(store, "shoppers", write(tmp_path / "shoppers.csv", SHOPPERS_CSV))
    ingest_file(store, "events", write(tmp_path / "events.csv", EVENTS_CSV))
    return store


def rejected(store: Store, table: str, path: Path) -> DataValidationError:
    before = {t: store.frame(t) for t in ("items", "shoppers", "events", "sales")}
    with pytest.raises(DataValidationError) as info:
        ingest_file(store, table, path)
    for name, frame in before.items():  # nothing stored changed
        assert store.frame(name).equals(frame), name
    return info.value


def only(err: DataValidationError) -> tuple[int | None, str | None, str]:
    assert err.total == 1, err.report()
    p = err.problems[0]
    return p.line, p.field, p.reason


def test_good_files_are_stored_with_types(filled: Store) -> None:
    assert filled.counts() == {"items": 3, "shoppers": 2, "events": 4, "sales": 0}
    items = filled.frame("items").sort("item_id")
    assert items["categories"][0].to_list() == ["Toys", "Dinosaurs"]
    assert items["title"][2] == "Plush bear\nwith a bow"
    assert items["age_max_months"][1] is None
    ts = filled.frame("events").sort("ts")["ts"].to_list()
    # +01:00 and Z are converted to UTC
    assert str(ts[1]) == "2024-05-01 10:05:00" and str(ts[3]) == "2024-05-03 10:00:00"


def test_reingesting_the_same_file_changes_nothing(filled: Store, tmp_path: Path) -> None:
    before = filled.frame("events")
    report = ingest_file(filled, "events", tmp_path / "events.csv")
    assert report.inserted == 0 and report.replaced == 4
    assert filled.frame("events").sort("ts").equals(before.sort("ts"))


def test_upsert_replaces_rows_by_key(filled: Store, tmp_path: Path) -> None:
    ingest_file(filled, "items", write(tmp_path / "u.csv", "item_id,price\nT2,9.5\nT9,1\n"))
    items = filled.frame("items").sort("item_id")
    assert items.height == 4
    assert items.filter(pl.col("item_id") == "T2")["price"].item() == 9.5


@pytest.mark.parametrize(
    ("text", "line", "field", "reason"),
    [
        ("item_id,price\nT1,abc\n", 2, "price", "expected a finite number, got 'abc'"),
        ("item_id,price\nT1,-1\n", 2, "price", "is below 0"),
        ("item_id,price\nT1,nan\n", 2, "price", "expected a finite number"),
        ("item_id,age_min_months,age_max_months\nT1,48,24\n", 2, "age_max_months", ">="),
        ("item_id,age_min_months\nT1,3.5\n", 2, "age_min_months", "whole number"),
        ("item_id,gender_target\nT1,boys\n", 2, "gender_target", "'boys' is not one of"),
        ("item_id,functions\nT1,plush|robots\n", 2, "functions", "'robots' is not one of"),
        ("item_id,launch_date\nT1,2024-02-30\n", 2, "launch_date", "ISO 8601 date"),
        ("item_id,currency\nT1,YEN\n", 2, "currency", "not one of"),
        (
            "item_id,title\nT1,a\nT1,b\n",
            3,
            "item_id",
            "duplicate key (item_id); first seen on line 2",
        ),
        ("item_id,title\n,a\n", 2, "item_id", "is required"),
    ],
)
def test_bad_item_cells(store: Store, tmp_path: Path, text, line, field, reason) -> None:
    err = rejected(store, "items", write(tmp_path / "bad.csv", text))
    got_line, got_field, got_reason = only(err)
    assert (got_line, got_field) == (line, field)
    assert reason in got_reason
    assert f"bad.csv:{line}: field '{field}'" in err.report()


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("shopper_id,child_birth_date\nS9,2999-01-01\n", "child_birth_date", "in the future"),
        ("shopper_id,child_age_months\nS9,40\n", "as_of", "required when child_age_months"),
        ("shopper_id,child_gender\nS9,unisex\n", "child_gender", "not one of boy, girl"),
        ("shopper_id,interests\nS9,dinosaurs\n", "interests", "'dinosaurs' is not one of"),
    ],
)
def test_bad_shopper_cells(store: Store, tmp_path: Path, text, field, reason) -> None:
    err = rejected(store, "shoppers", write(tmp_path / "bad.csv", text))
    assert only(err)[:2] == (2, field) and reason in only(err)[2]


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("S1,T1,2024-05-01T10:00:00,rating,6,", "value", "rating needs a value from 1 to 5"),
        ("S1,T1,2024-05-01T10:00:00,rating,,", "value", "rating needs a value from 1 to 5"),
        ("S1,T1,2024-05-01T10:00:00,purchase,0,", "value", "must be > 0"),
        ("S1,T1,2024-05-01T10:00:00,like,,", "kind", "not one of view, click"),
        ("S1,T1,yesterday,view,,", "ts", "ISO 8601 timestamp"),
        ("S1,T1,2024-05-01T10:00:00,purchase,1,-3", "price_paid", "below 0"),
        ("S404,T1,2024-05-01T10:00:00,view,,", "shopper_id", "'S404' is not a known shoppers"),
        ("S1,T404,2024-05-01T10:00:00,view,,", "item_id", "'T404' is not a known items"),
    ],
)
def test_bad_event_rows(filled: Store, tmp_path: Path, row, field, reason) -> None:
    text = "shopper_id,item_id,ts,kind,value,price_paid\nS1,T2,2024-06-01T00:00:00,view,,\n"
    err = rejected(filled, "events", write(tmp_path / "bad.csv", text + row + "\n"))
    line, got_field, got_reason = only(err)
    assert (line, got_field) == (3, field) and reason in got_reason


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("T1,2024-05-08,3,,,,", "week", "must be a Monday"),
        ("T1,2024-05-06,-1,,,,", "units", "below 0"),
        ("T1,2024-05-06,1,,,maybe,", "promo", "true or false"),
        ("T404,2024-05-06,1,,,,", "item_id", "not a known items"),
    ],
)
def test_bad_sales_rows(filled: Store, tmp_path: Path, row, field, reason) -> None:
    header = "item_id,week,units,revenue,price,promo,stock_on_hand\n"
    err = rejected(filled, "sales", write(tmp_path / "bad.csv", header + row + "\n"))
    line, got_field, got_reason = only(err)
    assert (line, got_field) == (2, field) and reason in got_reason


def test_sales_file_is_stored(filled: Store, tmp_path: Path) -> None:
    text = (
        "item_id,week,units,revenue,price,promo,stock_on_hand\nT1,2024-05-06,3,37.5,12.5,yes,10\n"
    )
    ingest_file(filled, "sales", write(tmp_path / "s.csv", text))
    row = filled.frame("sales").row(0, named=True)
    assert row["promo"] is True and row["units"] == 3.0


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"", None, "file is empty"),
        (b"\n\n", None, "file is empty"),
        (b"item_id,title\nT1,ok\nT2,\xff\xfebad\n", 3, "invalid UTF-8"),
        (b"item_id,title\nT1,a,extra\n", 2, "3 fields, the header has 2"),
        (b'item_id,title\nT1,"never closed\n', None, ""),
    ],
)
def test_structurally_bad_csv(store: Store, tmp_path: Path, data, line, reason) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    err = rejected(store, "items", path)
    assert err.problems[0].line == line or line is None
    assert reason in err.problems[0].reason


def test_missing_and_unknown_columns(store: Store, tmp_path: Path) -> None:
    err = rejected(store, "events", write(tmp_path / "e.csv", "shopper_id,item_id,kind,colour\n"))
    fields = {(p.field, p.reason.split(";")[0]) for p in err.problems}
    assert ("ts", "required column is missing") in fields
    assert ("colour", "unknown column") in fields


def test_jsonl_lines_and_types(filled: Store, tmp_path: Path) -> None:
    good = {"shopper_id": "S1", "item_id": "T2", "ts": "2024-06-01T00:00:00", "kind": "view"}
    lines = [json.dumps(good), "", json.dumps({**good, "kind": "cart", "value": "x"}), "{oops"]
    path = write(tmp_path / "e.jsonl", "\n".join(lines) + "\n")
    err = rejected(filled, "events", path)
    assert (err.problems[0].line, err.problems[0].reason.startswith("malformed JSON")) == (4, True)
    path = write(tmp_path / "e2.jsonl", "\n".join(lines[:3]) + "\n")
    assert only(rejected(filled, "events", path))[:2] == (3, "value")


def test_jsonl_lists_must_be_arrays(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "i.jsonl",
        '{"item_id": "A", "functions": ["plush"]}\n{"item_id": "B", "functions": "plush"}\n',
    )
    assert only(rejected(store, "items", path))[:2] == (2, "functions")
    ingest_file(
        store, "items", write(tmp_path / "ok.jsonl", '{"item_id": "A", "functions": ["plush"]}\n')
    )
    assert store.frame("items")["functions"].to_list() == [["plush"]]


def test_parquet_rows_are_numbered(filled: Store, tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "item_id": ["P1", "P2", "P3"],
            "price": [1.0, 2.0, -5.0],
            "functions": [["plush"], [], None],
        }
    )
    frame.write_parquet(tmp_path / "i.parquet")
    assert only(rejected(filled, "items", tmp_path / "i.parquet"))[:2] == (3, "price")
    frame.with_columns(pl.col("price").abs()).write_parquet(tmp_path / "ok.parquet")
    assert ingest_file(filled, "items", tmp_path / "ok.parquet").inserted == 3


def test_broken_parquet_and_unknown_type(store: Store, tmp_path: Path) -> None:
    write(tmp_path / "x.parquet", "not parquet")
    assert (
        "not a readable Parquet file" in rejected(store, "items", tmp_path / "x.parquet").report()
    )
    assert "unknown file type" in rejected(store, "items", write(tmp_path / "x.xlsx", "a")).report()


def test_gzipped_csv(store: Store, tmp_path: Path) -> None:
    (tmp_path / "i.csv.gz").write_bytes(gzip.compress(b"item_id,price\nG1,2\n"))
    assert ingest_file(store, "items", tmp_path / "i.csv.gz").inserted == 1


def test_report_is_bounded_and_counts_all(store: Store, tmp_path: Path) -> None:
    rows = "\n".join(f"T{i},-1" for i in range(500))
    err = rejected(store, "items", write(tmp_path / "b.csv", "item_id,price\n" + rows + "\n"))
    assert err.total == 500 and len(err.problems) == 20
    assert "first 20 shown" in err.report()


def test_large_file_with_bad_last_row(filled: Store, tmp_path: Path) -> None:
    n = 200_000
    frame = pl.DataFrame(
        {
            "shopper_id": ["S1"] * n,
            "item_id": ["T1"] * n,
            "ts": pl.datetime_range(
                pl.datetime(2024, 1, 1),
                pl.datetime(2024, 1, 1) + pl.duration(seconds=n - 1),
                "1s",
                eager=True,
            ).dt.strftime("%Y-%m-%dT%H:%M:%S"),
            "kind": ["view"] * n,
        }
    )
    path = tmp_path / "big.csv"
    frame.write_csv(path)
    with path.open("a") as f:
        f.write("S1,T404,2025-01-01T00:00:00,view\n")
    err = rejected(filled, "events", path)
    assert only(err)[:2] == (n + 2, "item_id")
    path.write_text(path.read_text().rsplit("\n", 2)[0] + "\n")
    assert ingest_file(filled, "events", path).inserted == n


def test_failed_multi_table_import_writes_nothing(filled: Store) -> None:
    items = pl.DataFrame({"item_id": ["N1"]})
    events = pl.DataFrame(
        {"shopper_id": ["S1"], "item_id": ["N2"], "ts": ["2024-01-01T00:00:00"], "kind": ["view"]}
    )
    before = filled.counts()
    with pytest.raises(DataValidationError):
        filled.ingest_many([("items", items), ("events", events)], source="test")
    assert filled.counts() == before


def test_store_survives_reopen(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as s:
        ingest_file(s, "items", write(tmp_path / "i.csv", ITEMS_CSV))
    with Store.open(tmp_path / "s.duckdb", read_only=True) as s:
        assert s.counts()["items"] == 3
