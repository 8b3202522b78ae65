"""Recovering the synthetic shop's hidden truth: counts, label alignment and week alignment,
each checked against an independent computation from the truth frames and the store."""

from __future__ import annotations

import datetime as dt
import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import torch

from toyguide import runs
from toyguide.config import save_toml
from toyguide.data.ingest import build_synthetic_store, truth_dir_for
from toyguide.data.store import Store
from toyguide.data.synth import SynthConfig, read_truth
from toyguide.data.taxonomy import CHILD_GENDERS, FUNCTIONS, GENDER_TARGETS, age_band_index
from toyguide.errors import ConfigError, EvaluationError
from toyguide.evaluation.protocols import evaluate_model
from toyguide.evaluation.truth import (
    recover_truth,
    true_item_labels,
    true_profile_labels,
)
from toyguide.features.data import FeatureConfig, TaskData
from toyguide.features.sales import calendar_features
from toyguide.models.mtl import ModelConfig, MultiTaskModel
from toyguide.runs import RunConfig, build, evaluators_of, recover_truth_for_run
from toyguide.tasks.profile import ProfileStream
from toyguide.training.checkpoint import write_checkpoint

TINY = SynthConfig(n_shoppers=300, n_items=60, n_weeks=16, seed=1)
CONFIG = RunConfig(model=ModelConfig(d_model=16, shopper_layers=1, expert_hidden=(16,)))
DAYS_PER_MONTH = 365.25 / 12
US_PER_DAY = 86_400_000_000
BIG = 20.0  # a logit that makes a class certain


def _fake_embed(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in for MiniLM."""
    out = np.zeros((len(texts), 8), dtype=np.float32)
    for row, text in enumerate(texts):
        out[row, zlib.crc32(text.encode()) % 7] = 1.0
        out[row, -1] = len(text) / 100
    return out


@dataclass
class Shop:
    store_path: Path
    truth: dict[str, pl.DataFrame]
    events: pl.DataFrame
    sales: pl.DataFrame
    data: TaskData
    streams: dict[str, Any]
    model: MultiTaskModel


@pytest.fixture(scope="module")
def fake_text():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runs, "text_vectors_for", lambda config, store_path: _fake_embed)
        yield


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, fake_text: None) -> Shop:
    """The tiny shop's store (closed again), its truth and an untrained small model."""
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("truth") / "shop.duckdb"
    with Store.open(path) as store:
        build_synthetic_store(store, TINY)
        events, sales = store.frame("events"), store.frame("sales")
    with Store.open(path, read_only=True) as store:
        data, streams, model = build(CONFIG, store)
    truth = read_truth(truth_dir_for(path))
    return Shop(path, truth, events, sales, data, streams, model)


def _is_count(key: str) -> bool:
    return key.endswith(("_n", "_n_cells"))


def test_every_task_reports_finite_rates(shop: Shop) -> None:
    shop.model.train()
    got = recover_truth(shop.model, shop.data, shop.streams, shop.truth)
    assert shop.model.training  # the mode is restored ...
    assert (
        recover_truth(shop.model, shop.data, shop.streams, shop.truth) == got
    )  # ... and dropout was off
    assert {k.split("_")[0] for k in got} == {"profile", "attributes", "sales"}
    for key, value in got.items():
        assert math.isfinite(value), key
        if _is_count(key):
            assert value > 0 and value == int(value), key
        elif "wape" in key or key.endswith("_mae") or key.endswith("_mae_majority"):
            assert value >= 0, key
        else:
            assert 0.0 <= value <= 1.0, key


def test_counts_are_the_hidden_shoppers_with_events_and_the_hidden_items(shop: Shop) -> None:
    got = recover_truth(shop.model, shop.data, shop.streams, shop.truth)
    active = shop.events["shopper_id"].unique().implode()
    shoppers = shop.truth["shopper_truth"].filter(pl.col("shopper_id").is_in(active))
    assert got["profile_hidden_n"] == shoppers.filter(~pl.col("child_visible")).height
    assert got["profile_hidden_interests_n"] == shoppers.filter(~pl.col("interests_visible")).height
    items = shop.truth["item_truth"]
    assert got["attributes_hidden_n"] == items.filter(~pl.col("attributes_visible")).height


def _last_input_day(data: TaskData, rows: np.ndarray) -> np.ndarray:
    return data.sequences.ts[data.of("profile").end[rows] - 1] // US_PER_DAY


def test_true_labels_are_the_features_labels(shop: Shop) -> None:
    """Where a label is visible the truth gives the features' label; where it is hidden the
    band is the birth date's at the last input event (scalar taxonomy rule, unborn = band 0)."""
    data, st = shop.data, shop.truth["shopper_truth"]
    true = true_profile_labels(data, st)
    seen = data.of("profile").age_band >= 0
    assert seen.sum() > 50
    np.testing.assert_array_equal(true.age_band[seen], data.of("profile").age_band[seen])
    known = data.of("profile").gender >= 0
    np.testing.assert_array_equal(true.gender[known], data.of("profile").gender[known])
    liked = data.of("profile").interests_mask
    np.testing.assert_array_equal(true.interests[liked], data.of("profile").interests[liked])
    hidden = st.filter(~pl.col("child_visible"))
    rows = data.vocabs["shoppers"].transform(hidden["shopper_id"])
    rows = rows[data.of("profile").end[rows] > data.sequences.offsets[rows]]
    all_rows = data.vocabs["shoppers"].transform(st["shopper_id"])
    birth = dict(zip(all_rows, st["child_birth_date"].cast(pl.Int32), strict=True))
    months = (_last_input_day(data, rows) - np.array([birth[r] for r in rows])) / DAYS_PER_MONTH
    expected = [age_band_index(max(m, 0.0)) for m in months]
    np.testing.assert_array_equal(true.age_band[rows], expected)

    items = true_item_labels(data, shop.truth["item_truth"])
    labels = data.of("attributes").labels
    for name in ("age_band", "gender_target"):
        seen = getattr(labels, name) >= 0
        assert seen.sum() > 20
        np.testing.assert_array_equal(getattr(items, name)[seen], getattr(labels, name)[seen])
    seen = labels.functions_mask
    np.testing.assert_array_equal(items.functions[seen], labels.functions[seen])


def test_oracle_wape_equals_an_independent_join_of_sales_and_demand(shop: Shop) -> None:
    """Test origins are the last H weeks; week w of them is forecast by the origins up to it,
    so it counts (w - first test week + 1) times (holds here: n_weeks - H >= history_weeks)."""
    horizon = shop.data.config.horizon
    assert TINY.n_weeks - horizon >= shop.data.config.history_weeks
    weeks = shop.sales["week"].unique().sort()
    test_weeks = pl.DataFrame({"week": weeks[-horizon:], "times": np.arange(1, horizon + 1)})
    cells = shop.sales.join(test_weeks, on="week").join(
        shop.truth["demand_truth"], on=["item_id", "week"], how="left"
    )
    assert cells["expected_units"].null_count() == 0
    error = (cells["times"] * (cells["units"] - cells["expected_units"]).abs()).sum()
    oracle = error / (cells["times"] * cells["units"]).sum()
    got = recover_truth(shop.model, shop.data, shop.streams, shop.truth)
    assert got["sales_n_cells"] == cells["times"].sum()
    assert got["sales_wape_oracle_realised"] == pytest.approx(oracle, rel=1e-9)
    # truth.py scores the median; the task's units/wape is the mean's (the point forecast)
    model_wape = evaluate_model(shop.model, shop.streams, "test", evaluators_of(shop.model))[
        "sales"
    ]["units/wape_p50"]
    assert got["sales_wape_realised"] == pytest.approx(model_wape, rel=1e-9)


class PerfectModel:
    """Answers from the truth frames alone: ids through the vocabularies' tokens, shoppers
    through rows tagged onto the profile batches, weeks by their calendar features."""

    def __init__(self, shop: Shop) -> None:
        self.data, truth = shop.data, shop.truth
        st, it, dem = truth["shopper_truth"], truth["item_truth"], truth["demand_truth"]
        self.shoppers = {r["shopper_id"]: r for r in st.iter_rows(named=True)}
        self.items = {r["item_id"]: r for r in it.iter_rows(named=True)}
        cells = dem.select("item_id", "week", "expected_units").iter_rows()
        self.demand = {(item, week): units for item, week, units in cells}
        self.weeks = dem["week"].unique().sort().to_list()
        epoch = dt.date(1970, 1, 1)
        days = np.array([(w - epoch).days for w in self.weeks])
        self.calendar = calendar_features(days)[:, :2]  # sin, cos of the time of year
        self.tasks = shop.model.tasks

    def predict(self, task: str, batch: dict[str, torch.Tensor]) -> Any:
        return getattr(self, task)(batch)

    def _id(self, vocab: str, row: int) -> str:
        return self.data.vocabs[vocab].tokens[row - 1]

    def profile(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        rows = batch["rows"].numpy()
        day = _last_input_day(self.data, rows)
        out = _empty(len(rows), {"age_band": 6, "gender": 2, "interests": len(FUNCTIONS)})
        for k, (row, today) in enumerate(zip(rows, day, strict=True)):
            s = self.shoppers[self._id("shoppers", row)]
            months = (today - (s["child_birth_date"] - dt.date(1970, 1, 1)).days) / DAYS_PER_MONTH
            out["age_band"][k, age_band_index(max(months, 0.0))] = BIG
            out["gender"][k, CHILD_GENDERS.index(s["child_gender"])] = BIG
            out["interests"][k, [FUNCTIONS.index(f) for f in s["interests"]]] = BIG
        return out

    def attributes(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        rows = batch["items"].numpy()
        out = _empty(len(rows), {"age_band": 6, "gender_target": 3, "functions": len(FUNCTIONS)})
        for k, row in enumerate(rows):
            item = self.items[self._id("items", row)]
            mid = (item["age_min_months"] + item["age_max_months"]) / 2
            out["age_band"][k, age_band_index(mid)] = BIG
            out["gender_target"][k, GENDER_TARGETS.index(item["gender_target"])] = BIG
            out["functions"][k, [FUNCTIONS.index(f) for f in item["functions"]]] = BIG
        return out

    def sales(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        rows, calendar = batch["items"].numpy(), batch["calendar"][..., :2].numpy()  # [B, H, 2]
        out = torch.zeros((*calendar.shape[:2], 3), dtype=torch.float64)  # exact bounds
        for k, row in enumerate(rows):
            for h in range(calendar.shape[1]):
                gap = np.abs(self.calendar - calendar[k, h]).sum(1)
                if gap.min() < 1e-4:  # beyond the data the cell is masked anyway
                    week = self.weeks[int(gap.argmin())]
                    out[k, h] = self.demand.get((self._id("items", row), week), 0.0)
        return out


def _empty(n: int, widths: dict[str, int]) -> dict[str, torch.Tensor]:
    return {name: torch.full((n, width), -BIG) for name, width in widths.items()}


def test_a_perfect_predictor_recovers_everything(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = ProfileStream.make_batch

    def tagged(self: ProfileStream, examples: np.ndarray, split: int) -> dict:
        return {**original(self, examples, split), "rows": torch.from_numpy(examples)}

    monkeypatch.setattr(ProfileStream, "make_batch", tagged)
    perfect = PerfectModel(shop)
    monkeypatch.setattr(shop.model, "predict", perfect.predict)
    got = recover_truth(shop.model, shop.data, shop.streams, shop.truth)
    for key, value in got.items():
        if key.endswith(("_accuracy", "_auc", "_macro_f1")):
            assert value == 1.0, key
        elif key.endswith("_mae"):
            assert value == 0.0, key
    assert got["sales_wape_vs_true_demand"] == pytest.approx(0.0, abs=1e-6)
    assert got["sales_coverage_80_of_true_mean"] == 1.0
    assert got["sales_wape_realised"] == pytest.approx(got["sales_wape_oracle_realised"])
    assert got["profile_hidden_age_band_accuracy_majority"] < 1.0  # the baseline is no oracle


def test_demand_truth_off_the_week_grid_is_refused(shop: Shop) -> None:
    shifted = shop.truth["demand_truth"].with_columns(pl.col("week") + pl.duration(days=1))
    with pytest.raises(EvaluationError, match="week grid"):
        recover_truth(shop.model, shop.data, shop.streams, {**shop.truth, "demand_truth": shifted})
    demand = shop.truth["demand_truth"]
    short = demand.filter(pl.col("week") < demand["week"].max())
    with pytest.raises(EvaluationError, match="no expected units"):
        recover_truth(shop.model, shop.data, shop.streams, {**shop.truth, "demand_truth": short})


def test_only_the_models_tasks_are_scored(shop: Shop) -> None:
    config = RunConfig(
        features=FeatureConfig(tasks=("sales", "preference")),
        model=ModelConfig(d_model=16, shopper_layers=1, expert_hidden=(16,)),
    )
    with Store.open(shop.store_path, read_only=True) as store:
        data, streams, model = build(config, store)
    got = recover_truth(model, data, streams, shop.truth)
    assert got and all(key.startswith("sales_") for key in got)


def test_a_finished_run_is_scored_from_its_best_checkpoint(shop: Shop, tmp_path: Path) -> None:
    save_toml(CONFIG, tmp_path / "config.toml")
    (tmp_path / "features.json").write_text(json.dumps(shop.data.state()))
    write_checkpoint(tmp_path / "checkpoints", "best", {"model": shop.model.state_dict()}, {})
    got = recover_truth_for_run(tmp_path, shop.store_path)
    assert got == pytest.approx(
        recover_truth(shop.model, shop.data, shop.streams, shop.truth), nan_ok=True
    )
    with pytest.raises(ConfigError, match="lacks shopper_truth"):
        recover_truth_for_run(tmp_path, shop.store_path, tmp_path / "nowhere")
