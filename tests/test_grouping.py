"""Task grouping: a run config's groups, checked, each trained as a run of its own; the
grouping a finished run suggests can be trained by naming that run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from toyguide.errors import ConfigError
from toyguide.evaluation.analysis import analyze_run
from toyguide.grouping import GroupingConfig, group_config, groups_of
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
