"""The HTTP service: ``create_app(settings, guide=None)`` builds it, ``serve`` runs it.

The app loads the guide once, in the background at startup (``/health`` answers at once,
``/ready`` and the guide routes say 503 until the model is in), unless a guide is passed in,
which is served at once and stays the caller's to close. See ``holder.py`` for reload and
for what runs in parallel.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI

from toyguide import __version__
from toyguide.service.deps import Services
from toyguide.service.dialogues import DialogueStore
from toyguide.service.errors import install_error_handlers
from toyguide.service.holder import GuideHolder, load_guide
from toyguide.service.limits import BodyLimit
from toyguide.service.ratelimit import RateLimit, TokenBuckets
from toyguide.service.routers import RATE_LIMITED, ROUTERS
from toyguide.service.settings import Settings

__all__ = ["create_app", "serve"]

log = logging.getLogger("toyguide.service")

DESCRIPTION = """An AI shopping guide for toy shops. Shopper routes are open and bound every
input; merchant routes take `Authorization: Bearer <merchant or admin token>`, admin routes
the admin token. Errors: `{"error": {"type", "message", "problems"}}`. With a per-client rate
limit configured (`TOYGUIDE_RATE_LIMIT`), the resource routes answer 429 with `Retry-After`
past it."""


def create_app(settings: Settings, guide: Any = None) -> FastAPI:
    """The service over ``settings``; ``guide`` (a loaded ``Guide``) skips loading at startup."""
    return _build(settings, guide, owned=False)


def _build(settings: Settings, guide: Any, *, owned: bool) -> FastAPI:
    store_lock = threading.Lock()
    loader = partial(load_guide, store_path=settings.store, rates=settings.rates)
    holder = GuideHolder(loader, settings.model_dir, store_lock)
    if guide is not None:
        holder.install(guide, settings.model_dir, owned=owned)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if guide is None:
            holder.start_loading()
        yield
        holder.shutdown()

    app = FastAPI(title="toyguide", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.services = Services(
        settings, holder, DialogueStore(settings.max_dialogues, settings.dialogue_ttl_s),
        store_lock, threading.BoundedSemaphore(settings.inference_slots),
    )  # fmt: skip
    install_error_handlers(app)
    app.add_middleware(BodyLimit)
    if settings.rate_limit > 0:  # added last, so outermost: a refused request costs nothing
        buckets = TokenBuckets(settings.rate_limit, settings.rate_burst, settings.rate_clients)
        app.add_middleware(RateLimit, buckets=buckets, paths=RATE_LIMITED)
    for router in ROUTERS:
        app.include_router(router)
    _include_pages(app)
    return app


def _include_pages(app: FastAPI) -> None:
    """The web pages (``service/pages.py``) when that module exists; an error inside it is
    not hidden."""
    try:
        from toyguide.service import pages
    except ModuleNotFoundError as exc:
        if exc.name != "toyguide.service.pages":
            raise
        log.info("no web pages: toyguide.service.pages is not installed")
        return
    app.include_router(pages.router)


def serve(settings: Settings, announce: Callable[[str], None] | None = None) -> None:
    """Load the guide (so a bad model or store fails here, before the port is taken), then
    run the app under uvicorn until interrupted; ``announce`` gets the address first."""
    import torch
    import uvicorn

    torch.set_num_threads(settings.torch_threads)
    guide = load_guide(settings.model_dir, settings.store, settings.rates)
    try:
        app = _build(settings, guide, owned=True)
        if announce is not None:
            announce(f"http://{settings.host}:{settings.port}")
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    finally:
        guide.close()  # after a reload the holder has closed it already; closing twice is fine
