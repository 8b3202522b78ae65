"""Item neighbours: the toys bought together, as BM25-weighted item-kNN over shoppers' histories.

The preference task adds these co-occurrence scores to the sequence model's log-probabilities,
with a weight chosen on the validation targets (``evaluation.neighbours``): on Amazon Toys the
transformer and item-kNN reach about the same NDCG@10 alone and much more together, because
one reads the order of a shopper's events and the other every shopper's pairs of toys.

The similarity is ``implicit``'s item-item BM25 neighbourhood (the item-kNN baseline of
bench/recsys_baselines.py); it is fitted on the events a split may see and stored in the
model folder as a sparse matrix (safetensors), so serving needs no refit and no pickle. A
shopper's toys count by how recent they are (``decay`` per later event, as session-based kNN
weighs a session's items, V-SKNN): the toy bought last says most about the next one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from scipy import sparse
from threadpoolctl import threadpool_limits

from toyguide.errors import ConfigError
from toyguide.features.sequences import EventSequences
from toyguide.features.streams import ragged_ranges

__all__ = ["ItemNeighbours", "fit_neighbours", "history_matrix", "shopper_items"]

_FORMAT = "1"


@dataclass(frozen=True)
class ItemNeighbours:
    """Item × item similarity ``[N+1, N+1]`` (row and column 0 = padding, unused), the
    weight of its scores beside the model's log-probabilities and the ``decay`` of a
    shopper's toys per later event (1: every toy of the history alike)."""

    similarity: sparse.csr_matrix
    weight: float = 0.0
    k: int = 0
    decay: float = 1.0

    def scores(self, items: np.ndarray) -> np.ndarray:
        """Rows of item indices ``[B, L]`` (0 = padding, oldest first) → ``[B, N+1]`` neighbour
        scores, each row divided by its largest (in [0, 1]; a row without neighbours is all
        zeros)."""
        history = history_matrix(items, self.similarity.shape[0], self.decay)
        scores = (history @ self.similarity).toarray()
        top = scores.max(axis=1, keepdims=True)
        return np.divide(scores, top, out=np.zeros_like(scores), where=top > 0)

    def add_to(self, log_probs: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``log_probs`` ``[B, N+1]`` plus the weighted neighbour scores of ``items`` ``[B, L]``."""
        if self.weight == 0:
            return log_probs
        extra = torch.from_numpy(self.scores(items.cpu().numpy()).astype(np.float32))
        return log_probs + self.weight * extra.to(log_probs.device)

    def with_weight(self, weight: float, decay: float | None = None) -> ItemNeighbours:
        decay = self.decay if decay is None else float(decay)
        return ItemNeighbours(self.similarity, float(weight), self.k, decay)

    def save(self, path: Path) -> None:
        m = self.similarity
        tensors = {
            "indptr": torch.from_numpy(m.indptr.astype(np.int64)),
            "indices": torch.from_numpy(m.indices.astype(np.int64)),
            "data": torch.from_numpy(m.data.astype(np.float32)),
        }
        meta = {"format": _FORMAT, "n": str(m.shape[0]), "weight": repr(self.weight),
                "k": str(self.k), "decay": repr(self.decay)}  # fmt: skip
        save_file(tensors, str(path), metadata=meta)

    @classmethod
    def load(cls, path: Path) -> ItemNeighbours:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != _FORMAT:
                raise ConfigError(f"{path}: not an item-neighbours file of format {_FORMAT}")
            data, indices, indptr = (f.get_tensor(k) for k in ("data", "indices", "indptr"))
        n = int(meta["n"])
        m = sparse.csr_matrix((data, indices, indptr), shape=(n, n))
        # a file written before the decay existed weighed every toy alike
        return cls(m, float(meta["weight"]), int(meta["k"]), float(meta.get("decay", 1.0)))


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
    seqs: EventSequences, ends: np.ndarray, n_items: int, k: int, threads: int = 1
) -> ItemNeighbours:
    """BM25 item-kNN (``k`` neighbours per item) over each shopper's target-kind events before
    ``ends`` ``[S]`` (exclusive event index), weight 0 (see ``with_weight``)."""
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
    return ItemNeighbours(similarity, 0.0, k)
