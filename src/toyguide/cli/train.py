"""Training commands: ``train``, ``evaluate``, ``analyze tasks``."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from toyguide.cli.common import StoreOpt, console, guarded, print_metrics

commands = typer.Typer()  # merged into the root app: its commands sit at the top level
analyze_app = typer.Typer(help="Analyse a trained run.", no_args_is_help=True)


@commands.command()
@guarded
def train(
    config: Annotated[Path, typer.Option("--config", help="A run config (TOML).")],
    store: StoreOpt,
    out: Annotated[Path, typer.Option("--out", help="The run folder to write.")],
    resume: Annotated[bool, typer.Option(help="Continue from the run's last checkpoint.")] = False,
    nproc: Annotated[
        int, typer.Option(min=1, help="Processes (ranks) on this machine, under torchrun.")
    ] = 1,
    torchrun: Annotated[
        str,
        typer.Option(
            help="torchrun's rendezvous flags for several machines, passed through, e.g. "
            "'--nnodes 2 --node-rank 0 --rdzv-endpoint host:29400 --rdzv-backend c10d'."
        ),
    ] = "",
) -> None:
    """Train the multi-task model; writes checkpoints, logs and metrics into OUT."""
    from toyguide.cli.launch import launch_ranks, under_torchrun
    from toyguide.runs import load_run_config, train_run

    run_config = load_run_config(config)  # a bad config fails here, before any rank starts
    if (nproc > 1 or torchrun) and not under_torchrun():
        command = ["train", "--config", str(config), "--store", str(store), "--out", str(out)]
        launch_ranks([*command, *(["--resume"] if resume else [])], nproc, shlex.split(torchrun))
        _print_summary(out)
        return
    metrics = train_run(run_config, store, out, resume=resume)
    if under_torchrun():  # the launching command reports, once
        return
    _print_summary(out, metrics)


def _print_summary(out: Path, metrics: dict | None = None) -> None:
    metrics = metrics or json.loads((out / "metrics.json").read_text())
    print_metrics("test", metrics["test"])
    for group in metrics.get("groups", []):  # a grouped run: one model per group
        console.print(
            f"group {' + '.join(group['tasks'])}: best epoch {group['best_epoch']} of "
            f"{group['epochs_run']}; serve it from {out / group['run']}"
        )
    best = f"best epoch {metrics['best_epoch']} of {metrics['epochs_run']}, " if (
        "best_epoch" in metrics) else ""  # fmt: skip
    console.print(
        f"{best}{metrics['train_seconds']}s, peak {metrics['peak_rss_mb']:.0f} MB; run folder {out}"
    )


@commands.command()
@guarded
def evaluate(
    run: Annotated[Path, typer.Argument(help="A run folder written by train.")],
    store: StoreOpt,
    split: Annotated[str, typer.Option(help="validation or test")] = "test",
) -> None:
    """Per-task metrics of a run's best checkpoint, as JSON."""
    from toyguide.runs import evaluate_run, json_safe

    result = evaluate_run(run, store, split)
    sys.stdout.write(json.dumps(json_safe(result), indent=2) + "\n")


@analyze_app.command("tasks")
@guarded
def analyze_tasks(
    run: Annotated[Path, typer.Argument(help="A run folder written by train.")],
) -> None:
    """Task relatedness matrices, heatmaps (PNG) and a suggested task grouping."""
    from toyguide.evaluation.analysis import analyze_run

    report, images = analyze_run(run)
    console.print(report.format(), markup=False, highlight=False)
    for image in images:
        console.print(f"heatmap: {image}")
    if report.grouping:
        console.print(
            f'to train it, add to the run config:\n[grouping]\nsuggested_by = "{run}"',
            markup=False, highlight=False,
        )  # fmt: skip
