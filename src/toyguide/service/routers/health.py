"""``/health`` (the process answers) and ``/ready`` (a model is loaded and served).

``/ready`` is open, so it shows no file-system path unless the request carries the admin
token: the model and store paths become ``<model folder>`` and ``<store>``, any other path
``<path>``; the rest of the model info is the same for everyone. With the admin token it also
names the worker process that answered (its pid), to tell the workers of ``--workers`` apart.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from toyguide.service.auth import has_admin_token
from toyguide.service.deps import Services, ServicesDep
from toyguide.service.redact import redact_paths, service_paths
from toyguide.service.schemas import Health, NotReady, Ready

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health() -> dict[str, Any]:
    return {"status": "ok"}


@router.get(
    "/ready", response_model=Ready, responses={503: {"model": NotReady, "description": "loading"}}
)
def ready(request: Request, services: ServicesDep) -> Any:
    """Whether a model is served, and its info; paths only with the admin token."""
    holder = services.holder
    info = holder.info()
    if info is None:
        message = holder.failure if holder.state == "failed" else f"model {holder.state}"
        body: dict[str, Any] = {"status": holder.state, "message": message}
        return JSONResponse(_shown(body, request, services), status_code=503)
    return _shown({"status": "ready", "model": info}, request, services)


def _shown(body: dict[str, Any], request: Request, services: Services) -> dict[str, Any]:
    if has_admin_token(request):  # which process answered: for telling workers apart
        return {**body, "worker": {"pid": os.getpid(), "workers": services.settings.workers}}
    return redact_paths(body, service_paths(services, body.get("model")))
