"""The uci-online-retail adapter: exact counts on the full file, line fates, sales, taxonomy."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import polars as pl
import pytest

from toyguide.data.adapters import ADAPTERS, AdapterResult
from toyguide.data.adapters.uci_retail import SOURCE_FILE
from toyguide.data.adapters.uci_retail_taxonomy import RULES, functions_for, rules_markdown
from toyguide.data.schema import SCHEMA
from toyguide.data.store import Store
from toyguide.data.taxonomy import FUNCTIONS
from toyguide.errors import DataValidationError

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "datasets" / "uci-online-retail.md"
shared_data = pytest.mark.shared_data
load = ADAPTERS.get("uci-online-retail")


@pytest.fixture(scope="module")
def source(shared_dataset) -> Path:
    return shared_dataset("uci-online-retail")


@pytest.fixture(scope="module")
def result(source: Path) -> AdapterResult:
    return load(source)  # ~2 s; shared by every test of this module


@shared_data
def test_counts_are_exact(result: AdapterResult) -> None:
    counts = result.counts
    assert counts == {
        "lines_read": 541_909,
        "non_product_lines": 3_036,
        "cancellation_lines": 8_703,
        "negative_quantity_lines": 1_336,
        "zero_price_lines": 1_159,
        "voided_lines": 2_818,
        "sold_lines": 524_857,
        "cancellation_units": 272_029,
        "negative_quantity_units": 206_957,
        "zero_price_units": 67_724,
        "voided_units": 223_359,
        "sold_units": 5_353_657,
        "non_product_codes": 19,
        "cancellation_lines_matched": 2_863,  # reversing 2,818 orders; 45 repeat a match
        "sold_lines_without_customer": 131_420,
        "lines_without_description": 1_454,
        "sold_lines_without_description": 0,
        "stock_codes": 3_958,
        "stock_codes_case_folded": 112,
        "items": 3_790,
        "items_without_title": 0,
        "items_with_functions": 173,
        "shoppers": 4_372,
        "shoppers_with_several_countries": 8,
        "shoppers_without_events": 48,
        "events": 383_438,
        "event_lines_merged": 9_999,
        "sales_rows": 100_067,
        "sales_weeks": 53,
    }
    fates = ("non_product", "cancellation", "negative_quantity", "zero_price", "voided", "sold")
    assert sum(counts[f"{f}_lines"] for f in fates) == counts["lines_read"]  # one fate per line
    heights = {t: f.height for t, f in result.frames.items()}
    assert heights == {"items": 3_790, "shoppers": 4_372, "events": 383_438, "sales": 100_067}


@shared_data
def test_non_product_codes_are_listed(result: AdapterResult) -> None:
    note = result.notes[-1]
    assert note == (
        "non-product stock codes dropped, with their lines (19): POST (1256), DOT (710), "
        "M (572), C2 (144), 23444 (81), D (77), S (63), BANK CHARGES (37), AMAZONFEE (34), "
        "CRUK (16), GIFT_0001_20 (10), GIFT_0001_10 (9), GIFT_0001_30 (8), 23702 (4), "
        "GIFT_0001_50 (4), PADS (4), B (3), GIFT_0001_40 (3), 22016 (1)"
    )


@shared_data
def test_frames_have_the_store_schema_keys_and_references(result: AdapterResult) -> None:
    for name, frame in result.frames.items():
        for key in ("shopper_id", "item_id"):
            if key in frame.columns:
                assert frame[key].str.starts_with("uci:").all(), (name, key)
        assert dict(frame.schema) == SCHEMA[name].polars_schema, name
        assert not frame.select(SCHEMA[name].key).is_duplicated().any(), name
    items = result.frames["items"]["item_id"].implode()
    assert result.frames["events"]["item_id"].is_in(items).all()
    assert result.frames["sales"]["item_id"].is_in(items).all()
    shoppers = result.frames["shoppers"]["shopper_id"].implode()
    assert result.frames["events"]["shopper_id"].is_in(shoppers).all()


@shared_data
def test_weekly_sales(result: AdapterResult) -> None:
    sales = result.frames["sales"]
    assert (sales["week"].dt.weekday() == 1).all()  # Mondays
    assert (sales["week"].min(), sales["week"].max()) == (
        dt.date(2010, 11, 29),
        dt.date(2011, 12, 5),
    )
    assert sales["units"].sum() == result.counts["sold_units"]
    assert sales["revenue"].sum() == pytest.approx(9_846_242.58, abs=0.01)
    assert (sales["units"] > 0).all() and (sales["price"] > 0).all()
    implied = sales["revenue"] / sales["units"]
    assert ((sales["price"] - implied).abs() < 1e-4).all()
    assert sales["promo"].null_count() == sales["stock_on_hand"].null_count() == sales.height
    # the mistaken 80,995- and 74,215-unit orders, cancelled minutes later, are voided
    assert "uci:23843" not in result.frames["items"]["item_id"]
    assert sales.filter(pl.col("item_id") == "uci:23166")["units"].max() < 1_000
    assert sales["units"].max() == 5_593


@shared_data
def test_events_are_customer_purchases(result: AdapterResult) -> None:
    events = result.frames["events"]
    assert events["kind"].unique().to_list() == ["purchase"]
    assert (events["value"] > 0).all() and (events["price_paid"] > 0).all()
    assert events["value"].sum() == 4_933_912  # sold units with a known customer
    assert (events["ts"].min(), events["ts"].max()) == (
        dt.datetime(2010, 12, 1, 8, 26),
        dt.datetime(2011, 12, 9, 12, 50),
    )


@shared_data
def test_items_and_shoppers(result: AdapterResult) -> None:
    items = {r["item_id"][4:]: r for r in result.frames["items"].iter_rows(named=True)}
    heart = items["85123A"]
    assert (heart["title"], heart["price"], heart["currency"]) == (
        "WHITE HANGING HEART T-LIGHT HOLDER",
        2.95,
        "GBP",
    )
    assert "85123a" not in items and "15056BL" in items  # lower-case twins folded
    assert "POST" not in items and "22016" not in items  # services, not products
    assert items["DCGSSBOY"]["title"] == "BOYS PARTY BAG"  # a DCGS code is a product
    assert items["10002"]["functions"] == ["learning"]  # INFLATABLE POLITICAL GLOBE
    shoppers = {
        r["shopper_id"]: r["region"] for r in result.frames["shoppers"].iter_rows(named=True)
    }
    assert shoppers["uci:12370"] == "Cyprus"  # 159 lines from Cyprus, 8 from Austria
    assert shoppers["uci:17850"] == "United Kingdom"


@shared_data
def test_ingests_into_the_store(result: AdapterResult, tmp_path: Path) -> None:
    parts = [(t, result.frames[t]) for t in ("items", "shoppers", "events", "sales")]
    with Store.open(tmp_path / "uci.duckdb") as store:
        store.ingest_many(parts, source="uci-online-retail")
        assert store.counts() == {
            "items": 3_790,
            "shoppers": 4_372,
            "events": 383_438,
            "sales": 100_067,
        }
        assert store.stats()["labelled"]["items_with_functions"] == 173


# -- the keyword table -----------------------------------------------------------------------
def test_every_rule_label_is_in_the_taxonomy() -> None:
    assert {label for rule in RULES for label in rule.labels} <= set(FUNCTIONS)


@shared_data
def test_every_rule_matches_a_product(result: AdapterResult) -> None:
    titles = result.frames["items"]["title"].to_list()
    dead = [r.pattern for r in RULES if not any(functions_for(t) and r.matches(t) for t in titles)]
    assert dead == []


@pytest.mark.parametrize(
    ("title", "labels"),
    [
        ("MINI JIGSAW SPACEBOY", ["puzzles"]),
        ("SPACEBOY LUNCH BOX", []),  # a design line is not a function
        ("MINI PLAYING CARDS DOLLY GIRL", ["games"]),
        ("DOLLY GIRL LUNCH BOX", []),  # DOLLY is not DOLL
        ("FELTCRAFT DOLL MOLLY", ["dolls"]),
        ("PACK OF 12 TRADITIONAL CRAYONS", ["arts_crafts"]),
        ("MINI PAINT SET VINTAGE", ["arts_crafts"]),
        ("HAND PAINTED HANGING EASTER EGG", []),  # PAINTED is not PAINT
        ("RED GINGHAM TEDDY BEAR", ["plush"]),
        ("HAPPY BIRTHDAY CARD TEDDY/CAKE", []),
        ("CARD PARTY GAMES", []),
        ("SET 10 CARDS DRESSING UP 17077", []),
        ("MR ROBOT SOFT TOY", ["plush"]),
        ("ROBOT MUG IN DISPLAY BOX", []),
        ("EIGHT PIECE DINOSAUR SET", ["animals_nature"]),
        ("DINOSAUR LUNCH BOX WITH CUTLERY", []),
        ("BOX OF VINTAGE ALPHABET BLOCKS", ["building", "learning"]),
        ("HOME BUILDING BLOCK WORD", []),
        ("POPPY'S PLAYHOUSE KITCHEN", ["dolls", "pretend_play"]),
        ("WORLD WAR 2 GLIDERS ASSTD DESIGNS", ["vehicles", "outdoor_active"]),
        ("WOODEN CROQUET GARDEN SET", ["games", "outdoor_active"]),
        ("blue  harmonica in box", ["music"]),  # case and spacing do not matter
        ("CHRISTMAS MUSICAL ZINC STAR", []),
        ("RATTLE SNAKE EGGS", []),
        ("BLUE PADDED SOFT MOBILE", ["baby_sensory"]),
        ("WHITE HANGING HEART T-LIGHT HOLDER", []),  # plain gift-ware
        ("JUMBO BAG RED RETROSPOT", []),
        ("REGENCY CAKESTAND 3 TIER", []),
    ],
)
def test_sample_titles(title: str, labels: list[str]) -> None:
    assert functions_for(title) == labels


def test_missing_title_has_unknown_functions() -> None:
    assert functions_for(None) is None


def test_the_documented_table_is_the_code_table() -> None:
    assert rules_markdown() in DOC.read_text(encoding="utf-8")


# -- rules on a small hand-written file (no shared data needed) -------------------------------
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
LINES = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,2,2010-12-01 08:26:00,2.40,17850,United Kingdom",
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom",
    "536367,POST,POSTAGE,1,2010-12-01 08:34:00,18.00,12583,France",
    "C536368,22633,HAND WARMER UNION JACK,-6,2010-12-02 09:00:00,1.85,17850,United Kingdom",
    "536369,21730,GLASS STAR FROSTED T-LIGHT HOLDER,12,2010-12-06 10:00:00,4.25,13047,United Kingdom",
    "C536370,21730,GLASS STAR FROSTED T-LIGHT HOLDER,-12,2010-12-06 10:05:00,4.25,13047,United Kingdom",
    "536371,21730,,-5,2010-12-07 10:00:00,0,,United Kingdom",
    "536372,22139,,56,2010-12-07 11:00:00,0,,United Kingdom",
    '536373,85123a,"WHITE HANGING  HEART T-LIGHT HOLDER",1,2010-12-08 12:00:00,5.06,,United Kingdom',
]


def write_source(folder: Path, lines: list[str]) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / SOURCE_FILE).write_bytes(gzip.compress((HEADER + "\n".join(lines) + "\n").encode()))
    return folder


def test_line_fates_events_and_sales_on_a_small_file(tmp_path: Path) -> None:
    result = load(write_source(tmp_path / "u", LINES))
    counts = result.counts
    fates = {f: counts[f"{f}_lines"] for f in ("non_product", "cancellation", "voided", "sold")}
    assert fates == {"non_product": 1, "cancellation": 2, "voided": 1, "sold": 4}
    assert (counts["negative_quantity_lines"], counts["zero_price_lines"]) == (1, 1)
    assert counts["cancellation_lines_matched"] == 1  # C536370; C536368 has no order to reverse
    assert (counts["event_lines_merged"], counts["stock_codes_case_folded"]) == (1, 1)
    frames = result.frames
    assert frames["items"]["item_id"].to_list() == ["uci:22633", "uci:85123A"]
    assert dict(frames["shoppers"].select("shopper_id", "region").iter_rows()) == {
        "uci:12583": "France",
        "uci:13047": "United Kingdom",
        "uci:17850": "United Kingdom",
    }
    # two lines of one (customer, item, minute) merge; the voided order and the line without
    # a customer leave no event
    assert frames["events"].select("shopper_id", "item_id", "value", "price_paid").rows() == [
        ("uci:17850", "uci:85123A", 8.0, 2.5125)
    ]
    assert frames["sales"].select("item_id", "week", "units", "revenue").rows() == [
        ("uci:22633", dt.date(2010, 11, 29), 6.0, 11.1),
        ("uci:85123A", dt.date(2010, 11, 29), 8.0, 20.1),
        ("uci:85123A", dt.date(2010, 12, 6), 1.0, 5.06),
    ]


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError) as err:
        load(tmp_path)
    assert f"{tmp_path / SOURCE_FILE}: file not found" in str(err.value)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ("536374,22633,HAND WARMER,six,2010-12-08 12:00:00,1.85,,United Kingdom", "Quantity"),
        ("536374,22633,HAND WARMER,6,08/12/2010 12:00,1.85,,United Kingdom", "InvoiceDate"),
        ("536374,22633,HAND WARMER,6,2010-12-08 12:00:00,,,United Kingdom", "UnitPrice"),
        ("536374,22633,HAND WARMER,6,2010-12-08 12:00:00,1.85,C17850,United Kingdom", "CustomerID"),
        ("536374,22633,HAND WARMER,6,2010-12-08 12:00:00,1.85", None),  # ragged
    ],
)
def test_a_bad_line_names_file_line_and_field(tmp_path: Path, bad: str, field: str | None) -> None:
    lines = [*LINES[:4], bad, *LINES[4:]]
    with pytest.raises(DataValidationError) as err:
        load(write_source(tmp_path / "u", lines))
    problem = err.value.problems[0]
    assert (problem.source, problem.line, problem.field) == (
        str(tmp_path / "u" / SOURCE_FILE),
        6,
        field,
    )


@shared_data
def test_a_broken_line_in_a_copy_of_the_real_file(source: Path, tmp_path: Path) -> None:
    with gzip.open(source / SOURCE_FILE, "rt", encoding="utf-8") as f:
        head = [next(f).rstrip("\n") for _ in range(2_000)]
    head[1_500] = head[1_500].replace(",2010-12-", ",2010-13-", 1)
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / SOURCE_FILE).write_bytes(gzip.compress(("\n".join(head) + "\n").encode()))
    with pytest.raises(DataValidationError) as err:
        load(copy)
    assert f"{copy / SOURCE_FILE}:1501: field 'InvoiceDate'" in str(err.value)
