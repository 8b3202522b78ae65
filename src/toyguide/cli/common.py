"""What every command group shares: the consoles, ``guarded``, option types, printing helpers."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table as RichTable

from toyguide.errors import DataValidationError, ToyGuideError

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])

StoreOpt = Annotated[
    Path, typer.Option("--store", envvar="TOYGUIDE_STORE", help="The DuckDB store file.")
]
ModelOpt = Annotated[
    Path,
    typer.Option("--model", envvar="TOYGUIDE_MODEL", help="A run folder or its model/ folder."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


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


def print_mapping(title: str, mapping: dict[str, Any]) -> None:
    table = RichTable(title=title, show_header=False)
    for key, value in mapping.items():
        shown = json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
        table.add_row(key, shown)
    console.print(table)


def synth_and_report(config: Any, store: Path) -> None:
    """Build the synthetic shop into STORE and print what was built; ``data synth`` and
    ``demo`` (two groups) both start from it."""
    from toyguide.data.ingest import build_synthetic_store
    from toyguide.data.store import Store

    with console.status("building the synthetic shop"), Store.open(store) as s:
        summary = build_synthetic_store(s, config)
        stats = s.stats()
    print_mapping("synthetic shop", summary)
    print_mapping(f"store {store}", stats)


def print_metrics(title: str, metrics: dict[str, dict[str, float]]) -> None:
    table = RichTable(title=title)
    for col in ("task", "metric", "value"):
        table.add_column(col)
    for task, values in metrics.items():
        for name, value in values.items():
            if not name.endswith("/n"):
                table.add_row(task, name, "nan" if value != value else f"{value:.4f}")
    console.print(table)
