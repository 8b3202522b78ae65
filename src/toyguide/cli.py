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
analyze_app = typer.Typer(help="Analyse a trained run.", no_args_is_help=True)
app.add_typer(analyze_app, name="analyze")
guide_app = typer.Typer(
    help="The shopping guide: parse requests, ask for toys.", no_args_is_help=True
)
app.add_typer(guide_app, name="guide")

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
    _synth_and_report(config, store)


DEMO_RUN = {
    "threads": 2,
    "features": {"tasks": ["preference", "attributes", "sales", "profile"], "horizon": 12},
    "model": {"d_model": 48, "mixer": "mmoe"},
    "weighting": {"name": "uncertainty"},
    "train": {"epochs": 3, "steps_per_epoch": 60, "patience": 3},
    "analysis": {"every_steps": 20},
}


@app.command()
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
    from toyguide.runs import run_config_from_dict, train_run

    store = out / "shop.duckdb"
    if store.exists():  # the demo always starts from a fresh shop
        store.unlink()
    shutil.rmtree(out / "run", ignore_errors=True)
    _synth_and_report(SynthConfig(n_shoppers=5_000, n_items=600, n_weeks=52, seed=seed), store)
    config = run_config_from_dict({**DEMO_RUN, "seed": seed})
    metrics = train_run(config, store, out / "run")
    _print_metrics("demo: test metrics per task", metrics["test"])
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


def _synth_and_report(config: Any, store: Path) -> None:
    from toyguide.data.ingest import build_synthetic_store
    from toyguide.data.store import Store

    with console.status("building the synthetic shop"), Store.open(store) as s:
        summary = build_synthetic_store(s, config)
        stats = s.stats()
    _print_mapping("synthetic shop", summary)
    _print_mapping(f"store {store}", stats)


@app.command()
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
    _print_metrics("test", metrics["test"])
    console.print(
        f"best epoch {metrics['best_epoch']} of {metrics['epochs_run']}, "
        f"{metrics['train_seconds']}s, peak {metrics['peak_rss_mb']:.0f} MB; run folder {out}"
    )


@app.command()
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


def _print_metrics(title: str, metrics: dict[str, dict[str, float]]) -> None:
    table = RichTable(title=title)
    for col in ("task", "metric", "value"):
        table.add_column(col)
    for task, values in metrics.items():
        for name, value in values.items():
            if not name.endswith("/n"):
                table.add_row(task, name, "nan" if value != value else f"{value:.4f}")
    console.print(table)


@guide_app.command("parse")
@guarded
def guide_parse(
    text: Annotated[str, typer.Argument(help="A request in English or Chinese.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the slots as JSON.")] = False,
    semantic: Annotated[
        bool, typer.Option(help="Match leftover words to the taxonomy with MiniLM.")
    ] = True,
) -> None:
    """Parse a shopper's request into slots (age, gender, budget, interests, exclusions, ...)."""
    from toyguide.guide import SemanticMatcher, parse

    request = parse(text, semantic=SemanticMatcher() if semantic else None)
    if as_json:
        sys.stdout.write(json.dumps(request.to_dict(), ensure_ascii=False) + "\n")
    else:
        _print_mapping("request", request.to_dict())


# -- the guide and the service ------------------------------------------------------------------
ModelOpt = Annotated[
    Path,
    typer.Option("--model", envvar="TOYGUIDE_MODEL", help="A run folder or its model/ folder."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("serve")
@guarded
def serve_command(
    model: ModelOpt,
    store: StoreOpt,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    admin_token: Annotated[
        str | None, typer.Option(help="Admin token; default $TOYGUIDE_ADMIN_TOKEN.")
    ] = None,
    merchant_token: Annotated[
        str | None, typer.Option(help="Merchant token; default $TOYGUIDE_MERCHANT_TOKEN.")
    ] = None,
) -> None:
    """Serve the HTTP API and the web pages (uvicorn) until interrupted. Prefer the
    environment variables for tokens: options show in the process list."""
    from toyguide.service import Settings, serve

    settings = Settings.from_env(
        model, store, admin_token=admin_token, merchant_token=merchant_token, host=host, port=port
    )
    serve(
        settings,
        announce=lambda url: console.print(f"toyguide serving on {url} (API docs {url}/docs)"),
    )


def _answer(
    model: Path, store: Path, question: Callable[[Any], Any], semantic: bool = False
) -> Any:
    """Load the guide, ask it one thing, close it."""
    from toyguide.guide.engine import Guide

    guide = Guide.load(model, store, semantic=semantic)
    try:
        return question(guide)
    finally:
        guide.close()


def _print_json(view: Any) -> None:
    sys.stdout.write(json.dumps(view.to_dict(), ensure_ascii=False) + "\n")


@guide_app.command("ask")
@guarded
def guide_ask(
    text: Annotated[str, typer.Argument(help="A request in English or Chinese.")],
    model: ModelOpt,
    store: StoreOpt,
    shopper: Annotated[str | None, typer.Option("--shopper", help="A known shopper id.")] = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="How many toys.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Ask the guide for toys: the request is parsed into slots, then toys are ranked."""
    result, _ = _answer(model, store, lambda g: g.ask(text, shopper_id=shopper, k=k), True)
    if as_json:
        _print_json(result)
    else:
        _print_recommendations(result)


@app.command()
@guarded
def recommend(
    shopper: Annotated[str, typer.Option("--shopper", help="A known shopper id.")],
    model: ModelOpt,
    store: StoreOpt,
    k: Annotated[int, typer.Option(min=1, max=50, help="How many toys.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Toys for a shopper from their recent history (the preference head)."""
    result = _answer(model, store, lambda g: g.recommend(shopper, k=k))
    if as_json:
        _print_json(result)
    else:
        _print_recommendations(result)


@app.command("evaluate-toy")
@guarded
def evaluate_toy(
    title: Annotated[str, typer.Option("--title", help="The new toy's title.")],
    model: ModelOpt,
    store: StoreOpt,
    description: Annotated[str, typer.Option(help="Its description.")] = "",
    brand: Annotated[str | None, typer.Option(help="Its brand.")] = None,
    price: Annotated[float | None, typer.Option(min=0, help="Its price.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A toy not yet in the catalogue: likely ages, gender target, functions, first weeks'
    demand and the most similar toys."""
    result = _answer(model, store, lambda g: g.evaluate_toy(title, description, brand, price))
    if as_json:
        _print_json(result)
        return
    table = RichTable(title=f"evaluation of '{title}'", show_header=False)
    for name in ("age_band", "gender_target", "functions"):
        top = getattr(result, name)[:3]
        table.add_row(name, ", ".join(f"{p.label} {p.probability:.2f}" for p in top))
    for name, values in result.first_weeks_demand.items():
        table.add_row(f"demand {name}", " ".join(f"{v:.1f}" for v in values))
    table.add_row("price percentile", str(result.price_percentile))
    console.print(table)
    _print_picks("most similar toys", result.similar)


@app.command()
@guarded
def forecast(
    item: Annotated[str, typer.Option("--item", help="An item id.")],
    model: ModelOpt,
    store: StoreOpt,
    as_json: JsonOpt = False,
) -> None:
    """Weekly P10/P50/P90 demand for the weeks after the store's last sales week."""
    result = _answer(model, store, lambda g: g.forecast(item))
    if as_json:
        _print_json(result)
        return
    table = RichTable(title=f"forecast for {item} (units per week)")
    for col in ("week", "p10", "p50", "p90"):
        table.add_column(col, justify="right")
    for row in zip(result.weeks, result.p10, result.p50, result.p90, strict=True):
        table.add_row(row[0], *(f"{v:.2f}" for v in row[1:]))
    console.print(table)


@app.command("plan-inventory")
@guarded
def plan_inventory(
    item: Annotated[str, typer.Option("--item", help="An item id.")],
    lead_time: Annotated[int, typer.Option("--lead-time", min=0, help="Lead time in weeks.")],
    service_level: Annotated[
        float, typer.Option("--service-level", help="Cycle service level in (0.5, 0.9999].")
    ],
    model: ModelOpt,
    store: StoreOpt,
    stock: Annotated[
        float | None, typer.Option("--stock", min=0, help="Stock on hand; default the store's.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Reorder point and order quantity for one toy from its demand forecast."""
    result = _answer(
        model, store, lambda g: g.plan_inventory(item, lead_time, service_level, stock)
    )
    if as_json:
        _print_json(result)
    else:
        _print_mapping(f"inventory plan for {item}", result.to_dict())


def _print_recommendations(result: Any) -> None:
    if result.request is not None:
        slots = {k: v for k, v in result.request.items() if v not in (None, [])}
        console.print(f"request: {json.dumps(slots, ensure_ascii=False)}", markup=False)
    _print_picks("recommendations", result.picks)
    for note in result.notes:
        console.print(f"- {note}", markup=False)


def _print_picks(title: str, picks: list[Any]) -> None:
    table = RichTable(title=title)
    for col in ("#", "item", "title", "price", "score", "why"):
        table.add_column(col)
    for rank, pick in enumerate(picks, 1):
        item = pick.item
        price = "" if item.price is None else f"{item.price:.2f} {item.currency or ''}".strip()
        table.add_row(str(rank), item.item_id, item.title or "", price, f"{pick.score:.3f}",
                      "; ".join(pick.reasons))  # fmt: skip
    console.print(table)
