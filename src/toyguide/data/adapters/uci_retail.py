"""UCI Online Retail (a UK gift-ware wholesaler, 2010-12-01 … 2011-12-09) as toyguide tables.

Source: ``../shared/data/uci-online-retail/online_retail.csv.gz`` (see its SOURCE.md): 541,909
invoice lines. Products become items, customers shoppers, invoice lines purchase events, and
the lines are summed into weekly sales per product. ``docs/datasets/uci-online-retail.md``
states every rule with the counts it produces; :data:`NOTES` is the same list, short.

Each line gets exactly one *fate*, the first that applies, so the per-rule counts add up to
the lines read: ``non_product`` (postage, fees, vouchers, adjustments), ``cancellation`` (a
``C`` invoice), ``negative_quantity`` (stock write-offs without a ``C``), ``zero_price``,
``voided`` (an order line a later cancellation reverses exactly) or ``sold``. Sales and events
are built from the sold lines only; events additionally need a known customer.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from toyguide.data.adapters import ADAPTERS, AdapterResult
from toyguide.data.adapters._frames import canonical, parsed_column
from toyguide.data.adapters.uci_retail_taxonomy import functions_for
from toyguide.data.readers import LINE, read_raw
from toyguide.data.schema import Column
from toyguide.errors import DataValidationError, Problem

__all__ = ["ID_PREFIX", "PRODUCT_CODE", "SERVICE_DESCRIPTION", "SOURCE_FILE", "uci_online_retail"]

SOURCE_FILE = "online_retail.csv.gz"
ID_PREFIX = "uci:"
"""Prefix of every shopper and item id: CustomerIDs are bare integers that other datasets also use
(12646 is a Tianchi user too), and a shared store would silently merge them."""
PRODUCT_CODE = r"^([0-9]{5}[A-Z]{0,2}|DCGS[0-9A-Z]+)$"
"""A product's stock code (upper-cased): 5 digits plus up to two letters, or a DCGS… code (goods
sold through the retailer's dotcom shop: party bags, dog collars). Anything else — POST, DOT,
M, C2, D, S, B, CRUK, PADS, BANK CHARGES, AMAZONFEE, GIFT_0001_* — is a service or adjustment."""
SERVICE_DESCRIPTION = (
    r"(?i)^(dotcomgiftshop gift voucher|next day carriage$|high resolution image$)"
)
"""Descriptions that unmask three product-shaped codes as services: 22016 (a £100 voucher),
23444 (next-day carriage) and 23702 (an image licence)."""

FIELDS: tuple[Column, ...] = (
    Column("InvoiceNo", "str", required=True),
    Column("StockCode", "str", required=True),
    Column("Description", "str"),
    Column("Quantity", "int", required=True),
    Column("InvoiceDate", "timestamp", required=True),
    Column("UnitPrice", "float", required=True),
    Column("CustomerID", "int"),
    Column("Country", "str"),
)
_NAMES = {
    "InvoiceNo": "invoice",
    "StockCode": "code",
    "Description": "description",
    "Quantity": "quantity",
    "InvoiceDate": "ts",
    "UnitPrice": "price",
    "CustomerID": "customer",
    "Country": "country",
}
FATES = ("non_product", "cancellation", "negative_quantity", "zero_price", "voided", "sold")

NOTES = [
    f"ids: shopper_id = '{ID_PREFIX}<CustomerID>', item_id = '{ID_PREFIX}<StockCode>' (so that "
    "datasets sharing a store cannot collide: CustomerID 12646 is also a Tianchi user).",
    "each line gets one fate, the first that applies: non_product (stock code not of the form "
    "5 digits + up to 2 letters or DCGS…, or described as a voucher/carriage/image), "
    "cancellation (invoice starts with C), negative_quantity (quantity ≤ 0 without C: "
    "write-offs), zero_price (unit price ≤ 0), voided (an order line reversed by a later "
    "cancellation of the same customer, stock code and quantity), sold.",
    "stock codes are upper-cased: 85123a and 85123A are one product (same description; the "
    "lower-case twin is the retail-channel listing).",
    "sales = sold lines (with or without customer) per product and ISO week (Monday): units = "
    "Σ quantity, revenue = Σ quantity × unit price, price = revenue / units, promo and "
    "stock_on_hand null. Gross of unmatched cancellations (their orders may predate the data); "
    "orders a cancellation reverses exactly are voided, which removes the 80,995- and "
    "74,215-unit mistaken orders. Weeks 2010-11-29 and 2011-12-05 are partial (data starts "
    "Wednesday 1 Dec 2010, ends Friday 9 Dec 2011 12:50); the week of 2010-12-27 has no "
    "sales at all (closed between Christmas and New Year). A missing (item, week) = no sale.",
    "events = sold lines with a CustomerID, kind purchase, ts = InvoiceDate, value = quantity, "
    "price_paid = unit price; lines with the same (customer, product, timestamp) are merged "
    "(quantities summed, price_paid = quantity-weighted mean price).",
    "items = products with at least one sold line: title = most frequent description on those "
    "lines (ties: alphabetical), price = median unit price of those lines (wholesale and "
    "retail-channel prices mixed), currency GBP, functions = uci_retail_taxonomy keyword rules "
    "on the title ([] = no rule matched, mostly gift-ware); no categories, ages, gender or "
    "launch dates in the source.",
    "shoppers = every CustomerID in the file; region = the customer's most frequent Country "
    "(ties: alphabetical); no child labels.",
]


@ADAPTERS.register("uci-online-retail")
def uci_online_retail(source: Path) -> AdapterResult:
    """Items, shoppers, purchase events and weekly sales of the UCI Online Retail lines."""
    path = Path(source) / SOURCE_FILE
    lines = _with_fates(_read_lines(path))
    sold = lines.filter(pl.col("fate") == "sold")
    items = _items(sold)
    frames = {
        "items": items,
        "shoppers": _shoppers(lines),
        "events": _events(sold),
        "sales": _sales(sold),
    }
    counts = _counts(lines, frames)
    notes = [*NOTES, _non_product_note(lines)]
    return AdapterResult({t: canonical(t, f) for t, f in frames.items()}, counts, notes)


# -- reading ---------------------------------------------------------------------------------
def _read_lines(path: Path) -> pl.DataFrame:
    """The invoice lines, typed and renamed; a bad cell rejects the file, naming its line."""
    raw = read_raw(path)
    missing = [c.name for c in FIELDS if c.name not in raw.columns]
    if missing:
        raise DataValidationError(
            [Problem(str(path), 1, name, "required column is missing") for name in missing]
        )
    columns = (parsed_column(raw, col, path).alias(_NAMES[col.name]) for col in FIELDS)
    frame = pl.DataFrame([raw[LINE], *columns])
    return frame.with_columns(
        pl.col("code").alias("code_as_given"),
        pl.col("code").str.to_uppercase(),
        pl.col("description").str.replace_all(r"\s+", " "),
        pl.col("customer").cast(pl.String),
    )


# -- fates -----------------------------------------------------------------------------------
def _with_fates(lines: pl.DataFrame) -> pl.DataFrame:
    """Adds ``fate``: what the import does with each line (see the module docstring)."""
    services = lines.filter(pl.col("description").str.contains(SERVICE_DESCRIPTION))["code"]
    is_service = pl.col("code").is_in(services.implode())
    non_product = ~pl.col("code").str.contains(PRODUCT_CODE) | is_service
    fate = (
        pl.when(non_product)
        .then(pl.lit("non_product"))
        .when(pl.col("invoice").str.starts_with("C"))
        .then(pl.lit("cancellation"))
        .when(pl.col("quantity") <= 0)
        .then(pl.lit("negative_quantity"))
        .when(pl.col("price") <= 0)
        .then(pl.lit("zero_price"))
        .otherwise(pl.lit("sold"))
    )
    lines = lines.with_columns(fate.alias("fate"))
    matches = _cancellation_matches(lines)
    return lines.with_columns(
        pl.when(pl.col(LINE).is_in(matches[LINE].implode()))
        .then(pl.lit("voided"))
        .otherwise(pl.col("fate"))
        .alias("fate"),
        pl.col(LINE).is_in(matches["cancel_line"].implode()).alias("reverses_an_order"),
    )


def _cancellation_matches(lines: pl.DataFrame) -> pl.DataFrame:
    """Pairs (``cancel_line``, order ``LINE``) of cancellations reversing a sold order exactly.

    A cancellation reverses the latest earlier order line of the same customer, stock code and
    quantity; identical lines at one timestamp pair up in turn (``nth``), and an order is
    voided once however many cancellations point at it (45 repeat an earlier one). Partial and
    unmatched cancellations (their order may predate the data) leave sales alone.
    """
    key = ["customer", "code", "quantity"]
    nth = pl.int_range(pl.len()).over([*key, "ts"]).alias("nth")
    known = pl.col("customer").is_not_null()
    orders = lines.filter((pl.col("fate") == "sold") & known).select(*key, "ts", LINE)
    cancels = lines.filter((pl.col("fate") == "cancellation") & known).select(
        "customer",
        "code",
        (-pl.col("quantity")).alias("quantity"),
        "ts",
        pl.col(LINE).alias("cancel_line"),
    )
    matched = (
        cancels.with_columns(nth)
        .sort("ts")
        .join_asof(
            orders.with_columns(nth).sort("ts"),
            on="ts",
            by=[*key, "nth"],
            strategy="backward",
            check_sortedness=False,
        )
    )
    return matched.filter(pl.col(LINE).is_not_null()).select("cancel_line", LINE)


# -- tables ----------------------------------------------------------------------------------
def _items(sold: pl.DataFrame) -> pl.DataFrame:
    titles = (
        sold.filter(pl.col("description").is_not_null())
        .group_by("code", "description")
        .len()
        .sort(["code", "len", "description"], descending=[False, True, False])
        .unique("code", keep="first", maintain_order=True)
        .select("code", pl.col("description").alias("title"))
    )
    unique_titles = titles["title"].unique().to_list()
    functions = pl.DataFrame(
        {"title": unique_titles, "functions": [functions_for(t) for t in unique_titles]},
        schema={"title": pl.String, "functions": pl.List(pl.String)},
    )
    return (
        sold.group_by("code")
        .agg(pl.col("price").median())
        .join(titles, on="code", how="left")
        .join(functions, on="title", how="left")
        .select(_id("code").alias("item_id"), "title", "price", "functions")
        .with_columns(pl.lit("GBP").alias("currency"))
        .sort("item_id")
    )


def _shoppers(lines: pl.DataFrame) -> pl.DataFrame:
    known = lines.filter(pl.col("customer").is_not_null())
    region = (
        known.filter(pl.col("country").is_not_null())
        .group_by("customer", "country")
        .len()
        .sort(["customer", "len", "country"], descending=[False, True, False])
        .unique("customer", keep="first", maintain_order=True)
    )
    return (
        known.select("customer")
        .unique()
        .join(region, on="customer", how="left")
        .select(_id("customer").alias("shopper_id"), pl.col("country").alias("region"))
        .sort("shopper_id")
    )


def _events(sold: pl.DataFrame) -> pl.DataFrame:
    return (
        sold.filter(pl.col("customer").is_not_null())
        .group_by("customer", "code", "ts")
        .agg(
            pl.col("quantity").sum().cast(pl.Float64).alias("value"),
            (pl.col("quantity") * pl.col("price")).sum().alias("paid"),
            pl.len().alias("lines"),
        )
        .select(
            _id("customer").alias("shopper_id"),
            _id("code").alias("item_id"),
            "ts",
            pl.lit("purchase").alias("kind"),
            "value",
            (pl.col("paid") / pl.col("value")).round(4).alias("price_paid"),
            "lines",
        )
        .sort("ts", "shopper_id", "item_id")
    )


def _sales(sold: pl.DataFrame) -> pl.DataFrame:
    return (
        sold.with_columns(pl.col("ts").dt.date().dt.truncate("1w").alias("week"))
        .group_by("code", "week")
        .agg(
            pl.col("quantity").sum().cast(pl.Float64).alias("units"),
            (pl.col("quantity") * pl.col("price")).sum().round(2).alias("revenue"),
        )
        .select(
            _id("code").alias("item_id"),
            "week",
            "units",
            "revenue",
            (pl.col("revenue") / pl.col("units")).round(4).alias("price"),
        )
        .sort("item_id", "week")
    )


def _id(column: str) -> pl.Expr:
    return pl.lit(ID_PREFIX) + pl.col(column)


# -- what the import did -----------------------------------------------------------------------
def _counts(lines: pl.DataFrame, frames: dict[str, pl.DataFrame]) -> dict[str, int]:
    fate = lines.group_by("fate").agg(pl.len(), pl.col("quantity").abs().sum().alias("units"))
    by_fate = {f: (0, 0) for f in FATES} | {r[0]: (r[1], r[2]) for r in fate.iter_rows()}
    sold = lines.filter(pl.col("fate") == "sold")
    events, items = frames["events"], frames["items"]
    known = lines.filter(pl.col("customer").is_not_null())
    countries = known.group_by("customer").agg(pl.col("country").n_unique())
    return {
        "lines_read": lines.height,
        **{f"{f}_lines": n for f, (n, _) in by_fate.items()},
        **{f"{f}_units": u for f, (_, u) in by_fate.items() if f != "non_product"},
        "non_product_codes": lines.filter(pl.col("fate") == "non_product")["code"].n_unique(),
        "cancellation_lines_matched": int(lines["reverses_an_order"].sum()),
        "sold_lines_without_customer": sold["customer"].null_count(),
        "lines_without_description": lines["description"].null_count(),
        "sold_lines_without_description": sold["description"].null_count(),
        "stock_codes": lines["code"].n_unique(),
        "stock_codes_case_folded": lines["code_as_given"].n_unique() - lines["code"].n_unique(),
        "items": items.height,
        "items_without_title": items["title"].null_count(),
        "items_with_functions": items.filter(pl.col("functions").list.len() > 0).height,
        "shoppers": known["customer"].n_unique(),
        "shoppers_with_several_countries": countries.filter(pl.col("country") > 1).height,
        "shoppers_without_events": known["customer"].n_unique() - events["shopper_id"].n_unique(),
        "events": events.height,
        "event_lines_merged": int(events["lines"].sum()) - events.height,
        "sales_rows": frames["sales"].height,
        "sales_weeks": frames["sales"]["week"].n_unique(),
    }


def _non_product_note(lines: pl.DataFrame) -> str:
    codes = (
        lines.filter(pl.col("fate") == "non_product")
        .group_by("code")
        .len()
        .sort(["len", "code"], descending=[True, False])
    )
    listed = ", ".join(f"{code} ({n})" for code, n in codes.iter_rows())
    return f"non-product stock codes dropped, with their lines ({codes.height}): {listed}"
