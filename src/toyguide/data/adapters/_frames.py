"""Helpers the dataset adapters share: canonical frames, typed columns and problem reports.

Every adapter reads a different source, but all must hand back frames that match
:mod:`toyguide.data.schema` exactly and reject a bad file with one DataValidationError naming
file, line and field. Keeping those rules in one place keeps the adapters' output and errors
alike. The leading underscore keeps this module out of the adapter registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from toyguide.data.parse import EXPECTED, parse_column
from toyguide.data.readers import LINE, REPORT_LIMIT
from toyguide.data.schema import SCHEMA, Column
from toyguide.errors import DataValidationError, Problem

__all__ = ["Problems", "canonical", "parsed_column", "raise_where"]


def canonical(table: str, columns: pl.DataFrame | dict[str, object]) -> pl.DataFrame:
    """A frame with exactly the table's columns, order and dtypes; absent ones are typed nulls.

    Sources lack different columns (no prices, no titles), yet the store takes each table in
    one schema, so what a source does not have is stored as null rather than left out.
    """
    frame = columns if isinstance(columns, pl.DataFrame) else pl.DataFrame(columns)
    return frame.select(
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in SCHEMA[table].polars_schema.items()
    )


@dataclass
class Problems:
    """What is wrong with one file, gathered so that one rejection reports all of it.

    Every problem is counted, but only the REPORT_LIMIT earliest lines are kept (problems of
    the whole file, without a line, after them): a file with thousands of bad rows still gets
    a short report that starts at its first fault, whichever rule found it.
    """

    path: Path
    found: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, line: int | None, field_name: str | None, reason: str) -> None:
        """One problem; ``line`` None means the whole file, ``field_name`` None the whole row."""
        self._keep([Problem(str(self.path), line, field_name, reason)], count=1)

    def add_rows(
        self,
        frame: pl.DataFrame,
        bad: pl.Series | pl.Expr,
        field_name: str,
        reason: str,
        *,
        none_as: str = "nothing",
    ) -> None:
        """Every row of ``frame`` (which has ``LINE``) where ``bad`` holds, with its value.

        A null in ``bad`` counts as bad: a rule that cannot be evaluated on a row has not
        been met. ``none_as`` is how a missing value is shown after "got".
        """
        hits = frame.filter(bad.fill_null(True)).select(LINE, field_name)
        problems = [
            Problem(str(self.path), line, field_name, f"{reason}, got {_shown(value, none_as)}")
            for line, value in hits.head(REPORT_LIMIT).iter_rows()
        ]
        self._keep(problems, count=hits.height)

    def raise_if_any(self) -> None:
        """Reject the file if anything was found, with the total beside the problems kept."""
        if self.total:
            raise DataValidationError(self.found, self.total)

    def _keep(self, problems: list[Problem], count: int) -> None:
        self.total += count
        self.found = sorted([*self.found, *problems], key=_line_order)[:REPORT_LIMIT]


def raise_where(
    frame: pl.DataFrame, bad: pl.Series | pl.Expr, field_name: str, reason: str, path: Path
) -> None:
    """Reject the file if any row is ``bad``, naming the first rows' lines and values."""
    problems = Problems(path)
    problems.add_rows(frame, bad, field_name, reason)
    problems.raise_if_any()


def parsed_column(raw: pl.DataFrame, column: Column, path: Path) -> pl.Series:
    """``column`` of the raw string frame in its schema type, validated at the boundary.

    An unreadable cell rejects the file, and so does an empty one when the column is required:
    later steps then never see a value they cannot trust.
    """
    values, unreadable = parse_column(raw[column.name], column)
    bad = (unreadable | values.is_null()) if column.required else unreadable
    raise_where(raw, bad, column.name, f"expected {EXPECTED[column.kind]}", path)
    return values


def _line_order(problem: Problem) -> tuple[bool, int]:
    return problem.line is None, problem.line or 0


def _shown(value: object, none_as: str) -> str:
    return none_as if value is None else repr(value)[:40]
