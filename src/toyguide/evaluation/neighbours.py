"""The weight of the item neighbours beside the preference model, chosen on validation.

Leave-one-out as every preference row: the neighbours are fitted on the events each split may
see (before the validation target to choose the weight, before the test target to test it, all
events for serving), the weight and the recency decay of a shopper's toys are the pair with the
best validation NDCG@10, and weight 0 (the model alone) is always a candidate, so attaching
neighbours never lowers the validation metric.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from toyguide.evaluation.protocols import ranking_metrics, target_ranks
from toyguide.features.neighbours import ItemNeighbours, fit_neighbours

__all__ = [
    "NEIGHBOUR_DECAYS", "NEIGHBOUR_WEIGHTS", "attach_neighbours", "split_ends",
    "split_neighbours", "weight_curve",
]  # fmt: skip

# log-probability units per unit of the row-normalised neighbour score
NEIGHBOUR_WEIGHTS = (0.0, 1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0)
# a shopper's toy counts decay^(events after it); 1 = all alike. Amazon Toys, item-kNN alone,
# validation NDCG@10: 0.0516 at 1.0, 0.0563 at 0.9, 0.0582 at 0.8, 0.0590 at 0.7 and 0.6
NEIGHBOUR_DECAYS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
_METRIC = "next_item/ndcg@10"


@torch.no_grad()
def weight_curve(
    model: Any, stream: Any, neighbours: ItemNeighbours, split: str = "validation"
) -> dict[tuple[float, float], float]:
    """NDCG@10 on ``split`` of the model's log-probabilities plus weight × neighbours for
    each (decay, weight) pair (the model runs once per batch, whatever the number of pairs)."""
    was, kept = model.training, model.neighbours
    model.eval()
    model.neighbours = None
    pairs = [(d, w) for d in NEIGHBOUR_DECAYS for w in NEIGHBOUR_WEIGHTS]
    ranks: dict[tuple[float, float], list[np.ndarray]] = {pair: [] for pair in pairs}
    try:
        for batch in stream.eval_batches(split):
            log_probs = torch.log_softmax(model.predict("preference", batch), -1)
            items = batch["seq_items"].numpy()
            for decay in NEIGHBOUR_DECAYS:
                extra = neighbours.with_weight(0.0, decay).scores(items)
                extra = torch.from_numpy(extra).to(log_probs.dtype)
                for w in NEIGHBOUR_WEIGHTS:
                    ranks[decay, w].append(target_ranks(log_probs + w * extra, batch))
    finally:
        model.train(was)
        model.neighbours = kept
    return {pair: ranking_metrics("next_item", np.concatenate(r))[_METRIC]
            for pair, r in ranks.items()}  # fmt: skip


def attach_neighbours(model: Any, data: Any, stream: Any, k: int, threads: int = 1) -> dict:
    """Choose the weight and decay on validation and attach the neighbours the test may see
    (``model.neighbours``); returns the choice's record for metrics.json."""
    curve = weight_curve(model, stream, split_neighbours(data, "validation", k, 0.0, threads))
    # ties: the smaller weight, then the decay nearest 1 (every toy alike)
    decay, weight = max(curve, key=lambda p: (curve[p], -p[1], p[0]))
    model.neighbours = split_neighbours(data, "test", k, weight, threads, decay)
    return {"k": k, "weight": weight, "decay": decay,
            "validation_ndcg@10": {f"{d}/{w}": v for (d, w), v in curve.items()}}  # fmt: skip


def split_neighbours(
    data: Any, split: str, k: int, weight: float, threads: int = 1, decay: float = 1.0
) -> ItemNeighbours:
    """Neighbours fitted on the events ``split`` may see (see :func:`split_ends`)."""
    ends = split_ends(data, split)
    fitted = fit_neighbours(data.sequences, ends, data.n_items, k, threads)
    return fitted.with_weight(weight, decay)


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
