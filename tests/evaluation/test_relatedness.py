"""Task relatedness: gradient cosine, lookahead affinity, label NMI, grouping, report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from toyguide.evaluation.metrics import EvaluationError
from toyguide.evaluation.relatedness import (
    AffinityTracker,
    GradientCosineTracker,
    LabelledMatrix,
    RelatednessReport,
    flat_task_gradients,
    format_matrix,
    gradient_cosine,
    label_mutual_information,
    lookahead_affinity,
    save_heatmap,
    suggest_grouping,
)

# ---------------------------------------------------------------------------- gradient cosine


def test_gradient_cosine_of_identical_opposite_and_orthogonal() -> None:
    g = torch.tensor([1.0, 2.0, -3.0])
    z = gradient_cosine({"a": g, "b": 2 * g, "c": -g, "d": torch.tensor([2.0, -1.0, 0.0])})
    assert z[0, 1] == pytest.approx(1.0) and z[0, 2] == pytest.approx(-1.0)
    assert z[0, 3] == pytest.approx(0.0) and np.allclose(z, z.T)
    zero = gradient_cosine({"a": g, "none": torch.zeros(3)})
    assert math.isnan(zero[0, 1]) and zero[0, 0] == pytest.approx(1.0)


def test_cosine_tracker_averages_per_pair_over_the_steps_it_saw() -> None:
    tracker = GradientCosineTracker(["a", "b", "c"])
    e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    tracker.update({"a": e1, "b": e1, "c": e2})  # a·b = 1
    tracker.update({"a": e1, "b": -e1})  # a·b = −1; c absent this step
    assert tracker.mean[0, 1] == pytest.approx(0.0) and tracker.count[0, 1] == 2
    assert tracker.mean[0, 2] == pytest.approx(0.0) and tracker.count[0, 2] == 1
    with pytest.raises(EvaluationError, match="unknown or repeated tasks"):
        tracker.update({"zz": e1})


def test_flat_task_gradients_leave_grad_untouched() -> None:
    w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    unused = torch.nn.Parameter(torch.ones(3))
    grads = flat_task_gradients({"a": (w**2).sum(), "b": w.sum()}, [w, unused])
    assert grads["a"].tolist() == [2.0, 4.0, 0.0, 0.0, 0.0] and grads["b"].shape == (5,)
    assert w.grad is None


# ---------------------------------------------------------------------------- lookahead affinity


def linear_problem() -> tuple[torch.nn.Linear, callable]:
    """A shared linear map; a and b fit the same target, c its negation."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    model = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 3, generator=g) * 0.1)

    def losses() -> dict[str, torch.Tensor]:
        out = model(torch.nn.functional.dropout(x, 0.1)).squeeze(1)  # RNG used: must replay
        return {
            "a": ((out - y) ** 2).mean(),
            "b": ((out - y) ** 2).mean(),
            "c": ((out + y) ** 2).mean(),
        }

    return model, losses


def test_lookahead_restores_parameters_rng_and_grads_exactly() -> None:
    model, losses = linear_problem()
    before = model.weight.detach().clone()
    torch.manual_seed(7)
    rng = torch.get_rng_state()
    lookahead_affinity(list(model.parameters()), losses, lr=0.37)
    assert torch.equal(model.weight, before)  # bit for bit
    assert torch.equal(torch.get_rng_state(), rng) and model.weight.grad is None


def test_lookahead_replays_the_same_dropout_before_and_after() -> None:
    model, losses = linear_problem()
    z = lookahead_affinity(list(model.parameters()), losses, lr=0.0)
    assert (z == 0.0).all()  # no step, same batch, same masks: no change in any loss


def test_lookahead_affinity_sees_shared_and_conflicting_targets() -> None:
    model, losses = linear_problem()
    z = lookahead_affinity(list(model.parameters()), losses, lr=0.05)
    a, b, c = 0, 1, 2
    assert z[a, b] > 0.05 and z[b, a] > 0.05 and z[a, a] == pytest.approx(z[a, b])
    assert z[a, c] < 0 and z[c, a] < 0
    assert suggest_grouping(z, ["a", "b", "c"]) == [["a", "b"], ["c"]]


def test_lookahead_leaves_a_task_without_labels_unmeasured() -> None:
    model, losses = linear_problem()

    def partial_losses() -> dict[str, torch.Tensor]:
        return {**losses(), "empty": torch.tensor(0.0)}  # no labels in this batch

    z = lookahead_affinity(list(model.parameters()), partial_losses, lr=0.05)
    assert np.isnan(z[3]).all() and np.isnan(z[:, 3]).all() and np.isfinite(z[:3, :3]).all()


def test_affinity_tracker_accumulates() -> None:
    model, losses = linear_problem()
    tracker = AffinityTracker(["a", "b", "c"], lr=0.05)
    first = tracker.update(list(model.parameters()), losses)
    tracker.update(list(model.parameters()), losses, names=["a", "c"])
    assert (tracker.count == np.array([[2, 1, 2], [1, 1, 1], [2, 1, 2]])).all()
    assert tracker.mean[0, 2] == pytest.approx(first[0, 2])  # the same batch, the same value


# ---------------------------------------------------------------------------- label NMI


def test_label_nmi_identical_independent_and_missing() -> None:
    rng = np.random.default_rng(0)
    age = rng.integers(0, 6, 100_000)
    gender = rng.integers(0, 3, 100_000)
    copy = np.where(rng.random(100_000) < 0.3, -1, age)  # partial labels
    z = label_mutual_information({"age": age, "gender": gender, "copy": copy})
    assert z[0, 2] == pytest.approx(1.0) and z[0, 0] == pytest.approx(1.0)
    assert abs(z[0, 1]) < 1e-3
    none = label_mutual_information({"a": np.array([0, -1]), "b": np.array([-1, 1])})
    assert math.isnan(none[0, 1])


def test_label_nmi_matches_scikit_learn() -> None:
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, 500)
    b = (a + rng.integers(0, 2, 500)) % 5
    z = label_mutual_information({"a": a, "b": b})
    assert z[0, 1] == pytest.approx(sk.normalized_mutual_info_score(a, b))


# ---------------------------------------------------------------------------- grouping


def test_grouping_pairs_helpful_tasks_and_isolates_a_harmful_one() -> None:
    z = np.array(
        [
            [1.0, 0.5, 0.3, -0.4],
            [0.4, 1.0, 0.2, -0.3],
            [0.2, 0.3, 1.0, -0.2],
            [-0.5, -0.2, -0.1, 1.0],
        ]
    )
    assert suggest_grouping(z, list("abcd")) == [["a", "b", "c"], ["d"]]
    negative = -np.abs(z)
    assert suggest_grouping(negative, list("abcd")) == [["a"], ["b"], ["c"], ["d"]]
    # a price per extra model merges weakly negative tasks
    assert suggest_grouping(np.full((2, 2), -0.01), ["a", "b"], group_cost=0.1) == [["a", "b"]]


def test_grouping_refuses_unmeasured_pairs_and_too_many_tasks() -> None:
    with pytest.raises(EvaluationError, match="NaN"):
        suggest_grouping(np.array([[1.0, np.nan], [0.0, 1.0]]), ["a", "b"])
    with pytest.raises(EvaluationError, match=r"1\.\.8"):
        suggest_grouping(np.zeros((9, 9)), [str(i) for i in range(9)])


# ---------------------------------------------------------------------------- presentation


def test_heatmap_is_a_png(tmp_path: Path) -> None:
    z = np.array([[1.0, -0.3], [np.nan, 1.0]])
    path = save_heatmap(z, ["preference", "sales"], "affinity", tmp_path / "out" / "z.png")
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


def test_format_matrix_is_a_plain_table() -> None:
    text = format_matrix(np.array([[1.0, -0.25], [np.nan, 1.0]]), ["pref", "sales"])
    lines = text.splitlines()
    assert len(lines) == 3 and "pref" in lines[0] and "sales" in lines[0]
    assert "-0.250" in lines[1] and lines[2].split()[1] == "-"


def test_report_round_trips_through_json_with_nan() -> None:
    names = ["preference", "attributes"]
    report = RelatednessReport(
        matrices={
            "lookahead_affinity": LabelledMatrix(
                names, np.array([[0.1, np.nan], [-0.2, 0.3]]), "i→j"
            ),
        },
        grouping=[["preference"], ["attributes"]],
        grouping_from="lookahead_affinity",
        meta={"steps": 12},
    )
    text = report.to_json()
    json.loads(text)  # strict JSON: no NaN literal
    back = RelatednessReport.from_json(text)
    np.testing.assert_array_equal(
        back.matrices["lookahead_affinity"].values, report.matrices["lookahead_affinity"].values
    )
    assert back.to_dict() == report.to_dict()
    assert "suggested grouping" in back.format()
    with pytest.raises(EvaluationError, match="unknown keys"):
        RelatednessReport.from_dict({"matrices": {}, "extra": 1})
