"""``POST /v1/admin/reload``: load a model folder and swap it in without failing requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends

from toyguide.service.auth import require_admin
from toyguide.service.deps import ServicesDep
from toyguide.service.schemas import Reloaded, ReloadRequest, errors

router = APIRouter(tags=["admin"], dependencies=[Depends(require_admin)])


@router.post("/v1/admin/reload", response_model=Reloaded, responses=errors(400, 401, 413, 422))
def reload(services: ServicesDep, body: ReloadRequest | None = None) -> dict[str, Any]:
    """Load ``model_dir`` (default: the folder served now, e.g. retrained in place) against
    the same store, warm it, then swap it in; requests in flight finish on the old guide,
    which closes after them. A folder that fails to load leaves the old guide serving (400).
    Under several workers this worker answers once it has swapped; the others follow within
    about a second plus their own load (``reload_sync.py``), and never to a refused folder."""
    folder = None if body is None or body.model_dir is None else Path(body.model_dir)
    if services.reload_sync is not None:
        return {"status": "reloaded", "model": services.reload_sync.reload(folder)}
    return {"status": "reloaded", "model": services.holder.reload(folder)}
