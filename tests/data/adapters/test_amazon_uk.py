"""The amazon-uk-products adapter: exact counts on the real crawl, the taxonomy table, parsers."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from toyguide.data.adapters import ADAPTERS, AdapterResult
from toyguide.data.adapters.amazon_uk import (
    CORE,
    FULL,
    parse_age,
    parse_first_available,
    parse_gender_target,
)
from toyguide.data.adapters.amazon_uk_taxonomy import (
    CATEGORY_FUNCTIONS,
    MIXED,
    functions_for,
    matching_rule,
)
from toyguide.data.schema import SCHEMA
from toyguide.data.store import Store
from toyguide.data.taxonomy import FUNCTIONS
from toyguide.errors import DataValidationError

REPO = Path(__file__).resolve().parents[3]
shared_data = pytest.mark.shared_data

HORNBY_CATALOGUE = "eac7efa5dbd3d667f26eb3d3ab504464"  # first row of the 10k file
THOMAS_DUNCAN = "d19c9fca1b537ed5bfe6f3ddd1ecd4fb"  # "4 - 8 years" in the 863 file


@pytest.fixture(scope="module")
def source(shared_dataset) -> Path:
    return shared_dataset("amazon-uk-toy-products")


@pytest.fixture(scope="module")
def result(source: Path) -> AdapterResult:
    return ADAPTERS.get("amazon-uk-products")(source)


@pytest.fixture(scope="module")
def items(result: AdapterResult) -> pl.DataFrame:
    return result.frames["items"]


@shared_data
def test_counts_are_exact(result: AdapterResult, items: pl.DataFrame) -> None:
    assert set(result.frames) == {"items"}  # no shoppers, events or sales
    assert items.height == 10_000
    assert result.counts == {
        "items": 10_000,
        "items_with_price": 8_565,
        "items_with_brand": 9_993,
        "items_with_categories": 9_310,
        "items_with_functions": 7_386,
        "items_not_toys": 1_117,
        "items_function_unknown": 807,
        "category_paths": 255,
        "category_paths_with_functions": 177,
        "category_paths_not_toys": 66,
        "category_paths_mixed": 12,
        "items_enriched": 863,
        "items_with_description": 802,
        "items_with_age_min": 804,
        "items_with_age_max": 93,
        "age_max_dropped": 41,
        "items_with_launch_date": 713,
        "items_with_gender_target": 51,
        "gender_boy": 9,
        "gender_girl": 15,
        "gender_unisex": 27,
    }


@shared_data
def test_items_have_the_canonical_schema_and_valid_values(items: pl.DataFrame) -> None:
    assert list(items.schema.items()) == list(SCHEMA["items"].polars_schema.items())
    assert items["item_id"].is_unique().all()
    assert items["currency"].unique().to_list() == ["GBP"]
    assert (items["price"].drop_nulls() >= 0).all()
    assert set(items["functions"].explode().drop_nulls()) <= set(FUNCTIONS)
    assert set(items["gender_target"].drop_nulls()) <= {"boy", "girl", "unisex"}
    ages = items.filter(pl.col("age_max_months").is_not_null())
    assert (ages["age_min_months"] < ages["age_max_months"]).all()


@shared_data
def test_known_items(items: pl.DataFrame) -> None:
    hornby = items.filter(pl.col("item_id") == HORNBY_CATALOGUE).row(0, named=True)
    assert hornby["title"] == "Hornby 2014 Catalogue"
    assert (hornby["brand"], hornby["price"]) == ("Hornby", 3.42)
    assert hornby["categories"] == [
        "Hobbies",
        "Model Trains & Railway Sets",
        "Rail Vehicles",
        "Trains",
    ]
    assert hornby["functions"] == ["vehicles"]
    duncan = items.filter(pl.col("item_id") == THOMAS_DUNCAN).row(0, named=True)
    assert (duncan["age_min_months"], duncan["age_max_months"]) == (48, 107)
    assert duncan["launch_date"] == dt.date(2007, 1, 1)
    assert duncan["description"].startswith("Duncan 's a stroppy engine")


@shared_data
def test_every_path_in_the_crawl_matches_a_rule(items: pl.DataFrame) -> None:
    paths = items["categories"].drop_nulls().list.join(" > ").unique()
    assert paths.len() == 255
    assert [p for p in paths if matching_rule(p) is None] == []


def test_taxonomy_labels_are_valid() -> None:
    for key, labels in CATEGORY_FUNCTIONS.items():
        assert labels is MIXED or set(labels) <= set(FUNCTIONS), key
        assert labels is MIXED or len(set(labels)) == len(labels), key


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Hobbies > Model Trains & Railway Sets > Rail Vehicles > Trains", ["vehicles"]),
        ("Figures & Playsets > Dinosaurs", ["action_figures", "animals_nature"]),
        ("Dolls & Accessories > Soft Dolls", ["dolls", "plush"]),
        ("Games > Educational Games", ["games", "learning"]),
        ("Characters & Brands > Ravensburger > Children's Puzzles", ["puzzles"]),
        ("Characters & Brands > Ravensburger > Games", ["games"]),  # most specific wins
        ("Fancy Dress > Accessories > Masks", ["pretend_play"]),
        ("Fancy Dress > Costumes > Adults", []),
        ("Party Supplies > Decorations > Balloons", []),
        ("Games > Casino Equipment > Game Sets > Poker Sets", []),
        ("Garden Furniture > Chairs", []),  # matches no rule
        ("Characters & Brands > Disney > Toys", None),  # a toy, function unknown
    ],
)
def test_taxonomy_mapping(path: str, expected: list[str] | None) -> None:
    assert functions_for(path) == expected
    assert functions_for(path.split(" > ")) == expected


def test_the_documented_table_lists_every_rule() -> None:
    doc = (REPO / "docs" / "datasets" / "amazon-uk-products.md").read_text(encoding="utf-8")
    assert [key for key in CATEGORY_FUNCTIONS if f"| {key} |" not in doc] == []


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ("Technical Details Manufacturer recommended age:3 years and up Item", (36, None, False)),
        ("Manufacturer recommended age:0 months and up", (0, None, False)),
        ("Manufacturer recommended age:4 - 10 years Item model", (48, 131, False)),
        ("Manufacturer recommended age:36 months - 8 years", (36, 107, False)),
        ("Manufacturer recommended age:3 - 3 years", (36, None, True)),
        ("Manufacturer recommended age:8 - 3 years", (96, None, True)),
        ("Our recommended age:6 months and up Manufacturer recommended age:36 months - 12 years",
         (36, 155, False)),
        ("Our recommended age:3 years and up", (None, None, False)),
        (None, (None, None, False)),
    ],
)  # fmt: skip
def test_parse_age(info: str | None, expected: tuple) -> None:
    assert parse_age(info) == expected


def test_parse_first_available() -> None:
    assert parse_first_available("ASIN Date First Available27 July 2012   ") == dt.date(2012, 7, 27)
    assert parse_first_available("Date First Available3 Sept. 2014") == dt.date(2014, 9, 3)
    assert parse_first_available("Date First Available31 Sept. 2014") is None
    assert parse_first_available(None) is None


@pytest.mark.parametrize(
    ("title", "description", "expected"),
    [
        ("Snazaroo Tattoos for Girls", None, "girl"),
        ("Truck Toy for Boys (includes 4 Cars)", None, "boy"),
        ("4TH Birthday Balloons For Boy Or Girl", None, "unisex"),
        ("Dominoes", "a great game for both pre-school girls and boys", "unisex"),
        ("Kite (for GIRLS)", "ideal for boys", "unisex"),
        ("Manhattan Toy Groovy Girls Maddie Mermaid Doll", None, None),
        ("Teen Titans Beast Boy figure", None, None),
        ("Barbie car", "from a fun night in to getting ready for girls' night out", None),
        ("Cowboys & Indians fort", None, None),
    ],
)
def test_parse_gender_target(title: str, description: str | None, expected: str | None) -> None:
    assert parse_gender_target(title, description) == expected


@shared_data
def test_items_ingest_into_a_store(result: AdapterResult, store: Store) -> None:
    store.ingest_many([("items", result.frames["items"])], source="amazon-uk-products")
    assert store.counts()["items"] == 10_000
    assert store.stats()["labelled"]["items_with_functions"] == 7_386


# -- malformed inputs -------------------------------------------------------------------------
@pytest.fixture
def copy(source: Path, tmp_path: Path) -> Path:
    for name in (CORE, FULL):
        shutil.copy(source / name, tmp_path / name)
    return tmp_path


def rejected(folder: Path) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        ADAPTERS.get("amazon-uk-products")(folder)
    return info.value


@shared_data
def test_a_bad_price_is_named_with_its_line(copy: Path) -> None:
    path = copy / CORE
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith(HORNBY_CATALOGUE) and ",3.42," in lines[1]
    lines[1] = lines[1].replace(",3.42,", ",three pounds,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = rejected(copy)
    assert err.total == 1
    problem = err.problems[0]
    assert (problem.source, problem.line, problem.field) == (str(path), 2, "price")
    assert "three pounds" in problem.reason


@shared_data
def test_a_ragged_row_is_named(copy: Path) -> None:
    path = copy / CORE
    with path.open("a", encoding="utf-8") as f:
        f.write("0123456789abcdef0123456789abcdef,Broken row\n")
    err = rejected(copy)
    assert err.problems[0].source == str(path)
    assert err.problems[0].line is not None


@shared_data
def test_a_missing_file_or_column_is_named(copy: Path) -> None:
    full = copy / FULL
    text = full.read_text(encoding="utf-8")
    full.write_text(text.replace("product_description", "description", 1), encoding="utf-8")
    err = rejected(copy)
    assert (err.problems[0].source, err.problems[0].field) == (str(full), "product_description")
    full.unlink()
    err = rejected(copy)
    assert str(full) in str(err) and "file not found" in str(err)
