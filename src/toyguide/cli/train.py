"""Training commands: ``demo``, ``train``, ``evaluate``, ``analyze tasks``."""

from __future__ import annotations

import json
import sys
import tomllib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table as RichTable

from toyguide.cli.common import StoreOpt, console, guarded, synth_and_report

if TYPE_CHECKING:
    from toyguide.runs import RunConfig

commands = typer.Typer()  # merged into the root app: its commands sit at the top level
analyze_app = typer.Typer(help="Analyse a trained run.", no_args_is_help=True)

# Shipped inside the package so that an installed toyguide finds it wherever it runs;
# configs/demo.toml is a link to this one file, so the two cannot drift.
DEMO_CONFIG = resources.files("toyguide.cli").joinpath("demo.toml")


def demo_config(seed: int) -> RunConfig:
    """The demo's run config with SEED. The seed goes into the TOML dict before validation:
    RunConfig copies it into features.seed, and replacing it on a built config would clash
    with a file that sets a seed of its own."""
    from toyguide.runs import run_config_from_dict

    raw = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    return run_config_from_dict({**raw, "seed": seed})


@commands.command()
@guarded
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo store, its truth and the run.")] = (
        Path("demo")
    ),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    serve: Annotated[bool, typer.Option(help="Serve the guide when trained.")] = True,
    port: Annotated[int, typer.Option(help="Port of the guide on localhost.")] = 8000,
) -> None:
    """The main job on the embedded default: build the synthetic shop, train the multi-task
    model on it, print each task's test metrics, then serve the guide on localhost."""
    import secrets
    import shutil

    from toyguide.data.synth import SynthConfig
    from toyguide.runs import train_run

    store = out / "shop.duckdb"
    if store.exists():  # the demo always starts from a fresh shop
        store.unlink()
    shutil.rmtree(out / "run", ignore_errors=True)
    synth_and_report(SynthConfig(n_shoppers=5_000, n_items=600, n_weeks=52, seed=seed), store)
    metrics = train_run(demo_config(seed), store, out / "run")
    print_metrics("demo: test metrics per task", metrics["test"])
    console.print(f"trained in {metrics['train_seconds']}s (best epoch {metrics['best_epoch']})")
    if not serve:
        return
    from toyguide.service import Settings
    from toyguide.service import serve as serve_app

    token = secrets.token_urlsafe(12)
    settings = Settings(out / "run", store, admin_token=token, merchant_token=token, port=port)
    serve_app(settings, announce=lambda url: console.print(
        f"the guide: {url}/  ·  merchant dashboard: {url}/merchant (token {token})  ·  "
        "Ctrl-C stops"
    ))  # fmt: skip


@commands.command()
@guarded
def train(
    config: Annotated[Path, typer.Option("--config", help="A run config (TOML).")],
    store: StoreOpt,
    out: Annotated[Path, typer.Option("--out", help="The run folder to write.")],
    resume: Annotated[bool, typer.Option(help="Continue from the run's last checkpoint.")] = False,
) -> None:
    """Train the multi-task model; writes checkpoints, logs and metrics into OUT."""
    from toyguide.runs import load_run_config, train_run

    metrics = train_run(load_run_config(config), store, out, resume=resume)
    print_metrics("test", metrics["test"])
    console.print(
        f"best epoch {metrics['best_epoch']} of {metrics['epochs_run']}, "
        f"{metrics['train_seconds']}s, peak {metrics['peak_rss_mb']:.0f} MB; run folder {out}"
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


def print_metrics(title: str, metrics: dict[str, dict[str, float]]) -> None:
    table = RichTable(title=title)
    for col in ("task", "metric", "value"):
        table.add_column(col)
    for task, values in metrics.items():
        for name, value in values.items():
            if not name.endswith("/n"):
                table.add_row(task, name, "nan" if value != value else f"{value:.4f}")
    console.print(table)
