"""PromptCloud's amazon.co.uk toy catalogue crawl (about 2016) as toyguide items.

Source: ``../shared/data/amazon-uk-toy-products`` (see its SOURCE.md). The 10,000 products of
``toy_products_10k_core_columns.csv`` become items; the 863 of them that also appear in
``toy_products_863_full_columns.csv`` gain a description, the manufacturer's recommended age
and the date first available. There are no shoppers, events or sales.

Rules (also in ``docs/datasets/amazon-uk-products.md``):
* categories = the ``amazon_category_and_sub_category`` path split on ``" > "``; functions = the
  path through :mod:`amazon_uk_taxonomy`: labels, ``[]`` when the category is not a toy in the
  taxonomy's sense, null when it is a mixed brand category (Disney, Star Wars, ...) or absent.
* age: "Manufacturer recommended age:3 years and up" → min 36 months, max null (open-ended);
  "4 - 10 years" → 48..131 (the upper bound includes the whole final year of age); a range
  whose upper bound is not above its lower bound ("3 - 3 years", "8 - 3 years", common
  crawl artefacts) keeps the minimum and drops the maximum.
* gender_target only from explicit targeting phrases ("for boys", "for girls", "boys and
  girls"), else null: a bare "girl"/"boys" is too often a product or character name.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl

from toyguide.data.adapters import ADAPTERS, AdapterResult
from toyguide.data.adapters._frames import Problems, canonical
from toyguide.data.adapters.amazon_uk_taxonomy import SEPARATOR, functions_for
from toyguide.data.readers import read_raw
from toyguide.errors import DataValidationError, Problem

__all__ = ["amazon_uk_products", "parse_age", "parse_first_available", "parse_gender_target"]

CORE = "toy_products_10k_core_columns.csv"
FULL = "toy_products_863_full_columns.csv"
CORE_COLUMNS = (
    "uniq_id",
    "product_name",
    "amazon_category_and_sub_category",
    "manufacturer",
    "price",
)
FULL_COLUMNS = ("product_id", "product_information", "product_description")
PATH = "amazon_category_and_sub_category"

Rule = tuple[pl.Expr, str, str]  # (true where a row is bad, field, what was expected)

_UNIT = r"(months?|years?)"
_AGE_OPEN = re.compile(rf"Manufacturer recommended age:\s*(\d+)\s*{_UNIT}\s+and up", re.I)
_AGE_RANGE = re.compile(
    rf"Manufacturer recommended age:\s*(\d+)\s*{_UNIT}?\s*-\s*(\d+)\s*{_UNIT}", re.I
)
_FIRST_AVAILABLE = re.compile(r"Date First Available\s*(\d{1,2}) ([A-Za-z]{3})[a-z]*\.? (\d{4})")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, start=1)}
# "for (little) boys" names whom a toy is for; "girls' night out" (apostrophe) does not.
_FOR_GENDER = re.compile(
    r"\bfor\s+(?:(?:little|young|small|teenage|teen|toddler|baby)\s+)?(boy|girl)s?\b(?!')", re.I
)
_BOTH_GENDERS = re.compile(
    r"\b(?:boys?(?:'s|')?\s*(?:and|or|&|/|,)\s*girls?|girls?(?:'s|')?\s*(?:and|or|&|/|,)\s*boys?)\b",
    re.I,
)


@ADAPTERS.register("amazon-uk-products")
def amazon_uk_products(source: Path) -> AdapterResult:
    """Items of the amazon.co.uk toy crawl, enriched from the 863-product full-column sample."""
    source = Path(source)
    core = _read(source / CORE, CORE_COLUMNS)
    _check_core(core, source / CORE)
    full = _read(source / FULL, FULL_COLUMNS)
    _check_full(full, core, source / FULL)
    enrichment = _enrichment(full)
    items = _items_frame(core, enrichment)
    return AdapterResult({"items": items}, _counts(items, enrichment), _NOTES)


_NOTES = [
    "items only: this catalogue has no shoppers, events or sales.",
    "item_id = uniq_id, title = product_name, brand = manufacturer, price in GBP (currency "
    "'GBP' on every item, the catalogue's currency, even where the price is missing).",
    "categories = amazon_category_and_sub_category split on ' > '; functions = that path "
    "mapped by amazon_uk_taxonomy.CATEGORY_FUNCTIONS (longest listed prefix wins): [] = not a "
    "toy in the taxonomy's sense (party supplies, adult costumes, ...); null = a mixed "
    "brand/character category (Disney, Hasbro, Star Wars, ...: function unknown) or no path.",
    "description, ages and launch_date only for the 863 products of the full-column sample: "
    "description = product_description without the page's 'Product Description' heading and "
    "'See all Product Description' link, launch_date = 'Date First Available'.",
    "age from 'Manufacturer recommended age' ('Our recommended age' is ignored): "
    "'N years and up' → min N*12, max null (open-ended); 'A - B years' → min A*12, max "
    "B*12+11 (whole final year); months are taken as given; a range whose upper bound is not "
    "above its lower bound ('3 - 3 years', '8 - 3 years') keeps the min and drops the max.",
    "gender_target only from explicit phrases in title or description: 'for boys'/'for girls' "
    "(→ boy/girl) and 'boys and girls'/'girl or boy' (→ unisex); both sides found → unisex; "
    "otherwise null (bare 'girl'/'boys' is too often a name: Groovy Girls, Beast Boy).",
    "kept out: stock, review counts, ratings, customer reviews, ASIN, best-sellers rank.",
]


def _read(path: Path, required: tuple[str, ...]) -> pl.DataFrame:
    """The CSV as strings with ``__line__`` (the integrator's reader) and the needed columns."""
    frame = read_raw(path)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        problems = [Problem(str(path), None, c, "required column is missing") for c in missing]
        raise DataValidationError(problems)
    return frame


def _check(path: Path, frame: pl.DataFrame, rules: list[Rule]) -> None:
    """Raise one DataValidationError listing every row that breaks a rule (null counts as bad)."""
    problems = Problems(path)
    for bad, field, reason in rules:
        problems.add_rows(frame, bad, field, reason, none_as="None")
    problems.raise_if_any()


def _check_core(core: pl.DataFrame, path: Path) -> None:
    uid, raw_price = pl.col("uniq_id"), pl.col("price")
    price = raw_price.cast(pl.Float64, strict=False)
    rules = [
        (~uid.str.contains(r"^[0-9a-f]{32}$"), "uniq_id", "expected a 32-character hex id"),
        (uid.is_duplicated() & uid.is_not_null(), "uniq_id", "id appears twice"),
        (
            raw_price.is_not_null() & ~(price.is_finite() & (price >= 0)),
            "price",
            "expected a price in GBP >= 0",
        ),
    ]
    _check(path, core, rules)


def _check_full(full: pl.DataFrame, core: pl.DataFrame, path: Path) -> None:
    pid = pl.col("product_id")
    rules = [
        (pid.is_duplicated() & pid.is_not_null(), "product_id", "id appears twice"),
        (~pid.is_in(core["uniq_id"].implode()), "product_id", f"expected a uniq_id of {CORE}"),
    ]
    _check(path, full, rules)


def _enrichment(full: pl.DataFrame) -> pl.DataFrame:
    """Per enriched product: description, ages, launch date (from the free-text columns)."""
    infos = full["product_information"].to_list()
    ages = [parse_age(info) for info in infos]
    return pl.DataFrame(
        {
            "item_id": full["product_id"],
            "description": _clean_description(full["product_description"]),
            "age_min_months": [a[0] for a in ages],
            "age_max_months": [a[1] for a in ages],
            "age_max_dropped": [a[2] for a in ages],
            "launch_date": [parse_first_available(info) for info in infos],
        },
        schema_overrides={
            "age_min_months": pl.Int64,
            "age_max_months": pl.Int64,
            "launch_date": pl.Date,
        },
    )


def _clean_description(text: pl.Series) -> pl.Series:
    # The crawl kept the page's "Product Description" heading and "See all" link: page chrome.
    return (
        text.str.replace(r"^Product Description\s*", "")
        .str.replace(r"\s*See all Product Description$", "")
        .replace("", None)
    )


def _items_frame(core: pl.DataFrame, enrichment: pl.DataFrame) -> pl.DataFrame:
    categories = core[PATH].str.split(SEPARATOR).list.eval(pl.element().str.strip_chars())
    functions = [None if c is None else functions_for(c) for c in categories.to_list()]
    items = pl.DataFrame(
        {
            "item_id": core["uniq_id"],
            "title": core["product_name"],
            "brand": core["manufacturer"],
            "categories": categories,
            "price": core["price"].cast(pl.Float64),
            "currency": ["GBP"] * core.height,
            "functions": pl.Series(functions, dtype=pl.List(pl.String)),
        }
    ).join(enrichment, on="item_id", how="left", maintain_order="left")
    genders = [
        parse_gender_target(t, d)
        for t, d in zip(items["title"].to_list(), items["description"].to_list(), strict=True)
    ]
    items = items.with_columns(pl.Series("gender_target", genders, dtype=pl.String))
    return canonical("items", items)


def parse_age(info: str | None) -> tuple[int | None, int | None, bool]:
    """``(age_min_months, age_max_months, max_dropped)`` from a product_information text."""
    if not info:
        return None, None, False
    if m := _AGE_OPEN.search(info):
        return _months(int(m[1]), m[2]), None, False
    if m := _AGE_RANGE.search(info):
        low = _months(int(m[1]), m[2] or m[4])  # "4 - 10 years": the unit is written once
        high = _months(int(m[3]), m[4])
        if high <= low:  # "3 - 3 years", "8 - 3 years": the upper bound is not information
            return low, None, True
        return low, high + (11 if m[4].lower().startswith("year") else 0), False
    return None, None, False


def _months(n: int, unit: str) -> int:
    return n * 12 if unit.lower().startswith("year") else n


def parse_first_available(info: str | None) -> dt.date | None:
    """The date of 'Date First Available27 July 2012' / '3 Sept. 2014', if present and valid."""
    m = _FIRST_AVAILABLE.search(info or "")
    month = _MONTHS.get(m[2].lower()) if m else None
    if m is None or month is None:
        return None
    try:
        return dt.date(int(m[3]), month, int(m[1]))
    except ValueError:  # e.g. 31 Sept.: no date rather than a guessed one
        return None


def parse_gender_target(title: str | None, description: str | None) -> str | None:
    """'boy', 'girl' or 'unisex' from explicit targeting phrases, else None."""
    text = f"{title or ''}\n{description or ''}"
    if _BOTH_GENDERS.search(text):
        return "unisex"
    found = {m.lower() for m in _FOR_GENDER.findall(text)}
    if len(found) == 2:
        return "unisex"
    return found.pop() if found else None


def _counts(items: pl.DataFrame, enrichment: pl.DataFrame) -> dict[str, int]:
    n_labels = pl.col("functions").list.len()
    has_path = pl.col("categories").is_not_null()
    paths = items.filter(has_path).unique(pl.col("categories").list.join(SEPARATOR))
    return {
        "items": items.height,
        "items_with_price": items["price"].is_not_null().sum(),
        "items_with_brand": items["brand"].is_not_null().sum(),
        "items_with_categories": items.filter(has_path).height,
        "items_with_functions": items.filter(n_labels > 0).height,
        "items_not_toys": items.filter(n_labels == 0).height,
        "items_function_unknown": items.filter(has_path & n_labels.is_null()).height,
        "category_paths": paths.height,
        "category_paths_with_functions": paths.filter(n_labels > 0).height,
        "category_paths_not_toys": paths.filter(n_labels == 0).height,
        "category_paths_mixed": paths.filter(n_labels.is_null()).height,
        "items_enriched": enrichment.height,
        "items_with_description": items["description"].is_not_null().sum(),
        "items_with_age_min": items["age_min_months"].is_not_null().sum(),
        "items_with_age_max": items["age_max_months"].is_not_null().sum(),
        "age_max_dropped": enrichment["age_max_dropped"].sum(),
        "items_with_launch_date": items["launch_date"].is_not_null().sum(),
        "items_with_gender_target": items["gender_target"].is_not_null().sum(),
        **{f"gender_{g}": (items["gender_target"] == g).sum() for g in ("boy", "girl", "unisex")},
    }
