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

from toyguide.evaluation.protocols import ranking_metrics
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
    ranks: dict[tuple[float, float], list[np.ndarray]] = {
        (d, w): [] for d in NEIGHBOUR_DECAYS for w in NEIGHBOUR_WEIGHTS
    }
    try:
        for batch in stream.eval_batches(split):
            log_probs = torch.log_softmax(model.predict("preference", batch), -1).numpy()
            items = batch["seq_items"].numpy()
            extra = {d: neighbours.with_weight(0.0, d).scores(items) for d in NEIGHBOUR_DECAYS}
            for pair, r in fused_ranks(log_probs, extra, batch, NEIGHBOUR_WEIGHTS).items():
                ranks[pair].append(r)
    finally:
        model.train(was)
        model.neighbours = kept
    return {pair: ranking_metrics("next_item", np.concatenate(r))[_METRIC]
            for pair, r in ranks.items()}  # fmt: skip


def fused_ranks(
    log_probs: np.ndarray, extra: dict[float, np.ndarray], batch: dict, weights: tuple
) -> dict[tuple[float, float], np.ndarray]:
    """:func:`~toyguide.evaluation.metrics.rank_of_targets` of ``log_probs + w * extra[d]``
    ``[B, N+1]`` for every decay ``d`` and weight ``w``, without a pass over the catalogue per
    pair: a toy without neighbour score keeps its log-probability whatever the pair, so those
    are sorted once per row and counted by binary search; only the few toys with a score are
    compared pair by pair. Same float32 sums, same ties (counted against the target)."""
    targets = batch["target_item"].numpy()
    others = np.ones(log_probs.shape, dtype=bool)
    excluded = batch["exclude"].numpy()
    np.put_along_axis(others, excluded, False, axis=1)
    others[:, 0] = False
    rows = np.arange(len(targets))
    others[rows, targets] = False  # the target is not ranked against itself
    scored = np.zeros(log_probs.shape, dtype=bool)
    for e in extra.values():
        scored |= e > 0
    w = np.asarray(weights, dtype=np.float32)[:, None]
    ranks = {d: np.empty((len(weights), len(targets)), dtype=np.int64) for d in extra}  # [W, B]
    for b, t in enumerate(targets):
        lp = log_probs[b]
        plain = np.sort(lp[others[b] & ~scored[b]])
        boosted = np.flatnonzero(others[b] & scored[b])
        lp_boosted = lp[boosted][None, :]
        for d, scores in extra.items():
            e = scores[b]
            target = lp[t] + w[:, 0] * e[t]  # [W] float32, as the dense sum makes it
            above = len(plain) - np.searchsorted(plain, target, side="left")  # >= target
            near = lp_boosted + w * e[boosted][None, :]  # [W, P]
            ranks[d][:, b] = above + (near >= target[:, None]).sum(1)
    return {(d, float(x)): r[i] for d, r in ranks.items() for i, x in enumerate(weights)}


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
