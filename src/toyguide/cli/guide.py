"""Guide commands: ``guide parse``, ``guide ask``, ``recommend``, ``evaluate-toy``,
``forecast``, ``plan-inventory``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from toyguide.cli.common import JsonOpt, ModelOpt, StoreOpt, console, guarded, print_mapping

commands = typer.Typer()  # merged into the root app: its commands sit at the top level
guide_app = typer.Typer(
    help="The shopping guide: parse requests, ask for toys.", no_args_is_help=True
)


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
        print_mapping("request", request.to_dict())


def _answer(
    model: Path, store: Path, question: Callable[[Any], Any], semantic: bool = False,
    rates: Path | None = None,
) -> Any:  # fmt: skip
    """Load the guide, ask it one thing, close it."""
    from toyguide.guide.currency import DEFAULT_RATES, load_rates
    from toyguide.guide.engine import Guide

    table = load_rates(rates) if rates is not None else DEFAULT_RATES
    guide = Guide.load(model, store, semantic=semantic, rates=table)
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
    rates: Annotated[
        Path | None, typer.Option(help="Currency rate table (TOML); default: the guide's.")
    ] = None,
) -> None:
    """Ask the guide for toys: the request is parsed into slots, then toys are ranked."""
    ask = lambda g: g.ask(text, shopper_id=shopper, k=k)  # noqa: E731
    result, _ = _answer(model, store, ask, True, rates)
    if as_json:
        _print_json(result)
    else:
        _print_recommendations(result)


@commands.command()
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


@commands.command("evaluate-toy")
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
    pricing = result.pricing
    if pricing is not None and pricing.suggested_low is not None:
        table.add_row("suggested price", f"{pricing.suggested_low:.2f}–{pricing.suggested_high:.2f}"
                      f" {pricing.currency or ''} (similar toys' weighted P25–P75)")  # fmt: skip
        curve = " ".join(f"{p.price:g}:{p.mean:.1f}" for p in pricing.curve)
        table.add_row(f"units in {pricing.horizon_weeks} weeks by price", curve or "-")
        table.add_row("price response", pricing.price_response)
    console.print(table)
    _print_picks("most similar toys", result.similar)


@commands.command()
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


@commands.command("plan-inventory")
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
        print_mapping(f"inventory plan for {item}", result.to_dict())


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
