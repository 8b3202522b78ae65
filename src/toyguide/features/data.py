"""Everything the task streams read, built once from a store (vectorised Polars/numpy).

``TaskData.build(store, config, text_vectors=..., tasks=...)`` fits the vocabularies and the
price standardisation, builds the item tables and the shoppers' event sequences, then asks each
switched-on task (a ``toyguide.tasks`` plug-in, duck-typed here as :class:`TaskDataBuilder`)
for its labels and split; ``state()`` is the fitted part as JSON (for checkpoints) and
``TaskData.from_state`` rebuilds the rest from a store with those fitted encoders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import polars as pl

from toyguide.config import from_dict, to_dict
from toyguide.data.store import Store
from toyguide.data.taxonomy import EVENT_KINDS, FUNCTIONS
from toyguide.errors import ConfigError
from toyguide.features import splits
from toyguide.features.labels import ATTRIBUTE_TARGETS
from toyguide.features.sequences import EventSequences, build_sequences
from toyguide.features.tables import ItemTables, PriceStats, TextVectors, build_item_tables
from toyguide.features.vocab import Vocabulary
from toyguide.features.words import WORD_TOKENS, fit_word_vocabulary, word_input, word_texts

__all__ = [
    "DEFAULT_TASKS",
    "STATE_FORMAT",
    "FeatureConfig",
    "TaskData",
    "TaskDataBuilder",
]

DEFAULT_TASKS: tuple[str, ...] = ("preference", "attributes", "sales", "profile")
STATE_FORMAT = 1
_POSITIVE = (
    "max_len", "gap_buckets", "history_weeks", "horizon", "preference_batch_size",
    "attributes_batch_size", "sales_batch_size", "profile_batch_size", "eval_batch_size", "n_folds",
)  # fmt: skip


@dataclass(frozen=True)
class FeatureConfig:
    """How the task streams are cut and batched (one config for the features layer)."""

    tasks: tuple[str, ...] = DEFAULT_TASKS  # names of registered tasks (toyguide.tasks)
    max_len: int = 50  # events per shopper sequence
    gap_buckets: int = 16  # log2 buckets of hours since the previous event
    target_kinds: tuple[str, ...] = ("click", "cart", "purchase")
    collapse_repeats: bool = True  # a view → click → cart → purchase run of one item = one step
    history_weeks: int = 8  # K
    horizon: int = 4  # H (the synthetic shop's benchmark uses 12)
    predict_categories: bool = False
    preference_batch_size: int = 128
    attributes_batch_size: int = 256
    sales_batch_size: int = 256
    profile_batch_size: int = 128
    eval_batch_size: int = 512
    batch_sizes: dict[str, int] = field(default_factory=dict)  # tasks without a field of their own
    seed: int = 0
    profile_split: Literal["kfold", "holdout"] = "kfold"  # holdout: one 80/10/10 split
    n_folds: int = 5
    fold: int = 0
    # attribute targets trained and scored (categories: predict_categories); a target that is
    # also an input is taken out of the inputs (top_category: categories, price_band: price)
    attribute_targets: tuple[str, ...] = ("age_band", "gender_target", "functions")
    price_bands: int = 4  # price_band: quantile bands of the training items' prices
    attribute_split: Literal["labelled", "catalogue"] = "labelled"  # see features/splits.py
    attribute_holdout: tuple[float, float] = (0.1, 0.1)  # validation, test shares
    attribute_split_seed: int = -1  # -1: seed; fixed, the seeds train on the same split
    text_buckets: int = 0  # > 0: word / word-pair input of the item encoder (0 = off)
    # how words become ids (features/words.py): "hashed" into text_buckets buckets, or
    # "vocabulary": the words and pairs two or more toys use, at most text_buckets of them
    text_tokens: Literal["hashed", "vocabulary"] = "hashed"
    # > 0: the preference scores add BM25 item-kNN with this many neighbours per item, its
    # weight chosen on validation after training (features/neighbours.py; 0 = the model alone)
    item_neighbours: int = 0
    # > 0: the neighbours also score the toys bought within this many purchases after each of
    # the shopper's (directed transitions, weighed 1/distance; their weight beside the
    # neighbours' chosen on validation too). Needs item_neighbours.
    item_transitions: int = 0
    max_tokens: int = 128  # words per item read for text_buckets
    # a child not yet born at the label time (a pregnancy purchase) has no age: "first_band"
    # labels it 0-12m (a parent shopping for the baby on the way), "missing" leaves the age
    # band unlabelled (its gender label stays)
    profile_unborn: Literal["first_band", "missing"] = "first_band"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "target_kinds", tuple(self.target_kinds))
        if not self.tasks:
            raise ConfigError("features.tasks is empty; switch on at least one task")
        _check_names("target kind", self.target_kinds, EVENT_KINDS)
        self._check_attributes()
        for name in _POSITIVE:
            if getattr(self, name) < 1:
                raise ConfigError(f"features.{name} must be >= 1, got {getattr(self, name)}")
        for task, size in self.batch_sizes.items():
            if size < 1:
                raise ConfigError(f"features.batch_sizes.{task} must be >= 1, got {size}")
        if self.seed < 0:
            raise ConfigError(f"features.seed must be >= 0, got {self.seed}")
        if self.item_neighbours < 0:
            raise ConfigError(f"features.item_neighbours must be >= 0, got {self.item_neighbours}")
        if self.item_transitions < 0 or (self.item_transitions and not self.item_neighbours):
            raise ConfigError(
                "features.item_transitions must be >= 0 and needs features.item_neighbours > 0, "
                f"got {self.item_transitions} with {self.item_neighbours} neighbours"
            )
        if not 0 <= self.fold < self.n_folds:
            raise ConfigError(f"features.fold must be in 0..{self.n_folds - 1}, got {self.fold}")

    def _check_attributes(self) -> None:
        object.__setattr__(self, "attribute_targets", tuple(self.attribute_targets))
        object.__setattr__(self, "attribute_holdout", tuple(self.attribute_holdout))
        _check_names("attribute target", self.attribute_targets, ATTRIBUTE_TARGETS)
        if not self.attribute_targets and not self.predict_categories:
            raise ConfigError("features.attribute_targets is empty and categories are not "
                              f"predicted; choose from {', '.join(ATTRIBUTE_TARGETS)}")  # fmt: skip
        shares = self.attribute_holdout
        if len(shares) != 2 or min(shares) <= 0 or sum(shares) >= 1:
            raise ConfigError("features.attribute_holdout must be two shares > 0 (validation, "
                              f"test) summing below 1, got {self.attribute_holdout}")  # fmt: skip
        if self.text_buckets < 0 or self.max_tokens < 1:
            raise ConfigError("features.text_buckets must be >= 0 and max_tokens >= 1")
        if self.text_tokens not in WORD_TOKENS:
            raise ConfigError(f"features.text_tokens must be one of {', '.join(WORD_TOKENS)}, "
                              f"got {self.text_tokens!r}")  # fmt: skip
        if self.price_bands < 2:
            raise ConfigError(f"features.price_bands must be >= 2, got {self.price_bands}")

    @property
    def split_seed(self) -> int:
        """The attribute split's seed."""
        return self.seed if self.attribute_split_seed < 0 else self.attribute_split_seed

    def batch_size(self, task: str, default: int = 128) -> int:
        """The task's own ``<task>_batch_size`` field, else its entry in ``batch_sizes``, else
        ``default`` (the task stream's)."""
        return getattr(self, f"{task}_batch_size", None) or self.batch_sizes.get(task, default)


def _check_names(what: str, names: tuple[str, ...], known: tuple[str, ...]) -> None:
    for name in names:
        if name not in known:
            raise ConfigError(f"unknown {what} '{name}'; known: {', '.join(known)}")


class TaskDataBuilder(Protocol):
    """What TaskData asks of a task: the tables it reads, the item inputs it blanks (a target
    must not also be an input), its labels and split, and the sizes its model parts need."""

    name: str
    reads: frozenset[str]  # of "events", "sales" (items and shoppers are always read)

    def blanked_inputs(self, config: FeatureConfig) -> frozenset[str]: ...
    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> Any: ...
    def dims(self, data: TaskData) -> dict[str, int]: ...


@dataclass
class TaskData:
    """The fitted encoders, the item tables, the event sequences (with their leave-one-out
    cut) and each switched-on task's own data (``of(task)``: its labels and split)."""

    config: FeatureConfig
    vocabs: dict[str, Vocabulary]  # items, brands, categories, shoppers
    price: PriceStats
    items: ItemTables
    sequences: EventSequences | None
    loo: splits.LeaveOneOut | None = None
    task_data: dict[str, Any] = field(default_factory=dict)
    task_dims: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        store: Store,
        config: FeatureConfig,
        *,
        text_vectors: TextVectors,
        tasks: Sequence[TaskDataBuilder],
    ) -> TaskData:
        """Fit vocabularies and price statistics on the store and build every task in ``tasks``
        (the plug-ins of ``config.tasks``)."""
        frames = _read(store, tasks)
        items = frames["items"]
        vocabs = {
            "items": Vocabulary.fit(items["item_id"]),
            "brands": Vocabulary.fit(items["brand"]),
            "categories": Vocabulary.fit(items["categories"].explode()),
        }
        if config.text_buckets and config.text_tokens == "vocabulary":
            vocabs["words"] = fit_word_vocabulary(
                word_texts(items), config.max_tokens, config.text_buckets
            )
        price = PriceStats.fit(items["price"])
        return cls._assemble(frames, config, vocabs, price, text_vectors, tasks)

    @classmethod
    def from_state(
        cls,
        store: Store,
        state: dict[str, Any],
        *,
        text_vectors: TextVectors,
        tasks: Sequence[TaskDataBuilder],
        config: FeatureConfig | None = None,
    ) -> TaskData:
        """Rebuild from ``store`` with the fitted encoders of :meth:`state` (ids, price scale);
        items the vocabulary does not know map to the unknown row 0."""
        if state.get("format") != STATE_FORMAT:
            raise ConfigError(
                f"features state format {state.get('format')!r}, expected {STATE_FORMAT}"
            )
        config = config or from_dict(FeatureConfig, state["config"])
        vocabs = {name: Vocabulary.from_dict(v) for name, v in state["vocabs"].items()}
        price = PriceStats(**state["price"])
        return cls._assemble(_read(store, tasks), config, vocabs, price, text_vectors, tasks)

    def state(self) -> dict[str, Any]:
        """The fitted part, JSON-able: config, vocabularies (not shoppers) and price scale."""
        return {
            "format": STATE_FORMAT,
            "config": to_dict(self.config),
            "vocabs": {k: v.to_dict() for k, v in self.vocabs.items() if k != "shoppers"},
            "price": asdict(self.price),
        }

    @classmethod
    def _assemble(
        cls,
        frames: dict[str, pl.DataFrame],
        config: FeatureConfig,
        vocabs: dict[str, Vocabulary],
        price: PriceStats,
        text_vectors: TextVectors,
        tasks: Sequence[TaskDataBuilder],
    ) -> TaskData:
        vocabs = {**vocabs, "shoppers": Vocabulary.fit(frames["shoppers"]["shopper_id"])}
        blanked = frozenset().union(*(task.blanked_inputs(config) for task in tasks))
        tables = build_item_tables(
            frames["items"], vocabs, text_vectors, price=price,
            use_categories="categories" not in blanked, use_price="price" not in blanked,
            words=word_input(config, vocabs),
        )  # fmt: skip
        data = cls(config, vocabs, price, tables, None)
        if "events" in frames:
            data.sequences = build_sequences(
                frames["events"], vocabs["shoppers"], vocabs["items"], config
            )
            data.loo = splits.leave_one_out(data.sequences.offsets, data.sequences.is_target)
        for task in tasks:
            data.task_data[task.name] = task.build_data(data, frames)
        for task in tasks:
            data.task_dims |= task.dims(data)
        return data

    def has(self, task: str) -> bool:
        return task in self.task_data

    def of(self, task: str) -> Any:
        """The task's own data (labels and split); a task not built is a ConfigError."""
        try:
            return self.task_data[task]
        except KeyError:
            built = ", ".join(self.task_data) or "none"
            raise ConfigError(
                f"task '{task}' is not switched on in features.tasks (built: {built})"
            ) from None

    @property
    def n_items(self) -> int:
        return self.items.n_items

    def dims(self) -> dict[str, int]:
        """Sizes a model is built with: the shared encoders' and each built task's own."""
        return {
            "n_items": self.n_items,
            "n_brands": len(self.vocabs["brands"]),
            "n_categories": len(self.vocabs["categories"]) - 1,
            "text_dim": int(self.items.text.shape[1]),
            "text_buckets": self.config.text_buckets,
            "n_kinds": len(EVENT_KINDS) + 1,
            "gap_buckets": self.config.gap_buckets,
            "max_len": self.config.max_len,
            "n_functions": len(FUNCTIONS),
            **self.task_dims,
        }


def _read(store: Store, tasks: Sequence[TaskDataBuilder]) -> dict[str, pl.DataFrame]:
    """The tables the tasks read; events only with their four used columns."""
    frames = {"items": store.frame("items"), "shoppers": store.frame("shoppers")}
    reads = frozenset().union(*(task.reads for task in tasks))
    if "events" in reads:
        frames["events"] = store.query("SELECT shopper_id, item_id, ts, kind FROM events")
    if "sales" in reads:
        frames["sales"] = store.frame("sales")
    return frames
