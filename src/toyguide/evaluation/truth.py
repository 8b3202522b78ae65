"""How well a trained model recovers the synthetic shop's hidden truth (DESIGN.md §3).

The synthetic shop hides some labels from the store but writes them all beside it
(``read_truth``). A model that learnt something real should recover them for the shoppers and
toys whose labels it never saw, and its forecasts should track the *expected* demand the sales
were drawn from, not only the noisy realised units. :func:`recover_truth` measures both:

- ``profile``: shoppers whose child was hidden (``child_visible`` false) and who have input
  events — the child's age band at the last input event and gender; shoppers whose interests
  were hidden — their interests. Labels come from the truth through the features' own
  ``build_profile``, so the time cut and the age bands are exactly the training labels'.
- ``attributes``: toys whose attributes were hidden — age band of the midpoint of the true
  [age_min, age_max], gender target and functions, through the features' ``build_item_labels``.
- ``sales``: every (item, origin + h) cell of the test origins, masked as in the batch (a cell
  counts once per origin that forecasts it, as in the model's own test WAPE) — the P50 against
  the true expected units, the realised units' WAPE of the model and of the true mean (the noise
  floor), and how often P10–P90 holds the true mean.

Each ``..._majority`` key is the same metric for the best constant guess in hindsight: the most
common true class of the very examples scored (per column for multi-label targets). Rates and
counts are floats; a metric undefined on the data (AUC with one class) is NaN.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import torch

from toyguide.errors import ConfigError, EvaluationError
from toyguide.evaluation.metrics import QUANTILES, metric_of
from toyguide.features.data import TaskData
from toyguide.features.labels import ItemLabels, ProfileData, build_item_labels, build_profile
from toyguide.features.splits import TEST

__all__ = [
    "demand_grid",
    "recover_truth",
    "true_item_labels",
    "true_profile_labels",
]

Metrics = dict[str, float]


def recover_truth(
    model: Any, data: TaskData, streams: dict[str, Any], truth: dict[str, pl.DataFrame]
) -> Metrics:
    """Recovery metrics of the truth-bearing tasks ``model`` has (profile, attributes, sales),
    in eval mode without gradients; ``data`` and ``streams`` are the run's over the synthetic
    store."""
    tasks = [t for t in model.tasks if t in _RECOVER]
    if missing := [t for t in tasks if not data.has(t)]:
        raise ConfigError(f"the model has tasks {missing} that the task data does not build")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out: Metrics = {}
            for task in tasks:
                out |= _RECOVER[task](model, data, streams[task], truth)
            return out
    finally:
        model.train(was_training)


# -- labels from the truth -------------------------------------------------------------------
def true_profile_labels(data: TaskData, shopper_truth: pl.DataFrame) -> ProfileData:
    """The profile labels the features would build if nothing were hidden: per shopper row,
    taken at the last event of the same input sequence (``data.of("profile").end``)."""
    shoppers = shopper_truth.select(
        "shopper_id",
        "child_birth_date",
        pl.lit(None, pl.Int64).alias("child_age_months"),
        pl.lit(None, pl.Date).alias("as_of"),
        "child_gender",
        "interests",
    )
    vocab = data.vocabs["shoppers"]
    return build_profile(shoppers, vocab, data.sequences, data.of("profile").end, data.config)


def true_item_labels(data: TaskData, item_truth: pl.DataFrame) -> ItemLabels:
    """The attribute labels the features would build if nothing were hidden (no categories)."""
    items = item_truth.with_columns(pl.lit(None, pl.List(pl.String)).alias("categories"))
    return build_item_labels(items, data.vocabs)


def demand_grid(data: TaskData, demand_truth: pl.DataFrame) -> np.ndarray:
    """[N+1, W] true expected units on the sales week grid (``data.sales.mondays``), NaN where
    the truth has no row; truth rows of unknown items or outside the grid are left out."""
    sales = data.of("sales")
    rows = data.vocabs["items"].transform(demand_truth["item_id"])
    offset = demand_truth["week"].cast(pl.Int32).to_numpy().astype(np.int64) - sales.mondays[0]
    if (offset % 7).any():
        raise EvaluationError("demand_truth weeks are not on the sales week grid of Mondays")
    week = offset // 7
    keep = (rows > 0) & (week >= 0) & (week < len(sales.mondays))
    grid = np.full((len(data.vocabs["items"]), len(sales.mondays)), np.nan)
    grid[rows[keep], week[keep]] = demand_truth["expected_units"].to_numpy()[keep]
    return grid


def _hidden_rows(vocab_rows: np.ndarray, hidden: pl.Series, usable: np.ndarray) -> np.ndarray:
    """Sorted rows of the truth's hidden entries that the vocabulary knows and ``usable`` keeps."""
    rows = vocab_rows[hidden.to_numpy() & (vocab_rows > 0)]
    return np.unique(rows[usable[rows]])


# -- per task ----------------------------------------------------------------------------------
def _profile(model: Any, data: TaskData, stream: Any, truth: dict[str, pl.DataFrame]) -> Metrics:
    st = truth["shopper_truth"]
    labels = true_profile_labels(data, st)
    rows = data.vocabs["shoppers"].transform(st["shopper_id"])
    has_input = data.of("profile").end > data.sequences.offsets[:-1]  # [S+1]
    child = _hidden_rows(rows, ~st["child_visible"], has_input)
    likes = _hidden_rows(rows, ~st["interests_visible"], has_input)
    scored = np.union1d(child, likes)
    logits = _predict(model, "profile", lambda ex: stream.make_batch(ex, TEST), scored, data)
    at_child, at_likes = np.searchsorted(scored, child), np.searchsorted(scored, likes)
    out = {"profile_hidden_n": float(len(child)), "profile_hidden_interests_n": float(len(likes))}
    out |= _classes(
        "profile_hidden_age_band", labels.age_band[child], logits["age_band"][at_child], True
    )
    out |= _classes("profile_hidden_gender", labels.gender[child], logits["gender"][at_child])
    out |= _multilabel(
        "profile_hidden_interests", labels.interests[likes], logits["interests"][at_likes]
    )
    return out


def _attributes(model: Any, data: TaskData, stream: Any, truth: dict[str, pl.DataFrame]) -> Metrics:
    it = truth["item_truth"]
    labels = true_item_labels(data, it)
    rows = data.vocabs["items"].transform(it["item_id"])
    everything = np.ones(len(data.vocabs["items"]), dtype=bool)
    hidden = _hidden_rows(rows, ~it["attributes_visible"], everything)
    logits = _predict(model, "attributes", lambda ex: stream.make_batch(ex, TEST), hidden, data)
    out = {"attributes_hidden_n": float(len(hidden))}
    out |= _classes("attributes_hidden_age_band", labels.age_band[hidden], logits["age_band"], True)
    out |= _classes(
        "attributes_hidden_gender_target", labels.gender_target[hidden], logits["gender_target"]
    )
    out |= _multilabel("attributes_hidden_functions", labels.functions[hidden], logits["functions"])
    return out


def _sales(model: Any, data: TaskData, stream: Any, truth: dict[str, pl.DataFrame]) -> Metrics:
    rows, origins = stream.pairs(TEST)
    if len(rows) == 0:
        return {"sales_n_cells": 0.0} | dict.fromkeys(_SALES_KEYS, math.nan)
    expected = demand_grid(data, truth["demand_truth"])  # [N+1, W]
    horizon, n_weeks = data.config.horizon, len(data.of("sales").mondays)
    preds, means, actuals = [], [], []
    for start in range(0, len(rows), data.config.eval_batch_size):
        ex = np.arange(start, min(start + data.config.eval_batch_size, len(rows)))
        batch = stream.make_batch(ex, TEST)
        mask = batch["target_mask"].numpy()  # [B, H]
        week = np.minimum(origins[ex][:, None] + np.arange(horizon)[None, :], n_weeks - 1)
        preds.append(model.predict("sales", batch).numpy()[mask])  # [cells, 3] units
        means.append(expected[rows[ex][:, None], week][mask])
        actuals.append(batch["target"].numpy()[mask])
    pred, mean, actual = (np.concatenate(a) for a in (preds, means, actuals))
    if np.isnan(mean).any():
        raise EvaluationError(
            f"demand_truth has no expected units for {int(np.isnan(mean).sum())} test cells; "
            "is it the truth of this store?"
        )
    p50 = pred[:, QUANTILES.index(0.5)]
    return {
        "sales_n_cells": float(len(mean)),
        "sales_wape_vs_true_demand": _safe(lambda: metric_of("wape")(mean, p50)),
        "sales_wape_realised": _safe(lambda: metric_of("wape")(actual, p50)),
        "sales_wape_oracle_realised": _safe(lambda: metric_of("wape")(actual, mean)),
        "sales_coverage_80_of_true_mean": _safe(lambda: metric_of("coverage_80")(mean, pred)),
    }


_SALES_KEYS = (
    "sales_wape_vs_true_demand",
    "sales_wape_realised",
    "sales_wape_oracle_realised",
    "sales_coverage_80_of_true_mean",
)
_RECOVER: dict[str, Callable[[Any, TaskData, Any, dict[str, pl.DataFrame]], Metrics]] = {
    "profile": _profile,
    "attributes": _attributes,
    "sales": _sales,
}


# -- helpers -----------------------------------------------------------------------------------
def _predict(
    model: Any, task: str, make_batch: Callable, rows: np.ndarray, data: TaskData
) -> dict[str, np.ndarray]:
    """Each target's logits for ``rows``, in that order, in eval-sized batches."""
    size = data.config.eval_batch_size
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(rows), size):
        for target, logits in model.predict(task, make_batch(rows[start : start + size])).items():
            parts.setdefault(target, []).append(logits.float().numpy())
    out = defaultdict(lambda: np.zeros((0, 0)))  # no rows: every target's logits are empty
    out.update({target: np.concatenate(chunks) for target, chunks in parts.items()})
    return out


def _safe(fn: Callable[[], float]) -> float:
    try:
        return float(fn())
    except EvaluationError:
        return math.nan


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _classes(prefix: str, labels: np.ndarray, logits: np.ndarray, ordinal: bool = False) -> Metrics:
    """Accuracy and AUC (and band MAE when ``ordinal``) of the model and of the majority class."""
    names = {"accuracy": "accuracy", **({"mae": "mae_bands"} if ordinal else {})}
    keys = [f"{prefix}_{k}{s}" for k in names for s in ("", "_majority")] + [f"{prefix}_auc"]
    if len(labels) == 0:
        return dict.fromkeys(keys, math.nan)
    probs = _softmax(logits.astype(np.float64))
    scores = probs[:, 1] if probs.shape[1] == 2 else probs
    majority = np.full(len(labels), np.bincount(labels[labels >= 0]).argmax())
    out = {f"{prefix}_auc": _safe(lambda: metric_of("auc")(labels, scores))}
    for short, name in names.items():
        out[f"{prefix}_{short}"] = _safe(lambda n=name: metric_of(n)(labels, probs))
        out[f"{prefix}_{short}_majority"] = _safe(lambda n=name: metric_of(n)(labels, majority))
    return out


def _multilabel(prefix: str, labels: np.ndarray, logits: np.ndarray) -> Metrics:
    """Macro-F1 at sigmoid > 0.5 and macro AUC, and the macro-F1 of the per-column majority."""
    if len(labels) == 0:
        return dict.fromkeys((f"{prefix}_macro_f1", f"{prefix}_macro_f1_majority",
                              f"{prefix}_auc"), math.nan)  # fmt: skip
    majority = np.broadcast_to(labels.mean(0) > 0.5, labels.shape).astype(np.float64)
    return {
        f"{prefix}_macro_f1": _safe(lambda: metric_of("macro_f1")(labels, logits > 0)),
        f"{prefix}_macro_f1_majority": _safe(lambda: metric_of("macro_f1")(labels, majority)),
        f"{prefix}_auc": _safe(lambda: metric_of("auc")(labels, logits)),
    }
