"""Request models with their bounds, and response models mirroring ``guide/views.py``.

Requests: unknown fields are refused, numbers must be finite, every string and list is
bounded, and text may hold neither NUL nor unpaired surrogates (not UTF-8: the store and the
tokenizer would choke on them). What only the guide can judge (a GuideRequest's slots, an
event's kind or timestamp, unknown ids) passes through and comes back as 400 or 404.
Responses: one model per view dataclass, field for field (a test keeps them in step), so the
OpenAPI schema documents what each route returns.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import WithJsonSchema

from toyguide.data.taxonomy import CHILD_GENDERS, CURRENCIES, EVENT_KINDS, FUNCTIONS
from toyguide.guide.lexicon import OCCASIONS
from toyguide.guide.request import FIELDS, MAX_KEYWORD_CHARS, MAX_KEYWORDS

__all__ = [
    "GUIDE_REQUEST_SCHEMA",
    "MAX_EVENTS",
    "MAX_ID",
    "MAX_TEXT",
    "PLAIN_TEXT",
    "ErrorBody",
    "Event",
    "EventBatch",
    "ForecastModel",
    "GuideTurn",
    "InventoryPlanModel",
    "InventoryRequest",
    "ItemViewModel",
    "LabelProbabilityModel",
    "PickModel",
    "RecommendationsModel",
    "RecommendationsRequest",
    "ReloadRequest",
    "SearchResult",
    "SegmentModel",
    "SegmentsModel",
    "ShopperProfileModel",
    "Stored",
    "ToyDescription",
    "ToyEvaluationModel",
    "errors",
]

MAX_ID = 200
MAX_TEXT = 500  # a shopper's turn or search
MAX_EVENTS = 1000
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def _text(value: str) -> str:
    if _NOT_TEXT.search(value):
        raise ValueError("must be text without NUL characters or unpaired surrogates")
    return value


PLAIN_TEXT = AfterValidator(_text)


def _chars(low: int, high: int) -> StringConstraints:
    return StringConstraints(min_length=low, max_length=high)


Id = Annotated[str, _chars(1, MAX_ID), PLAIN_TEXT]
ShortText = Annotated[str, _chars(0, MAX_TEXT), PLAIN_TEXT]
Turn = Annotated[str, _chars(1, MAX_TEXT), PLAIN_TEXT]
Token = Annotated[str, _chars(1, 64), PLAIN_TEXT]  # dialogue ids, timestamps, event kinds
Description = Annotated[str, _chars(0, 5000), PLAIN_TEXT]
Folder = Annotated[str, _chars(1, 4096), PLAIN_TEXT]
K = Annotated[int, Field(ge=1, le=50, description="how many results")]

_BOUNDS = {"type": ["integer", "null"], "minimum": 0}
GUIDE_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A parsed guide request (GuideRequest JSON); every field is required.",
    "additionalProperties": False,
    "required": list(FIELDS),
    "properties": {
        "age_months": {
            "type": ["object", "null"], "additionalProperties": False, "required": ["min", "max"],
            "properties": {"min": _BOUNDS, "max": _BOUNDS},
        },
        "gender": {"enum": [*CHILD_GENDERS, None]},
        "budget": {
            "type": ["object", "null"], "additionalProperties": False,
            "required": ["min", "max", "currency"],
            "properties": {"min": {"type": ["number", "null"], "minimum": 0},
                           "max": {"type": ["number", "null"], "minimum": 0},
                           "currency": {"enum": [*CURRENCIES, None]}},
        },
        "interests": {"type": "array", "items": {"enum": list(FUNCTIONS)}, "uniqueItems": True},
        "exclude": {"type": "array", "items": {"enum": list(FUNCTIONS)}, "uniqueItems": True},
        "occasion": {"enum": [*OCCASIONS, None]},
        "keywords": {"type": "array", "maxItems": MAX_KEYWORDS,
                     "items": {"type": "string", "minLength": 1, "maxLength": MAX_KEYWORD_CHARS}},
    },
}  # fmt: skip


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class RecommendationsRequest(_Request):
    shopper_id: Id | None = None
    request: Annotated[dict[str, Any], WithJsonSchema(GUIDE_REQUEST_SCHEMA)] | None = Field(
        None, description="slots that filter and re-score (checked by GuideRequest.from_dict)"
    )
    text: ShortText | None = None
    k: K = 10


class GuideTurn(_Request):
    text: Turn
    dialogue_id: Token | None = Field(
        None, description="from the previous answer; none starts a new dialogue"
    )
    request: Annotated[dict[str, Any], WithJsonSchema(GUIDE_REQUEST_SCHEMA)] | None = Field(
        None,
        description="the needs as the shopper edited them (GuideRequest JSON); they replace the "
        "dialogue's slots before this turn is parsed",
    )
    shopper_id: Id | None = None
    k: K = 10


class ToyDescription(_Request):
    title: Id
    description: Description = ""
    brand: Id | None = None
    price: Annotated[float, Field(ge=0, le=1e7)] | None = None


class InventoryRequest(_Request):
    item_id: Id
    lead_time_weeks: Annotated[int, Field(ge=0, le=52)]
    service_level: Annotated[float, Field(gt=0.5, le=0.9999)]
    stock_on_hand: Annotated[float, Field(ge=0, le=1e9)] | None = Field(
        None, description="default: the latest stock the store knows"
    )
    on_order: Annotated[float, Field(ge=0, le=1e9)] = 0.0
    review_weeks: Annotated[int, Field(ge=1, le=12)] = 1


class Event(_Request):
    """One event; its kind, timestamp and ids are checked by the store (400 naming the row)."""

    shopper_id: Id
    item_id: Id
    ts: Token = Field(description="ISO 8601, e.g. 2026-05-04T10:30:00Z")
    kind: Token = Field(description=f"one of {', '.join(EVENT_KINDS)}")
    value: float | None = Field(None, description="rating 1-5 or purchased quantity")
    price_paid: float | None = None


class EventBatch(_Request):
    events: list[Event] = Field(min_length=1, max_length=MAX_EVENTS)


class ReloadRequest(_Request):
    model_dir: Folder | None = Field(
        None, description="a run or model folder on the server; none reloads the one served"
    )


# -- responses ------------------------------------------------------------------------------
class ItemViewModel(BaseModel):
    item_id: str
    title: str | None
    brand: str | None
    price: float | None
    currency: str | None
    age_min_months: int | None
    age_max_months: int | None
    gender_target: str | None
    functions: list[str]
    categories: list[str]
    stock_on_hand: float | None


class PickModel(BaseModel):
    item: ItemViewModel
    score: float
    reasons: list[str]


class RecommendationsModel(BaseModel):
    picks: list[PickModel]
    shopper_id: str | None
    request: Annotated[dict[str, Any], WithJsonSchema(GUIDE_REQUEST_SCHEMA)] | None
    dialogue_id: str | None
    notes: list[str]


class LabelProbabilityModel(BaseModel):
    label: str
    probability: float


class ForecastModel(BaseModel):
    item_id: str
    weeks: list[str]
    p10: list[float]
    p50: list[float]
    p90: list[float]
    history_weeks: list[str]
    history_units: list[float]
    mean: list[float] = []  # expected units per week: the point forecast (quantiles: the risk)


class InventoryPlanModel(BaseModel):
    item_id: str
    lead_time_weeks: int
    review_weeks: int
    service_level: float
    stock_on_hand: float
    demand_over_protection: float
    safety_stock: float
    reorder_point: float
    order_quantity: float
    weeks_of_cover: float | None


class ToyEvaluationModel(BaseModel):
    age_band: list[LabelProbabilityModel]
    gender_target: list[LabelProbabilityModel]
    functions: list[LabelProbabilityModel]
    first_weeks_demand: dict[str, list[float]]
    similar: list[PickModel]
    price_percentile: float | None


class SegmentModel(BaseModel):
    segment: str
    shoppers: int
    share: float
    mean_events: float


class SegmentsModel(BaseModel):
    segments: list[SegmentModel]


class ShopperProfileModel(BaseModel):
    shopper_id: str
    n_events: int
    known: dict[str, Any]
    age_band: list[LabelProbabilityModel]
    gender: list[LabelProbabilityModel]
    interests: list[LabelProbabilityModel]
    segment: str


class SearchResult(BaseModel):
    picks: list[PickModel]


class Stored(BaseModel):
    stored: int


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    model: dict[str, Any]


class NotReady(BaseModel):
    status: Literal["loading", "failed", "stopped"]
    message: str


class Reloaded(BaseModel):
    status: Literal["reloaded"]
    model: dict[str, Any]


class ProblemModel(BaseModel):
    row: int | None = Field(description="1-based position in the request's list, if any")
    field: str | None
    reason: str


class ErrorDetail(BaseModel):
    type: str
    message: str
    problems: list[ProblemModel]


class ErrorBody(BaseModel):
    error: ErrorDetail


_WHEN = {
    400: "input the guide rejects",
    401: "missing or wrong token",
    404: "unknown id",
    413: "body too large",
    422: "request does not match the schema",
    503: "no model loaded yet",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each status with the error body."""
    return {s: {"model": ErrorBody, "description": _WHEN[s]} for s in statuses}
