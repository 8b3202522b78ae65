"""What routes receive through FastAPI dependencies: the leased guide and the shared services.

``GuideDep`` leases the current guide for the duration of the route function (not of the
response's sending): a reload swaps in a new guide at any moment, and this request goes on
with the one it started with. Routes are plain ``def`` functions, so FastAPI runs them in its
threadpool and the synchronous torch calls never block the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request

from toyguide.data.spool import SpoolWriter
from toyguide.guide.engine import Guide
from toyguide.service.dialogue_db import SharedDialogueStore
from toyguide.service.dialogues import DialogueStore
from toyguide.service.holder import GuideHolder
from toyguide.service.reload_sync import ReloadSync
from toyguide.service.settings import Settings

__all__ = ["DialoguesDep", "GuideDep", "Services", "ServicesDep", "StoreLockDep", "services"]


@dataclass(frozen=True)
class Services:
    """Everything one app owns besides its routes (``app.state.services``)."""

    settings: Settings
    holder: GuideHolder
    dialogues: DialogueStore | SharedDialogueStore
    store_lock: threading.Lock  # every use of a guide's DuckDB connection holds it
    # Requests using the guide at once: more than the cores only makes threads fight for the
    # GIL and the CPU, so the rest wait (in the event loop) for a slot.
    inference: anyio.Semaphore
    # Several workers (``Settings.workers`` > 1): the store is read-only, events go to this
    # process's spool file, and reloads reach the other workers through ``reload_sync``.
    spool: SpoolWriter | None = None
    reload_sync: ReloadSync | None = None


def services(request: Request) -> Services:
    return request.app.state.services


async def current_guide(request: Request) -> AsyncIterator[Guide]:
    """The leased guide: the request waits for an inference slot in the event loop, not in a
    thread, and leasing takes microseconds, so the route (a plain ``def``) is the request's
    one trip to the threadpool — each trip costs a wake-up of the loop, which under load took
    a third of a worker's busy time when the slot and the lease had trips of their own."""
    s = services(request)
    async with s.inference:
        entry = s.holder.acquire()
        try:
            yield entry.guide
        finally:
            if s.holder.release(entry):  # the last lease of a reloaded-away guide
                await anyio.to_thread.run_sync(s.holder.close_retired, entry)


def store_lock(request: Request) -> threading.Lock:
    return services(request).store_lock


def dialogues(request: Request) -> DialogueStore | SharedDialogueStore:
    return services(request).dialogues


GuideDep = Annotated[Guide, Depends(current_guide, scope="function")]
ServicesDep = Annotated[Services, Depends(services)]
StoreLockDep = Annotated[threading.Lock, Depends(store_lock)]
DialoguesDep = Annotated[DialogueStore | SharedDialogueStore, Depends(dialogues)]
