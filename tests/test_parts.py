"""Each task or target from its own best epoch (``selection.each``): which parts a selection
has, how their metrics merge, and a real run that tests and serves each part from its epoch."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from toyguide.data.store import Store
from toyguide.errors import ConfigError
from toyguide.evaluation.protocols import evaluate_model
from toyguide.guide.loaded import load_model_folder
from toyguide.parts import merge_part, part_task, served_checkpoints
from toyguide.runs import (
    evaluate_run,
    load_best,
    parts_of,
    run_config_from_dict,
    run_selection,
    selection_of,
    train_run,
)

TASKS = ["preference", "attributes", "sales", "profile"]
RUN = {
    "threads": 1,
    "features": {"tasks": TASKS, "max_len": 20, "history_weeks": 4, "horizon": 4},
    "model": {"d_model": 16, "shopper_layers": 1},
    "train": {"epochs": 4, "steps_per_epoch": 15, "patience": 1},
    "selection": {"task": "all", "each": True},
    "analysis": {"every_steps": 0},
}


def test_selection_all_has_a_part_per_task_and_a_mean_over_targets_one_per_target() -> None:
    assert list(parts_of(run_config_from_dict(RUN))) == TASKS
    targets = ["top_category", "functions", "price_band"]
    attributes = run_config_from_dict({
        "features": {"tasks": ["attributes"], "attribute_targets": targets},
        "selection": {"task": "attributes", "metric": "all/macro_f1", "each": True},
    })  # fmt: skip
    parts = parts_of(attributes)
    assert list(parts) == [f"attributes/{t}" for t in targets]
    assert (parts["attributes/functions"].metric, parts["attributes/functions"].task) == (
        "functions/macro_f1",
        "attributes",
    )


def test_a_selection_window_judges_the_run_and_each_part_on_trailing_means() -> None:
    from toyguide.training.trainer import TrailingSelection

    windowed = run_config_from_dict({**RUN, "selection": {**RUN["selection"], "window": 3}})
    parts = parts_of(windowed)
    assert list(parts) == TASKS
    assert all(isinstance(p, TrailingSelection) and p.window == 3 for p in parts.values())
    assert not any(
        isinstance(p, TrailingSelection) for p in parts_of(run_config_from_dict(RUN)).values()
    )
    assert isinstance(run_selection(windowed), TrailingSelection)  # the run's own selection too
    assert run_selection(windowed).inner == selection_of(windowed)
    assert run_selection(run_config_from_dict(RUN)) == selection_of(run_config_from_dict(RUN))
    with pytest.raises(ConfigError, match=r"selection\.window must be >= 1"):
        run_config_from_dict({**RUN, "selection": {"task": "all", "window": 0}})


def test_a_selection_of_one_part_has_no_parts_and_a_refit_is_refused() -> None:
    one = run_config_from_dict({"features": {"tasks": ["sales"]}, "selection": {"each": True}})
    assert parts_of(one) == {}
    refit = run_config_from_dict({**RUN, "train": {"refit_epochs": 2}})
    with pytest.raises(ConfigError, match=r"selection\.each and train\.refit_epochs"):
        parts_of(refit)


def test_a_target_part_replaces_its_targets_metrics_and_the_means_follow() -> None:
    mine = {"attributes": {"a/macro_f1": 0.2, "b/macro_f1": 0.4, "all/macro_f1": 0.3},
            "sales": {"units/wape": 0.7}}  # fmt: skip
    theirs = {"attributes": {"a/macro_f1": 0.6, "a/accuracy": 0.9, "b/macro_f1": 0.0}}
    merged = merge_part(mine, "attributes/a", theirs)
    assert merged["attributes"] == {"a/macro_f1": 0.6, "a/accuracy": 0.9, "b/macro_f1": 0.4,
                                    "all/macro_f1": pytest.approx(0.5)}  # fmt: skip
    assert merged["sales"] == mine["sales"] and mine["attributes"]["a/macro_f1"] == 0.2
    whole = merge_part(mine, "sales", {"sales": {"units/wape": 0.5}})
    assert whole["sales"] == {"units/wape": 0.5}
    assert part_task("attributes/a") == ("attributes", "a") and part_task("sales") == (
        "sales",
        None,
    )


def test_a_part_whose_best_is_the_runs_is_served_by_the_runs_best() -> None:
    served = served_checkpoints({"sales": 3, "profile": 5}, best_epoch=5)
    assert served == {"sales": "best-at-0003", "profile": "best"}


@pytest.fixture(scope="module")
def each_run(shop_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("each") / "run"
    return out, train_run(run_config_from_dict(RUN), shop_path, out)


def test_each_part_is_tested_from_its_own_best_epoch(each_run, shop_path: Path) -> None:
    out, metrics = each_run
    parts = metrics["parts"]
    assert list(parts) == TASKS
    history = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    epochs = {r["epoch"]: r for r in history if "validation" in r}
    own = [p for p, v in parts.items() if v["checkpoint"] != "best"]
    assert own, "this seed's parts all peaked with the run's selection: the test checks nothing"
    for part, record in parts.items():
        values = [epochs[e]["parts"][part] for e in sorted(epochs)]
        finite = [v for v in values if v is not None and math.isfinite(v)]
        best = (min if part == "sales" else max)(finite)  # sales: a WAPE, lower is better
        assert epochs[record["epoch"]]["parts"][part] == best
    for part in own:
        _, streams, model, meta = load_best(out, shop_path, parts[part]["checkpoint"])
        assert meta["epoch"] == parts[part]["epoch"]
        again = evaluate_model(model, {part: streams[part]}, "test",
                               {part: model.part(part).evaluate})  # fmt: skip
        assert again[part] == pytest.approx(metrics["test"][part], nan_ok=True)


def test_the_model_folder_serves_each_part_with_its_own_weights(each_run, shop_path) -> None:
    out, metrics = each_run
    own = {p for p, v in metrics["parts"].items() if v["checkpoint"] != "best"}
    named = json.loads((out / "model" / "parts.json").read_text())
    assert set(named) == own
    with Store.open(shop_path, read_only=True) as store:
        loaded = load_model_folder(out, store)
    for part in TASKS:
        model = loaded.model_for(part)
        assert (model is loaded.model) == (part not in own)
        saved = load_file(str(out / "model" / named.get(part, "model.safetensors")))
        state = model.state_dict()
        assert all(torch.equal(state[k], v) for k, v in saved.items())


def test_evaluate_reproduces_each_parts_test_metrics(each_run, shop_path: Path) -> None:
    out, metrics = each_run
    again = evaluate_run(out, shop_path)
    for task in TASKS:
        assert again["test"][task] == pytest.approx(metrics["test"][task], nan_ok=True), task
