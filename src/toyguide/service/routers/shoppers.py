"""``GET /v1/shoppers/{shopper_id}/profile``: the profile head's view of a shopper's child."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from toyguide.service.auth import require_merchant
from toyguide.service.deps import GuideDep, StoreLockDep
from toyguide.service.schemas import (
    MAX_ID,
    PLAIN_TEXT,
    SegmentsModel,
    ShopperProfileModel,
    errors,
)

router = APIRouter(tags=["merchants"], dependencies=[Depends(require_merchant)])


@router.get(
    "/v1/shoppers/{shopper_id}/profile",
    response_model=ShopperProfileModel,
    responses=errors(400, 401, 404, 422, 503),
)
def profile(
    guide: GuideDep,
    lock: StoreLockDep,
    shopper_id: Annotated[str, Path(min_length=1, max_length=MAX_ID), PLAIN_TEXT],
) -> dict[str, Any]:
    with lock:  # the profile reads the shop's own labels from the store
        return guide.profile(shopper_id).to_dict()


@router.get("/v1/segments", response_model=SegmentsModel, responses=errors(400, 401, 422, 503))
def segments(guide: GuideDep, top: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    """The shop's shoppers grouped by predicted child age band, gender and top interest."""
    return {"segments": [s.to_dict() for s in guide.segments(top)]}
