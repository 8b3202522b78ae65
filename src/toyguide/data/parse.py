"""Turn raw columns (CSV strings, JSONL objects, Parquet types) into the schema's types.

Each parser returns the typed series and a mask of cells that could not be read, so that the
whole file is checked in a few vectorised passes and every bad cell can be reported.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from toyguide.data.schema import Column

__all__ = ["EXPECTED", "parse_column"]

LIST_SEPARATOR = "|"

EXPECTED: dict[str, str] = {
    "str": "text",
    "int": "a whole number",
    "float": "a finite number",
    "bool": "true or false",
    "date": "an ISO 8601 date (YYYY-MM-DD)",
    "timestamp": "an ISO 8601 timestamp (YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM])",
    "list": f"a list ('{LIST_SEPARATOR}'-separated in CSV, an array of strings in JSON)",
}

_NAIVE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
)
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


def parse_column(series: pl.Series, column: Column) -> tuple[pl.Series, pl.Series]:
    """``(typed, bad)``: the column in its schema type and a mask of unreadable cells."""
    if series.dtype == pl.Object:
        series, bad_object = _from_objects(series, column)
    else:
        bad_object = pl.Series(series.name, [False] * len(series))
    parser = _PARSERS[column.kind]
    typed = parser(series)
    bad = (series.is_not_null() & typed.is_null()) | bad_object
    return typed.alias(column.name), bad.alias(column.name)


def _from_objects(series: pl.Series, column: Column) -> tuple[pl.Series, pl.Series]:
    """JSONL cells: scalars arrive as strings, arrays as lists; anything else is a bad cell."""
    want_list = column.kind == "list"
    values, bad = [], []
    for v in series.to_list():
        ok = v is None or (
            isinstance(v, list) and all(isinstance(x, str) for x in v)
            if want_list
            else isinstance(v, str)
        )
        values.append(v if ok else None)
        bad.append(not ok)
    dtype = pl.List(pl.String) if want_list else pl.String
    return pl.Series(series.name, values, dtype=dtype), pl.Series(series.name, bad)


def _str(s: pl.Series) -> pl.Series:
    return s if s.dtype == pl.String else s.cast(pl.String, strict=False)


def _int(s: pl.Series) -> pl.Series:
    if s.dtype.is_float():
        whole = s.is_finite() & (s == s.round(0))
        return pl.select(pl.when(whole).then(s).cast(pl.Int64, strict=False)).to_series()
    return s.cast(pl.Int64, strict=False)


def _float(s: pl.Series) -> pl.Series:
    f = s.cast(pl.Float64, strict=False)
    return pl.select(pl.when(f.is_finite()).then(f)).to_series()


def _bool(s: pl.Series) -> pl.Series:
    if s.dtype == pl.Boolean:
        return s
    if s.dtype.is_integer():
        return pl.select(pl.when(s.is_in([0, 1])).then(s == 1)).to_series()
    low = _str(s).str.to_lowercase()
    return pl.select(
        pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
    ).to_series()


def _date(s: pl.Series) -> pl.Series:
    if s.dtype == pl.Date:
        return s
    if isinstance(s.dtype, pl.Datetime):
        return s.dt.date()
    return _str(s).str.to_date("%Y-%m-%d", strict=False)


def _timestamp(s: pl.Series) -> pl.Series:
    if isinstance(s.dtype, pl.Datetime):
        if s.dtype.time_zone is not None:  # type: ignore[union-attr]
            s = s.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return s.cast(pl.Datetime("us"))
    if s.dtype == pl.Date:
        return s.cast(pl.Datetime("us"))
    text = _str(s)
    tries = [text.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_FORMATS]
    tries += [
        text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC").dt.replace_time_zone(
            None
        )
        for f in _AWARE_FORMATS
    ]
    tries.append(text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")))
    return pl.select(pl.coalesce(tries)).to_series()


def _list(s: pl.Series) -> pl.Series:
    if s.dtype == pl.List(pl.String):
        return s.list.eval(pl.element().str.strip_chars()).list.eval(
            pl.element().filter(pl.element() != "")
        )
    if s.dtype != pl.String:
        return pl.Series(s.name, [None] * len(s), dtype=pl.List(pl.String))
    parts = s.str.split(LIST_SEPARATOR).list.eval(pl.element().str.strip_chars())
    return parts.list.eval(pl.element().filter(pl.element() != ""))


_PARSERS: dict[str, Callable[[pl.Series], pl.Series]] = {
    "str": _str,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "date": _date,
    "timestamp": _timestamp,
    "list": _list,
}
