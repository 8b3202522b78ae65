"""The data model of DESIGN.md §3: four tables, their columns, keys and foreign keys.

The schema is data: validation, the DuckDB DDL and the canonical Polars dtypes are all derived
from it, so a new column is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from toyguide.data.taxonomy import (
    CHILD_GENDERS,
    CURRENCIES,
    EVENT_KINDS,
    FUNCTIONS,
    GENDER_TARGETS,
)

__all__ = ["SCHEMA", "TABLE_NAMES", "Column", "ForeignKey", "Table", "table"]

Kind = Literal["str", "int", "float", "bool", "date", "timestamp", "list"]

_POLARS: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us"),
    "list": pl.List(pl.String()),
}
_DUCKDB: dict[str, str] = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "list": "VARCHAR[]",
}


@dataclass(frozen=True)
class Column:
    """One column: its kind, whether it is required, and the values it allows.

    ``choices`` restricts a ``str`` value or every element of a ``list``; ``minimum`` and
    ``maximum`` bound numbers (inclusive); ``not_future`` rejects dates after today.
    """

    name: str
    kind: Kind
    required: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    not_future: bool = False
    doc: str = ""

    @property
    def polars_dtype(self) -> pl.DataType:
        return _POLARS[self.kind]

    @property
    def duckdb_type(self) -> str:
        return _DUCKDB[self.kind]


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str  # the referenced table; it is referenced by its primary key


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.polars_dtype for c in self.columns}


ITEMS = Table(
    "items",
    (
        Column("item_id", "str", required=True),
        Column("title", "str"),
        Column("description", "str"),
        Column("brand", "str"),
        Column("categories", "list", doc="the source's own category labels, free text"),
        Column("price", "float", minimum=0.0),
        Column("currency", "str", choices=CURRENCIES),
        Column("age_min_months", "int", minimum=0, maximum=1200),
        Column("age_max_months", "int", minimum=0, maximum=1200),
        Column("gender_target", "str", choices=GENDER_TARGETS),
        Column("functions", "list", choices=FUNCTIONS, doc="taxonomy labels"),
        Column("launch_date", "date"),
    ),
    key=("item_id",),
)

SHOPPERS = Table(
    "shoppers",
    (
        Column("shopper_id", "str", required=True),
        Column("child_birth_date", "date", not_future=True),
        Column("child_age_months", "int", minimum=0, maximum=1200),
        Column("as_of", "date", doc="the date child_age_months was true"),
        Column("child_gender", "str", choices=CHILD_GENDERS),
        Column("interests", "list", choices=FUNCTIONS),
        Column("region", "str"),
    ),
    key=("shopper_id",),
)

EVENTS = Table(
    "events",
    (
        Column("shopper_id", "str", required=True),
        Column("item_id", "str", required=True),
        Column("ts", "timestamp", required=True),
        Column("kind", "str", required=True, choices=EVENT_KINDS),
        Column("value", "float", doc="rating 1-5, purchased quantity, or empty"),
        Column("price_paid", "float", minimum=0.0),
    ),
    key=("shopper_id", "item_id", "ts", "kind"),
    foreign_keys=(ForeignKey("shopper_id", "shoppers"), ForeignKey("item_id", "items")),
)

SALES = Table(
    "sales",
    (
        Column("item_id", "str", required=True),
        Column("week", "date", required=True, doc="the Monday that starts the ISO week"),
        Column("units", "float", required=True, minimum=0.0),
        Column("revenue", "float", minimum=0.0),
        Column("price", "float", minimum=0.0),
        Column("promo", "bool"),
        Column("stock_on_hand", "float", minimum=0.0),
    ),
    key=("item_id", "week"),
    foreign_keys=(ForeignKey("item_id", "items"),),
)

SCHEMA: dict[str, Table] = {t.name: t for t in (ITEMS, SHOPPERS, EVENTS, SALES)}
TABLE_NAMES: tuple[str, ...] = tuple(SCHEMA)


def table(name: str) -> Table:
    """The table called ``name``; an unknown name lists the known ones."""
    from toyguide.errors import ToyGuideError

    try:
        return SCHEMA[name]
    except KeyError:
        raise ToyGuideError(f"unknown table '{name}'; known: {', '.join(TABLE_NAMES)}") from None
