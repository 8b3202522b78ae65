"""The batch stream every task's own stream builds on (keys as docs/design/mtl-contracts.md).

Every stream has the same interface: ``len(stream)`` batches per epoch, ``batches(epoch)`` for
training and ``eval_batches("validation" | "test")``. The training order is a permutation drawn
from ``(seed, task, epoch)`` only, so a run resumed at epoch e sees exactly the batches the
uninterrupted run would have seen; evaluation batches come in a fixed order. Batches are built
on demand from numpy arrays (vectorised per batch), so memory does not grow with epochs.

Each task's stream is a subclass in its task module (``toyguide.tasks``): it says which
examples a split holds and how to batch them; the helpers below cut shopper sequences and
ragged ranges for them without Python loops.
"""

from __future__ import annotations

import math
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch

from toyguide.errors import ConfigError
from toyguide.features.splits import TRAIN, split_code

if TYPE_CHECKING:
    from toyguide.features.data import TaskData
    from toyguide.features.sequences import EventSequences

__all__ = ["Batch", "TaskStream", "as_bool", "as_float", "as_long", "padded", "ragged_ranges",
           "sequence_batch", "window_lengths"]  # fmt: skip

Batch = dict[str, torch.Tensor]


class TaskStream(ABC):
    """The shared batching: subclasses say which examples a split holds and how to batch them."""

    task: str = ""
    salt: int | None = None  # the shuffle's random stream; None = derived from the task name
    default_batch_size: int = 128  # for a task without a ``<task>_batch_size`` feature field
    # a task whose labels its host task's batches carry trains on the host's batch of each step
    # when the host is in the run (one forward pass shared, no batch of its own); its own
    # batches serve when it trains without the host, and for validation and test
    rides: str | None = None
    # whether the stream holds its most recent data out for validation and test (by time), so
    # that a refit (train.refit_epochs) has something to add: see through_the_end
    holds_out_by_time: bool = False

    def __init__(self, data: TaskData) -> None:
        if not data.has(self.task):
            raise ConfigError(f"task '{self.task}' is not switched on in features.tasks")
        self.data = data
        self.task_data = data.of(self.task)
        self.config = data.config
        self.batch_size = data.config.batch_size(self.task, self.default_batch_size)
        self._train = self.examples(TRAIN)

    @abstractmethod
    def examples(self, split: int) -> np.ndarray:
        """Indices of the split's examples (rows or sample numbers), in a fixed order."""

    @abstractmethod
    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        """The batch of ``examples`` (keys as in docs/design/mtl-contracts.md)."""

    def __len__(self) -> int:
        return math.ceil(len(self._train) / self.batch_size)

    def through_the_end(self) -> None:
        """Make the training split take in what the stream holds out by time (the most recent
        weeks), for a refit after the epoch is chosen (streams with ``holds_out_by_time``)."""
        raise NotImplementedError(f"task '{self.task}' holds nothing out by time")

    def batches(self, epoch: int, shard: tuple[int, int] = (0, 1)) -> Iterator[Batch]:
        """One epoch of training batches; the order depends on (seed, task, epoch) only.

        ``shard`` = (rank, world size): this rank's batches of that order, every size-th from
        the rank-th, so the ranks of a distributed run share out the same epoch. A stream with
        fewer batches than ranks gives each rank one of them (the trainer cycles streams, and
        a rank with none would wait for a batch forever)."""
        rank, size = shard
        salt = self.salt if self.salt is not None else zlib.crc32(self.task.encode())
        rng = np.random.default_rng([self.config.seed, salt, epoch])
        order = self._train[rng.permutation(len(self._train))]
        starts = range(0, len(order), self.batch_size)
        mine = starts[rank::size] or starts[rank % max(len(starts), 1) :][:1]
        for start in mine:
            yield self.make_batch(order[start : start + self.batch_size], TRAIN)

    def eval_batches(self, split: str) -> Iterator[Batch]:
        code = split_code(split)
        if code == TRAIN:
            raise ConfigError("eval_batches takes 'validation' or 'test'; train with batches()")
        yield from self.ordered_batches(code)

    def ordered_batches(self, code: int) -> Iterator[Batch]:
        """Every example of split ``code`` (training included) in order, in eval-size batches:
        what is fitted on a whole split after training (the boosted sales head) reads them."""
        examples = self.examples(code)
        size = self.config.eval_batch_size
        for start in range(0, len(examples), size):
            yield self.make_batch(examples[start : start + size], code)


def as_long(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))


def as_float(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def as_bool(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=bool))


def sequence_batch(
    seqs: EventSequences, shoppers: np.ndarray, ends: np.ndarray, max_len: int
) -> tuple[Batch, np.ndarray, np.ndarray]:
    """The last ``max_len`` events before ``ends`` (exclusive), right-aligned, as wide as the
    batch's longest sequence (at least 1): the encoder counts positions back from the latest
    event, so a narrower batch encodes the same, and padding costs nothing.

    Returns the batch's sequence keys, the event index of every position and where it is real.
    """
    width = max(1, int(np.max(window_lengths(seqs, shoppers, ends, max_len), initial=1)))
    idx = ends[:, None] - width + np.arange(width)[None, :]  # [B, L]
    real = idx >= seqs.offsets[shoppers][:, None]
    idx = np.where(real, idx, 0)
    batch = {
        "seq_items": as_long(np.where(real, seqs.items[idx], 0)),
        "seq_kinds": as_long(np.where(real, seqs.kinds[idx], 0)),
        "seq_gaps": as_long(np.where(real, seqs.gaps[idx], 0)),
        "seq_mask": as_bool(real),
    }
    return batch, idx, real


def window_lengths(
    seqs: EventSequences, shoppers: np.ndarray, ends: np.ndarray, max_len: int
) -> np.ndarray:
    """How many events ``sequence_batch`` keeps of each shopper's events before ``ends``."""
    return np.clip(ends - seqs.offsets[shoppers], 0, max_len)


def ragged_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, index) of every index in [lo[row], hi[row]) for all rows, without a loop."""
    counts = np.maximum(hi - lo, 0)
    row = np.repeat(np.arange(len(lo)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return row, np.arange(int(counts.sum())) - first + np.repeat(lo, counts)


def padded(row: np.ndarray, values: np.ndarray, n_rows: int) -> np.ndarray:
    """[n_rows, max count] values grouped by ``row`` (ascending), 0-padded, at least 1 wide."""
    counts = np.bincount(row, minlength=n_rows)
    out = np.zeros((n_rows, max(1, int(counts.max(initial=0)))), dtype=np.int64)
    out[row, np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)] = values
    return out
