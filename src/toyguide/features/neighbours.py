"""Item neighbours: the toys bought together (BM25-weighted item-kNN over shoppers' histories)
and, optionally, the toys bought next (directed transitions, sequential rules).

The preference task adds these co-occurrence scores to the sequence model's log-probabilities,
with a weight chosen on the validation targets (``evaluation.neighbours``): on Amazon Toys the
transformer and item-kNN reach about the same NDCG@10 alone and much more together, because
one reads the order of a shopper's events and the other every shopper's pairs of toys.

The similarity is ``implicit``'s item-item BM25 neighbourhood (the item-kNN baseline of
bench/recsys_baselines.py); it is fitted on the events a split may see and stored in the
model folder as a sparse matrix (safetensors), so serving needs no refit and no pickle. A
shopper's toys count by how recent they are (``decay`` per later event, as session-based kNN
weighs a session's items, V-SKNN): the toy bought last says most about the next one.

Item-kNN ignores order. The transitions count, over the shoppers' histories, how often toy
``j`` came ``d`` purchases after toy ``i`` (``d`` up to ``window``, each counting ``1/d``), the
sequential-rules baseline of session-based recommendation; their scores are added to the
neighbours' with ``transition_weight`` (chosen with the other two on validation). Amazon Toys,
without the model, test NDCG@10: item-kNN by recency 0.0586, transitions alone 0.0669, both
0.0749.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from scipy import sparse
from threadpoolctl import threadpool_limits

from toyguide.errors import ConfigError
from toyguide.features.sequences import EventSequences
from toyguide.features.streams import ragged_ranges

__all__ = [
    "ItemNeighbours", "fit_neighbours", "fit_transitions", "history_matrix", "shopper_items",
]  # fmt: skip

_FORMAT = "1"


@dataclass(frozen=True)
class ItemNeighbours:
    """Item × item similarity ``[N+1, N+1]`` (row and column 0 = padding, unused), the
    weight of its scores beside the model's log-probabilities and the ``decay`` of a
    shopper's toys per later event (1: every toy of the history alike); optionally the
    directed ``transitions`` ``[N+1, N+1]`` (toy → toys bought within ``window`` purchases
    after it), whose scores count ``transition_weight`` beside the similarity's."""

    similarity: sparse.csr_matrix
    weight: float = 0.0
    k: int = 0
    decay: float = 1.0
    transitions: sparse.csr_matrix | None = None
    window: int = 0
    transition_weight: float = 0.0

    def scores(self, items: np.ndarray) -> np.ndarray:
        """Rows of item indices ``[B, L]`` (0 = padding, oldest first) → ``[B, N+1]`` neighbour
        scores: the similarity's, each row divided by its largest (in [0, 1]; a row without
        neighbours is all zeros), plus ``transition_weight`` × the transitions' alike."""
        # the transitions' product is skipped where their weight is 0 (the guide's hot path)
        by_similarity, by_transitions = self.sources(items, bool(self.transition_weight))
        if by_transitions is None:
            return by_similarity
        return by_similarity + np.float32(self.transition_weight) * by_transitions

    def sources(
        self, items: np.ndarray, transitions: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The row-normalised scores of the similarity and of the transitions (None without
        them, or when ``transitions`` is False) for rows of item indices ``[B, L]``, the
        history weighed by ``decay``."""
        history = history_matrix(items, self.similarity.shape[0], self.decay)
        by_transitions = None
        if self.transitions is not None and transitions:
            by_transitions = _normalised_scores(history, self.transitions)
        return _normalised_scores(history, self.similarity), by_transitions

    def add_to(self, log_probs: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``log_probs`` ``[B, N+1]`` plus the weighted neighbour scores of ``items`` ``[B, L]``."""
        if self.weight == 0:
            return log_probs
        extra = torch.from_numpy(self.scores(items.cpu().numpy()).astype(np.float32))
        return log_probs + self.weight * extra.to(log_probs.device)

    def with_weight(
        self, weight: float, decay: float | None = None, transition_weight: float | None = None
    ) -> ItemNeighbours:
        decay = self.decay if decay is None else float(decay)
        tw = self.transition_weight if transition_weight is None else float(transition_weight)
        if tw and self.transitions is None:
            raise ConfigError("a transition weight needs transitions (features.item_transitions)")
        return replace(self, weight=float(weight), decay=decay, transition_weight=tw)

    def choice(self) -> dict[str, Any]:
        """What was chosen on validation, as metrics.json records it (see
        ``evaluation.neighbours.refit_neighbours``)."""
        return {"k": self.k, "weight": self.weight, "decay": self.decay, "window": self.window,
                "transition_weight": self.transition_weight}  # fmt: skip

    def save(self, path: Path) -> None:
        tensors = _csr_tensors(self.similarity)
        if self.transitions is not None:
            tensors |= {f"transitions_{k}": v for k, v in _csr_tensors(self.transitions).items()}
        meta = {"format": _FORMAT, "n": str(self.similarity.shape[0]), "weight": repr(self.weight),
                "k": str(self.k), "decay": repr(self.decay), "window": str(self.window),
                "transition_weight": repr(self.transition_weight)}  # fmt: skip
        save_file(tensors, str(path), metadata=meta)

    @classmethod
    def load(cls, path: Path) -> ItemNeighbours:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != _FORMAT:
                raise ConfigError(f"{path}: not an item-neighbours file of format {_FORMAT}")
            n = int(meta["n"])
            similarity = _csr(f, "", n)
            stored = set(f.keys())
            transitions = _csr(f, "transitions_", n) if "transitions_data" in stored else None
        # a file written before the decay (or the transitions) existed weighed every toy
        # alike (and had none)
        return cls(similarity, float(meta["weight"]), int(meta["k"]),
                   float(meta.get("decay", 1.0)), transitions, int(meta.get("window", 0)),
                   float(meta.get("transition_weight", 0.0)))  # fmt: skip


def _normalised_scores(history: sparse.csr_matrix, matrix: sparse.csr_matrix) -> np.ndarray:
    """``history @ matrix``, each row divided by its largest (a row of zeros stays zeros)."""
    scores = (history @ matrix).toarray()
    top = scores.max(axis=1, keepdims=True)
    return np.divide(scores, top, out=np.zeros_like(scores), where=top > 0)


def _csr_tensors(m: sparse.csr_matrix) -> dict[str, torch.Tensor]:
    return {
        "indptr": torch.from_numpy(m.indptr.astype(np.int64)),
        "indices": torch.from_numpy(m.indices.astype(np.int64)),
        "data": torch.from_numpy(m.data.astype(np.float32)),
    }


def _csr(f: Any, prefix: str, n: int) -> sparse.csr_matrix:
    data, indices, indptr = (f.get_tensor(prefix + k) for k in ("data", "indices", "indptr"))
    return sparse.csr_matrix((data, indices, indptr), shape=(n, n))


def history_matrix(items: np.ndarray, width: int, decay: float = 1.0) -> sparse.csr_matrix:
    """Rows of item indices ``[B, L]`` (0 = padding, oldest first) → ``[B, width]``: each
    event counts ``decay`` to the power of the number of events after it in its row (1 for
    the latest; every event 1 with ``decay`` 1, a repeated toy its count)."""
    rows, cols = np.nonzero(items)
    later = np.cumsum(items[:, ::-1] > 0, axis=1)[:, ::-1] - 1  # events after each position
    values = np.power(np.float32(decay), later[rows, cols]).astype(np.float32)
    m = sparse.csr_matrix((values, (rows, items[rows, cols])), shape=(items.shape[0], width))
    m.sum_duplicates()
    return m


def shopper_items(seqs: EventSequences, ends: np.ndarray, n_items: int) -> sparse.csr_matrix:
    """Counts ``[S, N+1]`` of each shopper row's target-kind events before ``ends`` ``[S]``."""
    n_rows = len(ends)
    row, events = ragged_ranges(seqs.offsets[:n_rows], ends)
    keep = seqs.is_target[events]
    values = np.ones(int(keep.sum()), dtype=np.float32)
    m = sparse.csr_matrix(
        (values, (row[keep], seqs.items[events[keep]])), shape=(n_rows, n_items + 1)
    )
    m.sum_duplicates()
    return m


def fit_neighbours(
    seqs: EventSequences, ends: np.ndarray, n_items: int, k: int, threads: int = 1,
    window: int = 0,
) -> ItemNeighbours:  # fmt: skip
    """BM25 item-kNN (``k`` neighbours per item) over each shopper's target-kind events before
    ``ends`` ``[S]`` (exclusive event index), and with ``window`` > 0 the transitions within
    ``window`` purchases (:func:`fit_transitions`); weight 0 (see ``with_weight``)."""
    if k < 1:
        raise ConfigError(f"features.item_neighbours must be >= 1 to fit neighbours, got {k}")
    from implicit.nearest_neighbours import BM25Recommender
    from implicit.utils import ParameterWarning

    model = BM25Recommender(K=k, num_threads=threads)
    with threadpool_limits(threads), warnings.catch_warnings():
        # implicit converts its own BM25-weighted COO matrix to CSR and warns about it
        warnings.simplefilter("ignore", category=ParameterWarning)
        model.fit(shopper_items(seqs, ends, n_items), show_progress=False)
    similarity = sparse.csr_matrix(model.similarity, dtype=np.float32)
    transitions = fit_transitions(seqs, ends, n_items, window) if window else None
    return ItemNeighbours(similarity, 0.0, k, transitions=transitions, window=window)


def fit_transitions(
    seqs: EventSequences, ends: np.ndarray, n_items: int, window: int
) -> sparse.csr_matrix:
    """``[N+1, N+1]``: for each pair of a shopper row's target-kind events before ``ends``
    ``[S]``, the later ``d`` <= ``window`` events after the earlier, ``1/d`` at (earlier toy,
    later toy), summed over all rows (sequential rules)."""
    if window < 1:
        raise ConfigError(
            f"features.item_transitions must be >= 1 to fit transitions, got {window}"
        )
    row, events = ragged_ranges(seqs.offsets[: len(ends)], ends)
    keep = seqs.is_target[events]
    row, items = row[keep], seqs.items[events[keep]]
    rows, cols, values = [], [], []
    for d in range(1, window + 1):
        same = row[:-d] == row[d:]  # both events of one shopper, d purchases apart
        rows.append(items[:-d][same])
        cols.append(items[d:][same])
        values.append(np.full(int(same.sum()), 1.0 / d, dtype=np.float32))
    m = sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items + 1, n_items + 1),
    )
    m.sum_duplicates()
    return m
