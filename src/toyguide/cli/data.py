"""Data commands: ``ingest``, ``store stats``, ``data import``, ``data synth``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from toyguide.cli.common import (
    JsonOpt,
    StoreOpt,
    console,
    guarded,
    print_mapping,
    synth_and_report,
)

commands = typer.Typer()  # merged into the root app: its commands sit at the top level
store_app = typer.Typer(help="Inspect a store.", no_args_is_help=True)
data_app = typer.Typer(help="Public datasets and the synthetic shop.", no_args_is_help=True)


@commands.command()
@guarded
def ingest(
    table: Annotated[str, typer.Argument(help="items, shoppers, events or sales")],
    file: Annotated[Path, typer.Argument(help="A CSV, JSONL or Parquet file.")],
    store: StoreOpt,
) -> None:
    """Validate FILE and store it as rows of TABLE, whole or not at all."""
    from toyguide.data.ingest import ingest_file
    from toyguide.data.schema import table as schema_table
    from toyguide.data.store import Store

    schema_table(table)  # an unknown table name fails before the store is touched
    with Store.open(store) as s:
        report = ingest_file(s, table, file)
    console.print(
        f"{report.table}: {report.rows} rows from {file} "
        f"({report.inserted} new, {report.replaced} replaced)"
    )


@store_app.command("stats")
@guarded
def store_stats(store: StoreOpt, as_json: JsonOpt = False) -> None:
    """Row counts, label coverage and date ranges of a store."""
    from toyguide.data.store import Store

    with Store.open(store, read_only=True) as s:
        stats = s.stats()
    if as_json:
        sys.stdout.write(json.dumps(stats, indent=2, default=str) + "\n")
    else:
        print_mapping("store " + str(store), stats)


@data_app.command("import")
@guarded
def data_import(
    dataset: Annotated[str, typer.Argument(help="A registered dataset adapter name.")],
    source: Annotated[Path, typer.Option("--source", help="The dataset's folder.")],
    store: StoreOpt,
) -> None:
    """Import a public dataset into the store."""
    from toyguide.data.ingest import import_dataset
    from toyguide.data.store import Store

    with console.status(f"importing {dataset} from {source}"), Store.open(store) as s:
        summary = import_dataset(s, dataset, source)
    for r in summary.reports:
        console.print(f"{r.table}: {r.rows} rows ({r.inserted} new, {r.replaced} replaced)")
    print_mapping(f"{dataset}: what the import did", summary.counts)
    for note in summary.notes:
        console.print(f"- {note}", markup=False)
    console.print(f"done in {summary.seconds:.1f}s")


@data_app.command("synth")
@guarded
def data_synth(
    store: StoreOpt,
    shoppers: Annotated[int, typer.Option(help="Number of shoppers (one child each).")] = 20_000,
    items: Annotated[int, typer.Option(help="Number of toys in the catalogue.")] = 2_000,
    weeks: Annotated[int, typer.Option(help="Weeks simulated.")] = 52,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same shop.")] = 0,
    events_per_week: Annotated[
        float, typer.Option(help="Mean events per shopper and week (all kinds).")
    ] = 1.0,
) -> None:
    """Build the synthetic toy shop into STORE and write its hidden truth beside it."""
    from toyguide.data.synth import SynthConfig

    config = SynthConfig(
        n_shoppers=shoppers,
        n_items=items,
        n_weeks=weeks,
        seed=seed,
        events_per_shopper_week=events_per_week,
    )
    synth_and_report(config, store)


@data_app.command("ingest-spool")
@guarded
def data_ingest_spool(store: StoreOpt) -> None:
    """Ingest the events a multi-worker `serve` accepted into STORE.spool/ (each file in one
    transaction, exactly once). `serve` does this itself when it stops and starts; run it
    after a crash, or to move events in without starting the service. The store must be free:
    it fails while a service reads it."""
    from toyguide.data.spool import ingest_spool, spool_dir
    from toyguide.data.store import Store
    from toyguide.errors import StoreError

    with Store.open(store) as s:
        report = ingest_spool(s)
    for note in report.notes:
        console.print(f"- {note}", markup=False)
    console.print(
        f"{report.rows} events from {report.batches} batches in {report.files} spool file(s) "
        f"({report.inserted} new, {report.replaced} replaced)"
    )
    if report.failed:
        raise StoreError(report.failure_message(spool_dir(store)))
