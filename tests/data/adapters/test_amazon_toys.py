"""The amazon-toys adapter on the real S3-Rec files: exact counts, order, ids, schema, errors."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from toyguide.data.adapters import ADAPTERS, AdapterResult
from toyguide.data.adapters.amazon_toys import ATTRIBUTES, CROSSWALK, SEQUENCE_EPOCH, SEQUENCES
from toyguide.data.schema import SCHEMA
from toyguide.data.store import Store
from toyguide.errors import DataValidationError

pytestmark = pytest.mark.shared_data

# First lines of Toys_and_Games.txt ("1 1 2 3 4 5", "2 4 5 6 7 8") through the crosswalk.
U1_ASINS = ["B005E7BDXW", "B00A850V92", "B00E18S0J0", "0439893577", "B000IBPD76"]
U2_HEAD = ["0439893577", "B000IBPD76", "B000IBRD74"]


@pytest.fixture(scope="module")
def source(shared_dataset) -> Path:
    return shared_dataset("amazon-toys-5core")


@pytest.fixture(scope="module")
def result(source: Path) -> AdapterResult:
    return ADAPTERS.get("amazon-toys")(source)


def test_counts_are_exact(result: AdapterResult) -> None:
    frames = result.frames
    assert set(frames) == {"items", "shoppers", "events"}
    assert (frames["shoppers"].height, frames["items"].height) == (19_412, 11_924)
    assert frames["events"].height == 167_597
    assert result.counts["repeated_user_items"] == 0
    assert result.counts["duplicate_attributes_dropped"] == 146
    assert result.counts["max_sequence_length"] == 550
    assert result.notes


def test_frames_have_the_canonical_schema_and_unique_keys(result: AdapterResult) -> None:
    for name, frame in result.frames.items():
        assert list(frame.schema.items()) == list(SCHEMA[name].polars_schema.items()), name
        assert not frame.select(SCHEMA[name].key).is_duplicated().any(), name
    events = result.frames["events"]
    assert events["kind"].unique().to_list() == ["purchase"]
    assert events["value"].unique().to_list() == [1.0]


def test_sequence_order_is_preserved(result: AdapterResult) -> None:
    events = result.frames["events"].sort("ts")
    u1 = events.filter(pl.col("shopper_id") == "U1")["item_id"].to_list()
    u2 = events.filter(pl.col("shopper_id") == "U2")["item_id"].to_list()
    assert u1 == U1_ASINS
    assert u2[:3] == U2_HEAD
    # Leave-one-out: the last event by ts is the test item.
    assert events.filter(pl.col("shopper_id") == "U1")["item_id"][-1] == "B000IBPD76"


def test_ts_is_the_position_in_seconds(result: AdapterResult) -> None:
    events = result.frames["events"]
    seconds = (events["ts"] - SEQUENCE_EPOCH).dt.total_seconds()
    position = events.select(pl.int_range(pl.len()).over("shopper_id"))[:, 0]
    assert (seconds == position).all()
    assert events["ts"].min() == dt.datetime(1970, 1, 1)


def test_s3rec_ids_are_recoverable(result: AdapterResult, source: Path) -> None:
    crosswalk = pl.read_csv(
        source / CROSSWALK, separator="\t", schema_overrides={"asin": pl.String}
    )
    events = result.frames["events"].with_columns(
        user=pl.col("shopper_id").str.strip_prefix("U").cast(pl.Int64)
    )
    first_seen = events.sort("user", "ts")["item_id"].unique(maintain_order=True)
    by_rank = dict(zip(first_seen.to_list(), range(1, first_seen.len() + 1), strict=True))
    assert by_rank == dict(zip(crosswalk["asin"], crosswalk["s3rec_item_id"], strict=True))
    assert result.frames["items"]["item_id"].to_list() == crosswalk["asin"].to_list()


def test_sequences_equal_the_published_asin_sequences(result: AdapterResult, source: Path) -> None:
    events = result.frames["events"].sort("ts")
    ours = Counter(
        tuple(items) for items in events.group_by("shopper_id").agg("item_id")["item_id"]
    )
    lines = (source / "user_sequence_asin.txt").read_text().splitlines()
    published = Counter(tuple(line.split()[1:]) for line in lines)
    assert ours == published


def test_categories_are_attribute_ids_and_functions_unknown(
    result: AdapterResult, source: Path
) -> None:
    items = result.frames["items"]
    cats = items["categories"]
    assert cats.null_count() == 0
    assert cats.explode().str.contains(r"^attr:[1-9][0-9]*$").all()
    assert (cats.list.len() == cats.list.unique().list.len()).all()
    assert cats.explode().n_unique() == 1027
    assert items["functions"].null_count() == items.height
    item4 = items.filter(pl.col("item_id") == "0439893577")["categories"][0].to_list()
    assert item4 == ["attr:1", "attr:2", "attr:3", "attr:4", "attr:5"]  # S3-Rec item 4
    # S3-Rec item 2334 lists [45, 2, 25, 26, 2, 25, 46]: repeats dropped, first order kept.
    crosswalk = pl.read_csv(
        source / CROSSWALK, separator="\t", schema_overrides={"asin": pl.String}
    )
    asin = crosswalk.filter(pl.col("s3rec_item_id") == 2334)["asin"][0]
    item = items.filter(pl.col("item_id") == asin)["categories"][0].to_list()
    assert item == ["attr:45", "attr:2", "attr:25", "attr:26", "attr:46"]


def test_frames_ingest_into_a_store(result: AdapterResult, store: Store) -> None:
    parts = [(t, result.frames[t]) for t in ("items", "shoppers", "events")]
    store.ingest_many(parts, source="amazon-toys")
    assert store.counts() == {
        "items": 11_924,
        "shoppers": 19_412,
        "events": 167_597,
        "sales": 0,
    }


# -- malformed inputs -------------------------------------------------------------------------
@pytest.fixture
def copy(source: Path, tmp_path: Path) -> Path:
    for name in (SEQUENCES, ATTRIBUTES, CROSSWALK):
        shutil.copy(source / name, tmp_path / name)
    return tmp_path


def replace_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def rejected(folder: Path) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        ADAPTERS.get("amazon-toys")(folder)
    return info.value


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("3 9 x 11", "item_id", "positive integer"),
        ("3 9 999999", "item_id", "not in item_id_crosswalk.tsv"),
        ("3", None, "expected 'user_id item_id"),
        ("2 4 5", "user_id", "already has a sequence"),
    ],
)
def test_a_broken_sequence_line_is_named(
    copy: Path, line: str, field: str | None, reason: str
) -> None:
    replace_line(copy / SEQUENCES, 3, line)
    err = rejected(copy)
    assert err.total == 1
    problem = err.problems[0]
    assert problem.source == str(copy / SEQUENCES)
    assert (problem.line, problem.field) == (3, field)
    assert reason in problem.reason
    assert SEQUENCES in str(err)


def test_a_missing_file_is_named(copy: Path) -> None:
    (copy / CROSSWALK).unlink()
    err = rejected(copy)
    assert str(copy / CROSSWALK) in str(err)
    assert "file not found" in str(err)


def test_a_broken_crosswalk_row_and_header_are_named(copy: Path) -> None:
    replace_line(copy / CROSSWALK, 5, "4\t3536")
    problem = rejected(copy).problems[0]
    assert (problem.source, problem.line) == (str(copy / CROSSWALK), 5)
    replace_line(copy / CROSSWALK, 1, "id\tasin")
    assert "header" in rejected(copy).problems[0].reason


def test_malformed_attribute_json_is_named(copy: Path) -> None:
    path = copy / ATTRIBUTES
    path.write_text(path.read_text()[:-5])
    err = rejected(copy)
    assert err.problems[0].source == str(path)
    path.write_text('{"1": [1, "two"]}')
    err = rejected(copy)
    assert (err.problems[0].field, err.problems[0].source) == ("1", str(path))
