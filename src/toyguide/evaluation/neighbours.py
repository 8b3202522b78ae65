"""The weight of the item neighbours beside the preference model, chosen on validation.

Leave-one-out as every preference row: the neighbours are fitted on the events each split may
see (before the validation target to choose the weight, before the test target to test it, all
events for serving), the weight, the recency decay of a shopper's toys and the weight of the
transitions beside the similarity (where the neighbours have transitions) are the triple with
the best validation NDCG@10, and weight 0 (the model alone) is always a candidate, so attaching
neighbours never lowers the validation metric.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import torch

from toyguide.evaluation.protocols import ranking_metrics
from toyguide.features.neighbours import ItemNeighbours, fit_neighbours

__all__ = [
    "NEIGHBOUR_DECAYS", "NEIGHBOUR_WEIGHTS", "TRANSITION_WEIGHTS", "attach_neighbours",
    "refit_neighbours", "split_ends", "split_neighbours", "weight_curve",
]  # fmt: skip

# log-probability units per unit of the row-normalised neighbour score
NEIGHBOUR_WEIGHTS = (0.0, 1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0)
# a shopper's toy counts decay^(events after it); 1 = all alike. Amazon Toys, item-kNN alone,
# validation NDCG@10: 0.0516 at 1.0, 0.0563 at 0.9, 0.0582 at 0.8, 0.0590 at 0.7 and 0.6
NEIGHBOUR_DECAYS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
# the transitions' row-normalised scores per unit of the similarity's. Amazon Toys, without
# the model, decay 0.6, window 3, validation NDCG@10: 0.0590 at 0, 0.0757 at 0.25, 0.0767 at
# 0.5, 0.0760 at 1; with the model (3 seeds, window 4) 0.5, 0.25 and 0.5 were chosen
TRANSITION_WEIGHTS = (0.0, 0.125, 0.25, 0.5, 1.0)
_METRIC = "next_item/ndcg@10"


Triple = tuple[float, float, float]  # (decay, transition weight, weight)


@torch.no_grad()
def weight_curve(
    model: Any, stream: Any, neighbours: ItemNeighbours, split: str = "validation"
) -> dict[Triple, float]:
    """NDCG@10 on ``split`` of the model's log-probabilities plus weight × neighbours for
    each (decay, transition weight, weight) triple (the model runs once per batch, whatever
    the number of triples; the transition weights are 0 alone without transitions)."""
    was, kept = model.training, model.neighbours
    model.eval()
    model.neighbours = None
    mixes = TRANSITION_WEIGHTS if neighbours.transitions is not None else (0.0,)
    ranks: dict[Triple, list[np.ndarray]] = {
        (d, t, w): [] for d in NEIGHBOUR_DECAYS for t in mixes for w in NEIGHBOUR_WEIGHTS
    }
    try:
        for batch in stream.eval_batches(split):
            log_probs = torch.log_softmax(model.predict("preference", batch), -1).numpy()
            extra = _mixed_scores(neighbours, batch["seq_items"].numpy(), mixes)
            for ((d, t), w), r in fused_ranks(log_probs, extra, batch, NEIGHBOUR_WEIGHTS).items():
                ranks[d, t, w].append(r)
    finally:
        model.train(was)
        model.neighbours = kept
    return {triple: ranking_metrics("next_item", np.concatenate(r))[_METRIC]
            for triple, r in ranks.items()}  # fmt: skip


def _mixed_scores(
    neighbours: ItemNeighbours, items: np.ndarray, mixes: tuple[float, ...]
) -> dict[tuple[float, float], np.ndarray]:
    """(decay, transition weight) → the neighbour scores of ``items`` ``[B, L]``."""
    out = {}
    for d in NEIGHBOUR_DECAYS:
        by_similarity, by_transitions = neighbours.with_weight(0.0, d).sources(items)
        for t in mixes:
            out[d, t] = by_similarity if t == 0 else by_similarity + np.float32(t) * by_transitions
    return out


def fused_ranks(
    log_probs: np.ndarray, extra: dict[Hashable, np.ndarray], batch: dict, weights: tuple
) -> dict[tuple[Hashable, float], np.ndarray]:
    """:func:`~toyguide.evaluation.metrics.rank_of_targets` of ``log_probs + w * extra[key]``
    ``[B, N+1]`` for every key of ``extra`` and weight ``w``, without a pass over the catalogue
    per pair: a toy without neighbour score keeps its log-probability whatever the pair, so those
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


def attach_neighbours(
    model: Any, data: Any, stream: Any, k: int, threads: int = 1, window: int = 0
) -> dict:
    """Choose the weight, decay and transition weight on validation and attach the neighbours
    the test may see (``model.neighbours``); returns the choice's record for metrics.json,
    with the chosen triple's validation metric under ``validation`` (neighbours fitted on what
    the validation may see: the test's would have seen the validation targets)."""
    fitted = split_neighbours(data, "validation", k, 0.0, threads, window=window)
    curve = weight_curve(model, stream, fitted)
    # ties: the smaller weight, the smaller transition weight, then the decay nearest 1
    decay, mix, weight = best = max(curve, key=lambda p: (curve[p], -p[2], -p[1], p[0]))
    model.neighbours = split_neighbours(data, "test", k, weight, threads, decay, window, mix)
    curve_record = {f"{d}/{t}/{w}": v for (d, t, w), v in curve.items()}
    return {**model.neighbours.choice(), "validation": {_METRIC: curve[best]},
            "validation_ndcg@10": curve_record}  # fmt: skip


def refit_neighbours(
    data: Any, split: str, choice: Mapping[str, Any], threads: int = 1
) -> ItemNeighbours:
    """The neighbours of a choice made on validation (``ItemNeighbours.choice``, or the record
    in metrics.json: a record written before the decay or the transitions existed has none of
    them), fitted again on the events ``split`` may see."""
    return split_neighbours(
        data, split, int(choice["k"]), float(choice["weight"]), threads,
        float(choice.get("decay", 1.0)), int(choice.get("window", 0)),
        float(choice.get("transition_weight", 0.0)),
    )  # fmt: skip


def split_neighbours(
    data: Any, split: str, k: int, weight: float, threads: int = 1, decay: float = 1.0,
    window: int = 0, transition_weight: float = 0.0,
) -> ItemNeighbours:  # fmt: skip
    """Neighbours (and, with ``window`` > 0, transitions) fitted on the events ``split`` may
    see (see :func:`split_ends`)."""
    ends = split_ends(data, split)
    fitted = fit_neighbours(data.sequences, ends, data.n_items, k, threads, window)
    return fitted.with_weight(weight, decay, transition_weight)


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
