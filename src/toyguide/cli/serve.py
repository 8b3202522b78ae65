"""The ``serve`` command: the HTTP API and the web pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toyguide.cli.common import ModelOpt, StoreOpt, console, guarded

commands = typer.Typer()  # merged into the root app: its commands sit at the top level


@commands.command("serve")
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
    rates: Annotated[
        Path | None,
        typer.Option(
            help="Currency rate table (TOML); default $TOYGUIDE_RATES, else the "
            "guide's dated rates (configs/currency.toml)."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes on the one port (uvicorn in each, one SO_REUSEPORT socket "
            "each). Past 1 each opens the store read-only, POST /v1/events spools to "
            "STORE.spool/ (ingested when serve stops or starts, or by `toyguide data "
            "ingest-spool`), dialogues and admin reloads are shared through STORE.serve/, and "
            "the rate limit is per worker.",
        ),
    ] = 1,
    shopper_cache: Annotated[
        int,
        typer.Option(
            min=0,
            help="Known shoppers whose vectors each worker keeps between their requests "
            "(least recently asked go first; emptied by a reload; 0 = compute every time).",
        ),
    ] = 50_000,
    inference_slots: Annotated[
        int,
        typer.Option(
            min=0,
            help="Requests each worker runs through the model at once; the rest wait their "
            "turn (0 = the machine's cores over --workers, at least 1).",
        ),
    ] = 0,
) -> None:
    """Serve the HTTP API and the web pages (uvicorn) until interrupted. Prefer the
    environment variables for tokens: options show in the process list. A per-client rate
    limit on the open routes: $TOYGUIDE_RATE_LIMIT requests a second (0 = off, the default)
    after a burst of $TOYGUIDE_RATE_BURST (default 20), kept by each worker process on its
    own: with --workers N a client may get up to N times that rate."""
    from toyguide.service import Settings, serve

    settings = Settings.from_env(
        model,
        store,
        admin_token=admin_token,
        merchant_token=merchant_token,
        host=host,
        port=port,
        rates=rates,
        workers=workers,
        shopper_cache=shopper_cache,
        inference_slots=inference_slots,
    )
    serve(
        settings,
        announce=lambda url: console.print(
            f"toyguide serving on {url} (API docs {url}/docs)"
            + (f", {workers} workers" if workers > 1 else "")
        ),
        say=lambda text: console.print(text, markup=False),
    )
