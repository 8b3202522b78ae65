"""One batch stream per task, each over its own data (keys as docs/design/mtl-contracts.md).

Every stream has the same interface: ``len(stream)`` batches per epoch, ``batches(epoch)`` for
training and ``eval_batches("validation" | "test")``. The training order is a permutation drawn
from ``(seed, task, epoch)`` only, so a run resumed at epoch e sees exactly the batches the
uninterrupted run would have seen; evaluation batches come in a fixed order. Batches are built
on demand from numpy arrays (vectorised per batch), so memory does not grow with epochs.

Training batches carry exactly the contract keys. Evaluation batches of preference add
``target_item`` Long [B] (the held-out item) and ``exclude`` Long [B, E] (the shopper's other
training items, 0-padded, to be removed from the full ranking); their ``next_items`` holds the
target at the last position only, so a validation loss uses the training loss unchanged.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch

from toyguide.errors import ConfigError
from toyguide.features.splits import TRAIN, VALIDATION, split_code

if TYPE_CHECKING:
    from toyguide.features.data import EventSequences, TaskData

__all__ = [
    "STREAMS",
    "AttributeStream",
    "PreferenceStream",
    "ProfileStream",
    "SalesStream",
    "TaskStream",
    "make_streams",
]

Batch = dict[str, torch.Tensor]
_SALT = {"preference": 11, "attributes": 12, "sales": 13, "profile": 14}


class TaskStream(ABC):
    """The shared batching: subclasses say which examples a split holds and how to batch them."""

    task: str = ""

    def __init__(self, data: TaskData) -> None:
        if getattr(data, self.task) is None:
            raise ConfigError(f"task '{self.task}' is not switched on in features.tasks")
        self.data = data
        self.config = data.config
        self.batch_size = data.config.batch_size(self.task)
        self._train = self.examples(TRAIN)

    @abstractmethod
    def examples(self, split: int) -> np.ndarray:
        """Indices of the split's examples (rows or sample numbers), in a fixed order."""

    @abstractmethod
    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        """The batch of ``examples`` (keys as in docs/design/mtl-contracts.md)."""

    def __len__(self) -> int:
        return math.ceil(len(self._train) / self.batch_size)

    def batches(self, epoch: int) -> Iterator[Batch]:
        """One epoch of training batches; the order depends on (seed, task, epoch) only."""
        rng = np.random.default_rng([self.config.seed, _SALT[self.task], epoch])
        order = self._train[rng.permutation(len(self._train))]
        for start in range(0, len(order), self.batch_size):
            yield self.make_batch(order[start : start + self.batch_size], TRAIN)

    def eval_batches(self, split: str) -> Iterator[Batch]:
        code = split_code(split)
        if code == TRAIN:
            raise ConfigError("eval_batches takes 'validation' or 'test'; train with batches()")
        examples = self.examples(code)
        size = self.config.eval_batch_size
        for start in range(0, len(examples), size):
            yield self.make_batch(examples[start : start + size], code)


def _long(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))


def _float(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _bool(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=bool))


def sequence_batch(
    seqs: EventSequences, shoppers: np.ndarray, ends: np.ndarray, max_len: int
) -> tuple[Batch, np.ndarray, np.ndarray]:
    """The last ``max_len`` events before ``ends`` (exclusive), right-aligned.

    Returns the batch's sequence keys, the event index of every position and where it is real.
    """
    idx = ends[:, None] - max_len + np.arange(max_len)[None, :]  # [B, L]
    real = idx >= seqs.offsets[shoppers][:, None]
    idx = np.where(real, idx, 0)
    batch = {
        "seq_items": _long(np.where(real, seqs.items[idx], 0)),
        "seq_kinds": _long(np.where(real, seqs.kinds[idx], 0)),
        "seq_gaps": _long(np.where(real, seqs.gaps[idx], 0)),
        "seq_mask": _bool(real),
    }
    return batch, idx, real


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


class PreferenceStream(TaskStream):
    """SASRec-style next-item batches: inputs are events of every kind, ``next_items`` at each
    position is the next event's item when that event is of a target kind (0 otherwise)."""

    task = "preference"

    def __init__(self, data: TaskData) -> None:
        super().__init__(data)
        self._target_positions = np.flatnonzero(data.sequences.is_target)

    def examples(self, split: int) -> np.ndarray:
        pref = self.data.preference
        return pref.train_shoppers if split == TRAIN else pref.eval_shoppers

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        seqs, loo = self.data.sequences, self.data.preference.loo
        if split == TRAIN:
            ends = loo.train_end[examples]
            batch, idx, real = sequence_batch(seqs, examples, ends, self.config.max_len)
            inside = real & (idx + 1 < ends[:, None])  # the last event's next one is held out
            batch["next_items"] = _long(np.where(inside, seqs.next_target[idx], 0))
            return batch
        ends = (loo.validation if split == VALIDATION else loo.test)[examples]
        batch, _, _ = sequence_batch(seqs, examples, ends, self.config.max_len)
        target = seqs.items[ends].astype(np.int64)
        next_items = np.zeros((len(examples), self.config.max_len), dtype=np.int64)
        next_items[:, -1] = target
        batch["next_items"] = _long(next_items)
        batch["target_item"] = _long(target)
        batch["exclude"] = _long(self.exclusions(seqs.offsets[examples], ends, target))
        return batch

    def exclusions(self, starts: np.ndarray, ends: np.ndarray, target: np.ndarray) -> np.ndarray:
        """[B, E] distinct items of each shopper's target events in [start, end), minus the
        target: the shopper's training items (plus, at test time, the validation item)."""
        pos = self._target_positions
        row, k = ragged_ranges(np.searchsorted(pos, starts), np.searchsorted(pos, ends))
        items = self.data.sequences.items[pos[k]].astype(np.int64)
        keep = items != target[row]
        width = self.data.n_items + 1
        key = np.unique(row[keep] * width + items[keep])  # distinct, sorted by row then item
        return padded(key // width, key % width, len(starts))


class ProfileStream(TaskStream):
    """Shopper batches: the shopper's event sequence and the child's profile labels."""

    task = "profile"

    def examples(self, split: int) -> np.ndarray:
        return np.flatnonzero(self.data.profile.split == split)

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        prof = self.data.profile
        ends = prof.end[examples]
        batch, _, _ = sequence_batch(self.data.sequences, examples, ends, self.config.max_len)
        batch["age_band"] = _long(prof.age_band[examples])
        batch["gender"] = _long(prof.gender[examples])
        batch["interests"] = _float(prof.interests[examples])
        batch["interests_mask"] = _bool(prof.interests_mask[examples])
        return batch


class AttributeStream(TaskStream):
    """Item batches: item rows and the labels of the switched-on attribute targets
    (``features.attribute_targets``; categories only when predicted)."""

    task = "attributes"

    def examples(self, split: int) -> np.ndarray:
        return np.flatnonzero(self.data.attributes.split == split)

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        labels, targets = self.data.attributes.labels, self.config.attribute_targets
        batch = {"items": _long(examples)}
        for name in ("age_band", "gender_target", "top_category", "price_band"):
            if name in targets:
                batch[name] = _long(getattr(labels, name)[examples])
        if "functions" in targets:
            batch["functions"] = _float(labels.functions[examples])
            batch["functions_mask"] = _bool(labels.functions_mask[examples])
        if self.config.predict_categories:
            batch["categories"] = _float(labels.categories[examples])
            batch["categories_mask"] = _bool(labels.categories_mask[examples])
        return batch


class SalesStream(TaskStream):
    """Item-week batches: K history weeks before an origin and the H weeks from it on.

    An example is an (item, origin) pair with at least one target week that is on or after
    the item's first sales week and before the split's target limit. Origins whose history
    window reaches before the data start are left out for items already on sale at the start
    (that history is unknown, not empty); for items launched inside the data the weeks before
    launch are truly empty, so their early origins (new-toy forecasts) are kept.
    """

    task = "sales"

    def __init__(self, data: TaskData) -> None:
        self._pairs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        super().__init__(data)

    def pairs(self, split: int) -> tuple[np.ndarray, np.ndarray]:
        """(item rows, origin weeks) of a split, item-major."""
        if split not in self._pairs:
            sales, k, h = self.data.sales, self.config.history_weeks, self.config.horizon
            origins = np.array(sales.weeks.origins(split))
            first = sales.first_week[:, None]
            valid = (
                (origins[None, :] + h > first)
                & (origins[None, :] < sales.weeks.target_end(split))
                & ((origins[None, :] >= k) | (first > 0))
                & (first < sales.weeks.n_weeks)
            )
            rows, cols = np.nonzero(valid)
            self._pairs[split] = (rows, origins[cols])
        return self._pairs[split]

    def examples(self, split: int) -> np.ndarray:
        return np.arange(len(self.pairs(split)[0]))

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        rows, origins = (a[examples] for a in self.pairs(split))
        return self.batch_at(rows, origins, self.data.sales.weeks.target_end(split))

    def batch_at(self, rows: np.ndarray, origins: np.ndarray, target_end: int) -> Batch:
        """The batch for (item row, origin week) pairs; target weeks from ``target_end`` on are
        masked (a forecast beyond the data has an origin of ``n_weeks`` and no targets)."""
        sales, k, h = self.data.sales, self.config.history_weeks, self.config.horizon
        week = origins[:, None] - k + np.arange(k)[None, :]  # [B, K]
        inside = (week >= 0) & (week < sales.weeks.n_weeks)
        week = np.where(inside, week, 0)
        r = rows[:, None]
        in_history = sales.in_history[r, week] * inside
        units = sales.units[r, week] * in_history
        scale = units.sum(1) / np.maximum(in_history.sum(1), 1) + 1.0  # [B]
        history = np.stack(
            [
                np.log1p(units / scale[:, None]),
                sales.rel_price[r, week] * inside,
                sales.promo[r, week] * inside,
                sales.in_stock[r, week] * inside,
                in_history,
            ],
            axis=-1,
        )  # [B, K, Fh]
        target_week = origins[:, None] + np.arange(h)[None, :]  # [B, H]
        mask = (target_week < target_end) & (target_week >= sales.first_week[r])
        target = sales.units[r, np.minimum(target_week, sales.weeks.n_weeks - 1)]
        return {
            "items": _long(rows),
            "history": _float(history),
            "calendar": _float(sales.calendar[target_week]),  # [B, H, Fc]
            "scale": _float(scale),
            "target": _float(np.where(mask, target, 0.0)),
            "target_mask": _bool(mask),
        }


STREAMS: dict[str, type[TaskStream]] = {
    "preference": PreferenceStream,
    "attributes": AttributeStream,
    "sales": SalesStream,
    "profile": ProfileStream,
}


def make_streams(data: TaskData) -> dict[str, TaskStream]:
    """One stream per task switched on in ``data.config.tasks``, in that order."""
    return {task: STREAMS[task](data) for task in data.config.tasks}
