"""The weight of the item neighbours beside the preference model, chosen on validation.

Leave-one-out as every preference row: the neighbours are fitted on the events each split may
see (before the validation target to choose the weight, before the test target to test it, all
events for serving), the weight is the one with the best validation NDCG@10, and weight 0 (the
model alone) is always a candidate, so attaching neighbours never lowers the validation metric.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from toyguide.evaluation.protocols import ranking_metrics, target_ranks
from toyguide.features.neighbours import ItemNeighbours, fit_neighbours

__all__ = [
    "NEIGHBOUR_WEIGHTS", "attach_neighbours", "split_ends", "split_neighbours", "weight_curve",
]  # fmt: skip

# log-probability units per unit of the row-normalised neighbour score
NEIGHBOUR_WEIGHTS = (0.0, 1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0)
_METRIC = "next_item/ndcg@10"


@torch.no_grad()
def weight_curve(
    model: Any, stream: Any, neighbours: ItemNeighbours, split: str = "validation"
) -> dict[float, float]:
    """NDCG@10 on ``split`` of the model's log-probabilities plus each weight × neighbours
    (the model runs once per batch, whatever the number of weights)."""
    was, kept = model.training, model.neighbours
    model.eval()
    model.neighbours = None
    ranks: dict[float, list[np.ndarray]] = {w: [] for w in NEIGHBOUR_WEIGHTS}
    try:
        for batch in stream.eval_batches(split):
            log_probs = torch.log_softmax(model.predict("preference", batch), -1)
            extra = torch.from_numpy(neighbours.scores(batch["seq_items"].numpy()))
            for w in NEIGHBOUR_WEIGHTS:
                ranks[w].append(target_ranks(log_probs + w * extra.to(log_probs.dtype), batch))
    finally:
        model.train(was)
        model.neighbours = kept
    return {w: ranking_metrics("next_item", np.concatenate(r))[_METRIC] for w, r in ranks.items()}


def attach_neighbours(model: Any, data: Any, stream: Any, k: int, threads: int = 1) -> dict:
    """Choose the weight on validation and attach the neighbours the test may see
    (``model.neighbours``); returns the choice's record for metrics.json."""
    curve = weight_curve(model, stream, split_neighbours(data, "validation", k, 0.0, threads))
    weight = max(curve, key=lambda w: (curve[w], -w))  # ties: the smaller weight
    model.neighbours = split_neighbours(data, "test", k, weight, threads)
    return {"k": k, "weight": weight,
            "validation_ndcg@10": {str(w): v for w, v in curve.items()}}  # fmt: skip


def split_neighbours(
    data: Any, split: str, k: int, weight: float, threads: int = 1
) -> ItemNeighbours:
    """Neighbours fitted on the events ``split`` may see (see :func:`split_ends`)."""
    ends = split_ends(data, split)
    return fit_neighbours(data.sequences, ends, data.n_items, k, threads).with_weight(weight)


def split_ends(data: Any, split: str) -> np.ndarray:
    """Each shopper row's exclusive end of the events ``split`` may see: before the validation
    target ("validation"), through it ("test"), or every event ("serving")."""
    loo = data.of("preference").loo
    if split == "validation":
        return loo.train_end
    if split == "test":
        return np.where(loo.validation >= 0, loo.validation + 1, loo.train_end)
    if split == "serving":
        return data.sequences.offsets[1:]
    raise ValueError(f"unknown split {split!r}; expected validation, test or serving")
