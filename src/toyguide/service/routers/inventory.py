"""``POST /v1/inventory/plan``: reorder point and order quantity from the item's forecast."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from toyguide.service.auth import require_merchant
from toyguide.service.deps import GuideDep
from toyguide.service.schemas import InventoryPlanModel, InventoryRequest, errors

router = APIRouter(tags=["merchants"], dependencies=[Depends(require_merchant)])


@router.post(
    "/v1/inventory/plan",
    response_model=InventoryPlanModel,
    responses=errors(400, 401, 404, 413, 422, 503),
)
def plan(body: InventoryRequest, guide: GuideDep) -> dict[str, Any]:
    """400 when the forecast horizon is shorter than lead time + review weeks, or when no
    stock on hand is known and none is given."""
    return guide.plan_inventory(
        body.item_id, body.lead_time_weeks, body.service_level, stock_on_hand=body.stock_on_hand,
        on_order=body.on_order, review_weeks=body.review_weeks,
    ).to_dict()  # fmt: skip
