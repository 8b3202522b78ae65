"""The shop's shoppers grouped by the profile head's predicted segment (age band · gender ·
main interest), largest first: what the merchant's overview shows of its customers."""

from __future__ import annotations

import numpy as np
import polars as pl
import torch

from toyguide.data.taxonomy import AGE_BANDS, CHILD_GENDERS, FUNCTIONS
from toyguide.features.streams import sequence_batch
from toyguide.guide.loaded import LoadedModel
from toyguide.guide.views import Segment

__all__ = ["predicted_segments"]

CHUNK = 512  # shoppers per forward pass


@torch.no_grad()
def predicted_segments(loaded: LoadedModel) -> list[Segment]:
    """Every shopper with events, by predicted segment, with the segment's share and mean
    number of events."""
    seqs, max_len = loaded.data.sequences, loaded.config.features.max_len
    rows = np.flatnonzero(np.diff(seqs.offsets) > 0)
    labels: list[str] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        batch, _, _ = sequence_batch(seqs, chunk, seqs.offsets[chunk + 1], max_len)
        outputs = loaded.task_outputs("profile", lambda m, b=batch: m.profile_outputs(b))
        labels += _segment_labels(outputs)
    events = np.diff(seqs.offsets)[rows]
    grouped = (
        pl.DataFrame({"segment": labels, "events": events})
        .group_by("segment")
        .agg(pl.len().alias("shoppers"), pl.col("events").mean().alias("mean_events"))
        .sort(["shoppers", "segment"], descending=[True, False])
    )
    total = max(len(rows), 1)
    return [
        Segment(r["segment"], r["shoppers"], round(r["shoppers"] / total, 4),
                round(r["mean_events"], 2))
        for r in grouped.iter_rows(named=True)
    ]  # fmt: skip


def _segment_labels(out: dict[str, torch.Tensor]) -> list[str]:
    age, gender = out["age_band"].argmax(-1).tolist(), out["gender"].argmax(-1).tolist()
    interest = out["interests"].argmax(-1).tolist()
    return [f"{AGE_BANDS[a].name} · {CHILD_GENDERS[g]} · {FUNCTIONS[i]}"
            for a, g, i in zip(age, gender, interest, strict=True)]  # fmt: skip
