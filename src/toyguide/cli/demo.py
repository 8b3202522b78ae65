"""The ``demo`` command: a shop, a trained run and the guide served, in one command.

Without ``--dataset`` it builds the synthetic shop (the embedded default); with ``--dataset
NAME --source DIR`` it imports that public dataset with its adapter instead and trains what the
data supports. Either way OUT holds ``shop.duckdb`` and the run in ``run/``, which
``toyguide serve --model OUT/run --store OUT/shop.duckdb`` serves again later.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from toyguide.cli.common import console, guarded, print_mapping, print_metrics, synth_and_report
from toyguide.errors import ConfigError, ToyGuideError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from toyguide.runs import RunConfig

commands = typer.Typer()  # merged into the root app: its commands sit at the top level

# Shipped inside the package so that an installed toyguide finds them wherever it runs;
# configs/demo.toml is a link to the first, so the two cannot drift.
DEMO_CONFIG = resources.files("toyguide.cli").joinpath("demo.toml")
DATASET_CONFIG = resources.files("toyguide.cli").joinpath("dataset.toml")
DATASET_HELP = (
    "A dataset adapter name, as in `toyguide data import` (amazon-uk-products, "
    "uci-online-retail, ...); default: the synthetic shop."
)


def packaged_config(file: Traversable, seed: int) -> RunConfig:
    """A shipped run config with SEED. The seed goes into the TOML dict before validation:
    RunConfig copies it into features.seed, and replacing it on a built config would clash
    with a file that sets a seed of its own."""
    from toyguide.runs import run_config_from_dict

    raw = tomllib.loads(file.read_text(encoding="utf-8"))
    return run_config_from_dict({**raw, "seed": seed})


def demo_config(seed: int) -> RunConfig:
    """The synthetic demo's run config with SEED."""
    return packaged_config(DEMO_CONFIG, seed)


def dataset_config(seed: int) -> RunConfig:
    """The run config of a dataset demo before it is fitted to the data: its task list holds
    the candidates, ``runs.config_for_store`` keeps those the store supports."""
    return packaged_config(DATASET_CONFIG, seed)


@commands.command()
@guarded
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo store, its truth and the run.")] = (
        Path("demo")
    ),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    serve: Annotated[bool, typer.Option(help="Serve the guide when trained.")] = True,
    port: Annotated[int, typer.Option(help="Port of the guide on localhost.")] = 8000,
    dataset: Annotated[str | None, typer.Option(help=DATASET_HELP)] = None,
    source: Annotated[
        Path | None, typer.Option(help="The dataset's folder (with --dataset).")
    ] = None,
) -> None:
    """The main job in one command: build a shop (the synthetic one, or a public dataset with
    --dataset and --source), train the multi-task model on it, print each task's test
    metrics, then serve the guide on localhost."""
    if (dataset is None) != (source is None):
        raise ConfigError("--dataset and --source go together: a dataset name and its folder")
    if dataset is not None:  # an unknown name fails before the last demo is cleared
        from toyguide.data.adapters import ADAPTERS

        ADAPTERS.get(dataset)
    store = fresh_demo_folder(out)
    if dataset is None:
        from toyguide.data.synth import SynthConfig

        synth_and_report(SynthConfig(n_shoppers=5_000, n_items=600, n_weeks=52, seed=seed), store)
        config = demo_config(seed)
    else:
        config = import_and_fit(dataset, source, store, seed)  # type: ignore[arg-type]
    train_and_report(config, store, out / "run")
    if serve:
        serve_demo(out / "run", store, port)
    elif dataset is not None:
        console.print(f"serve it: toyguide serve --model {out / 'run'} --store {store}")


def fresh_demo_folder(out: Path) -> Path:
    """The demo always starts from a fresh shop and run: remove both; returns the store path."""
    import shutil

    store = out / "shop.duckdb"
    store.unlink(missing_ok=True)
    shutil.rmtree(out / "run", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    return store


def import_and_fit(dataset: str, source: Path, store: Path, seed: int) -> RunConfig:
    """Import DATASET from SOURCE into STORE and fit the dataset run config to what it holds;
    a rejected import leaves no store behind."""
    from toyguide.data.ingest import import_dataset
    from toyguide.data.store import Store
    from toyguide.runs import config_for_store

    try:
        with console.status(f"importing {dataset} from {source}"), Store.open(store) as s:
            summary = import_dataset(s, dataset, source)
            config, left_out = config_for_store(dataset_config(seed), s)
            stats = s.stats()
    except ToyGuideError:
        store.unlink(missing_ok=True)  # nothing half-built for `serve` to pick up
        raise
    print_mapping(f"{dataset}: what the import did", summary.counts)
    print_mapping(f"store {store}", stats)
    report_tasks(config, left_out)
    return config


def report_tasks(config: RunConfig, left_out: dict[str, str]) -> None:
    features = config.features
    console.print(f"training: {', '.join(features.tasks)}", markup=False)
    if "attributes" in features.tasks:
        console.print(f"  attribute targets: {', '.join(features.attribute_targets)}", markup=False)
    for task, reason in left_out.items():
        console.print(f"  left out {task}: the store has {reason}", markup=False)


def train_and_report(config: RunConfig, store: Path, run: Path) -> None:
    from toyguide.runs import train_run

    metrics = train_run(config, store, run)
    print_metrics("demo: test metrics per task", metrics["test"])
    console.print(f"trained in {metrics['train_seconds']}s (best epoch {metrics['best_epoch']})")


def serve_demo(run: Path, store: Path, port: int) -> None:
    import secrets

    from toyguide.service import Settings
    from toyguide.service import serve as serve_app

    token = secrets.token_urlsafe(12)
    settings = Settings(run, store, admin_token=token, merchant_token=token, port=port)
    serve_app(settings, announce=lambda url: console.print(
        f"the guide: {url}/  ·  merchant dashboard: {url}/merchant (token {token})  ·  "
        "Ctrl-C stops"
    ))  # fmt: skip
