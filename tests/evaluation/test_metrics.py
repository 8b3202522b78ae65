"""Metrics: hand-computed values, full ranking with exclusions and ties, direction and Δm."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from toyguide.errors import ConfigError, RegistryError
from toyguide.evaluation.metrics import (
    METRICS,
    EvaluationError,
    better,
    delta_m,
    metric_of,
    rank_of_targets,
    relative_gain,
)
from toyguide.tasks import TASKS


def m(name: str, *args, **kwargs) -> float:
    return METRICS.get(name)(*args, **kwargs)


# ---------------------------------------------------------------------------- hand-computed values


def test_registry_holds_the_benchmark_names() -> None:
    expected = {f"{k}@{n}" for k in ("hr", "ndcg") for n in (5, 10, 20)} | {
        "accuracy", "macro_f1", "auc", "mae_bands", "wape", "mase", "bias", "abs_bias",
        "pinball", "coverage_80", "coverage_error_80", "mse", "wape_abs_bias",
    }  # fmt: skip
    assert set(METRICS.names()) == expected
    with pytest.raises(RegistryError, match="known: abs_bias"):
        METRICS.get("HR@10")


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_metric_a_task_reports_is_registered_and_selection_has_a_direction(
    task: str,
) -> None:
    spec = TASKS.get(task).spec
    for key in spec.metric_names:
        assert metric_of(key) is METRICS.get(key.split("/")[1])
    assert metric_of("/".join(spec.selection)).directional


def test_accuracy_drops_missing_labels_and_reads_scores() -> None:
    assert m("accuracy", [0, 1, 2, -1], [0, 2, 2, 1]) == pytest.approx(2 / 3)
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert m("accuracy", [0, 1, 1], scores) == pytest.approx(2 / 3)
    with pytest.raises(EvaluationError, match="missing"):
        m("accuracy", [-1, -1], [0, 1])


def test_macro_f1_by_hand_and_against_scikit_learn() -> None:
    y, p = [0, 0, 1, 1, 2], [0, 1, 1, 1, 2]
    # class 0: 2·1/(2+0+1) = 2/3; class 1: 2·2/(4+1+0) = 4/5; class 2: 1
    assert m("macro_f1", y, p) == pytest.approx((2 / 3 + 4 / 5 + 1) / 3)
    sk = pytest.importorskip("sklearn.metrics")
    assert m("macro_f1", y, p) == pytest.approx(sk.f1_score(y, p, average="macro"))


def test_macro_f1_multilabel_skips_columns_nobody_has() -> None:
    y = np.array([[1, 0, 0], [1, 1, 0]])
    p = np.array([[1, 1, 0], [0, 1, 0]])
    # column 0: 2/(2+0+1) = 2/3; column 1: 2/(2+1+0) = 2/3; column 2 empty in both: left out
    assert m("macro_f1", y, p) == pytest.approx(2 / 3)
    with pytest.raises(EvaluationError, match="0/1"):
        m("macro_f1", y, p * 0.7)


def test_auc_by_hand_with_ties_and_multiclass() -> None:
    assert m("auc", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert m("auc", [0, 1, -1], [0.5, 0.5, 0.9]) == pytest.approx(0.5)  # a tie counts a half
    probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    assert m("auc", [0, 1, 0, 1], probs) == pytest.approx(1.0)
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, 200), rng.integers(0, 5, 200).astype(float)
    assert m("auc", y, s) == pytest.approx(sk.roc_auc_score(y, s))


def test_mae_bands() -> None:
    assert m("mae_bands", [0, 2, 5, -1], [1, 2, 3, 0]) == pytest.approx(1.0)


def test_forecast_metrics_by_hand() -> None:
    y, f = np.array([10.0, 0.0, 5.0]), np.array([8.0, 1.0, 5.0])
    assert m("wape", y, f) == pytest.approx(3 / 15)
    assert m("bias", y, f) == pytest.approx(14 / 15 - 1)
    assert m("abs_bias", y, f) == pytest.approx(1 / 15)
    assert m("wape_abs_bias", y, f) == pytest.approx(4 / 15)
    # intermittent weeks: forecasting 0 has the lower WAPE (1 < 1.5), the unbiased mean the
    # lower penalised one (1.5 < 2)
    y, mean = np.array([0.0, 0.0, 0.0, 9.0]), np.full(4, 2.25)
    assert m("wape", y, 0 * y) < m("wape", y, mean)
    assert m("wape_abs_bias", y, mean) == pytest.approx(1.5)
    assert m("wape_abs_bias", y, 0 * y) == pytest.approx(2.0)
    assert m("mse", [1.0, 2.0], [3.0, 2.0]) == pytest.approx(2.0)
    # in-sample naive errors |2−1|, |4−2| → scale 1.5; MAE (1 + 2)/2 = 1.5
    assert m("mase", [5.0, 5.0], [4.0, 7.0], insample=[1.0, 2.0, 4.0]) == pytest.approx(1.0)
    padded = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, np.nan]])  # pooled: (1 + 2 + 0) / 3
    assert m("mase", [5.0], [6.0], insample=padded) == pytest.approx(1.0)
    with pytest.raises(EvaluationError, match="every actual is 0"):
        m("wape", [0.0], [1.0])


def test_quantile_metrics_by_hand() -> None:
    # y = 10, P10/P50/P90 = 8/10/13: 0.1·2, 0, 0.1·3 → mean 0.5/3
    assert m("pinball", [10.0], [[8.0, 10.0, 13.0]]) == pytest.approx(0.5 / 3)
    y = np.array([5.0, 10.0, 20.0, 1.0])
    q = np.array([[4, 5, 6], [10, 11, 12], [1, 10, 19], [2, 2, 3]], dtype=float)
    assert m("coverage_80", y, q) == pytest.approx(0.5)  # the bound 10 is inside
    assert m("coverage_error_80", y, q) == pytest.approx(0.3)
    with pytest.raises(EvaluationError, match="lack the bounds"):
        m("coverage_80", y, q, quantiles=(0.25, 0.5, 0.75))
    with pytest.raises(EvaluationError, match="shape"):
        m("pinball", y, q[:, :2])


def test_hit_ratio_and_ndcg_from_ranks() -> None:
    ranks = np.array([0, 3, 10])
    assert m("hr@5", ranks) == pytest.approx(2 / 3)
    assert m("hr@20", ranks) == pytest.approx(1.0)
    assert m("ndcg@5", ranks) == pytest.approx((1 + 1 / math.log2(5)) / 3)
    assert m("ndcg@20", ranks) == pytest.approx((1 + 1 / math.log2(5) + 1 / math.log2(12)) / 3)


# ---------------------------------------------------------------------------- full ranking


def test_rank_excludes_padding_and_history_but_never_the_target() -> None:
    scores = torch.tensor(
        [
            [9.0, 0.1, 0.5, 0.9, 0.3, 0.2],  # the padding column scores highest
            [0.0, 0.4, 0.6, 0.1, 0.8, 0.7],
        ]
    )
    targets = torch.tensor([2, 1])
    exclude = torch.tensor([[3, 0], [4, 1]])  # row 1 lists its own target: it must stay
    assert rank_of_targets(scores, targets, exclude).tolist() == [0, 2]
    assert rank_of_targets(scores, targets).tolist() == [1, 3]


def test_ties_count_against_the_target() -> None:
    scores = torch.tensor([[0.0, 0.5, 0.5, 0.5, 0.1, 0.7]])
    assert rank_of_targets(scores, torch.tensor([1])).item() == 3  # 1 higher + 2 equal
    flat = torch.zeros(1, 11)  # a constant model ranks its target last, not first
    assert rank_of_targets(flat, torch.tensor([4])).item() == 9
    assert rank_of_targets(flat, torch.tensor([4]), torch.tensor([[1, 2, 0]])).item() == 7


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 30), st.integers(1, 6))
def test_rank_matches_a_brute_force_count(seed: int, n: int, batch: int) -> None:
    g = torch.Generator().manual_seed(seed)
    scores = torch.randint(0, 4, (batch, n + 1), generator=g).float()  # many ties
    targets = torch.randint(1, n + 1, (batch,), generator=g)
    exclude = torch.randint(0, n + 1, (batch, 3), generator=g)
    ranks = rank_of_targets(scores, targets, exclude)
    for b in range(batch):
        t = int(targets[b])
        others = [i for i in range(1, n + 1) if i != t and i not in exclude[b].tolist()]
        assert ranks[b] == sum(scores[b, i] >= scores[b, t] for i in others)


def test_rank_rejects_nan_scores_and_padding_targets() -> None:
    with pytest.raises(EvaluationError, match="NaN"):
        rank_of_targets(torch.tensor([[0.0, math.nan, 1.0]]), torch.tensor([2]))
    with pytest.raises(EvaluationError, match=r"1\.\.2"):
        rank_of_targets(torch.zeros(1, 3), torch.tensor([0]))


# ---------------------------------------------------------------------------- direction and Δm


@pytest.mark.parametrize("name", METRICS.names())
def test_better_respects_each_metric_direction(name: str) -> None:
    metric = METRICS.get(name)
    if not metric.directional:
        assert metric.select_on in METRICS and METRICS.get(metric.select_on).directional
        with pytest.raises(ConfigError, match=f"select on '{metric.select_on}'"):
            better(name, 0.1, 0.2)
        return
    good, bad = (0.9, 0.4) if metric.higher_is_better else (0.4, 0.9)
    assert better(name, good, bad) and not better(name, bad, good)
    assert not better(name, good, good)
    assert better(name, bad, math.nan) and not better(name, math.nan, good)


def test_every_lower_is_better_error_metric_is_zero_at_a_perfect_forecast() -> None:
    y = np.array([3.0, 5.0, 2.0])
    quantiles = np.stack([y - 1, y, y + 1], axis=-1)
    for name in ("wape", "mse", "abs_bias"):
        assert m(name, y, y) == 0.0
    assert m("mase", y, y, insample=[1.0, 2.0]) == 0.0
    assert m("pinball", y, np.repeat(y[:, None], 3, axis=1)) == 0.0
    assert m("coverage_80", y, quantiles) == 1.0


def test_relative_gain_is_sign_corrected() -> None:
    assert relative_gain("wape", 0.4, 0.5) == pytest.approx(20.0)  # lower and better
    assert relative_gain("hr@10", 0.09, 0.10) == pytest.approx(-10.0)
    with pytest.raises(EvaluationError, match="baseline is 0"):
        relative_gain("coverage_error_80", 0.1, 0.0)


def test_delta_m_means_over_metrics_then_tasks() -> None:
    mtl = {
        "sales": {"wape": 0.4, "pinball": 1.1, "bias": -0.2},
        "preference": {"hr@10": 0.11},
    }
    stl = {"sales": {"wape": 0.5, "pinball": 1.0, "bias": 0.1}, "preference": {"hr@10": 0.10}}
    result = delta_m(mtl, stl)
    assert result["gains"]["sales"] == pytest.approx({"pinball": -10.0, "wape": 20.0})
    assert result["tasks"] == pytest.approx({"sales": 5.0, "preference": 10.0})
    assert result["delta_m"] == pytest.approx(7.5)
    assert result["excluded"] == {"sales": ["bias"]}


def test_delta_m_reads_target_qualified_keys() -> None:
    mtl = {"attributes": {"age_band/accuracy": 0.6, "gender_target/accuracy": 0.9}}
    stl = {"attributes": {"age_band/accuracy": 0.5, "gender_target/accuracy": 1.0}}
    assert delta_m(mtl, stl)["delta_m"] == pytest.approx(5.0)  # (+20 − 10) / 2
    assert better("units/wape", 0.3, 0.4)


def test_delta_m_refuses_mismatched_tasks_or_metrics() -> None:
    with pytest.raises(EvaluationError, match="tasks"):
        delta_m({"a": {"mse": 1.0}}, {"b": {"mse": 1.0}})
    with pytest.raises(EvaluationError, match="same metrics"):
        delta_m({"a": {"mse": 1.0}}, {"a": {"wape": 1.0}})
