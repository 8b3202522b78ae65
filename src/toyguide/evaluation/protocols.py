"""Evaluate a multi-task model on a split, task by task, with each task's declared metrics.

The results are ``{task: {"target/metric": value}}``; a metric that is undefined on the data
(say, AUC when every label is the same) is reported as NaN rather than dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from toyguide.errors import EvaluationError
from toyguide.evaluation.metrics import QUANTILES, metric_of, rank_of_targets

__all__ = ["evaluate_model", "sales_arrays", "sales_forecast"]

Metrics = dict[str, dict[str, float]]


def evaluate_model(model: Any, streams: dict[str, Any], split: str) -> Metrics:
    """Every active task's metrics on ``split`` ('validation' or 'test'), in eval mode."""
    was_training = model.training
    model.eval()
    try:
        return {task: _EVALUATORS[task](model, stream.eval_batches(split)) for task, stream in
                streams.items()}  # fmt: skip
    finally:
        model.train(was_training)


def _safe(fn: Callable[[], float]) -> float:
    try:
        return float(fn())
    except EvaluationError:
        return math.nan


def _preference(model: Any, batches: Iterable[dict]) -> dict[str, float]:
    ranks = []
    for batch in batches:
        scores = model.predict("preference", batch)  # [B, N+1]
        ranks.append(rank_of_targets(scores, batch["target_item"], batch["exclude"]).numpy())
    r = np.concatenate(ranks) if ranks else np.zeros(0)  # no held-out shopper: NaN metrics
    out = {}
    for k in (5, 10, 20):
        out[f"next_item/hr@{k}"] = _safe(lambda k=k: metric_of(f"hr@{k}")(r))
        out[f"next_item/ndcg@{k}"] = _safe(lambda k=k: metric_of(f"ndcg@{k}")(r))
    out["next_item/n"] = float(len(r))
    return out


def _collect(model: Any, task: str, batches: Iterable[dict], targets: dict[str, str]) -> dict:
    """Concatenated logits and labels per target: ``targets`` maps target → mask key or ''."""
    logits: dict[str, list] = {t: [] for t in targets}
    labels: dict[str, list] = {t: [] for t in targets}
    for batch in batches:
        out = model.predict(task, batch)
        for target, mask_key in targets.items():
            if target not in batch:
                continue
            keep = batch[mask_key] if mask_key else batch[target] >= 0
            logits[target].append(out[target][keep].float().numpy())
            labels[target].append(batch[target][keep].numpy())
    return {t: (np.concatenate(logits[t]), np.concatenate(labels[t])) for t in targets if logits[t]}


def _classes(prefix: str, logits: np.ndarray, labels: np.ndarray, metrics: tuple) -> dict:
    out = {}
    for m in metrics:
        if m == "auc":
            probs = _softmax(logits)
            score = probs[:, 1] if probs.shape[1] == 2 else probs
            out[f"{prefix}/auc"] = _safe(lambda s=score: metric_of("auc")(labels, s))
        else:
            out[f"{prefix}/{m}"] = _safe(lambda m=m: metric_of(m)(labels, logits))
    return out


def _multilabel(prefix: str, logits: np.ndarray, labels: np.ndarray) -> dict:
    predicted = (logits > 0).astype(np.int64)  # sigmoid(logit) > 0.5
    return {
        f"{prefix}/macro_f1": _safe(lambda: metric_of("macro_f1")(labels, predicted)),
        f"{prefix}/auc": _safe(lambda: metric_of("auc")(labels, logits)),
    }


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _item_or_shopper(task: str, spec: dict[str, tuple[str, tuple]]) -> Callable:
    def evaluate(model: Any, batches: Iterable[dict]) -> dict[str, float]:
        targets = {t: mask for t, (mask, _) in spec.items()}
        got = _collect(model, task, batches, targets)
        out: dict[str, float] = {}
        for target, (logits, labels) in got.items():
            metrics = spec[target][1]
            if metrics == ("multilabel",):
                out |= _multilabel(target, logits, labels)
            else:
                out |= _classes(target, logits, labels, metrics)
            out[f"{target}/n"] = float((labels >= 0).any(axis=-1).sum() if labels.ndim > 1
                                       else (labels >= 0).sum())  # fmt: skip
        return out

    return evaluate


def sales_forecast(model: Any, batch: dict) -> dict[str, np.ndarray]:
    """One forward pass of the sales task in eval mode: ``quantiles`` [B, H, 3] (P10/P50/P90)
    and ``mean`` [B, H] (the expected units, the point forecast for WAPE and bias), in units.

    ``model.predict("sales", ...)`` returns the quantiles only (its contract); the mean comes
    from the same head output through the head's ``mean_units``.
    """
    with torch.no_grad():
        head = model.heads["sales"]
        out = head(model.mixer(model.represent("sales", batch), "sales"))  # [B, H, 4] scaled
        return {
            "quantiles": head.to_units(out, batch["scale"]).numpy(),
            "mean": head.mean_units(out, batch["scale"]).numpy(),
        }


def sales_arrays(model: Any, batches: Iterable[dict]) -> dict[str, np.ndarray]:
    """Forecast quantiles, means and actuals of the observed cells, plus each example's
    history."""
    preds, means, actuals, masks, history = [], [], [], [], []
    for batch in batches:
        forecast = sales_forecast(model, batch)
        preds.append(forecast["quantiles"])  # [B, H, 3] units
        means.append(forecast["mean"])  # [B, H] units
        actuals.append(batch["target"].numpy())
        masks.append(batch["target_mask"].numpy())
        units = np.expm1(batch["history"][..., 0].numpy()) * batch["scale"].numpy()[:, None]
        history.append(np.where(batch["history"][..., 4].numpy() > 0, units, np.nan))
    mask = np.concatenate(masks)
    return {
        "pred": np.concatenate(preds)[mask],  # [cells, 3]
        "mean": np.concatenate(means)[mask],  # [cells]
        "actual": np.concatenate(actuals)[mask],  # [cells]
        "history": np.concatenate(history),  # [examples, K]
    }


def _sales(model: Any, batches: Iterable[dict]) -> dict[str, float]:
    """WAPE, MASE and bias of the mean (the point forecast); the same of the median as
    ``*_p50``; pinball and coverage of the quantiles."""
    a = sales_arrays(model, batches)
    pred, actual, mean = a["pred"], a["actual"], a["mean"]
    p50 = pred[:, QUANTILES.index(0.5)]
    nonzero = actual > 0
    return {
        "units/wape": _safe(lambda: metric_of("wape")(actual, mean)),
        "units/mase": _safe(lambda: metric_of("mase")(actual, mean, insample=a["history"])),
        "units/bias": _safe(lambda: metric_of("bias")(actual, mean)),
        "units/abs_bias": _safe(lambda: metric_of("abs_bias")(actual, mean)),
        "units/wape_p50": _safe(lambda: metric_of("wape")(actual, p50)),
        "units/bias_p50": _safe(lambda: metric_of("bias")(actual, p50)),
        "units/pinball": _safe(lambda: metric_of("pinball")(actual, pred)),
        "units/coverage_80": _safe(lambda: metric_of("coverage_80")(actual, pred)),
        "units/coverage_error_80": _safe(lambda: metric_of("coverage_error_80")(actual, pred)),
        "units/coverage_80_nonzero": _safe(
            lambda: metric_of("coverage_80")(actual[nonzero], pred[nonzero])
        ),
        "units/n": float(len(actual)),
    }


_attribute_targets = _item_or_shopper(
    "attributes",
    {
        "age_band": ("", ("accuracy", "macro_f1", "mae_bands")),
        "gender_target": ("", ("accuracy", "macro_f1")),
        "functions": ("functions_mask", ("multilabel",)),
        "categories": ("categories_mask", ("multilabel",)),
        "top_category": ("", ("accuracy", "macro_f1")),
        "price_band": ("", ("accuracy", "macro_f1", "mae_bands")),
    },
)


def _attributes(model: Any, batches: Iterable[dict]) -> dict[str, float]:
    """Each switched-on target's metrics, and ``all/macro_f1``, their macro-F1s' mean: one
    number to select a multi-target run on without favouring one target."""
    out = _attribute_targets(model, batches)
    f1s = [v for k, v in out.items() if k.endswith("/macro_f1") and not math.isnan(v)]
    out["all/macro_f1"] = float(np.mean(f1s)) if f1s else math.nan
    return out


_EVALUATORS: dict[str, Callable[[Any, Iterable[dict]], dict[str, float]]] = {
    "preference": _preference,
    "sales": _sales,
    "attributes": _attributes,
    "profile": _item_or_shopper(
        "profile",
        {
            "age_band": ("", ("accuracy", "macro_f1", "mae_bands")),
            "gender": ("", ("accuracy", "auc", "macro_f1")),
            "interests": ("interests_mask", ("multilabel",)),
        },
    ),
}
