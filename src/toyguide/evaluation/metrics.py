"""Metrics that declare their direction, full-ranking helpers and Δm (DESIGN.md §2, §4).

Every metric is registered in :data:`METRICS` with ``higher_is_better``; early stopping,
checkpoint choice, tables and Δm read it through :func:`better` and :func:`relative_gain`, so a
regression task such as sales can drive model selection as well as a ranking task.

Two metrics have no direction because *closeness to a value* is what matters: ``bias`` (ideal 0)
and ``coverage_80`` (ideal 0.8). They are reported as they are, carry ``higher_is_better=None``
and name the lower-is-better variant to select on (``abs_bias``, ``coverage_error_80``);
:func:`better` refuses them rather than guess.

Metric functions take NumPy arrays (first argument the truth) and return a float. Class labels
use the contracts' convention that ``-1`` is a missing label: those rows are dropped. Forecast
metrics take only observed cells (index with the batch's ``target_mask`` first).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from toyguide.errors import ConfigError, EvaluationError
from toyguide.registry import Registry

if TYPE_CHECKING:
    import torch

__all__ = [
    "METRICS",
    "QUANTILES",
    "EvaluationError",
    "Metric",
    "better",
    "delta_m",
    "hit_ratio",
    "metric_of",
    "ndcg",
    "rank_of_targets",
    "relative_gain",
]

QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
"""The sales head's quantiles (mtl-contracts.md); the default for ``pinball`` and coverage."""


@dataclass(frozen=True)
class Metric:
    """A named metric and its direction.

    ``higher_is_better`` is ``None`` for a reported-only metric whose ideal is a value in the
    middle (``bias``, ``coverage_80``); ``select_on`` then names the registered metric to rank
    models by.
    """

    name: str
    fn: Callable[..., float]
    higher_is_better: bool | None
    select_on: str | None = None
    description: str = ""

    @property
    def directional(self) -> bool:
        return self.higher_is_better is not None

    def __call__(self, *args: Any, **kwargs: Any) -> float:
        return float(self.fn(*args, **kwargs))


METRICS: Registry[Metric] = Registry("metric")


def _add(
    name: str, fn: Callable[..., float], higher: bool | None, doc: str, select_on: str | None = None
) -> None:
    METRICS.register(name)(Metric(name, fn, higher, select_on, doc))


def _arrays(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise EvaluationError(f"y_true {t.shape} and y_pred {p.shape} must have the same shape")
    if t.size == 0:
        raise EvaluationError("no values to evaluate")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise EvaluationError("values must be finite; drop unobserved cells with the mask first")
    return t, p


def _labels(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels with missing (-1) rows dropped; 2-D predictions are scores (argmax)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if p.ndim == 2:
        p = p.argmax(axis=1)
    if t.ndim != 1 or p.shape != t.shape:
        raise EvaluationError(f"labels must be [n] with predictions [n] or [n, C]; got {t.shape}")
    keep = t >= 0
    if not keep.any():
        raise EvaluationError("every label is missing (-1)")
    return t[keep].astype(np.int64), p[keep].astype(np.int64)


def _quantile_columns(y_true: Any, y_pred: Any, quantiles: Sequence[float]) -> np.ndarray:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if p.shape != (*t.shape, len(quantiles)) or t.size == 0:
        raise EvaluationError(f"y_pred must be y_true's shape + [{len(quantiles)}], got {p.shape}")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise EvaluationError("values must be finite; drop unobserved cells with the mask first")
    return p


def accuracy(y_true: Any, y_pred: Any) -> float:
    t, p = _labels(y_true, y_pred)
    return float((t == p).mean())


def macro_f1(y_true: Any, y_pred: Any) -> float:
    """Macro F1 over classes, 2TP / (2TP + FP + FN) per class.

    Labels ``[n]``: the classes are those seen in the truth or the predictions (as
    scikit-learn). Multi-label ``[n, F]`` 0/1 indicators: columns with no positive in truth or
    prediction are left out — their F1 is undefined and would otherwise depend on which
    functions happen to be in the test set.
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim == 2:
        t, p = _arrays(t, p)
        if not (np.isin(p, (0.0, 1.0)).all() and np.isin(t, (0.0, 1.0)).all()):
            raise EvaluationError("multi-label truth and predictions must be 0/1; threshold scores")
        t, p = t.astype(bool), p.astype(bool)
    else:
        t, p = _labels(t, p)
        classes = np.union1d(t, p)
        t, p = t[:, None] == classes, p[:, None] == classes  # one-hot [n, C]
    tp, fp, fn = (t & p).sum(0), (~t & p).sum(0), (t & ~p).sum(0)
    support = tp + fp + fn > 0
    return float((2 * tp[support] / (2 * tp[support] + fp[support] + fn[support])).mean())


def _binary_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann–Whitney AUC with average ranks, so a tie counts one half."""
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]  # 1-based average ranks
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise EvaluationError("AUC needs both classes in the truth")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def auc(y_true: Any, y_score: Any) -> float:
    """ROC AUC. Binary ``[n]`` labels with ``[n]`` scores; ``[n]`` labels with ``[n, C]``
    probabilities: one-vs-rest macro mean; ``[n, F]`` 0/1 indicators with ``[n, F]`` scores:
    macro mean over the columns that hold both classes. Missing (-1) labels are dropped."""
    t, s = np.asarray(y_true), np.asarray(y_score, dtype=np.float64)
    if t.ndim == 1 and s.ndim == 2:
        keep = t >= 0
        if (t >= s.shape[1]).any():
            raise EvaluationError(f"labels exceed the {s.shape[1]} score columns")
        t, s = np.eye(s.shape[1], dtype=np.int64)[t[keep]], s[keep]
    if t.shape != s.shape or t.size == 0:
        raise EvaluationError(f"AUC needs matching, non-empty truth and scores; got {t.shape}")
    if t.ndim == 1:
        keep = t >= 0
        return _binary_auc(t[keep], s[keep])
    columns = [c for c in range(t.shape[1]) if 0 < (t[:, c] == 1).sum() < len(t)]
    if not columns:
        raise EvaluationError("no column holds both classes")
    return float(np.mean([_binary_auc(t[:, c], s[:, c]) for c in columns]))


def mae_bands(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error in age bands for an ordinal target (a 2-band miss costs twice)."""
    t, p = _labels(y_true, y_pred)
    return float(np.abs(t - p).mean())


def wape(y_true: Any, y_pred: Any) -> float:
    """Σ|y − ŷ| / Σ|y|: errors weighted by volume, defined for intermittent series."""
    t, p = _arrays(y_true, y_pred)
    total = np.abs(t).sum()
    if total == 0:
        raise EvaluationError("WAPE is undefined when every actual is 0")
    return float(np.abs(t - p).sum() / total)


def mase(y_true: Any, y_pred: Any, *, insample: Any, season: int = 1) -> float:
    """MAE divided by the in-sample MAE of the seasonal naive forecast, pooled over series.

    ``insample`` is ``[T]`` or ``[S, T]`` (NaN-padded where histories differ in length).
    Pooling the scale over series — rather than scaling each series — keeps intermittent toys
    whose history is flat from dividing by zero.
    """
    t, p = _arrays(y_true, y_pred)
    history = np.asarray(insample, dtype=np.float64)
    naive = np.abs(history[..., season:] - history[..., :-season])
    scale = np.nanmean(naive) if np.isfinite(naive).any() else math.nan
    if not scale > 0:
        raise EvaluationError(f"MASE scale is {scale}: history needs > {season} varying values")
    return float(np.abs(t - p).mean() / scale)


def bias(y_true: Any, y_pred: Any) -> float:
    """Total forecast / total actual − 1: > 0 over-forecasts (overstock), < 0 under."""
    t, p = _arrays(y_true, y_pred)
    total = t.sum()
    if total == 0:
        raise EvaluationError("bias is undefined when the actuals sum to 0")
    return float(p.sum() / total - 1.0)


def abs_bias(y_true: Any, y_pred: Any) -> float:
    return abs(bias(y_true, y_pred))


def wape_abs_bias(y_true: Any, y_pred: Any) -> float:
    """WAPE + |bias|: the forecast's volume-weighted error with its total's miss added, so that
    selecting on it does not favour the epochs that forecast low (on intermittent demand
    WAPE alone rewards under-forecasting: a forecast of 0 misses only the weeks that sell)."""
    return wape(y_true, y_pred) + abs_bias(y_true, y_pred)


def pinball(y_true: Any, y_pred: Any, *, quantiles: Sequence[float] = QUANTILES) -> float:
    """Pinball loss averaged over cells and quantiles; ``y_pred`` is ``[..., Q]``, in units."""
    p = _quantile_columns(y_true, y_pred, quantiles)
    diff = np.asarray(y_true, dtype=np.float64)[..., None] - p
    q = np.asarray(quantiles, dtype=np.float64)
    return float(np.maximum(q * diff, (q - 1.0) * diff).mean())


def coverage(
    y_true: Any, y_pred: Any, *, level: float = 0.8, quantiles: Sequence[float] = QUANTILES
) -> float:
    """Share of actuals inside the central ``level`` interval, bounds included (units are
    integers, so an actual equal to a bound is inside)."""
    p = _quantile_columns(y_true, y_pred, quantiles)
    q = np.asarray(quantiles)
    lo, hi = (np.flatnonzero(np.isclose(q, (1 + sign * level) / 2)) for sign in (-1, 1))
    if not (len(lo) and len(hi)):
        raise EvaluationError(f"quantiles {tuple(quantiles)} lack the bounds of a {level} interval")
    t = np.asarray(y_true, dtype=np.float64)
    return float(((p[..., lo[0]] <= t) & (t <= p[..., hi[0]])).mean())


def coverage_error(y_true: Any, y_pred: Any, *, level: float = 0.8, **kwargs: Any) -> float:
    return abs(coverage(y_true, y_pred, level=level, **kwargs) - level)


def mse(y_true: Any, y_pred: Any) -> float:
    t, p = _arrays(y_true, y_pred)
    return float(((t - p) ** 2).mean())


def hit_ratio(ranks: Any, k: int) -> float:
    """Share of targets ranked in the top ``k`` (ranks are 0-based)."""
    r = np.asarray(ranks, dtype=np.float64)
    if r.size == 0:
        raise EvaluationError("no ranks to evaluate")
    return float((r < k).mean())


def ndcg(ranks: Any, k: int) -> float:
    """NDCG@k with one relevant item: 1 / log2(rank + 2) inside the top ``k``, else 0."""
    r = np.asarray(ranks, dtype=np.float64)
    if r.size == 0:
        raise EvaluationError("no ranks to evaluate")
    return float(np.where(r < k, 1.0 / np.log2(r + 2.0), 0.0).mean())


def rank_of_targets(
    scores: torch.Tensor, targets: torch.Tensor, exclude: torch.Tensor | None = None
) -> torch.Tensor:
    """0-based rank of each row's target among all real items (full ranking, DESIGN.md §4).

    ``scores`` [B, N+1] with column 0 the padding item; ``targets`` [B] in 1..N; ``exclude``
    [B, E] item ids to leave out of the ranking (the shopper's other training items; 0 pads).
    The padding column and excluded items drop out, but never a row's own target — a shopper
    may buy the same toy again. Ties are counted *against* the target: rank = items scoring
    strictly higher + other items scoring equal. The tie rule is pessimistic on purpose; a
    model that scores many items alike (a constant, a popularity count) must not be rewarded
    for it. Returns ranks [B] (int64).
    """
    import torch

    if scores.ndim != 2 or targets.shape != scores.shape[:1]:
        raise EvaluationError(f"need scores [B, N+1] and targets [B]; got {tuple(scores.shape)}")
    if torch.isnan(scores).any():
        raise EvaluationError("scores hold NaN; a NaN would rank above nothing and flatter")
    if ((targets < 1) | (targets >= scores.shape[1])).any():
        raise EvaluationError(f"targets must be item ids in 1..{scores.shape[1] - 1}")
    dropped = torch.zeros_like(scores, dtype=torch.bool)  # [B, N+1]
    if exclude is not None:
        dropped.scatter_(1, exclude.long(), True)
    dropped[:, 0] = True
    rows = torch.arange(scores.shape[0], device=scores.device)
    dropped[rows, targets] = False  # the target is never excluded
    target = scores[rows, targets].unsqueeze(1)  # [B, 1]
    live = ~dropped
    higher = ((scores > target) & live).sum(1)
    ties = ((scores == target) & live).sum(1) - 1  # minus the target itself
    return higher + ties


def metric_of(key: str) -> Metric:
    """The metric a report key names: ``"wape"`` or, as ``TaskSpec.metric_names`` writes it,
    ``"target/metric"`` (``"age_band/accuracy"``)."""
    return METRICS.get(key.rsplit("/", 1)[-1])


def better(metric_name: str, a: float, b: float) -> bool:
    """Whether value ``a`` is strictly better than ``b``; a NaN is never better than anything,
    and any number is better than NaN (so a first NaN never blocks early stopping)."""
    metric = metric_of(metric_name)
    if not metric.directional:
        raise ConfigError(
            f"metric '{metric_name}' has no direction ({metric.description}); "
            f"select on '{metric.select_on}' instead"
        )
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a > b if metric.higher_is_better else a < b


def relative_gain(metric_name: str, mtl: float, stl: float) -> float:
    """(M_mtl − M_stl) / |M_stl| in per cent, sign-corrected so that positive means better."""
    metric = metric_of(metric_name)
    if not metric.directional:
        raise ConfigError(f"metric '{metric_name}' has no direction; use '{metric.select_on}'")
    if stl == 0:
        raise EvaluationError(f"relative gain on '{metric_name}' is undefined: baseline is 0")
    sign = 1.0 if metric.higher_is_better else -1.0
    return 100.0 * sign * (mtl - stl) / abs(stl)


def delta_m(
    mtl: Mapping[str, Mapping[str, float]], stl: Mapping[str, Mapping[str, float]]
) -> dict[str, Any]:
    """Δm (Maninis et al. 2019; Vandenhende et al. 2021): the mean over tasks of each task's
    mean sign-corrected relative gain over its single-task baseline, in per cent.

    Metric keys are metric names or ``target/metric``. Returns ``{"gains": {task: {key: %}},
    "tasks": {task: %}, "delta_m": %, "excluded": {task: [key]}}``. Metrics without a direction
    (``bias``, ``coverage_80``) are listed under ``excluded`` rather than counted; their
    selectable variants count as usual.
    """
    if set(mtl) != set(stl) or not mtl:
        raise EvaluationError(f"MTL tasks {sorted(mtl)} and STL tasks {sorted(stl)} must match")
    gains: dict[str, dict[str, float]] = {}
    excluded: dict[str, list[str]] = {}
    for task, values in mtl.items():
        directed = {m for m in values if metric_of(m).directional}
        if directed != {m for m in stl[task] if metric_of(m).directional} or not directed:
            raise EvaluationError(f"task '{task}': MTL and STL must report the same metrics")
        gains[task] = {m: relative_gain(m, values[m], stl[task][m]) for m in sorted(directed)}
        if skipped := sorted(set(values) - directed):
            excluded[task] = skipped
    per_task = {task: float(np.mean(list(g.values()))) for task, g in gains.items()}
    return {
        "gains": gains,
        "tasks": per_task,
        "delta_m": float(np.mean(list(per_task.values()))),
        "excluded": excluded,
    }


for _k in (5, 10, 20):
    _add(f"hr@{_k}", partial(hit_ratio, k=_k), True, f"hit ratio at {_k}, full ranking")
    _add(f"ndcg@{_k}", partial(ndcg, k=_k), True, f"NDCG at {_k}, full ranking")
_add("accuracy", accuracy, True, "share of labels predicted exactly")
_add("macro_f1", macro_f1, True, "unweighted mean F1 over classes")
_add("auc", auc, True, "ROC AUC")
_add("mae_bands", mae_bands, False, "mean absolute error in age bands")
_add("wape", wape, False, "weighted absolute percentage error")
_add("mase", mase, False, "mean absolute scaled error")
_add("bias", bias, None, "closer to 0 is better", select_on="abs_bias")
_add("abs_bias", abs_bias, False, "|bias|")
_add("wape_abs_bias", wape_abs_bias, False, "WAPE + |bias|")
_add("pinball", pinball, False, "pinball loss over the quantiles")
_add(
    "coverage_80",
    partial(coverage, level=0.8),
    None,
    "closer to 0.8 is better",
    "coverage_error_80",
)
_add("coverage_error_80", partial(coverage_error, level=0.8), False, "|coverage_80 − 0.8|")
_add("mse", mse, False, "mean squared error")
