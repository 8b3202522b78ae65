"""The merchant's morning: ``GET /v1/merchant/overview``, the reorder list as CSV and a title
search over every toy (out of stock too), all from the guide's catalogue-wide forecast."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from toyguide.guide.overview import OverviewRow
from toyguide.service.auth import require_merchant
from toyguide.service.deps import GuideDep, StoreLockDep
from toyguide.service.schemas import (
    MAX_TEXT,
    PLAIN_TEXT,
    MerchantOverviewModel,
    ToyMatchesModel,
    errors,
)

router = APIRouter(tags=["merchants"], dependencies=[Depends(require_merchant)])

LeadTime = Annotated[
    int, Query(ge=0, le=52, description="weeks from ordering to the goods on the shelf")
]
ServiceLevel = Annotated[
    float, Query(gt=0.5, le=0.9999, description="chance of no stock-out in a cycle")
]
ReviewWeeks = Annotated[int, Query(ge=1, le=12, description="weeks between two orders")]
REORDER_COLUMNS = (
    "item_id", "title", "stock_on_hand", "on_order", "lead_time_demand", "reorder_point",
    "suggested_order_qty", "weeks_of_cover",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell


@router.get(
    "/v1/merchant/overview",
    response_model=MerchantOverviewModel,
    responses=errors(400, 401, 422, 503),
)
def overview(
    guide: GuideDep,
    lock: StoreLockDep,
    lead_time_weeks: LeadTime = 2,
    service_level: ServiceLevel = 0.95,
    review_weeks: ReviewWeeks = 1,
    limit: Annotated[int, Query(ge=1, le=200, description="rows per list")] = 20,
) -> dict[str, Any]:
    """Toys at risk of running out within the lead time, the top sellers of the next weeks,
    slow movers with their weeks of cover, and the shopper segments. 400 when the model has
    no sales task or forecasts fewer weeks than lead time + review period."""
    guide.catalogue_forecast()  # the slow first computation, outside the store lock
    with lock:  # the segments read the store
        answer = guide.overview(lead_time_weeks, service_level, limit, review_weeks)
    return dataclasses.asdict(answer)


@router.get(
    "/v1/merchant/reorder.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "the reorder list, one toy a line"},
        **errors(400, 401, 422, 503),
    },
)
def reorder_csv(
    guide: GuideDep,
    lead_time_weeks: LeadTime = 2,
    service_level: ServiceLevel = 0.95,
    review_weeks: ReviewWeeks = 1,
) -> Response:
    """Every toy whose stock on hand + on order is below its reorder point, most urgent
    first, with the quantity to order now (whole units, rounded up) — the overview's at-risk
    list in full, as a CSV download."""
    rows = guide.reorder_list(lead_time_weeks, service_level, review_weeks)
    as_of = guide.catalogue_forecast().as_of.isoformat()
    name = f"reorder-{as_of}-lead{lead_time_weeks}w-sl{service_level:g}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(reorder_text(rows), media_type="text/csv; charset=utf-8", headers=headers)


def reorder_text(rows: list[OverviewRow]) -> str:
    """The reorder list as CSV text (a header, then one line per toy)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REORDER_COLUMNS)
    for r in rows:
        writer.writerow([
            _text_cell(r.item_id), _text_cell(r.title or ""), r.stock_on_hand, r.on_order,
            r.lead_time_demand, r.reorder_point,
            math.ceil(r.order_quantity) if r.order_quantity is not None else "",
            "" if r.weeks_of_cover is None else r.weeks_of_cover,
        ])  # fmt: skip
    return out.getvalue()


def _text_cell(text: str) -> str:
    """Shop text as a spreadsheet shows it, never as a formula (OWASP CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


@router.get("/v1/merchant/toys", response_model=ToyMatchesModel, responses=errors(401, 422, 503))
def find_toys(
    guide: GuideDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_TEXT), PLAIN_TEXT],
    k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """Toys whose title or id holds every word of ``q`` (any case), out of stock too: the
    exact id first, then titles starting with ``q``, then the best expected sellers."""
    return {"toys": [dataclasses.asdict(t) for t in guide.find_toys(q, k)]}
