"""Amazon "Toys and Games" 5-core, as preprocessed by S3-Rec (CIKM 2020), as toyguide tables.

Source: ``../shared/data/amazon-toys-5core`` (see its SOURCE.md). We read the S3-Rec sequences
(``Toys_and_Games.txt``), the S3-Rec item attributes and the crosswalk to Amazon ASINs.

* shoppers: one per S3-Rec user, ``shopper_id = "U<n>"`` where ``n`` is the S3-Rec user id, so
  the benchmark's user numbering is recoverable by stripping the ``U``.
* items: ``item_id`` = ASIN (via ``item_id_crosswalk.tsv``); ``categories`` = the item's
  anonymised attribute ids as ``"attr:<id>"`` (duplicates dropped, first-seen order kept).
  Attribute names were never published, so no taxonomy ``functions`` can be derived (null).
* events: one ``purchase`` (value 1.0) per review, in sequence order. There are no timestamps:
  ``ts`` = 1970-01-01 + the 0-based position in the user's sequence, in seconds.

The S3-Rec item id is not stored: it is the crosswalk's ``s3rec_item_id``, and equally the rank
of an item's first appearance when events are ordered by (user number, ts) (S3-Rec assigned
item ids in order of first appearance; the tests check this).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from toyguide.data.adapters import ADAPTERS, AdapterResult
from toyguide.data.adapters._frames import Problems, canonical
from toyguide.errors import DataValidationError, Problem

__all__ = ["SEQUENCE_EPOCH", "amazon_toys"]

SEQUENCES = "Toys_and_Games.txt"
ATTRIBUTES = "Toys_and_Games_item2attributes.json"
CROSSWALK = "item_id_crosswalk.tsv"
CROSSWALK_HEADER = ("s3rec_item_id", "p5_item_id", "asin")
SEQUENCE_EPOCH = dt.datetime(1970, 1, 1)
"""``ts`` of the first event of every sequence; the k-th event (0-based) is k seconds later."""

_POSITIVE_INT = re.compile(r"[1-9][0-9]*")
_ASIN = re.compile(r"[0-9A-Z]{10}")


@dataclass
class _Sequences:
    """The S3-Rec sequences flattened into event columns."""

    users: list[int] = field(default_factory=list)
    user_col: list[int] = field(default_factory=list)
    item_col: list[int] = field(default_factory=list)
    position_col: list[int] = field(default_factory=list)
    repeated_items: int = 0


@ADAPTERS.register("amazon-toys")
def amazon_toys(source: Path) -> AdapterResult:
    """Shoppers, items and purchase events of the Toys & Games 5-core (S3-Rec ids)."""
    source = Path(source)
    asins = _read_crosswalk(source / CROSSWALK)
    attributes = _read_attributes(source / ATTRIBUTES, asins)
    seqs = _read_sequences(source / SEQUENCES, asins)
    items = _items_frame(asins, attributes)
    frames = {
        "items": items,
        "shoppers": canonical("shoppers", {"shopper_id": [f"U{u}" for u in seqs.users]}),
        "events": _events_frame(seqs, asins),
    }
    counts = {
        "shoppers": len(seqs.users),
        "items": items.height,
        "events": len(seqs.item_col),
        "items_with_attributes": len(attributes),
        "duplicate_attributes_dropped": sum(len(v) - len(set(v)) for v in attributes.values()),
        "repeated_user_items": seqs.repeated_items,
        "max_sequence_length": max(seqs.position_col) + 1 if seqs.position_col else 0,
    }
    return AdapterResult(frames, counts, _NOTES)


_NOTES = [
    "shopper_id is 'U<n>' with n the S3-Rec user id (Toys_and_Games.txt, first column).",
    "item_id is the Amazon ASIN from item_id_crosswalk.tsv; the S3-Rec item id is the "
    "crosswalk's s3rec_item_id, and also the rank of first appearance when events are ordered "
    "by (user number, ts).",
    "every review is a 'purchase' with value 1.0; no prices, ratings or review text exist.",
    "no timestamps exist: ts = 1970-01-01T00:00:00 + the 0-based position in the user's "
    "sequence in seconds, so sorting a shopper's events by ts gives the S3-Rec order; "
    "leave-one-out: last = test, second-last = validation. ts carries order only: do not use "
    "it for calendar features, time gaps, global time splits or weekly sales.",
    "categories are the anonymised S3-Rec attribute ids ('attr:<id>', built by S3-Rec from "
    "brand and Amazon category path; attr:2 is the root 'Toys & Games'); repeated ids within "
    "an item are dropped. No names exist, so functions (taxonomy) are null, not [].",
    "title, description, brand, price, ages, gender and launch date are not in this dataset.",
]


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataValidationError([Problem(str(path), None, None, "file not found")])
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataValidationError([Problem(str(path), line, None, "invalid UTF-8")]) from None
    if not text.strip():
        raise DataValidationError([Problem(str(path), None, None, "file is empty")])
    return text


def _read_crosswalk(path: Path) -> dict[int, str]:
    """S3-Rec item id → ASIN, from the tab-separated crosswalk (header on line 1)."""
    lines = _read_text(path).splitlines()
    problems = Problems(path)
    if tuple(lines[0].split("\t")) != CROSSWALK_HEADER:
        problems.add(1, None, f"header must be {'<TAB>'.join(CROSSWALK_HEADER)}")
        problems.raise_if_any()
    asins: dict[int, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(CROSSWALK_HEADER):
            problems.add(number, None, f"{len(fields)} fields, the header has 3")
        elif not _POSITIVE_INT.fullmatch(fields[0]):
            problems.add(number, "s3rec_item_id", f"expected a positive integer, got {fields[0]!r}")
        elif not _ASIN.fullmatch(fields[2]):
            problems.add(number, "asin", f"expected 10 letters/digits, got {fields[2]!r}")
        elif int(fields[0]) in asins:
            problems.add(number, "s3rec_item_id", f"{fields[0]} appears twice")
        else:
            asins[int(fields[0])] = fields[2]
    if len(set(asins.values())) != len(asins):
        problems.add(None, "asin", "an ASIN is mapped from two S3-Rec item ids")
    problems.raise_if_any()
    return asins


def _read_attributes(path: Path, asins: dict[int, str]) -> dict[int, list[int]]:
    """S3-Rec item id → attribute ids, from one JSON object ``{"<item>": [attr, ...]}``."""
    try:
        raw = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise DataValidationError([Problem(str(path), exc.lineno, None, exc.msg)]) from None
    problems = Problems(path)
    if not isinstance(raw, dict):
        problems.add(None, None, "expected one JSON object mapping item ids to attribute lists")
        problems.raise_if_any()
    attributes: dict[int, list[int]] = {}
    for key, values in raw.items():
        ok_key = _POSITIVE_INT.fullmatch(key) is not None and int(key) in asins
        ok_values = isinstance(values, list) and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values
        )
        if not ok_key:
            problems.add(None, key, "not an S3-Rec item id listed in the crosswalk")
        elif not ok_values:
            problems.add(None, key, f"expected a list of positive integers, got {values!r:.60}")
        else:
            attributes[int(key)] = values
    problems.raise_if_any()
    return attributes


def _read_sequences(path: Path, asins: dict[int, str]) -> _Sequences:
    """``user item item ...`` per line, items oldest first, flattened in file order."""
    problems = Problems(path)
    seqs = _Sequences()
    seen_users: set[int] = set()
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        ids = _line_ids(line, number, problems, asins)
        if ids is None:
            continue
        user, items = ids[0], ids[1:]
        if user in seen_users:
            problems.add(number, "user_id", f"user {user} already has a sequence")
            continue
        seen_users.add(user)
        seqs.users.append(user)
        seqs.user_col.extend([user] * len(items))
        seqs.item_col.extend(items)
        seqs.position_col.extend(range(len(items)))
        seqs.repeated_items += len(items) - len(set(items))
    problems.raise_if_any()
    return seqs


def _line_ids(
    line: str, number: int, problems: Problems, asins: dict[int, str]
) -> list[int] | None:
    """The integer ids on one sequence line, or None after recording why it is unusable."""
    tokens = line.split()
    if len(tokens) < 2:
        problems.add(number, None, "expected 'user_id item_id [item_id ...]'")
        return None
    for i, token in enumerate(tokens):
        name = "user_id" if i == 0 else "item_id"
        if not _POSITIVE_INT.fullmatch(token):
            problems.add(number, name, f"expected a positive integer, got {token!r:.30}")
            return None
        if i and int(token) not in asins:
            problems.add(number, name, f"item {token} is not in {CROSSWALK}")
            return None
    return [int(t) for t in tokens]


def _items_frame(asins: dict[int, str], attributes: dict[int, list[int]]) -> pl.DataFrame:
    ids = sorted(asins)  # S3-Rec item id order
    categories = [
        [f"attr:{a}" for a in dict.fromkeys(attributes[i])] if i in attributes else None
        for i in ids
    ]
    return canonical("items", {"item_id": [asins[i] for i in ids], "categories": categories})


def _events_frame(seqs: _Sequences, asins: dict[int, str]) -> pl.DataFrame:
    n = len(seqs.item_col)
    frame = pl.DataFrame(
        {
            "shopper_id": [f"U{u}" for u in seqs.user_col],
            "item_id": [asins[i] for i in seqs.item_col],
            "position": pl.Series(seqs.position_col, dtype=pl.Int64),
            "kind": ["purchase"] * n,
            "value": [1.0] * n,
        }
    )
    ts = pl.lit(SEQUENCE_EPOCH, pl.Datetime("us")) + pl.duration(seconds=pl.col("position"))
    return canonical("events", frame.with_columns(ts.alias("ts")))
