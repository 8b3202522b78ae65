"""``toyguide train / evaluate / analyze tasks`` end to end, through real subprocesses, on a tiny
synthetic shop: a run killed mid-epoch resumes to the same metrics, evaluation reproduces
them, the relatedness analysis draws its heatmaps, and bad input is one clear line."""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import torch

from toyguide.data.ingest import ingest_file
from toyguide.data.store import Store
from toyguide.models.mixers import MIXERS
from toyguide.weighting import WEIGHTINGS

TASKS = ["preference", "attributes", "sales", "profile"]
STEPS = 30  # per epoch: long enough (~1 s) that a kill lands inside epoch 2
BASE: dict[str, Any] = {
    "seed": 0,
    "threads": 1,
    "features": {"tasks": TASKS, "max_len": 20, "history_weeks": 4, "horizon": 4},
    "model": {"d_model": 16, "n_experts": 2, "expert_hidden": [16], "shopper_layers": 1},
    "weighting": {"name": "uncertainty"},
    "train": {"epochs": 3, "steps_per_epoch": STEPS, "log_every": 1},
    "analysis": {"every_steps": 2},
}
PNG = b"\x89PNG\r\n\x1a\n"


def toyguide(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "toyguide", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def write_config(path: Path, **sections: dict[str, Any]) -> Path:
    """BASE with each named section updated by the given keys."""
    data = copy.deepcopy(BASE)
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    path.write_text(tomli_w.dumps(data))
    return path


def train(config: Path, store: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return toyguide("train", "--config", config, "--store", store, "--out", out, *extra)


def read_log(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def without_wall_time(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    timings = {"seconds", "validation_seconds"}
    return [{k: v for k, v in r.items() if k not in timings} for r in records]


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one message of a refused command: exit 1, no traceback, one ``error:`` line, last."""
    assert result.returncode == 1, (result.returncode, result.stdout[-2000:], result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    return errors[0]


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("config") / "run.toml")


@pytest.fixture(scope="module")
def run_a(shop_path: Path, config_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted four-task run, trained once; tests only read it."""
    run = tmp_path_factory.mktemp("runs") / "a"
    done = train(config_path, shop_path, run)
    assert done.returncode == 0, done.stderr
    return run


# -- 1. a run killed mid-epoch resumes to the same result -----------------------------------------


def _epoch_two_steps(log: Path) -> int:
    """Step records of epoch 2 in the log so far (a half-written last line is skipped)."""
    if not log.exists():
        return 0
    n = 0
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        n += record.get("epoch") == 2 and "step" in record
    return n


def _train_and_kill_in_epoch_two(config: Path, store: Path, run: Path, err: Path) -> None:
    cmd = [sys.executable, "-m", "toyguide", "train"]
    cmd += ["--config", str(config), "--store", str(store), "--out", str(run)]
    latest = run / "checkpoints" / "LATEST"
    with err.open("w") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 120
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                at_epoch_one = latest.exists() and latest.read_text().strip() == "epoch-0001"
                if at_epoch_one and _epoch_two_steps(run / "log.jsonl") >= 3:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
                time.sleep(0.01)
        finally:
            if proc.poll() is None and time.monotonic() >= deadline:
                proc.kill()
            proc.wait(timeout=60)
    if proc.returncode != -signal.SIGKILL:
        pytest.fail(
            f"train exited with {proc.returncode} before it could be killed in epoch 2 "
            f"(raise STEPS so the epoch lasts longer); stderr:\n{err.read_text()[-2000:]}"
        )
    if latest.read_text().strip() != "epoch-0001" or (run / "metrics.json").exists():
        pytest.fail("the kill landed after epoch 2 had ended; raise STEPS")


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(
    shop_path: Path, config_path: Path, run_a: Path, tmp_path: Path
) -> None:
    run_b = tmp_path / "b"
    _train_and_kill_in_epoch_two(config_path, shop_path, run_b, tmp_path / "b.err")
    killed_log = read_log(run_b)
    assert not any(r.get("epoch") == 2 and "validation" in r for r in killed_log)

    resumed = train(config_path, shop_path, run_b, "--resume")
    assert resumed.returncode == 0, resumed.stderr

    a, b = (json.loads((run / "metrics.json").read_text()) for run in (run_a, run_b))
    assert b["test"] == a["test"]
    assert (b["best_epoch"], b["best_validation"]) == (a["best_epoch"], a["best_validation"])
    # The log was cut back to the checkpoint, so no step of epoch 2 appears twice.
    assert without_wall_time(read_log(run_b)) == without_wall_time(read_log(run_a))
    best_a, best_b = (run / "checkpoints" / "best" / "checksums.json" for run in (run_a, run_b))
    assert best_b.read_text() == best_a.read_text()


# -- 2. evaluate and analyze a finished run --------------------------------------------------------


def test_evaluate_reproduces_the_test_metrics_of_training(run_a: Path, shop_path: Path) -> None:
    out = toyguide("evaluate", run_a, "--store", shop_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    metrics = json.loads((run_a / "metrics.json").read_text())
    assert result["split"] == "test" and result["best_epoch"] == metrics["best_epoch"]
    assert result["test"] == metrics["test"]
    assert set(result["test"]) == set(TASKS)


def test_sales_intervals_are_calibrated_on_validation_and_kept_in_the_best_checkpoint(
    run_a: Path,
) -> None:
    from toyguide.training.checkpoint import read_checkpoint

    fitted = json.loads((run_a / "metrics.json").read_text())["calibration"]["sales"]
    parts, meta = read_checkpoint(run_a / "checkpoints" / "best")
    offset = parts["model"]["heads.sales.interval_offset"].tolist()
    assert offset == pytest.approx(fitted["interval_offset"]) and any(v != 0 for v in offset)
    assert meta["calibration"]["sales"] == fitted and "epoch" in meta
    assert sum(fitted["weeks"]) > 0


def test_analyze_tasks_prints_matrices_and_writes_heatmaps(run_a: Path) -> None:
    out = toyguide("analyze", "tasks", run_a)
    assert out.returncode == 0, out.stderr
    for kind in ("gradient_cosine", "lookahead_affinity", "label_nmi:item", "label_nmi:shopper"):
        assert f"{kind}  (" in out.stdout
    assert all(task in out.stdout for task in TASKS)
    grouping = [line for line in out.stdout.splitlines() if line.startswith("suggested grouping")]
    assert len(grouping) == 1 and "(from lookahead_affinity)" in grouping[0]
    grouped = grouping[0].split(":", 1)[1].replace("|", ",").split(",")
    assert sorted(name.strip() for name in grouped) == sorted(TASKS)

    images = [Path(line.removeprefix("heatmap: ")) for line in out.stdout.splitlines()
              if line.startswith("heatmap: ")]  # fmt: skip
    assert {p.name for p in images} == {
        "gradient_cosine.png",
        "lookahead_affinity.png",
        "label_nmi_item.png",
        "label_nmi_shopper.png",
    }
    for image in images:
        assert image.parent == run_a / "analysis"
        assert image.read_bytes()[:8] == PNG


# -- 3. bad input: exit 1, one line, no traceback --------------------------------------------------

BAD_CONFIGS = {
    "unknown key": ({"model": {"d_modle": 8}}, "unknown key 'model.d_modle'; allowed here:"),
    "wrong type": ({"train": {"epochs": "three"}}, "'train.epochs' must be int, got str 'three'"),
    "unknown mixer": (
        {"model": {"mixer": "blender"}},
        f"unknown mixer 'blender'; known: {', '.join(MIXERS.names())}",
    ),
    "unknown weighting": (
        {"weighting": {"name": "magic"}},
        f"unknown weighting strategy 'magic'; known: {', '.join(WEIGHTINGS.names())}",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_is_one_clear_line(case: str, shop_path: Path, tmp_path: Path) -> None:
    sections, expected = BAD_CONFIGS[case]
    config = write_config(tmp_path / "bad.toml", **sections)
    line = error_line(train(config, shop_path, tmp_path / "run"))
    assert expected in line
    if case in ("unknown key", "wrong type"):  # caught while reading: the file is named
        assert str(config) in line


def test_task_without_labels_in_the_store_is_named(shop_path: Path, tmp_path: Path) -> None:
    # Items, shoppers and events through ingestion, no sales; beside the shop, so that the
    # text cache is shared.
    bare = shop_path.with_name("no-sales.duckdb")
    with Store.open(shop_path, read_only=True) as shop:
        frames = {t: shop.frame(t) for t in ("items", "shoppers", "events")}
    with Store.open(bare) as store:
        for table, frame in frames.items():
            frame.write_parquet(tmp_path / f"{table}.parquet")
            ingest_file(store, table, tmp_path / f"{table}.parquet")
        assert store.counts()["sales"] == 0
    config = write_config(tmp_path / "sales.toml", features={"tasks": ["sales"]})
    line = error_line(train(config, bare, tmp_path / "run"))
    assert "task 'sales' is switched on but the store has no sales rows" in line


def test_tampered_checkpoint_is_refused(run_a: Path, shop_path: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(run_a, run)
    weights = run / "checkpoints" / "best" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    line = error_line(toyguide("evaluate", run, "--store", shop_path))
    assert f"{weights}: checksum mismatch" in line and "refusing to load" in line


def test_resume_into_an_empty_folder_is_refused(
    config_path: Path, shop_path: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    line = error_line(train(config_path, shop_path, empty, "--resume"))
    assert f"{empty / 'checkpoints'}: nothing to resume from" in line


def test_resume_with_another_config_names_the_config(
    run_a: Path, shop_path: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(run_a, run)
    other = write_config(tmp_path / "other.toml", train={"epochs": 4})
    line = error_line(train(other, shop_path, run, "--resume"))
    assert f"{run / 'config.toml'} differs from the config given" in line


# -- 4. single-task runs and the strategy's weights ------------------------------------------------


def test_single_task_run_reports_only_its_task(shop_path: Path, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "stl.toml",
        features={"tasks": ["attributes"]},
        train={"epochs": 2, "steps_per_epoch": 3},
    )
    run = tmp_path / "run"
    done = train(config, shop_path, run)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert list(metrics["test"]) == ["attributes"] and metrics["epochs_run"] == 2
    log = read_log(run)
    assert [set(r["weight"]) for r in log if "step" in r] == [{"attributes"}] * 6
    assert all(set(r["validation"]) == {"attributes"} for r in log if "validation" in r)


def test_a_refit_trains_on_the_held_out_weeks_and_serves_those_weights(
    shop_path: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    from toyguide.training.checkpoint import read_checkpoint

    config = write_config(
        tmp_path / "refit.toml",
        features={"tasks": ["sales", "attributes"]},
        train={"epochs": 2, "steps_per_epoch": 3, "refit_epochs": 1},
    )
    run = tmp_path / "run"
    done = train(config, shop_path, run)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["refit"]["epochs"] == 1 and metrics["refit"]["tasks_through_the_end"] == [
        "sales"
    ]
    refit_log = read_log(run / "refit")
    assert sum("step" in r for r in refit_log) == 3  # one epoch of 3 steps, log_every = 1
    best, _ = read_checkpoint(run / "checkpoints" / "best")
    refitted, meta = read_checkpoint(run / "checkpoints" / "refit")
    assert meta["epochs"] == 1
    changed = [k for k in best["model"] if not best["model"][k].equal(refitted["model"][k])]
    assert any(k.startswith("sales_encoder.") for k in changed)
    # the calibration of the chosen epoch is kept; the folder serves the refitted weights
    assert best["model"]["heads.sales.interval_offset"].equal(
        refitted["model"]["heads.sales.interval_offset"]
    )
    served = load_file(str(run / "model" / "model.safetensors"))
    assert all(served[k].equal(refitted["model"][k]) for k in changed)
    # the reported test is the chosen epoch's, as `evaluate` (best checkpoint) gives it
    out = toyguide("evaluate", run, "--store", shop_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["test"] == metrics["test"]


def test_the_boosted_sales_head_is_fitted_refitted_and_served(
    shop_path: Path, tmp_path: Path
) -> None:
    from toyguide.guide.loaded import load_model_folder
    from toyguide.runs import load_best

    config = write_config(
        tmp_path / "boosted.toml",
        features={"tasks": ["sales"]},
        train={"epochs": 2, "steps_per_epoch": 3, "refit_epochs": 1},
        boosted_sales={"enabled": True, "rounds": 30, "early_stopping": 5, "blends": [0.5]},
    )
    run = tmp_path / "run"
    done = train(config, shop_path, run)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    record = metrics["boosted_sales"]
    assert (
        record["served"]
        and record["blend"] == 0.5
        and list(record["validation_by_blend"]) == ["0.5"]
    )
    assert 1 <= min(record["rounds"].values()) <= 30 and record["refit"]["training_rows"] > 0
    assert metrics["served_validation"]["sales"] == record["validation"]
    assert metrics["test_without_boosted"]["sales"] != metrics["test"]["sales"]
    # evaluate (the best checkpoint) gives the run's test; the folder serves the refit
    out = toyguide("evaluate", run, "--store", shop_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["test"]["sales"] == metrics["test"]["sales"]
    with Store.open(shop_path, read_only=True) as store:
        loaded = load_model_folder(run / "model", store)
    _, streams, refitted, _ = load_best(run, shop_path, "refit")
    _, _, best, _ = load_best(run, shop_path)
    batch = next(streams["sales"].eval_batches("test"))
    served = loaded.model.sales_outputs(batch)["mean"]
    assert torch.allclose(served, refitted.sales_outputs(batch)["mean"])
    assert not torch.allclose(served, best.sales_outputs(batch)["mean"])
    assert loaded.model.boosted_sales.record["refit"] == record["refit"]


def test_validation_may_keep_the_neural_sales_head_alone(shop_path: Path, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "neural.toml",
        features={"tasks": ["sales"]},
        train={"epochs": 1, "steps_per_epoch": 2},
        boosted_sales={"enabled": True, "rounds": 5, "blends": [1.0]},
    )
    run = tmp_path / "run"
    done = train(config, shop_path, run)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert not metrics["boosted_sales"]["served"] and "served_validation" not in metrics
    assert metrics["test_without_boosted"]["sales"] == metrics["test"]["sales"]
    assert not (run / "model" / "sales_boosted.json").exists()


def test_a_refit_without_a_task_that_holds_weeks_out_is_refused(
    shop_path: Path, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "refit.toml",
        features={"tasks": ["attributes"]},
        train={"epochs": 1, "steps_per_epoch": 2, "refit_epochs": 1},
    )
    assert "no task of this run holds data out by time" in error_line(
        train(config, shop_path, tmp_path / "run")
    )
    assert not (tmp_path / "run" / "log.jsonl").exists()  # refused before training


def test_uncertainty_weights_are_logged_finite_for_every_task(run_a: Path) -> None:
    weights = [r["weight"] for r in read_log(run_a) if "step" in r]
    assert len(weights) == BASE["train"]["epochs"] * STEPS  # log_every = 1
    for w in weights:
        assert set(w) == set(TASKS)
        assert all(math.isfinite(v) and v > 0 for v in w.values()), w
    assert weights[-1] != weights[0]  # the log-variances are learnt, not frozen


def test_selection_all_takes_every_tasks_own_metric() -> None:
    from toyguide.errors import ConfigError
    from toyguide.runs import run_config_from_dict, selection_of

    config = run_config_from_dict({"features": {"tasks": TASKS}, "selection": {"task": "all"}})
    selection = selection_of(config)
    assert selection.higher_is_better
    assert [(task, metric) for task, metric, _ in selection.parts] == [
        ("preference", "next_item/ndcg@10"), ("attributes", "age_band/accuracy"),
        ("sales", "units/wape_abs_bias"), ("profile", "age_band/accuracy"),
    ]  # fmt: skip
    assert dict((t, h) for t, _, h in selection.parts)["sales"] is False  # lower is better
    with pytest.raises(ConfigError, match="each task's own"):
        selection_of(run_config_from_dict({"selection": {"task": "all", "metric": "x/mse"}}))


def test_per_target_weighting_trains_each_target_as_a_unit(shop_path: Path, tmp_path: Path) -> None:
    from toyguide.runs import loss_units, run_config_from_dict, train_run

    raw = copy.deepcopy(BASE) | {
        "weighting": {"name": "fixed", "per_target": True,
                      "options": {"weights": {"attributes": 0.5, "profile/gender": 0.0}}},
        "analysis": {"every_steps": 0},
    }  # fmt: skip
    raw["features"]["tasks"] = ["attributes", "profile"]
    raw["train"] |= {"epochs": 1, "steps_per_epoch": 3}
    config = run_config_from_dict(raw)
    units, split = loss_units(config)
    assert split == ["attributes", "profile"]
    assert units == ["attributes/age_band", "attributes/gender_target", "attributes/functions",
                     "profile/age_band", "profile/gender", "profile/interests"]  # fmt: skip
    train_run(config, shop_path, tmp_path / "run")
    steps = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    weights = next(r["weight"] for r in steps if "weight" in r)  # per-target weights in the log
    assert weights["attributes/functions"] == 0.5 and weights["profile/gender"] == 0.0
    assert weights["profile/age_band"] == 1.0


# -- 6. a run fitted to what the store holds ------------------------------------------------------

CANDIDATES = {
    "features": {
        "tasks": TASKS,
        "attribute_targets": ["age_band", "gender_target", "functions", "price_band"],
    }
}


def fitted(store_path: Path) -> tuple[Any, dict[str, str]]:
    from toyguide.runs import config_for_store, run_config_from_dict

    with Store.open(store_path, read_only=True) as store:
        return config_for_store(run_config_from_dict(CANDIDATES), store)


@pytest.fixture(scope="module")
def labelled_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic shop with enough labelled toys and children for every task."""
    from toyguide.data.ingest import build_synthetic_store
    from toyguide.data.synth import SynthConfig

    path = tmp_path_factory.mktemp("labelled") / "shop.duckdb"
    with Store.open(path) as store:
        build_synthetic_store(store, SynthConfig(n_shoppers=400, n_items=300, n_weeks=16, seed=2))
    return path


def test_a_shop_with_history_keeps_every_task_and_the_item_ids(labelled_shop: Path) -> None:
    config, left_out = fitted(labelled_shop)
    assert config.features.tasks == tuple(TASKS) and left_out == {}
    assert config.model.use_id
    # price band would take the price input away from preference and sales: not a target here
    assert "price_band" not in config.features.attribute_targets
    assert "functions" in config.features.attribute_targets


def test_the_same_catalogue_alone_trains_attributes_without_ids(
    labelled_shop: Path, tmp_path: Path
) -> None:
    with Store.open(labelled_shop, read_only=True) as shop:
        shop.frame("items").write_parquet(tmp_path / "items.parquet")
    with Store.open(tmp_path / "catalogue.duckdb") as store:
        ingest_file(store, "items", tmp_path / "items.parquet")
    config, left_out = fitted(tmp_path / "catalogue.duckdb")
    assert config.features.tasks == ("attributes",)
    assert "price_band" in config.features.attribute_targets  # alone, it takes nothing away
    assert not config.model.use_id
    assert left_out == {
        "preference": "0 shoppers with 3+ events of the target kinds (click, cart, purchase)",
        "sales": "no sales rows",
        "profile": "0 shoppers with events and a known child age, gender or interests",
    }


def test_a_store_supporting_no_task_is_named(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("item_id,title\nA,a kite\nB,a drum\n")
    with Store.open(tmp_path / "tiny.duckdb") as store:
        ingest_file(store, "items", tmp_path / "items.csv")
    from toyguide.errors import ConfigError

    with pytest.raises(ConfigError, match=r"supports none of the tasks .* attributes: under 100"):
        fitted(tmp_path / "tiny.duckdb")


def test_attributes_without_age_select_on_the_targets_mean_macro_f1() -> None:
    from toyguide.runs import run_config_from_dict, selection_of

    def selected(targets: list[str]) -> str:
        raw = {"features": {"tasks": ["attributes"], "attribute_targets": targets}}
        return selection_of(run_config_from_dict(raw)).metric

    assert selected(["age_band", "functions"]) == "age_band/accuracy"
    assert selected(["functions", "price_band"]) == "all/macro_f1"


def test_item_neighbours_are_chosen_on_validation_and_served_from_the_folder(
    shop_path: Path, tmp_path: Path
) -> None:
    from toyguide.evaluation.neighbours import (
        NEIGHBOUR_DECAYS,
        NEIGHBOUR_WEIGHTS,
        TRANSITION_WEIGHTS,
    )
    from toyguide.features.neighbours import ItemNeighbours
    from toyguide.guide.loaded import load_model_folder
    from toyguide.runs import evaluate_run

    config = write_config(
        tmp_path / "nb.toml",
        features={"tasks": ["preference"], "item_neighbours": 20, "item_transitions": 2},
        train={"epochs": 1, "steps_per_epoch": 3},
    )
    run = tmp_path / "run"
    done = train(config, shop_path, run)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    choice = metrics["neighbours"]
    curve = {tuple(map(float, p.split("/"))): v for p, v in choice["validation_ndcg@10"].items()}
    assert sorted(curve) == sorted(
        (d, t, w) for d in NEIGHBOUR_DECAYS for t in TRANSITION_WEIGHTS for w in NEIGHBOUR_WEIGHTS
    )
    chosen = (choice["decay"], choice["transition_weight"], choice["weight"])
    assert curve[chosen] == max(curve.values())  # the validation's best triple
    served = metrics["served_validation"]["preference"]["next_item/ndcg@10"]
    assert served == pytest.approx(curve[chosen])  # what the grouping chooser compares
    assert set(metrics["test_without_neighbours"]) == {"preference"}
    saved = ItemNeighbours.load(run / "model" / "neighbours.safetensors")
    assert (saved.decay, saved.transition_weight, saved.weight) == chosen
    assert (saved.k, saved.window) == (20, 2) and saved.transitions is not None
    with Store.open(shop_path, read_only=True) as store:
        loaded = load_model_folder(run, store)
    assert loaded.model.neighbours is not None
    assert loaded.model.neighbours.similarity.shape == saved.similarity.shape
    again = evaluate_run(run, shop_path)["test"]["preference"]  # refits what the test may see
    assert again == pytest.approx(metrics["test"]["preference"])
