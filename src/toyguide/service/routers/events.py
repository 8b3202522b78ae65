"""``POST /v1/events``: new shopper events, validated by the store and stored (or, under
several workers, spooled) all or none."""

from __future__ import annotations

from typing import Any

import polars as pl
from fastapi import APIRouter

from toyguide.service.deps import GuideDep, ServicesDep, StoreLockDep
from toyguide.service.schemas import EventBatch, Stored, errors

router = APIRouter(tags=["shoppers"])

# Strings stay strings: the store parses timestamps and checks kinds, so its problems name
# the row and field exactly as for a file (row = 1-based position in ``events``).
_FRAME = {"shopper_id": pl.String, "item_id": pl.String, "ts": pl.String, "kind": pl.String,
          "value": pl.Float64, "price_paid": pl.Float64}  # fmt: skip
SOURCE = "api"


@router.post("/v1/events", response_model=Stored, responses=errors(400, 413, 422, 503))
def record(
    body: EventBatch, guide: GuideDep, lock: StoreLockDep, services: ServicesDep
) -> dict[str, Any]:
    """Rows with an unknown shopper or item, a bad timestamp or kind are refused (400, with
    each problem's row and field) and nothing is stored. The model learns from stored events
    at its next training; a reload reads them into shoppers' histories. Under several
    workers the batch is validated the same way, then appended to this worker's spool file
    (fsynced before the answer) and reaches the store when the service stops (or by
    ``toyguide data ingest-spool``)."""
    frame = pl.DataFrame([e.model_dump() for e in body.events], schema=_FRAME)
    if services.spool is None:
        with lock:
            report = guide.record_events(frame, source=SOURCE)
        return {"stored": report.rows}
    with lock:
        typed = guide.check_events(frame, source=SOURCE)
    services.spool.append(typed)  # outside the store lock: an fsync takes milliseconds
    return {"stored": typed.height}
