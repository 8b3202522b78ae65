"""Shoppers' event sequences in CSR form, and the leave-one-out next-item data read from them.

``build_sequences`` turns the events table into per-shopper arrays sorted by time (a run of
events on one item collapsed to one step); the preference task's examples and the profile task's
input windows are cut from these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from toyguide.data.taxonomy import EVENT_KINDS
from toyguide.features import splits
from toyguide.features.vocab import Vocabulary

if TYPE_CHECKING:
    from toyguide.features.data import FeatureConfig

__all__ = ["EventSequences", "PreferenceData", "build_preference", "build_sequences"]

_US_PER_HOUR = 3_600_000_000


@dataclass(frozen=True)
class EventSequences:
    """All events in CSR form: shopper row s owns events ``offsets[s]:offsets[s+1]``, sorted by
    time (ties in funnel order). Shopper rows are shopper-vocabulary indices; row 0 is empty."""

    offsets: np.ndarray  # [S+2] int64 (S+1 shopper rows, row 0 included)
    items: np.ndarray  # [E] int32 item rows (0 = unknown item)
    kinds: np.ndarray  # [E] int8, 1..5 = EVENT_KINDS index + 1
    gaps: np.ndarray  # [E] int8 log2 bucket of hours since the shopper's previous event
    ts: np.ndarray  # [E] int64 microseconds since 1970
    is_target: np.ndarray  # [E] bool: kind in config.target_kinds and the item is known
    next_target: np.ndarray  # [E] int32: the next event's item if that is a target, else 0


def build_sequences(
    events: pl.DataFrame, shoppers: Vocabulary, items: Vocabulary, config: FeatureConfig
) -> EventSequences:
    frame = (
        pl.DataFrame(
            {
                "s": shoppers.transform(events["shopper_id"]),
                "i": items.transform(events["item_id"]),
                "k": Vocabulary(EVENT_KINDS).transform(events["kind"]),
                "t": events["ts"].dt.epoch("us"),
            }
        )
        .filter(pl.col("s") > 0)
        .sort(["s", "t", "k", "i"])  # the item breaks exact ties, so the order is total
    )
    if config.collapse_repeats:
        frame = _collapse_repeats(frame)
    s, i, k, t = (frame[c].to_numpy() for c in ("s", "i", "k", "t"))
    offsets = np.zeros(len(shoppers) + 1, dtype=np.int64)
    np.cumsum(np.bincount(s, minlength=len(shoppers)), out=offsets[1:])
    same = np.zeros(len(s), dtype=bool)
    same[1:] = s[1:] == s[:-1]
    hours = np.diff(t, prepend=t[:1]).clip(min=0) / _US_PER_HOUR
    gaps = np.where(same, np.minimum(np.log2(1 + hours), config.gap_buckets - 1), 0).astype(np.int8)
    target_codes = [EVENT_KINDS.index(kind) + 1 for kind in config.target_kinds]
    is_target = np.isin(k, target_codes) & (i > 0)
    next_target = np.zeros(len(s), dtype=np.int32)
    next_target[:-1] = np.where(same[1:] & is_target[1:], i[1:], 0)
    return EventSequences(
        offsets=offsets,
        items=i.astype(np.int32),
        kinds=k.astype(np.int8),
        gaps=gaps,
        ts=t,
        is_target=is_target,
        next_target=next_target,
    )


_RATING = EVENT_KINDS.index("rating") + 1


def _collapse_repeats(frame: pl.DataFrame) -> pl.DataFrame:
    """One step per run of a shopper's consecutive events on the same item, with the furthest
    funnel kind reached (view < click < cart < purchase) and the run's first time. Without this
    "the next item" is mostly the item just viewed, which any model predicts by copying. Ratings
    stay steps of their own: they are feedback, not a further funnel stage."""
    new_run = (
        (pl.col("s") != pl.col("s").shift())
        | (pl.col("i") != pl.col("i").shift())
        | (pl.col("k") == _RATING)
        | (pl.col("k").shift() == _RATING)
    ).fill_null(True)
    return (
        frame.with_columns(new_run.cum_sum().alias("run"))
        .group_by("run", maintain_order=True)
        .agg(pl.col("s").first(), pl.col("i").first(), pl.col("k").max(), pl.col("t").first())
        .drop("run")
    )


@dataclass(frozen=True)
class PreferenceData:
    loo: splits.LeaveOneOut
    train_shoppers: np.ndarray  # shopper rows with at least one training target
    eval_shoppers: np.ndarray  # shopper rows with validation and test targets


def build_preference(seqs: EventSequences, loo: splits.LeaveOneOut) -> PreferenceData:
    starts = seqs.offsets[:-1]
    has_next = np.concatenate([[0], np.cumsum(seqs.next_target > 0)])
    # targets at positions start..train_end-2: the last training event's next one is held out
    n_targets = has_next[np.maximum(loo.train_end - 1, starts)] - has_next[starts]
    return PreferenceData(loo, np.flatnonzero(n_targets > 0), np.flatnonzero(loo.held_out))
