"""The ``toyguide`` command line: each command parses arguments and calls one library function."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table as RichTable

from toyguide.errors import DataValidationError, ToyGuideError

app = typer.Typer(help="toyguide: an AI shopping guide for toy shops.", no_args_is_help=True)
store_app = typer.Typer(help="Inspect a store.", no_args_is_help=True)
data_app = typer.Typer(help="Public datasets and the synthetic shop.", no_args_is_help=True)
app.add_typer(store_app, name="store")
app.add_typer(data_app, name="data")

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])

StoreOpt = Annotated[
    Path, typer.Option("--store", envvar="TOYGUIDE_STORE", help="The DuckDB store file.")
]


def guarded(fn: F) -> F:
    """Print toyguide's own errors as messages (no traceback) and exit non-zero."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DataValidationError as exc:
            err_console.print(exc.report(), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except ToyGuideError as exc:
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.command()
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
def store_stats(
    store: StoreOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Row counts, label coverage and date ranges of a store."""
    from toyguide.data.store import Store

    with Store.open(store, read_only=True) as s:
        stats = s.stats()
    if as_json:
        sys.stdout.write(json.dumps(stats, indent=2, default=str) + "\n")
    else:
        _print_mapping("store " + str(store), stats)


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
    _print_mapping(f"{dataset}: what the import did", summary.counts)
    for note in summary.notes:
        console.print(f"- {note}", markup=False)
    console.print(f"done in {summary.seconds:.1f}s")


def _print_mapping(title: str, mapping: dict[str, Any]) -> None:
    table = RichTable(title=title, show_header=False)
    for key, value in mapping.items():
        shown = json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
        table.add_row(key, shown)
    console.print(table)


def main() -> None:  # pragma: no cover - console-script entry
    app()
