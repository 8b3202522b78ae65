"""``/health`` (the process answers) and ``/ready`` (a model is loaded and served)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from toyguide.service.deps import ServicesDep
from toyguide.service.schemas import Health, NotReady, Ready

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health() -> dict[str, Any]:
    return {"status": "ok"}


@router.get(
    "/ready", response_model=Ready, responses={503: {"model": NotReady, "description": "loading"}}
)
def ready(services: ServicesDep) -> Any:
    holder = services.holder
    info = holder.info()
    if info is None:
        message = holder.failure if holder.state == "failed" else f"model {holder.state}"
        return JSONResponse({"status": holder.state, "message": message}, status_code=503)
    return {"status": "ready", "model": info}
