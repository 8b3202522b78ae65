"""Items: one toy's view, text search over the catalogue, and evaluation of a new toy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from toyguide.service.auth import require_merchant
from toyguide.service.deps import GuideDep
from toyguide.service.schemas import (
    MAX_ID,
    MAX_TEXT,
    PLAIN_TEXT,
    ItemViewModel,
    SearchResult,
    ToyDescription,
    ToyEvaluationModel,
    errors,
)

router = APIRouter(tags=["items"])


# Declared before /v1/items/{item_id}, which would otherwise take "search" for an id.
@router.get("/v1/items/search", response_model=SearchResult, responses=errors(422, 503))
def search(
    guide: GuideDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_TEXT), PLAIN_TEXT],
    k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """Toys in stock whose text is closest to ``q``."""
    return {"picks": [p.to_dict() for p in guide.search(q, k)]}


@router.get("/v1/items/{item_id}", response_model=ItemViewModel, responses=errors(404, 422, 503))
def item(
    guide: GuideDep, item_id: Annotated[str, Path(min_length=1, max_length=MAX_ID), PLAIN_TEXT]
) -> dict[str, Any]:
    return guide.item(item_id).to_dict()


@router.post(
    "/v1/items/evaluate",
    response_model=ToyEvaluationModel,
    responses=errors(400, 401, 413, 422, 503),
    dependencies=[Depends(require_merchant)],
    tags=["merchants"],
)
def evaluate(body: ToyDescription, guide: GuideDep) -> dict[str, Any]:
    """A toy not yet in the catalogue: likely ages, gender target, functions, first weeks'
    demand and the most similar toys, from its text, brand and price alone; ``pricing`` adds
    a suggested price range (the similar toys' similarity-weighted P25-P75) and the sales
    model's first-weeks units at candidate prices, with its method and uncertainty."""
    return guide.evaluate_toy(body.title, body.description, body.brand, body.price).to_dict()
