"""``GET /v1/forecast/{item_id}``: weekly P10/P50/P90 demand after the store's last week."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from toyguide.service.auth import require_merchant
from toyguide.service.deps import GuideDep
from toyguide.service.schemas import MAX_ID, PLAIN_TEXT, ForecastModel, errors

router = APIRouter(tags=["merchants"], dependencies=[Depends(require_merchant)])


@router.get(
    "/v1/forecast/{item_id}",
    response_model=ForecastModel,
    responses=errors(400, 401, 404, 422, 503),
)
def forecast(
    guide: GuideDep, item_id: Annotated[str, Path(min_length=1, max_length=MAX_ID), PLAIN_TEXT]
) -> dict[str, Any]:
    return guide.forecast(item_id).to_dict()
