"""Everything the four task streams read, built once from a store (vectorised Polars/numpy).

``TaskData.build(store, config, text_vectors)`` fits the vocabularies and the price
standardisation, builds the item tables, the shoppers' event sequences, each switched-on task's
labels and its split; ``state()`` is the fitted part as JSON (for checkpoints) and
``TaskData.from_state`` rebuilds the rest from a store with those fitted encoders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from toyguide.config import from_dict, to_dict
from toyguide.data.store import Store
from toyguide.data.taxonomy import CHILD_GENDERS, EVENT_KINDS, FUNCTIONS
from toyguide.errors import ConfigError
from toyguide.features import splits
from toyguide.features.tables import (
    CALENDAR_FEATURES,
    HISTORY_FEATURES,
    ItemLabels,
    ItemTables,
    PriceStats,
    SalesData,
    TextVectors,
    age_band_of_months,
    build_item_labels,
    build_item_tables,
    build_sales,
    fit_price_edges,
    multi_hot,
)
from toyguide.features.vocab import Vocabulary
from toyguide.tasks import TASKS as TASK_SPECS

__all__ = [
    "ATTRIBUTE_TARGETS",
    "STATE_FORMAT",
    "TASKS",
    "AttributeData",
    "EventSequences",
    "FeatureConfig",
    "PreferenceData",
    "ProfileData",
    "TaskData",
]

TASKS: tuple[str, ...] = tuple(TASK_SPECS)
# "categories" is switched on by predict_categories, the others by attribute_targets
ATTRIBUTE_TARGETS: tuple[str, ...] = tuple(
    t.name for t in TASK_SPECS["attributes"].targets if t.name != "categories"
)
STATE_FORMAT = 1
_DAYS_PER_MONTH = 365.25 / 12
_US_PER_DAY, _US_PER_HOUR = 86_400_000_000, 3_600_000_000
_POSITIVE = (
    "max_len", "gap_buckets", "history_weeks", "horizon", "preference_batch_size",
    "attributes_batch_size", "sales_batch_size", "profile_batch_size", "eval_batch_size", "n_folds",
)  # fmt: skip


@dataclass(frozen=True)
class FeatureConfig:
    """How the task streams are cut and batched (one config for the features layer)."""

    tasks: tuple[str, ...] = TASKS
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
    text_buckets: int = 0  # > 0: hashed word / word-pair input of the item encoder (0 = off)
    max_tokens: int = 128  # words per item read for text_buckets
    # a child not yet born at the label time (a pregnancy purchase) has no age: "first_band"
    # labels it 0-12m (a parent shopping for the baby on the way), "missing" leaves the age
    # band unlabelled (its gender label stays)
    profile_unborn: Literal["first_band", "missing"] = "first_band"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "target_kinds", tuple(self.target_kinds))
        if not self.tasks:
            raise ConfigError(f"features.tasks is empty; choose from {', '.join(TASKS)}")
        _check_names("task", self.tasks, TASKS)
        _check_names("target kind", self.target_kinds, EVENT_KINDS)
        self._check_attributes()
        for name in _POSITIVE:
            if getattr(self, name) < 1:
                raise ConfigError(f"features.{name} must be >= 1, got {getattr(self, name)}")
        if self.seed < 0:
            raise ConfigError(f"features.seed must be >= 0, got {self.seed}")
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
        if self.price_bands < 2:
            raise ConfigError(f"features.price_bands must be >= 2, got {self.price_bands}")

    @property
    def split_seed(self) -> int:
        """The attribute split's seed."""
        return self.seed if self.attribute_split_seed < 0 else self.attribute_split_seed

    def batch_size(self, task: str) -> int:
        _check_names("task", (task,), TASKS)
        return getattr(self, f"{task}_batch_size")


def _check_names(what: str, names: tuple[str, ...], known: tuple[str, ...]) -> None:
    for name in names:
        if name not in known:
            raise ConfigError(f"unknown {what} '{name}'; known: {', '.join(known)}")


@dataclass(frozen=True)
class EventSequences:
    """All events in CSR form: shopper row s owns events ``offsets[s]:offsets[s+1]``, sorted by
    time (ties in funnel order). Shopper rows are shopper-vocabulary indices; row 0 is empty."""

    offsets: np.ndarray  # [S+2] int64 (S+1 shopper rows, row 0 included)
    items: np.ndarray  # [E] int32 item rows (0 = unknown item)
    kinds: np.ndarray  # [E] int8, 1..5 = EVENT_KINDS index + 1
    gaps: np.ndarray  # [E] int8 log2 bucket of hours since the shopper's previous event
    ts: np.ndarray  # [E] int64 microseconds since 1970
    is_target: np.ndarray  # [E] bool: kind in config.target_kinds and the item is known
    next_target: np.ndarray  # [E] int32: the next event's item if that is a target, else 0


def build_sequences(
    events: pl.DataFrame, shoppers: Vocabulary, items: Vocabulary, config: FeatureConfig
) -> EventSequences:
    frame = (
        pl.DataFrame(
            {
                "s": shoppers.transform(events["shopper_id"]),
                "i": items.transform(events["item_id"]),
                "k": Vocabulary(EVENT_KINDS).transform(events["kind"]),
                "t": events["ts"].dt.epoch("us"),
            }
        )
        .filter(pl.col("s") > 0)
        .sort(["s", "t", "k", "i"])  # the item breaks exact ties, so the order is total
    )
    if config.collapse_repeats:
        frame = _collapse_repeats(frame)
    s, i, k, t = (frame[c].to_numpy() for c in ("s", "i", "k", "t"))
    offsets = np.zeros(len(shoppers) + 1, dtype=np.int64)
    np.cumsum(np.bincount(s, minlength=len(shoppers)), out=offsets[1:])
    same = np.zeros(len(s), dtype=bool)
    same[1:] = s[1:] == s[:-1]
    hours = np.diff(t, prepend=t[:1]).clip(min=0) / _US_PER_HOUR
    gaps = np.where(same, np.minimum(np.log2(1 + hours), config.gap_buckets - 1), 0).astype(np.int8)
    target_codes = [EVENT_KINDS.index(kind) + 1 for kind in config.target_kinds]
    is_target = np.isin(k, target_codes) & (i > 0)
    next_target = np.zeros(len(s), dtype=np.int32)
    next_target[:-1] = np.where(same[1:] & is_target[1:], i[1:], 0)
    return EventSequences(
        offsets=offsets,
        items=i.astype(np.int32),
        kinds=k.astype(np.int8),
        gaps=gaps,
        ts=t,
        is_target=is_target,
        next_target=next_target,
    )


_RATING = EVENT_KINDS.index("rating") + 1


def _collapse_repeats(frame: pl.DataFrame) -> pl.DataFrame:
    """One step per run of a shopper's consecutive events on the same item, with the furthest
    funnel kind reached (view < click < cart < purchase) and the run's first time. Without this
    "the next item" is mostly the item just viewed, which any model predicts by copying. Ratings
    stay steps of their own: they are feedback, not a further funnel stage."""
    new_run = (
        (pl.col("s") != pl.col("s").shift())
        | (pl.col("i") != pl.col("i").shift())
        | (pl.col("k") == _RATING)
        | (pl.col("k").shift() == _RATING)
    ).fill_null(True)
    return (
        frame.with_columns(new_run.cum_sum().alias("run"))
        .group_by("run", maintain_order=True)
        .agg(pl.col("s").first(), pl.col("i").first(), pl.col("k").max(), pl.col("t").first())
        .drop("run")
    )


@dataclass(frozen=True)
class PreferenceData:
    loo: splits.LeaveOneOut
    train_shoppers: np.ndarray  # shopper rows with at least one training target
    eval_shoppers: np.ndarray  # shopper rows with validation and test targets


def build_preference(seqs: EventSequences, loo: splits.LeaveOneOut) -> PreferenceData:
    starts = seqs.offsets[:-1]
    has_next = np.concatenate([[0], np.cumsum(seqs.next_target > 0)])
    # targets at positions start..train_end-2: the last training event's next one is held out
    n_targets = has_next[np.maximum(loo.train_end - 1, starts)] - has_next[starts]
    return PreferenceData(loo, np.flatnonzero(n_targets > 0), np.flatnonzero(loo.held_out))


@dataclass(frozen=True)
class AttributeData:
    labels: ItemLabels
    split: np.ndarray  # [N+1] int8 split codes


@dataclass(frozen=True)
class ProfileData:
    """Shopper labels, taken at the last event of the input sequence, which ends where the
    shopper's preference training events end: no held-out preference event is an input."""

    end: np.ndarray  # [S+1] exclusive end of the input sequence
    age_band: np.ndarray  # [S+1] int64, -1 missing
    gender: np.ndarray  # [S+1] int64, -1 missing
    interests: np.ndarray  # [S+1, F] float32
    interests_mask: np.ndarray  # [S+1] bool
    split: np.ndarray  # [S+1] int8


def _child_age_months(shoppers: pl.DataFrame, day: np.ndarray) -> np.ndarray:
    """Age in months on ``day`` from the birth date, else from child_age_months at as_of."""
    birth = shoppers["child_birth_date"].cast(pl.Int32).cast(pl.Float64).to_numpy()
    months = shoppers["child_age_months"].cast(pl.Float64).to_numpy()
    as_of = shoppers["as_of"].cast(pl.Int32).cast(pl.Float64).to_numpy()
    from_birth = (day - birth) / _DAYS_PER_MONTH
    return np.where(np.isnan(birth), months + (day - as_of) / _DAYS_PER_MONTH, from_birth)


def build_profile(
    shoppers: pl.DataFrame,
    vocab: Vocabulary,
    seqs: EventSequences,
    end: np.ndarray,
    config: FeatureConfig,
) -> ProfileData:
    n = len(vocab)
    rows = vocab.transform(shoppers["shopper_id"])
    has_events = end > seqs.offsets[:-1]
    last_day = np.where(has_events, seqs.ts[np.maximum(end - 1, 0)] // _US_PER_DAY, 0)
    day = np.where(has_events[rows], last_day[rows], np.nan)
    months = _child_age_months(shoppers, day)
    if config.profile_unborn == "missing":
        months = np.where(months < 0, np.nan, months)  # no age band before the birth
    age_band = np.full(n, -1, dtype=np.int64)
    age_band[rows] = age_band_of_months(months)
    gender = np.full(n, -1, dtype=np.int64)
    gender[rows] = Vocabulary(CHILD_GENDERS).transform(shoppers["child_gender"]) - 1
    interests, mask = multi_hot(rows, shoppers["interests"], FUNCTIONS, n)
    labelled = ((age_band >= 0) | (gender >= 0) | mask) & has_events  # no events: no input
    mode, n_folds, fold = config.profile_split, config.n_folds, config.fold
    split = splits.profile_split(labelled, config.seed, mode=mode, n_folds=n_folds, fold=fold)
    return ProfileData(end, age_band, gender, interests, mask, split)


def _require(task: str, ok: bool, missing: str) -> None:
    if not ok:
        raise ConfigError(
            f"task '{task}' is switched on but the store has {missing}; "
            f"add those labels or leave '{task}' out of features.tasks"
        )


def _require_training(task: str, split: np.ndarray, what: str) -> None:
    """Labels exist but the split left none for training (too few of them)."""
    n = int((split != splits.UNUSED).sum())
    if not (split == splits.TRAIN).any():
        raise ConfigError(
            f"task '{task}': the store has only {n} {what}, too few to leave any for "
            "training after the validation and test hold-outs"
        )


@dataclass
class TaskData:
    """The fitted encoders, the item tables, the event sequences and each switched-on task's
    labels and split. A task that is switched off is ``None``."""

    config: FeatureConfig
    vocabs: dict[str, Vocabulary]  # items, brands, categories, shoppers
    price: PriceStats
    items: ItemTables
    sequences: EventSequences | None
    preference: PreferenceData | None = None
    attributes: AttributeData | None = None
    sales: SalesData | None = None
    profile: ProfileData | None = None

    @classmethod
    def build(
        cls, store: Store, config: FeatureConfig | None = None, *, text_vectors: TextVectors
    ) -> TaskData:
        """Fit vocabularies and price statistics on the store and build every active task."""
        config = config or FeatureConfig()
        frames = _read(store, config)
        items = frames["items"]
        vocabs = {
            "items": Vocabulary.fit(items["item_id"]),
            "brands": Vocabulary.fit(items["brand"]),
            "categories": Vocabulary.fit(items["categories"].explode()),
        }
        return cls._assemble(frames, config, vocabs, PriceStats.fit(items["price"]), text_vectors)

    @classmethod
    def from_state(
        cls,
        store: Store,
        state: dict[str, Any],
        *,
        text_vectors: TextVectors,
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
        return cls._assemble(_read(store, config), config, vocabs, price, text_vectors)

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
    ) -> TaskData:
        vocabs = {**vocabs, "shoppers": Vocabulary.fit(frames["shoppers"]["shopper_id"])}
        # a prediction target must not also be an input
        targets = config.attribute_targets if "attributes" in config.tasks else ()
        use_categories = not config.predict_categories and "top_category" not in targets
        tables = build_item_tables(
            frames["items"], vocabs, text_vectors, price=price, use_categories=use_categories,
            use_price="price_band" not in targets, text_buckets=config.text_buckets,
            max_tokens=config.max_tokens,
        )  # fmt: skip
        data = cls(config, vocabs, price, tables, None)
        if "events" in frames:
            data.sequences = build_sequences(
                frames["events"], vocabs["shoppers"], vocabs["items"], config
            )
            data._sequence_tasks(frames["shoppers"])
        if "attributes" in config.tasks:
            data.attributes = _attribute_data(frames["items"], vocabs, config)
        if "sales" in config.tasks:
            _require("sales", frames["sales"].height > 0, "no sales rows")
            data.sales = build_sales(
                frames["sales"], frames["items"], vocabs["items"], config.horizon
            )
        return data

    def _sequence_tasks(self, shoppers: pl.DataFrame) -> None:
        seqs, config = self.sequences, self.config
        loo = splits.leave_one_out(seqs.offsets, seqs.is_target)
        if "preference" in config.tasks:
            kinds = ", ".join(config.target_kinds)
            _require(
                "preference", bool(seqs.is_target.any()), f"no events of the target kinds ({kinds})"
            )
            self.preference = build_preference(seqs, loo)
            _require(
                "preference",
                len(self.preference.train_shoppers) > 0,
                "no shopper with an event followed by one of the target kinds",
            )
        if "profile" in config.tasks:
            self.profile = build_profile(
                shoppers, self.vocabs["shoppers"], seqs, loo.train_end, config
            )
            _require(
                "profile",
                bool((self.profile.split != splits.UNUSED).any()),
                "no shopper with a known child age, child gender or interests and any events",
            )
            _require_training("profile", self.profile.split, "labelled shoppers with events")

    @property
    def n_items(self) -> int:
        return self.items.n_items

    def dims(self) -> dict[str, int]:
        """Sizes a model is built with."""
        return {
            "n_items": self.n_items,
            "n_brands": len(self.vocabs["brands"]),
            "n_categories": len(self.vocabs["categories"]) - 1,
            "text_dim": int(self.items.text.shape[1]),
            "n_kinds": len(EVENT_KINDS) + 1,
            "gap_buckets": self.config.gap_buckets,
            "max_len": self.config.max_len,
            "history_weeks": self.config.history_weeks,
            "history_features": len(HISTORY_FEATURES),
            "horizon": self.config.horizon,
            "calendar_features": len(CALENDAR_FEATURES),
            "n_functions": len(FUNCTIONS),
            **self._attribute_dims(),
        }

    def _attribute_dims(self) -> dict[str, int]:
        """The optional attribute outputs' sizes (0 = the head has no such output)."""
        on = self.config.attribute_targets if self.attributes is not None else ()
        return {
            "n_price_bands": self.config.price_bands if "price_band" in on else 0,
            "top_category": int("top_category" in on),
            "text_buckets": self.config.text_buckets,
        }


def _attribute_data(
    items: pl.DataFrame, vocabs: dict[str, Vocabulary], config: FeatureConfig
) -> AttributeData:
    labels = build_item_labels(items, vocabs)
    targets = config.attribute_targets
    labelled = labels.labelled(config.predict_categories, targets)
    what = " or ".join([*targets, *(["categories"] if config.predict_categories else [])])
    _require("attributes", bool(labelled.any()), f"no item labelled with {what}")
    holdout = splits.holdout_catalogue if config.attribute_split == "catalogue" else (
        splits.holdout_items)  # fmt: skip
    split = holdout(labelled, config.split_seed, config.attribute_holdout)
    _require_training("attributes", split, "labelled items")
    if "price_band" in targets:
        edges = fit_price_edges(labels.price, split == splits.TRAIN, config.price_bands)
        labels = labels.with_price_bands(edges)
    return AttributeData(labels, split)


def _read(store: Store, config: FeatureConfig) -> dict[str, pl.DataFrame]:
    """The tables the active tasks need; events only with their four used columns."""
    frames = {"items": store.frame("items"), "shoppers": store.frame("shoppers")}
    if {"preference", "profile"} & set(config.tasks):
        frames["events"] = store.query("SELECT shopper_id, item_id, ts, kind FROM events")
    if "sales" in config.tasks:
        frames["sales"] = store.frame("sales")
    return frames
