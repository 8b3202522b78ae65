"""``toyguide serve --workers N``: N uvicorn worker processes listening on one port.

Each worker is a process of its own (``supervisor.py``: one ``SO_REUSEPORT`` socket each, so
the kernel spreads connections evenly) running ``worker_app``, an app factory; it reads its
settings from ``$TOYGUIDE_SERVE_SETTINGS`` (the parent's ``Settings`` as JSON: no pickle, and
the tokens in it never reach a command line or the process list).

What changes past one process, and why (see ``app._build``):
- the store: DuckDB lets many processes read a file or one write it, so every worker opens it
  read-only and ``POST /v1/events`` validates then spools (``data/spool.py``); the parent,
  the single writer once the workers are gone, ingests the spool when they stop (and, at the
  next start, whatever a crash left);
- dialogues: in an SQLite file in the runtime folder (``dialogue_db.py``), since the next
  turn may reach another worker;
- admin reloads: published through a marker file that every worker follows
  (``reload_sync.py``);
- the rate limit stays per worker: each process keeps its own buckets, so a client may get up
  to N times the configured rate (``ratelimit.py``).
"""

from __future__ import annotations

import os
import socket
import sys
import traceback
from collections.abc import Callable

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from toyguide.errors import ConfigError
from toyguide.service.auth import is_bearer
from toyguide.service.holder import load_guide
from toyguide.service.reload_sync import clear_marker
from toyguide.service.settings import Settings
from toyguide.service.supervisor import STARTUP_FAILED, Supervisor, reuse_port_sockets

__all__ = ["PID_HEADER", "SETTINGS_ENV", "WorkerPid", "run_worker", "serve_workers", "worker_app"]

SETTINGS_ENV = "TOYGUIDE_SERVE_SETTINGS"
APP_FACTORY = "toyguide.service.workers:worker_app"
PID_HEADER = "x-toyguide-worker"
# glibc gives threads that allocate heap arenas of their own, up to 8 per core, and a worker's
# threadpool spreads each request's arrays over them. Two arenas are the usual setting for a
# threaded server of one core's load; a soak with this alone did not change the memory growth
# (bench/README: that was the retired model's pages, handed back at close since). A value in
# the environment wins.
MALLOC_DEFAULTS = {"MALLOC_ARENA_MAX": "2"}


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn calls it once in each)."""
    from toyguide.service.app import create_app

    text = os.environ.get(SETTINGS_ENV, "")
    if not text.strip():
        raise ConfigError(f"${SETTINGS_ENV} is not set: start workers with `toyguide serve`")
    settings = Settings.from_json(text)
    settings.limit_compute_threads()
    return create_app(settings)  # loads the guide read-only before taking requests


def serve_workers(
    settings: Settings,
    announce: Callable[[str], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> None:
    """Check the model loads (a bad folder or store fails here, once, before the port is
    taken), run ``settings.workers`` workers until interrupted, then ingest their spool."""
    from toyguide.service.app import ingest_pending_events

    load_guide(
        settings.model_dir,
        settings.store,
        settings.rates,
        read_only=True,
        shopper_cache=settings.shopper_cache,
    ).close()
    clear_marker(settings.runtime_dir)  # an earlier run's reload must not pick the folder
    sockets = reuse_port_sockets(settings.host, settings.port, settings.workers)
    try:
        if announce is not None:
            announce(f"http://{settings.host}:{sockets[0].getsockname()[1]}")
        env = {**MALLOC_DEFAULTS, **os.environ, SETTINGS_ENV: settings.to_json()}
        started = Supervisor(sockets, env).run()
    finally:
        for sock in sockets:
            sock.close()
        ingest_pending_events(settings.store, say)  # every worker has exited: one writer
    if not started:
        raise ConfigError("a worker failed to start; its error is above")


def run_worker(fd: int) -> None:
    """One worker process: ``worker_app`` under uvicorn on the inherited listening socket;
    exits with ``STARTUP_FAILED`` when the app never started (the supervisor then stops)."""
    import uvicorn

    sock = socket.socket(fileno=fd)  # the family and type are read from the socket itself
    server = uvicorn.Server(uvicorn.Config(APP_FACTORY, factory=True, log_level="info"))
    try:
        server.run(sockets=[sock])
    except (Exception, SystemExit):  # uvicorn exits on an app it cannot load
        if server.started:
            raise
        traceback.print_exc()
    if not server.started:
        sys.exit(STARTUP_FAILED)


class WorkerPid:
    """ASGI middleware (several workers only): an answer to a request that carries the admin
    token names the worker process that gave it (``X-Toyguide-Worker: <pid>``), so that an
    admin, or a test, can tell which worker answered any route; nobody else learns pids."""

    def __init__(self, app: ASGIApp, admin_token: str | None) -> None:
        self.app, self.pid, self.admin_token = app, str(os.getpid()).encode(), admin_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._admin(scope):
            await self.app(scope, receive, send)
            return

        async def send_with_pid(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (PID_HEADER.encode(), self.pid)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_pid)

    def _admin(self, scope: Scope) -> bool:
        header = dict(scope["headers"]).get(b"authorization", b"")
        # decoded as Starlette decodes it for has_admin_token, so both read a header alike
        return is_bearer(header.decode("latin-1").strip(), self.admin_token)
