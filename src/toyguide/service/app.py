"""The HTTP service: ``create_app(settings, guide=None)`` builds it, ``serve`` runs it.

The app loads the guide once, in the background at startup (``/health`` answers at once,
``/ready`` and the guide routes say 503 until the model is in), unless a guide is passed in,
which is served at once and stays the caller's to close. See ``holder.py`` for reload and
for what runs in parallel. With ``Settings.workers`` > 1 the app is one of several worker
processes (``workers.py``): it opens the store read-only, spools events, keeps dialogues in the
shared runtime folder, follows the other workers' reloads, and loads its guide before taking
requests.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI

from toyguide import __version__
from toyguide.data.spool import SpoolReport, SpoolWriter, ingest_spool, spool_dir
from toyguide.data.store import Store
from toyguide.service.deps import Services
from toyguide.service.dialogue_db import SharedDialogueStore
from toyguide.service.dialogues import DialogueStore
from toyguide.service.errors import install_error_handlers
from toyguide.service.holder import GuideHolder, load_guide
from toyguide.service.limits import BodyLimit
from toyguide.service.ratelimit import RateLimit, TokenBuckets
from toyguide.service.reload_sync import ReloadSync
from toyguide.service.routers import RATE_LIMITED, ROUTERS
from toyguide.service.settings import Settings
from toyguide.service.workers import WorkerPid

__all__ = ["DIALOGUES_FILE", "create_app", "ingest_pending_events", "serve"]

DIALOGUES_FILE = "dialogues.sqlite3"  # in Settings.runtime_dir, when workers share dialogues

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
    shared = settings.workers > 1  # worker processes share the store, dialogues and reloads
    store_lock = threading.Lock()
    loader = partial(load_guide, store_path=settings.store, rates=settings.rates,
                     read_only=shared, shopper_cache=settings.shopper_cache)  # fmt: skip
    holder = GuideHolder(loader, settings.model_dir, store_lock)
    if guide is not None:
        holder.install(guide, settings.model_dir, owned=owned)
    sync = ReloadSync(holder, settings.runtime_dir, settings.reload_check_s) if shared else None
    if sync is not None and sync.published_dir is not None and guide is None:
        holder.model_dir = sync.published_dir  # a worker started after a reload: its folder
    dialogues = _dialogues(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if guide is None and shared:  # a worker takes requests once its model is in
            await anyio.to_thread.run_sync(lambda: holder.start_loading().join())
        elif guide is None:
            holder.start_loading()
        if sync is not None:
            sync.start()
        yield
        if sync is not None:
            sync.stop()
        holder.shutdown()
        if isinstance(dialogues, SharedDialogueStore):
            dialogues.close()

    app = FastAPI(title="toyguide", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    slots = anyio.Semaphore(settings.inference_slots, max_value=settings.inference_slots)
    spool = SpoolWriter(spool_dir(settings.store)) if shared else None
    app.state.services = Services(settings, holder, dialogues, store_lock, slots, spool, sync)
    install_error_handlers(app)
    app.add_middleware(BodyLimit)
    if shared:
        app.add_middleware(WorkerPid, admin_token=settings.admin_token)
    if settings.rate_limit > 0:  # added last, so outermost: a refused request costs nothing
        buckets = TokenBuckets(settings.rate_limit, settings.rate_burst, settings.rate_clients)
        app.add_middleware(RateLimit, buckets=buckets, paths=RATE_LIMITED)
    for router in ROUTERS:
        app.include_router(router)
    _include_pages(app)
    return app


def _dialogues(settings: Settings) -> DialogueStore | SharedDialogueStore:
    """In memory for one process; in the runtime folder when workers must share them."""
    if settings.workers == 1:
        return DialogueStore(settings.max_dialogues, settings.dialogue_ttl_s)
    path = settings.runtime_dir / DIALOGUES_FILE
    return SharedDialogueStore(path, settings.max_dialogues, settings.dialogue_ttl_s)


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


def serve(
    settings: Settings,
    announce: Callable[[str], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> None:
    """Ingest events a stopped multi-worker service left in the spool, load the guide (so a
    bad model or store fails here, before the port is taken), then run the app under uvicorn
    until interrupted; ``announce`` gets the address first, ``say`` what the spool ingests did
    (default: the log). Several workers: ``workers.serve_workers``."""
    import uvicorn

    ingest_pending_events(settings.store, say)
    if settings.workers > 1:
        from toyguide.service.workers import serve_workers

        serve_workers(settings, announce, say)
        return
    settings.limit_compute_threads()
    guide = load_guide(
        settings.model_dir, settings.store, settings.rates, shopper_cache=settings.shopper_cache
    )
    try:
        app = _build(settings, guide, owned=True)
        if announce is not None:
            announce(f"http://{settings.host}:{settings.port}")
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    finally:
        guide.close()  # after a reload the holder has closed it already; closing twice is fine


def ingest_pending_events(
    store_path: Path, say: Callable[[str], None] | None = None
) -> SpoolReport | None:
    """Ingest the store's event spool (``data/spool.py``) when there is one, as its single
    writer; a spool file with a bad line is reported (``say``, else the log) and left
    claimed, and the rest goes on."""
    folder = spool_dir(store_path)
    if not folder.is_dir() or not any(folder.iterdir()):
        return None
    with Store.open(store_path) as store:
        report = ingest_spool(store, folder)
    tell = say or log.info
    tell(f"ingested {report.rows} spooled events ({report.inserted} new) from {report.files} "
         f"file(s) in {folder}")  # fmt: skip
    for note in report.notes:
        tell(note)
    if report.failed:
        log.error("%s", report.failure_message(folder))
    return report
