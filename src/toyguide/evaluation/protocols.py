"""Evaluate a multi-task model on a split, task by task, each with its own evaluator, and the
metric helpers those evaluators share (ranking, classes, multi-label, forecasts).

Each task (``toyguide.tasks``) brings its evaluator, ``evaluate(model, batches) -> metrics``;
the results are ``{task: {"target/metric": value}}``; a metric that is undefined on the data
(say, AUC when every label is the same) is reported as NaN rather than dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from toyguide.errors import EvaluationError
from toyguide.evaluation.metrics import QUANTILES, metric_of, rank_of_targets

__all__ = [
    "Evaluator",
    "evaluate_model",
    "label_metrics",
    "mean_macro_f1",
    "ranking_metrics",
    "safe_metric",
    "sales_arrays",
    "sales_metrics",
    "target_ranks",
]

Metrics = dict[str, dict[str, float]]
Evaluator = Callable[[Any, Iterable[dict]], dict[str, float]]
"""``(model, the split's batches) -> {"target/metric": value}``: one task's evaluator."""


def evaluate_model(
    model: Any, streams: Mapping[str, Any], split: str, evaluators: Mapping[str, Evaluator]
) -> Metrics:
    """Every stream's task metrics on ``split`` ('validation' or 'test'), in eval mode."""
    was_training = model.training
    model.eval()
    try:
        return {task: evaluators[task](model, stream.eval_batches(split)) for task, stream in
                streams.items()}  # fmt: skip
    finally:
        model.train(was_training)


def safe_metric(fn: Callable[[], float]) -> float:
    """``fn()``, or NaN where the metric is undefined on the data."""
    try:
        return float(fn())
    except EvaluationError:
        return math.nan


def ranking_metrics(prefix: str, ranks: np.ndarray, ks: tuple[int, ...] = (5, 10, 20)) -> dict:
    """HR@k and NDCG@k of the targets' 1-based ``ranks`` (none: NaN metrics) and their count."""
    out = {}
    for k in ks:
        out[f"{prefix}/hr@{k}"] = safe_metric(lambda k=k: metric_of(f"hr@{k}")(ranks))
        out[f"{prefix}/ndcg@{k}"] = safe_metric(lambda k=k: metric_of(f"ndcg@{k}")(ranks))
    out[f"{prefix}/n"] = float(len(ranks))
    return out


def target_ranks(scores: Any, batch: dict) -> np.ndarray:
    """1-based rank of each row's ``target_item`` among ``scores`` [B, N+1], less ``exclude``."""
    return rank_of_targets(scores, batch["target_item"], batch["exclude"]).numpy()


def _collect(outputs: Callable[[dict], dict], batches: Iterable[dict], targets: dict) -> dict:
    """Concatenated logits and labels per target: ``targets`` maps target → mask key or ''."""
    logits: dict[str, list] = {t: [] for t in targets}
    labels: dict[str, list] = {t: [] for t in targets}
    for batch in batches:
        out = outputs(batch)
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
            out[f"{prefix}/auc"] = safe_metric(lambda s=score: metric_of("auc")(labels, s))
        else:
            out[f"{prefix}/{m}"] = safe_metric(lambda m=m: metric_of(m)(labels, logits))
    return out


def _multilabel(prefix: str, logits: np.ndarray, labels: np.ndarray) -> dict:
    predicted = (logits > 0).astype(np.int64)  # sigmoid(logit) > 0.5
    return {
        f"{prefix}/macro_f1": safe_metric(lambda: metric_of("macro_f1")(labels, predicted)),
        f"{prefix}/auc": safe_metric(lambda: metric_of("auc")(labels, logits)),
    }


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def label_metrics(
    outputs: Callable[[dict], dict], batches: Iterable[dict], spec: dict[str, tuple[str, tuple]]
) -> dict[str, float]:
    """Metrics of per-target logits (``outputs(batch)``) against the batch's labels. ``spec``
    maps each target to (its mask key or '' for -1-coded labels, its metrics), the metrics being
    ``("multilabel",)`` for a multi-label target (macro-F1 at 0.5 and AUC)."""
    targets = {t: mask for t, (mask, _) in spec.items()}
    out: dict[str, float] = {}
    for target, (logits, labels) in _collect(outputs, batches, targets).items():
        metrics = spec[target][1]
        if metrics == ("multilabel",):
            out |= _multilabel(target, logits, labels)
        else:
            out |= _classes(target, logits, labels, metrics)
        out[f"{target}/n"] = float((labels >= 0).any(axis=-1).sum() if labels.ndim > 1
                                   else (labels >= 0).sum())  # fmt: skip
    return out


def mean_macro_f1(metrics: dict[str, float]) -> float:
    """The mean of the targets' macro-F1s: one number to select a multi-target run on without
    favouring one target (NaN when none is defined)."""
    f1s = [v for k, v in metrics.items() if k.endswith("/macro_f1") and not math.isnan(v)]
    return float(np.mean(f1s)) if f1s else math.nan


def sales_arrays(
    forecast: Callable[[dict], dict[str, Any]], batches: Iterable[dict]
) -> dict[str, np.ndarray]:
    """Forecast quantiles, means and actuals of the observed cells, plus each example's
    history; ``forecast(batch)`` gives ``quantiles`` [B, H, 3] and ``mean`` [B, H] in units."""
    preds, means, actuals, masks, history = [], [], [], [], []
    for batch in batches:
        out = forecast(batch)
        preds.append(out["quantiles"].numpy())  # [B, H, 3] units
        means.append(out["mean"].numpy())  # [B, H] units
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


def sales_metrics(prefix: str, a: dict[str, np.ndarray]) -> dict[str, float]:
    """WAPE, MASE and bias of the mean (the point forecast); the same of the median as
    ``*_p50``; pinball and coverage of the quantiles (``a`` from :func:`sales_arrays`)."""
    pred, actual, mean = a["pred"], a["actual"], a["mean"]
    p50 = pred[:, QUANTILES.index(0.5)]
    nonzero = actual > 0

    def metric(name: str, truth: np.ndarray, forecast: np.ndarray, **kw: Any) -> float:
        return safe_metric(lambda: metric_of(name)(truth, forecast, **kw))

    return {
        f"{prefix}/wape": metric("wape", actual, mean),
        f"{prefix}/mase": metric("mase", actual, mean, insample=a["history"]),
        f"{prefix}/bias": metric("bias", actual, mean),
        f"{prefix}/abs_bias": metric("abs_bias", actual, mean),
        f"{prefix}/wape_abs_bias": metric("wape_abs_bias", actual, mean),
        f"{prefix}/wape_p50": metric("wape", actual, p50),
        f"{prefix}/bias_p50": metric("bias", actual, p50),
        f"{prefix}/pinball": metric("pinball", actual, pred),
        f"{prefix}/coverage_80": metric("coverage_80", actual, pred),
        f"{prefix}/coverage_error_80": metric("coverage_error_80", actual, pred),
        f"{prefix}/coverage_80_nonzero": metric("coverage_80", actual[nonzero], pred[nonzero]),
        f"{prefix}/n": float(len(actual)),
    }
