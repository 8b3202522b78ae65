"""Request models with their bounds, and response models mirroring ``guide/views.py``.

Requests: unknown fields are refused, numbers must be finite, every string and list is
bounded, and text may hold neither NUL nor unpaired surrogates (not UTF-8: the store and the
tokenizer would choke on them). What only the guide can judge (a GuideRequest's slots, an
event's kind or timestamp, unknown ids) passes through and comes back as 400 or 404.
Responses: one model per view dataclass, generated from it by ``view_model`` (the fields are
written once, in the view), so the OpenAPI schema documents what each route returns.
"""

from __future__ import annotations

import dataclasses
import re
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, create_model
from pydantic.json_schema import WithJsonSchema

from toyguide.data.taxonomy import CHILD_GENDERS, CURRENCIES, EVENT_KINDS, FUNCTIONS
from toyguide.guide import overview, views
from toyguide.guide.lexicon import FEATURES, OCCASIONS
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
    "MerchantOverviewModel",
    "PickModel",
    "PredictedAgeModel",
    "PricePointModel",
    "PricingModel",
    "RecommendationsModel",
    "RecommendationsRequest",
    "ReloadRequest",
    "SearchResult",
    "SegmentModel",
    "SegmentsModel",
    "ShopperProfileModel",
    "SimilarPriceModel",
    "Stored",
    "ToyDescription",
    "ToyEvaluationModel",
    "ToyMatchesModel",
    "errors",
    "view_model",
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
    "description": "A parsed guide request (GuideRequest JSON); every field but avoid is "
    "required.",
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
        "avoid": {"type": "array", "items": {"enum": list(FEATURES)}, "uniqueItems": True,
                  "description": "features a toy must not have; optional, absent when empty"},
    },
}  # fmt: skip
GuideRequestJson = Annotated[dict[str, Any], WithJsonSchema(GUIDE_REQUEST_SCHEMA)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class RecommendationsRequest(_Request):
    shopper_id: Id | None = None
    request: GuideRequestJson | None = Field(
        None, description="slots that filter and re-score (checked by GuideRequest.from_dict)"
    )
    text: ShortText | None = None
    k: K = 10


class GuideTurn(_Request):
    text: Turn
    dialogue_id: Token | None = Field(
        None, description="from the previous answer; none starts a new dialogue"
    )
    request: GuideRequestJson | None = Field(
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
# Generated from the view dataclasses, so that an item is described once (guide/views.py) and
# the OpenAPI schema still names each response: a BaseModel per view, ``<View>Model``.
_MODELS: dict[type, type[BaseModel]] = {}
# Fields documented more closely than the view can without reaching up into the service.
_CLOSER: dict[tuple[type, str], Any] = {(views.Recommendations, "request"): GuideRequestJson | None}


class _Response(BaseModel):
    # to_dict() always holds every field of a view, so every one is required in the response
    # schema, defaults or not.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


def view_model(view: type) -> type[BaseModel]:
    """The response model of a ``guide/views.py`` dataclass: its fields in order, their types
    and defaults, with nested views as their own models (made once, then reused)."""
    if view not in _MODELS:
        hints = get_type_hints(view)
        fields: dict[str, Any] = {
            f.name: (_CLOSER.get((view, f.name)) or _swap(hints[f.name]), _default(f))
            for f in dataclasses.fields(view)
        }
        _MODELS[view] = create_model(
            f"{view.__name__}Model", __base__=_Response, __module__=__name__, **fields
        )
    return _MODELS[view]


def _swap(hint: Any) -> Any:
    """``hint`` with each dataclass in it replaced by its model (``list[Pick]`` ->
    ``list[PickModel]``): a nested dataclass would otherwise get a schema under its own name."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return view_model(hint)
    args = get_args(hint)
    if not args:
        return hint
    origin = get_origin(hint)
    swapped = tuple(_swap(a) for a in args)
    return Union[swapped] if origin in (Union, UnionType) else origin[swapped]  # noqa: UP007


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return Field(default_factory=field.default_factory)
    return ... if field.default is dataclasses.MISSING else field.default


PredictedAgeModel = view_model(views.PredictedAge)
ItemViewModel = view_model(views.ItemView)
PickModel = view_model(views.Pick)
RecommendationsModel = view_model(views.Recommendations)
LabelProbabilityModel = view_model(views.LabelProbability)
ForecastModel = view_model(views.Forecast)
InventoryPlanModel = view_model(views.InventoryPlan)
SimilarPriceModel = view_model(views.SimilarPrice)
PricePointModel = view_model(views.PricePoint)
PricingModel = view_model(views.Pricing)
ToyEvaluationModel = view_model(views.ToyEvaluation)
SegmentModel = view_model(views.Segment)
ShopperProfileModel = view_model(views.ShopperProfile)


# The merchant's overview (guide/overview.py keeps its own dataclasses, generated alike).
MerchantOverviewModel = view_model(overview.MerchantOverview)


class ToyMatchesModel(BaseModel):
    toys: list[view_model(overview.ToyMatch)]  # type: ignore[valid-type]


class SegmentsModel(BaseModel):
    segments: list[SegmentModel]


class SearchResult(BaseModel):
    picks: list[PickModel]


class Stored(BaseModel):
    stored: int


class Health(BaseModel):
    status: Literal["ok"]


class Worker(BaseModel):
    pid: int = Field(description="the process that answered")
    workers: int = Field(description="worker processes of the service")


class Ready(BaseModel):
    status: Literal["ready"]
    model: dict[str, Any]
    worker: Worker | None = Field(None, description="with the admin token only")


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
