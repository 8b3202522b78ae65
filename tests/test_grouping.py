"""Task grouping: a run config's groups, checked, each trained as a run of its own; the
grouping a finished run suggests can be trained by naming that run."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from toyguide.errors import ConfigError
from toyguide.evaluation.analysis import analyze_run
from toyguide.grouping import (
    GroupingConfig,
    candidate_groups,
    group_config,
    groups_of,
    serving_groups,
)
from toyguide.runs import run_config_from_dict, train_groups

TASKS = ("preference", "attributes", "sales", "profile")
BASE = {
    "seed": 0,
    "threads": 1,
    "features": {"tasks": list(TASKS), "max_len": 20, "history_weeks": 4, "horizon": 4},
    "model": {"d_model": 16, "n_experts": 2, "expert_hidden": [16], "shopper_layers": 1},
    "weighting": {"name": "fixed", "options": {"weights": {"attributes": 2.0, "sales": 0.5}}},
    "train": {"epochs": 1, "steps_per_epoch": 4},
    "selection": {"task": "sales"},
    "analysis": {"every_steps": 2},
}


def config(**grouping) -> object:
    return run_config_from_dict({**BASE, "grouping": grouping})


@pytest.mark.parametrize(
    "groups",
    [
        [["preference", "sales"], ["attributes"]],  # profile left out
        [["preference", "sales"], ["sales", "attributes", "profile"]],  # sales twice
        [["preference", "sales", "attributes", "profile", "shopping"]],  # not a task of the run
    ],
)
def test_groups_must_hold_every_task_once(groups) -> None:
    with pytest.raises(ConfigError, match="exactly once"):
        config(groups=groups)


def test_groups_come_in_task_order_and_each_config_narrows_to_its_group() -> None:
    run = config(groups=[["profile", "attributes"], ["sales", "preference"]])
    groups = groups_of(run.grouping, run.features.tasks)
    assert groups == [("preference", "sales"), ("attributes", "profile")]
    first, second = (group_config(run, g) for g in groups)
    assert first.features.tasks == ("preference", "sales")
    assert first.weighting.options["weights"] == {"sales": 0.5}
    assert first.selection.task == "sales" and not first.grouping.active
    # the selected task is in the other group: these tasks are selected alike
    assert second.weighting.options["weights"] == {"attributes": 2.0}
    assert (second.selection.task, second.selection.metric) == ("all", "")


def test_a_task_alone_in_its_group_is_its_single_task_run() -> None:
    run = run_config_from_dict({**BASE, "weighting": {"name": "uncertainty"}})
    alone = group_config(run, ("sales",))
    assert alone.weighting.name == "equal" and alone.weighting.options == {}
    assert group_config(run, ("sales", "profile")).weighting.name == "uncertainty"
    per_target = dataclasses.replace(run, weighting=dataclasses.replace(run.weighting,
                                                                        per_target=True))  # fmt: skip
    assert group_config(per_target, ("attributes",)).weighting.name == "uncertainty"


def test_only_a_group_with_weeks_held_out_keeps_the_refit() -> None:
    run = run_config_from_dict({**BASE, "train": {**BASE["train"], "refit_epochs": 2}})
    assert group_config(run, ("preference", "sales")).train.refit_epochs == 2
    assert group_config(run, ("attributes", "profile")).train.refit_epochs == 0


def test_each_task_is_served_by_the_group_best_on_its_validation_metric() -> None:
    def run(**validation: dict) -> dict:
        return {"validation": validation}

    runs = [
        (("a", "b"), run(a={"acc": 0.5}, b={"wape": 0.7})),  # the suggested group
        (("a", "b", "c"), run(a={"acc": 0.6}, b={"wape": 0.7}, c={"acc": math.nan})),
        (("a",), run(a={"acc": 0.55})),
        (("b",), run(b={"wape": 0.6})),
        (("c",), run(c={"acc": math.nan})),
    ]
    selections = {"a": ("acc", True), "b": ("wape", False), "c": ("acc", True)}
    chosen = serving_groups(("a", "b", "c"), runs, selections)
    assert chosen == {"a": ("a", "b", "c"), "b": ("b",), "c": ("a", "b", "c")}  # c: no value
    runs[2] = (("a",), run(a={"acc": 0.6}))  # a tie keeps the earlier group
    assert serving_groups(("a",), runs, selections)["a"] == ("a", "b", "c")


def test_choosing_by_validation_adds_every_task_together_and_each_alone() -> None:
    run = config(groups=[["profile", "attributes"], ["sales", "preference"]], choose="validation")
    groups = candidate_groups(run.grouping, run.features.tasks)
    assert groups[:2] == [("preference", "sales"), ("attributes", "profile")]
    assert groups[2:] == [TASKS, *((t,) for t in TASKS)]
    with pytest.raises(ConfigError, match="choose"):
        config(choose="best")
    with pytest.raises(ConfigError, match="choose needs"):
        config(choose="validation")


def test_a_grouped_run_trains_one_model_per_group(shop_path: Path, tmp_path: Path) -> None:
    run = config(groups=[["preference", "profile"], ["attributes", "sales"]])
    metrics = train_groups(run, shop_path, tmp_path / "grouped")
    assert [g["tasks"] for g in metrics["groups"]] == [["preference", "profile"],
                                                       ["attributes", "sales"]]  # fmt: skip
    assert set(metrics["test"]) == set(TASKS)
    for group in metrics["groups"]:
        folder = tmp_path / "grouped" / group["run"]
        own = json.loads((folder / "metrics.json").read_text())
        assert set(own["test"]) == set(group["tasks"])  # a model of its tasks only
        for task in group["tasks"]:
            assert metrics["test"][task] == own["test"][task]
        assert (folder / "model" / "model.safetensors").exists()  # servable on its own
    saved = json.loads((tmp_path / "grouped" / "metrics.json").read_text())
    assert saved["test"] == json.loads(json.dumps(metrics["test"]))


def test_the_grouping_a_run_suggests_can_be_trained(shop_path: Path, tmp_path: Path) -> None:
    source = tmp_path / "together"
    train_groups(config(groups=[list(TASKS)]), shop_path, source)  # one group: all tasks
    measured = source / "groups" / "+".join(TASKS)
    suggested = config(suggested_by=str(measured))
    groups = groups_of(suggested.grouping, suggested.features.tasks)
    assert sorted(t for g in groups for t in g) == sorted(TASKS)
    analysed, _ = analyze_run(measured)  # what `toyguide analyze tasks` prints
    assert {frozenset(g) for g in groups} == {frozenset(g) for g in analysed.grouping}
    report = json.loads((measured / "relatedness.json").read_text())
    assert "lookahead_affinity" in report["matrices"]
    with pytest.raises(ConfigError, match="cannot read"):
        groups_of(GroupingConfig(suggested_by=str(tmp_path / "nowhere")), TASKS)


def test_a_run_choosing_by_validation_serves_each_task_from_its_best_group(
    shop_path: Path, tmp_path: Path
) -> None:
    groups = [["preference", "profile"], ["attributes", "sales"]]
    metrics = train_groups(config(groups=groups, choose="validation"), shop_path, tmp_path / "g")
    trained = [tuple(g["tasks"]) for g in metrics["groups"]]
    assert len(trained) == 2 + 1 + len(TASKS)  # given, together, alone
    assert [g["given"] for g in metrics["groups"]] == [True, True] + [False] * (1 + len(TASKS))
    serving = {t: g for g in metrics["groups"] for t in g["serves"]}
    assert sorted(serving) == sorted(TASKS)  # each task served by exactly one group
    for task, group in serving.items():
        own = json.loads((tmp_path / "g" / group["run"] / "metrics.json").read_text())
        assert metrics["test"][task] == own["test"][task]
        metric = {"preference": "next_item/ndcg@10", "attributes": "age_band/accuracy",
                  "sales": "units/wape_abs_bias", "profile": "age_band/accuracy"}[task]  # fmt: skip
        values = [json.loads((tmp_path / "g" / g["run"] / "metrics.json").read_text())
                  ["validation"][task][metric] for g in metrics["groups"] if task in g["tasks"]]  # fmt: skip
        best = min(values) if task == "sales" else max(values)
        assert own["validation"][task][metric] == best


def test_a_task_served_with_item_neighbours_is_chosen_by_what_is_served() -> None:
    """The model alone validates better in the first run, the fused scores in the second."""
    together = {"validation": {"preference": {"ndcg": 0.058}},
                "served_validation": {"preference": {"ndcg": 0.086}}}  # fmt: skip
    alone = {"validation": {"preference": {"ndcg": 0.063}},
             "served_validation": {"preference": {"ndcg": 0.085}}}  # fmt: skip
    runs = [(("preference", "aux"), together), (("preference",), alone)]
    chosen = serving_groups(("preference",), runs, {"preference": ("ndcg", True)})
    assert chosen == {"preference": ("preference", "aux")}
    del together["served_validation"], alone["served_validation"]
    chosen = serving_groups(("preference",), runs, {"preference": ("ndcg", True)})
    assert chosen == {"preference": ("preference",)}
