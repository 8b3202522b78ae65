"""The ``toyguide`` command line: each command parses arguments and calls one library function.

One module per command group (data, demo, train, guide, serve) and ``common`` for what they share;
this module assembles them into one Typer app. The order below is the order of ``--help``:
the top-level commands of every group first, then the sub-command groups.
"""

from __future__ import annotations

import typer

from toyguide.cli import data, demo, guide, serve, train

__all__ = ["app", "main"]

app = typer.Typer(help="toyguide: an AI shopping guide for toy shops.", no_args_is_help=True)
for group in (data, demo, train, serve, guide):
    app.add_typer(group.commands)  # no name: the group's commands join the top level
app.add_typer(data.store_app, name="store")
app.add_typer(data.data_app, name="data")
app.add_typer(train.analyze_app, name="analyze")
app.add_typer(guide.guide_app, name="guide")


def main() -> None:  # pragma: no cover - console-script entry
    app()
