"""Validate a raw frame against a table of the schema, all rows at once.

Every rule is a vectorised mask; the report keeps the first problems (by line) and the total
count, so a 10M-row file with one bad last row is rejected in seconds with that row named.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from toyguide.data.parse import EXPECTED, parse_column
from toyguide.data.readers import LINE, REPORT_LIMIT
from toyguide.data.schema import Column, Table
from toyguide.errors import DataValidationError, Problem

__all__ = ["Finding", "check_frame", "raise_if_any"]


@dataclass(frozen=True)
class RowRule:
    """A rule across fields of one row: ``bad`` is true where the row breaks it."""

    field: str
    bad: pl.Expr
    reason: str


ROW_RULES: dict[str, tuple[RowRule, ...]] = {
    "items": (
        RowRule(
            "age_max_months",
            pl.col("age_max_months") < pl.col("age_min_months"),
            "must be >= age_min_months",
        ),
    ),
    "shoppers": (
        RowRule(
            "as_of",
            pl.col("child_age_months").is_not_null() & pl.col("as_of").is_null(),
            "is required when child_age_months is given (the date that age was true)",
        ),
    ),
    "events": (
        RowRule(
            "value",
            (pl.col("kind") == "rating")
            & (pl.col("value").is_null() | ~pl.col("value").is_between(1, 5)),
            "a rating needs a value from 1 to 5",
        ),
        RowRule(
            "value",
            (pl.col("kind") == "purchase") & (pl.col("value") <= 0),
            "a purchase's value is the quantity and must be > 0",
        ),
        RowRule(
            "value",
            pl.col("kind").is_in(["view", "click", "cart"]) & (pl.col("value") < 0),
            "must be >= 0",
        ),
    ),
    "sales": (
        RowRule("week", pl.col("week").dt.weekday() != 1, "must be a Monday (start of the week)"),
    ),
}


@dataclass
class Finding:
    """All rows breaking one check: their lines (first few) and how many there are."""

    field: str | None
    reason_by_line: list[tuple[int, str]]
    count: int


def check_frame(raw: pl.DataFrame, table: Table, source: str) -> tuple[pl.DataFrame, list[Finding]]:
    """The raw rows in the table's types, and what is wrong with them.

    Missing or unknown columns raise at once; cell and row problems come back as findings so
    that the caller can add its own (foreign keys) and report everything together. Unreadable
    cells are null in the typed frame. The frame keeps ``__line__``.
    """
    _check_columns(raw, table, source)
    typed_cols, findings, unreadable = [], [], {}
    for column in table.columns:
        series = raw[column.name] if column.name in raw.columns else None
        if series is None:
            typed_cols.append(pl.Series(column.name, [None] * raw.height, column.polars_dtype))
            continue
        typed, bad = parse_column(series, column)
        findings.append(_cell_finding(raw, series, bad, column))
        typed_cols.append(typed)
        unreadable[column.name] = bad
    typed = pl.DataFrame(typed_cols).with_columns(raw[LINE])
    findings += _value_findings(typed, table, unreadable)
    findings += _row_rule_findings(typed, table)
    findings.append(_duplicate_key_finding(typed, table))
    return typed, findings


def raise_if_any(findings: list[Finding], source: str) -> None:
    total = sum(f.count for f in findings)
    if not total:
        return
    problems = [
        Problem(source, line, f.field, reason)
        for f in findings
        for line, reason in f.reason_by_line
    ]
    problems.sort(key=lambda p: (p.line or 0, p.field or ""))
    raise DataValidationError(problems[:REPORT_LIMIT], total)


def _check_columns(raw: pl.DataFrame, table: Table, source: str) -> None:
    present = [c for c in raw.columns if c != LINE]
    allowed = table.column_names
    problems = [
        Problem(source, None, c, f"unknown column; {table.name} allows {', '.join(allowed)}")
        for c in present
        if c not in allowed
    ]
    problems += [
        Problem(source, None, c.name, "required column is missing")
        for c in table.columns
        if c.required and c.name not in present
    ]
    if problems:
        raise DataValidationError(problems)


def _finding(frame: pl.DataFrame, mask: pl.Series, field: str, reason: pl.Expr) -> Finding:
    hits = frame.filter(mask)
    count = hits.height
    head = hits.head(REPORT_LIMIT).select(LINE, reason.alias("reason"))
    return Finding(field, list(head.iter_rows()), count)


def _shown(value: pl.Expr) -> pl.Expr:
    return pl.lit("'") + value.cast(pl.String).str.slice(0, 60) + pl.lit("'")


def _cell_finding(raw: pl.DataFrame, series: pl.Series, bad: pl.Series, col: Column) -> Finding:
    if series.dtype == pl.Object:  # JSON arrays/objects in a scalar field or vice versa
        frame = raw.select(LINE).with_columns(pl.Series("v", [str(v) for v in series]))
    elif series.dtype in (pl.String,) or series.dtype.is_numeric():
        frame = raw.select(LINE).with_columns(series.cast(pl.String).alias("v"))
    else:
        frame = raw.select(LINE).with_columns(pl.lit(str(series.dtype)).alias("v"))
    reason = pl.lit(f"expected {EXPECTED[col.kind]}, got ") + _shown(pl.col("v"))
    return _finding(frame, bad, col.name, reason)


def _value_findings(
    typed: pl.DataFrame, table: Table, unreadable: dict[str, pl.Series]
) -> list[Finding]:
    findings = []
    for col in table.columns:
        c = pl.col(col.name)
        checks: list[tuple[pl.Expr, pl.Expr]] = []
        if col.required:  # an unreadable cell is already reported as such
            was_read = ~unreadable[col.name] if col.name in unreadable else pl.lit(True)
            checks.append((c.is_null() & was_read, pl.lit("is required")))
        if col.choices and col.kind == "str":
            checks.append((~c.is_in(col.choices), _choice_reason(c, col)))
        if col.choices and col.kind == "list":
            unknown = c.list.eval(pl.element().filter(~pl.element().is_in(col.choices)))
            checks.append((unknown.list.len() > 0, _choice_reason(unknown.list.first(), col)))
        if col.minimum is not None:
            checks.append((c < col.minimum, _shown(c) + pl.lit(f" is below {col.minimum:g}")))
        if col.maximum is not None:
            checks.append((c > col.maximum, _shown(c) + pl.lit(f" is above {col.maximum:g}")))
        if col.not_future:
            checks.append((c > dt.date.today(), _shown(c) + pl.lit(" is in the future")))
        for bad, reason in checks:
            mask = typed.select(bad.fill_null(False)).to_series()
            findings.append(_finding(typed, mask, col.name, reason))
    return findings


def _choice_reason(value: pl.Expr, col: Column) -> pl.Expr:
    return _shown(value) + pl.lit(f" is not one of {', '.join(col.choices or ())}")


def _row_rule_findings(typed: pl.DataFrame, table: Table) -> list[Finding]:
    findings = []
    for rule in ROW_RULES.get(table.name, ()):
        mask = typed.select(rule.bad.fill_null(False)).to_series()
        findings.append(_finding(typed, mask, rule.field, pl.lit(rule.reason)))
    return findings


def _duplicate_key_finding(typed: pl.DataFrame, table: Table) -> Finding:
    key = list(table.key)
    first = pl.col(LINE).min().over(key)
    frame = typed.select(*key, LINE, first.alias("first"))
    mask = frame.select(pl.col(LINE) != pl.col("first")).to_series()
    reason = pl.lit(f"duplicate key ({', '.join(key)}); first seen on line ") + pl.col(
        "first"
    ).cast(pl.String)
    return _finding(frame, mask, ",".join(key), reason)
