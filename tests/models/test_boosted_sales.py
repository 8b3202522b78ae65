"""The boosted sales head: its feature rows, blend, calibration, fit and stored form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from toyguide.errors import CheckpointError, ConfigError
from toyguide.models.boosted_sales import (
    BoostedSales,
    BoostedSalesConfig,
    ItemComponents,
    design,
    feature_count,
)

DIMS = {"history_weeks": 3, "history_features": 2, "summary_features": 4,
        "calendar_features": 5, "horizon": 2}  # fmt: skip
D = 6


def batch(n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    history = torch.rand(n, DIMS["history_weeks"], DIMS["history_features"], generator=g)
    scale = 1 + 4 * torch.rand(n, generator=g)
    level = history[:, :, 0].mean(1)  # the target follows the history: something to learn
    target = (level[:, None] * scale[:, None] * 3).expand(n, DIMS["horizon"]).round()
    return {
        "history": history,
        "summary": torch.rand(n, DIMS["summary_features"], generator=g),
        "calendar": torch.rand(n, DIMS["horizon"], DIMS["calendar_features"], generator=g),
        "scale": scale,
        "target": target,
        "target_mask": torch.ones(n, DIMS["horizon"], dtype=torch.bool),
    }


def fitted(n: int = 400, components: int = 2, rounds: int = 20) -> tuple[BoostedSales, dict]:
    b, vectors = batch(n), torch.randn(n, D, generator=torch.Generator().manual_seed(1))
    parts = ItemComponents.fit(vectors.numpy(), components)
    x = design(parts(vectors), b)
    y = (b["target"] / b["scale"][:, None]).reshape(-1).numpy()
    config = BoostedSalesConfig(enabled=True, rounds=rounds, min_child_samples=5)
    head = BoostedSales.fit((x, y), None, parts, DIMS["horizon"], config, seed=0, threads=1)
    return head, b | {"vectors": vectors}


def test_design_has_a_row_per_item_and_step_in_item_major_order() -> None:
    b, comps = batch(3), torch.arange(6.0).reshape(3, 2)
    x = design(comps, b)
    assert x.shape == (3 * 2, feature_count(DIMS) + 2)
    assert np.allclose(x[2, : 3 * 2], b["history"][1].reshape(-1).numpy())  # row b*H + h
    assert x[3, -1] == 2 and x[2, -1] == 1  # the step, last
    assert np.allclose(x[3, -1 - 5 : -1], b["calendar"][1, 1].numpy())  # that step's week


def test_item_components_project_onto_the_leading_axes() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 1)) * np.array([[3.0, 0, 0]]) + rng.normal(size=(200, 3)) * 0.1
    parts = ItemComponents.fit(vectors, 1)
    assert abs(abs(parts.axes[0, 0]) - 1) < 0.01
    assert ItemComponents.fit(vectors, 0)(torch.zeros(4, 3)).shape == (4, 0)


def test_the_fit_learns_the_target_and_the_blend_mixes_in_the_neural_outputs() -> None:
    head, b = fitted()
    neural = torch.full((400, 2, 4), 0.5)
    boosted = head.boosted(b["vectors"], b)
    scaled_target = b["target"] / b["scale"][:, None]
    mean_error = (boosted[..., 3] - scaled_target).abs().mean()
    assert mean_error < 0.5 * (scaled_target - scaled_target.mean()).abs().mean()
    assert (boosted >= 0).all() and (boosted[..., :3].diff(dim=-1) >= 0).all()
    head.blend = 0.25
    assert torch.allclose(head.scaled(b["vectors"], b, neural), 0.75 * boosted + 0.25 * neural)
    head.blend = 1.0
    assert head.scaled(b["vectors"], b, neural) is neural


def test_calibration_widens_the_interval_to_cover_eighty_percent() -> None:
    head, b = fitted()
    neural = torch.zeros(400, 2, 4)
    out = head.scaled(b["vectors"], b, neural)
    target = b["target"] / b["scale"][:, None]
    narrow = out.clone()
    narrow[..., 0] = narrow[..., 2] = narrow[..., 1]  # an interval of zero width
    head.calibrate(narrow, target, b["target_mask"])
    assert (head.interval_offset > 0).all()
    head.boosters = {k: _Constant(narrow[..., i].reshape(-1)) for i, k in
                     enumerate(("p10", "p50", "p90", "mean"))}  # fmt: skip
    q = head.forecast(b["vectors"], b, neural)["quantiles"]
    covered = ((q[..., 0] <= b["target"]) & (b["target"] <= q[..., 2])).float().mean()
    assert 0.78 <= covered <= 0.9


class _Constant:
    def __init__(self, values: torch.Tensor) -> None:
        self.values = values.numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.values


def test_rounds_given_are_the_rounds_fitted() -> None:
    head, b = fitted(rounds=40)
    assert head.record["rounds"] == dict.fromkeys(("p10", "p50", "p90", "mean"), 40)
    x = design(head.components(b["vectors"]), b)
    y = (b["target"] / b["scale"][:, None]).reshape(-1).numpy()
    again = BoostedSales.fit((x, y), None, head.components, 2, BoostedSalesConfig(), 0, 1,
                             rounds={"p10": 3, "p50": 3, "p90": 3, "mean": 7})  # fmt: skip
    assert again.boosters["mean"].current_iteration() == 7


def test_save_and_load_give_the_same_forecasts(tmp_path: Path) -> None:
    head, b = fitted()
    head.blend, head.interval_offset = 0.5, np.array([0.1, 0.2])
    path = tmp_path / "sales_boosted.json"
    head.save(path)
    back = BoostedSales.load(path)
    neural = torch.rand(400, 2, 4).sort(dim=-1).values
    a, c = head.forecast(b["vectors"], b, neural), back.forecast(b["vectors"], b, neural)
    assert torch.equal(a["mean"], c["mean"]) and torch.equal(a["quantiles"], c["quantiles"])
    back.check_fits(path, feature_count(DIMS), D, 2)
    with pytest.raises(CheckpointError, match=r"sales_boosted\.json.*this model's"):
        back.check_fits(path, feature_count(DIMS) + 1, D, 2)


@pytest.mark.parametrize("text", ["{", '{"format": 1}', '{"format": 9, "boosters": {}}'])
def test_a_broken_file_is_refused_with_its_path(tmp_path: Path, text: str) -> None:
    path = tmp_path / "sales_boosted.json"
    path.write_text(text)
    with pytest.raises(CheckpointError, match=r"sales_boosted\.json: not a readable"):
        BoostedSales.load(path)


@pytest.mark.parametrize(
    "options", [{"blends": []}, {"blends": [1.5]}, {"item_components": -1}, {"rounds": 0}]
)
def test_bad_settings_are_refused(options: dict) -> None:
    with pytest.raises(ConfigError, match="boosted_sales"):
        BoostedSalesConfig(**options)
