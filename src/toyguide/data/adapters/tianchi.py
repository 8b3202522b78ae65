"""Tianchi / Taobao "Mum & Baby" purchases as toyguide shoppers, items and purchase events.

Source: ``../shared/data/tianchi-mum-baby`` (see its SOURCE.md): 953 children's birthdays and
genders as reported by their parents, and 29,971 trades of 29,944 buyers.
``docs/datasets/tianchi-mum-baby.md`` states every rule with the counts it produces;
:data:`NOTES` is the same list, short.

What the data supports is profile prediction (child age and gender from a buyer's purchases):
ids are anonymised integers, there are no prices or titles, and most buyers have a single
trade. No ``sales`` are derived (see NOTES). The six root categories are Taobao's six
mum-and-baby roots with 3 added to each id (:data:`ROOT_CATEGORIES`), so items under the toy
root get ``functions`` null (a toy, function unknown) and all others ``[]`` (not a toy).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from toyguide.data.adapters import ADAPTERS, AdapterResult
from toyguide.data.adapters._frames import canonical, parsed_column, raise_where
from toyguide.data.readers import LINE, read_raw
from toyguide.data.schema import Column
from toyguide.errors import DataValidationError, Problem

__all__ = [
    "CHILDREN_FILE",
    "ID_PREFIX",
    "MIN_BIRTH_DATE",
    "ROOT_CATEGORIES",
    "TOY_ROOT",
    "TRADES_FILE",
    "tianchi_mum_baby",
]

ID_PREFIX = "tianchi:"
"""Prefix of every shopper and item id: Taobao's integer ids would otherwise collide with other
datasets' ids in a shared store (user 12646 is also a UCI CustomerID) and silently merge."""
CHILDREN_FILE = "tianchi_mum_baby.csv"
TRADES_FILE = "tianchi_mum_baby_trade_history.csv"
MIN_BIRTH_DATE = dt.date(1990, 1, 1)
"""Birthdays before this are taken as the parent's own: the trades start 2012-07-02, so such a
"child" would have been over 22 (the one case is 1984-06-16; the next oldest is 2002-12-05)."""
GENDERS = {0: "girl", 1: "boy"}  # 2 = unknown → null (a missing value, not a third class)

ROOT_CATEGORIES: dict[int, tuple[int, str, str]] = {
    28: (25, "玩具/童车/益智/积木/模型", "toys, ride-ons, educational, building blocks, models"),
    38: (35, "奶粉/辅食/营养品/零食", "formula, baby food, supplements, snacks"),
    50008168: (50008165, "童装/婴儿装/亲子装", "children's and baby clothing"),
    50014815: (50014812, "尿片/洗护/喂哺/推车床", "nappies, bathing, feeding, prams and cots"),
    50022520: (50022517, "孕妇装/孕产妇用品/营养", "maternity wear and products"),
    122650008: (122650005, "童鞋/婴儿鞋/亲子鞋", "children's and baby shoes"),
}
"""Root id here → (Taobao root id, its name, gloss). Each id is a Taobao mum-and-baby root + 3,
all six of them; the children's ages at purchase agree (maternity: 62% before birth, median
−1.7 months; nappies/feeding 6.6; formula 11.8; toys 18.4; clothing 23.1; shoes 25.4)."""
TOY_ROOT = 28

CHILD_FIELDS = (Column("user_id", "int", required=True), Column("gender", "int", required=True))
TRADE_FIELDS = tuple(
    Column(name, "int", required=True)
    for name in ("user_id", "auction_id", "category_2", "category_1", "buy_mount")
)

NOTES = [
    f"ids: shopper_id = '{ID_PREFIX}<user_id>', item_id = '{ID_PREFIX}<auction_id>' (so that "
    "datasets sharing a store cannot collide: user 12646 is also a UCI CustomerID).",
    "shoppers = every user of either file (the 953 children's parents all have trades); "
    "child_birth_date = birthday (YYYYMMDD), child_gender 0 → girl, 1 → boy, 2 → null; "
    "child_age_months/as_of null (the birth date says it all); no region, no interests.",
    f"a birthday that is not a valid date, is before {MIN_BIRTH_DATE} (the parent's own "
    "birthday, not a child's) or is after today (the store rejects future birth dates) "
    "becomes null and is counted; the child's gender is kept. Birthdays after a purchase "
    "(up to 2 years: pregnancy and planning purchases) and after the last trade (expected "
    "due dates, up to 2015-08-15) are kept as reported.",
    "events = trades: kind purchase, ts = day at 00:00, value = buy_mount (quantity; outliers "
    "up to 10,000 kept as recorded), price_paid null (no prices in the source); trades of the "
    "same (user, item, day) are merged with quantities summed.",
    "items = auction_ids; categories = ['cat1:<root id>', 'cat2:<leaf id>', ...] with every "
    "leaf the listing was traded under, earliest first (71 listings moved leaf); no titles, "
    "prices or brands. The roots are Taobao's mum-and-baby roots + 3 (ROOT_CATEGORIES): "
    "functions null under the toy root 28 (a toy, function unknown: the leaves are not "
    "mapped), [] under the five others (clothing, shoes, nappies/feeding, formula, maternity "
    "are not toys).",
    "no sales: 96% of listings sell once in 2.6 years and there are no prices, so per-item "
    "weekly rows carry no forecasting signal; category-level demand can be aggregated from "
    "events by categories later, without pseudo-items in the catalogue.",
]


@ADAPTERS.register("tianchi-mum-baby")
def tianchi_mum_baby(source: Path) -> AdapterResult:
    """Shoppers (953 with child labels), items and purchase events of the Tianchi data."""
    source = Path(source)
    _require_files(source)
    children = _read(source / CHILDREN_FILE, CHILD_FIELDS, dates={"birthday": False})
    _check_children(children, source / CHILDREN_FILE)
    trades = _read(source / TRADES_FILE, TRADE_FIELDS, dates={"day": True})
    _check_trades(trades, source / TRADES_FILE)
    children = _with_birth_rule(children, today=dt.date.today())
    events = _events(trades)
    frames = {
        "items": _items(trades),
        "shoppers": _shoppers(children, trades),
        "events": events,
    }
    counts = _counts(children, trades, frames)
    return AdapterResult({t: canonical(t, f) for t, f in frames.items()}, counts, list(NOTES))


# -- reading ---------------------------------------------------------------------------------
def _require_files(source: Path) -> None:
    """Both files must be there; a missing one is named with what was expected in it."""
    problems = [
        Problem(str(source / name), None, None, f"file not found (expected {what})")
        for name, what in (
            (CHILDREN_FILE, "user_id,birthday,gender"),
            (TRADES_FILE, "user_id,auction_id,category_2,category_1,buy_mount,day"),
        )
        if not (source / name).is_file()
    ]
    if problems:
        raise DataValidationError(problems)


def _read(path: Path, fields: tuple[Column, ...], dates: dict[str, bool]) -> pl.DataFrame:
    """The file typed: integer columns as Int64, YYYYMMDD dates as dates.

    ``dates`` maps each date column to whether a bad value rejects the file (trade days) or
    becomes null for a documented rule to count (self-reported birthdays).
    """
    raw = read_raw(path)
    missing = [name for name in [*(f.name for f in fields), *dates] if name not in raw.columns]
    if missing:
        raise DataValidationError(
            [Problem(str(path), 1, name, "required column is missing") for name in missing]
        )
    columns = [raw[LINE], *(parsed_column(raw, field, path) for field in fields)]
    for name, strict in dates.items():
        parsed = raw[name].str.to_date("%Y%m%d", strict=False)
        if strict:
            raise_where(raw, parsed.is_null(), name, "expected a date YYYYMMDD", path)
        columns.append(parsed)
    return pl.DataFrame(columns)


def _check_children(children: pl.DataFrame, path: Path) -> None:
    bad_gender = ~children["gender"].is_in(list(range(3)))
    raise_where(children, bad_gender, "gender", "expected 0 (girl), 1 (boy) or 2 (unknown)", path)
    # A second row for one parent would give one shopper two conflicting child labels.
    repeated = children["user_id"].is_duplicated() & (
        children[LINE] != children.select(pl.col(LINE).min().over("user_id")).to_series()
    )
    raise_where(children, repeated, "user_id", "user appears on an earlier line", path)


def _check_trades(trades: pl.DataFrame, path: Path) -> None:
    raise_where(trades, trades["buy_mount"] < 1, "buy_mount", "expected a quantity ≥ 1", path)


# -- tables ----------------------------------------------------------------------------------
def _with_birth_rule(children: pl.DataFrame, today: dt.date) -> pl.DataFrame:
    """Adds ``birth_rule`` (why a birthday was dropped, or "kept") and the kept birth date."""
    day = pl.col("birthday")
    rule = (
        pl.when(day.is_null())
        .then(pl.lit("invalid"))
        .when(day < MIN_BIRTH_DATE)
        .then(pl.lit("before_1990"))
        .when(day > today)
        .then(pl.lit("in_future"))
        .otherwise(pl.lit("kept"))
    )
    return children.with_columns(rule.alias("birth_rule")).with_columns(
        pl.when(pl.col("birth_rule") == "kept").then(day).alias("child_birth_date"),
        pl.col("gender")
        .replace_strict(GENDERS, default=None, return_dtype=pl.String)
        .alias("child_gender"),
    )


def _shoppers(children: pl.DataFrame, trades: pl.DataFrame) -> pl.DataFrame:
    users = pl.concat([children["user_id"], trades["user_id"]]).unique().to_frame()
    labels = children.select("user_id", "child_birth_date", "child_gender")
    return (
        users.join(labels, on="user_id", how="left")
        .sort("user_id")
        .select(_id("user_id").alias("shopper_id"), pl.exclude("user_id"))
    )


def _items(trades: pl.DataFrame) -> pl.DataFrame:
    # A listing can move to another leaf (71 do, mostly into 1213xxxxx leaves in 2014): keep
    # every leaf it was traded under, earliest first.
    return (
        trades.sort("day", "category_2")
        .group_by("auction_id", maintain_order=True)
        .agg(
            _tagged("cat1:", "category_1").unique(maintain_order=True).alias("roots"),
            _tagged("cat2:", "category_2").unique(maintain_order=True).alias("leaves"),
        )
        .select(
            "auction_id",
            pl.concat_list("roots", "leaves").alias("categories"),
            _functions(pl.col("roots").list.contains(f"cat1:{TOY_ROOT}")),
        )
        .sort("auction_id")
        .select(_id("auction_id").alias("item_id"), pl.exclude("auction_id"))
    )


def _functions(is_toy: pl.Expr) -> pl.Expr:
    """Null for a toy (which function is unknown), [] for the other roots: not a toy."""
    labels = pl.List(pl.String)
    return (
        pl.when(is_toy).then(pl.lit(None, dtype=labels)).otherwise(pl.lit([], dtype=labels))
    ).alias("functions")


def _id(column: str) -> pl.Expr:
    return pl.lit(ID_PREFIX) + pl.col(column).cast(pl.String)


def _tagged(prefix: str, column: str) -> pl.Expr:
    return pl.lit(prefix) + pl.col(column).cast(pl.String)


def _events(trades: pl.DataFrame) -> pl.DataFrame:
    return (
        trades.group_by("user_id", "auction_id", "day")
        .agg(pl.col("buy_mount").sum().cast(pl.Float64).alias("value"), pl.len().alias("trades"))
        .select(
            _id("user_id").alias("shopper_id"),
            _id("auction_id").alias("item_id"),
            pl.col("day").cast(pl.Datetime("us")).alias("ts"),
            pl.lit("purchase").alias("kind"),
            "value",
            "trades",
        )
        .sort("ts", "shopper_id", "item_id")
    )


# -- what the import did -----------------------------------------------------------------------
def _counts(
    children: pl.DataFrame, trades: pl.DataFrame, frames: dict[str, pl.DataFrame]
) -> dict[str, int]:
    shoppers, items, events = frames["shoppers"], frames["items"], frames["events"]
    rule = children["birth_rule"].value_counts()
    by_rule = dict.fromkeys(("invalid", "before_1990", "in_future"), 0) | dict(rule.iter_rows())
    labelled = pl.col("child_birth_date").is_not_null() | pl.col("child_gender").is_not_null()
    gender = children["gender"]
    return {
        "children_read": children.height,
        "trades_read": trades.height,
        "shoppers": shoppers.height,
        "shoppers_with_child_label": shoppers.filter(labelled).height,
        "child_birth_dates": shoppers["child_birth_date"].count(),
        "birth_dates_invalid": by_rule["invalid"],
        "birth_dates_before_1990": by_rule["before_1990"],
        "birth_dates_in_future": by_rule["in_future"],
        "child_gender_girl": int((gender == 0).sum()),
        "child_gender_boy": int((gender == 1).sum()),
        "child_gender_unknown": int((gender == 2).sum()),
        "children_without_trades": children.join(trades, on="user_id", how="anti").height,
        "items": items.height,
        "items_under_toy_root": items["functions"].null_count(),
        "items_with_several_leaf_categories": items.filter(
            pl.col("categories").list.len() > 2
        ).height,
        "events": events.height,
        "trades_merged": int(events["trades"].sum()) - events.height,
    }
