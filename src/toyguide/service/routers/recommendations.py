"""``POST /v1/recommendations``: toys for a shopper, a parsed request and/or free text."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from toyguide.guide.request import GuideRequest
from toyguide.service.deps import GuideDep
from toyguide.service.schemas import RecommendationsModel, RecommendationsRequest, errors

router = APIRouter(tags=["shoppers"])


@router.post(
    "/v1/recommendations",
    response_model=RecommendationsModel,
    responses=errors(400, 404, 413, 422, 503),
)
def recommend(body: RecommendationsRequest, guide: GuideDep) -> dict[str, Any]:
    """A known shopper gets the preference head's picks; otherwise the text and popularity.
    ``request`` (exact GuideRequest JSON) filters and re-scores either; ``text`` is not
    parsed here (``/v1/guide`` parses)."""
    request = None if body.request is None else GuideRequest.from_dict(body.request)
    return guide.recommend(body.shopper_id, request, body.k, text=body.text).to_dict()
