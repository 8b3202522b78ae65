"""Read CSV, JSONL and Parquet files into raw frames with the line each row came from.

A raw frame keeps CSV values as strings (typing happens in :mod:`toyguide.data.parse`) and
carries a ``__line__`` column: the 1-based line the record starts on (CSV header = line 1;
JSONL first record = line 1; Parquet row number). Structural faults — invalid UTF-8, an empty
file, a ragged CSV row, a malformed JSON line — are reported as problems with their line.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from toyguide.errors import DataValidationError, Problem

__all__ = ["LINE", "REPORT_LIMIT", "file_format", "read_raw"]

LINE = "__line__"
REPORT_LIMIT = 20
_FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def file_format(path: Path) -> str:
    """'csv', 'jsonl' or 'parquet' from the file name (a trailing .gz is allowed for text)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        allowed = ", ".join(sorted(_FORMATS))
        raise DataValidationError(
            [Problem(str(path), None, None, f"unknown file type; expected one of {allowed}")]
        )
    return fmt


def read_raw(path: Path) -> pl.DataFrame:
    """The file's rows as a frame plus ``__line__``; raises DataValidationError on faults."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError([Problem(str(path), None, None, "file not found")])
    fmt = file_format(path)
    if fmt == "parquet":
        return _read_parquet(path)
    data = _read_bytes(path)
    _check_utf8(path, data)
    if not data.strip():
        raise DataValidationError([Problem(str(path), None, None, "file is empty")])
    return _read_csv(path, data) if fmt == "csv" else _read_jsonl(path, data)


def _read_bytes(path: Path) -> bytes:
    if path.suffix.lower() == ".gz":
        try:
            return gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as exc:
            raise DataValidationError(
                [Problem(str(path), None, None, f"bad gzip: {exc}")]
            ) from None
    return path.read_bytes()


def _check_utf8(path: Path, data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        reason = f"invalid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        raise DataValidationError([Problem(str(path), line, None, reason)]) from None


def _read_csv(path: Path, data: bytes) -> pl.DataFrame:
    header, start_lines, problems, total = _csv_structure(path, data)
    if problems:
        raise DataValidationError(problems, total)
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise DataValidationError([Problem(str(path), 1, dup[0], "column appears twice")])
    if not start_lines.size:
        frame = pl.DataFrame({h: pl.Series([], dtype=pl.String) for h in header})
    else:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
        if frame.height != start_lines.size:  # the two parsers must agree on what a record is
            reason = f"{frame.height} records read but {start_lines.size} found; check quoting"
            raise DataValidationError([Problem(str(path), None, None, reason)])
    frame = frame.with_columns(pl.Series(LINE, start_lines, dtype=pl.Int64))
    return frame.with_columns(pl.col(h).str.strip_chars().replace("", None) for h in header)


def _csv_structure(path: Path, data: bytes) -> tuple[list[str], np.ndarray, list[Problem], int]:
    """Header, the start line of every record, and ragged-row problems.

    Python's csv module is the reference parser here because it knows on which physical line
    a quoted multi-line record starts; Polars then reads the values fast.
    """
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), strict=True)
    problems: list[Problem] = []
    total = 0
    starts: list[int] = []
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        previous_end = reader.line_num
        for record in reader:
            if len(record) != len(header) and record:
                total += 1
                if len(problems) < REPORT_LIMIT:
                    reason = f"{len(record)} fields, the header has {len(header)}"
                    problems.append(Problem(str(path), previous_end + 1, None, reason))
            if record:
                starts.append(previous_end + 1)
            previous_end = reader.line_num
    except csv.Error as exc:
        problems.append(Problem(str(path), reader.line_num, None, f"malformed CSV: {exc}"))
        total += 1
        header = header if "header" in locals() else []
    return header, np.asarray(starts, dtype=np.int64), problems, total


def _read_jsonl(path: Path, data: bytes) -> pl.DataFrame:
    records: list[dict] = []
    lines: list[int] = []
    problems: list[Problem] = []
    total = 0
    for number, text in _numbered_lines(data):
        try:
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ValueError(f"expected a JSON object, got {type(value).__name__}")
        except ValueError as exc:
            total += 1
            if len(problems) < REPORT_LIMIT:
                problems.append(Problem(str(path), number, None, f"malformed JSON: {exc}"))
            continue
        records.append(value)
        lines.append(number)
    if problems:
        raise DataValidationError(problems, total)
    return _records_to_frame(records, lines)


def _numbered_lines(data: bytes) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(data.decode("utf-8").splitlines(), start=1):
        if raw.strip():
            yield number, raw


def _records_to_frame(records: list[dict], lines: list[int]) -> pl.DataFrame:
    """Columns of Python objects: scalars become strings (typed later), lists stay lists."""
    names: dict[str, None] = {}
    for r in records:
        names.update(dict.fromkeys(r))
    columns: dict[str, pl.Series] = {}
    for name in names:
        values = [r.get(name) for r in records]
        columns[name] = pl.Series(name, [_jsonl_cell(v) for v in values], dtype=pl.Object)
    frame = pl.DataFrame(columns) if columns else pl.DataFrame()
    return frame.with_columns(pl.Series(LINE, lines, dtype=pl.Int64))


def _jsonl_cell(value: object) -> object:
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float):
        return repr(value)
    return value  # dicts: reported as a wrong type by the parser


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # any Arrow/Polars decoding failure means the file is unreadable
        raise DataValidationError(
            [Problem(str(path), None, None, f"not a readable Parquet file: {exc}")]
        ) from None
    if frame.is_empty() and not frame.columns:
        raise DataValidationError([Problem(str(path), None, None, "file is empty")])
    return frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(LINE))
