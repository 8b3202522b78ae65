"""Known shoppers' query vectors, kept between their requests.

A shopper's vector is the shopper encoder's pass over the events the loaded model read from the
store; those events do not change until the next reload (new events are stored for the next
training), so the vector, and the FAISS candidates it retrieves, are the same for every request
of that shopper while this model serves. The pass is three quarters of a recommendation's time
in the engine (bench/README, serving latency), so a shopper who comes back — every page of a
visit asks again — costs a cache lookup instead. The cache belongs to one loaded model: a reload
brings a new, empty one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from toyguide.guide.loaded import LoadedModel, retrieval_queries, shopper_state, top_k

__all__ = ["DEFAULT_SHOPPERS", "ShopperQuery", "ShopperVectors"]

# ~0.5 KB a shopper at d_model 64 and 50 events: 25 MB when full
DEFAULT_SHOPPERS = 50_000


@dataclass(frozen=True)
class ShopperQuery:
    vector: torch.Tensor  # [1, D] the shopper's state in the preference space
    events: torch.Tensor  # [1, L] their latest event items (the neighbour candidates' input)
    retrieved: np.ndarray  # [<=k] catalogue rows the FAISS index retrieves for them


class ShopperVectors:
    """An LRU map catalogue-row → :class:`ShopperQuery` of at most ``size`` shoppers (0: keep
    none, every request computes its own); safe to share between request threads."""

    def __init__(self, loaded: LoadedModel, candidates: int, size: int = DEFAULT_SHOPPERS) -> None:
        if size < 0:
            raise ValueError(f"shopper cache size must be >= 0, got {size}")
        self.loaded, self.candidates, self.size = loaded, candidates, size
        self._entries: OrderedDict[int, ShopperQuery] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, row: int) -> ShopperQuery:
        with self._lock:
            found = self._entries.get(row)
            if found is not None:
                self._entries.move_to_end(row)
                self.hits += 1
                return found
            self.misses += 1
        query = self._compute(row)  # outside the lock: other shoppers need not wait for it
        if self.size:
            with self._lock:
                self._entries[row] = query
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return query

    @torch.no_grad()
    def _compute(self, row: int) -> ShopperQuery:
        state = shopper_state(self.loaded, row)
        vector = self.loaded.model_for("preference").shopper_vector(state)  # [1, D]
        query = retrieval_queries(self.loaded, vector)[0]
        _, retrieved = top_k(self.loaded.items_index, query, self.candidates)
        return ShopperQuery(vector, state["seq_items"], retrieved)
