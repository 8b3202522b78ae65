"""The assembled Typer app: every command is still there, and the demos' run configs parse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main

from toyguide.cli import app
from toyguide.cli.demo import DEMO_CONFIG, dataset_config, demo_config
from toyguide.runs import RunConfig, load_run_config

ROOT = Path(__file__).resolve().parents[2]
# The command line as it stood before cli.py became a package (issue 9); scripts, the README
# and the Makefile call these names.
COMMANDS = {
    "ingest", "demo", "train", "evaluate", "serve", "recommend", "evaluate-toy", "forecast",
    "plan-inventory", "store stats", "data import", "data synth", "analyze tasks", "guide parse",
    "guide ask",
}  # fmt: skip


def command_paths(command: Any, prefix: str = "") -> set[str]:
    """Every leaf command as "group sub". Typer ships its own click, hence no isinstance."""
    subs = getattr(command, "commands", None)
    if subs is None:
        return {prefix}
    found: set[str] = set()
    for name, sub in subs.items():
        found |= command_paths(sub, f"{prefix} {name}".strip())
    return found


def test_every_command_is_still_registered() -> None:
    missing = COMMANDS - command_paths(typer.main.get_command(app))
    assert not missing, f"commands gone from the CLI: {sorted(missing)}"


def test_demo_config_is_a_run_of_the_four_tasks() -> None:
    config = demo_config(seed=0)
    assert isinstance(config, RunConfig)
    assert list(config.features.tasks) == ["preference", "attributes", "sales", "profile"]


def test_demo_seed_reaches_the_features() -> None:
    config = demo_config(seed=7)
    assert config.seed == config.features.seed == 7


def test_dataset_config_lists_the_candidate_tasks_and_targets() -> None:
    # the demo keeps those the store supports (runs.config_for_store); all four are candidates
    config = dataset_config(seed=3)
    assert list(config.features.tasks) == ["preference", "attributes", "sales", "profile"]
    assert config.seed == config.features.seed == 3
    assert "age_band" in config.features.attribute_targets


def test_configs_demo_toml_is_the_packaged_file() -> None:
    documented = ROOT / "configs" / "demo.toml"
    assert documented.resolve() == Path(str(DEMO_CONFIG)).resolve()  # one file, no copy to drift
    assert load_run_config(documented) == demo_config(seed=0)
