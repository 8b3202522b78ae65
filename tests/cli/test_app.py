"""The assembled Typer app: every command is still there."""

from __future__ import annotations

from typing import Any

import typer.main

from toyguide.cli import app

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
