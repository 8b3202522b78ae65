"""What the guide returns: plain frozen dataclasses the CLI, the API and the pages all show.

Each has ``to_dict()`` giving JSON-ready values; the service makes its response models from
these dataclasses (``service/schemas.py``), so a field is added or changed here alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from typing import Any, Literal

__all__ = [
    "Forecast",
    "InventoryPlan",
    "ItemView",
    "LabelProbability",
    "Pick",
    "PredictedAge",
    "PricePoint",
    "Pricing",
    "Recommendations",
    "Segment",
    "ShopperProfile",
    "SimilarPrice",
    "ToyEvaluation",
]


class _Dict:
    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` without its deep copy of every leaf: these views hold only
    numbers, strings, lists, tuples, dicts and other views, none of them shared, and the copy
    was a tenth of a loaded worker's time on ``/v1/recommendations``."""
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class PredictedAge(_Dict):
    """The age range the attributes head predicts for a toy whose shop states none."""

    min_months: int
    max_months: int  # inclusive
    probability: float  # that the toy's age band lies in this range


@dataclass(frozen=True)
class ItemView(_Dict):
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
    stock_on_hand: float | None  # latest known; None = unknown
    predicted_age: PredictedAge | None = None  # only where the shop states no age range


@dataclass(frozen=True)
class Pick(_Dict):
    item: ItemView
    score: float
    reasons: list[str]  # human-readable: age fit, interests matched, similar shoppers, price
    fits: bool = True  # False: a nearest pick, offered because no toy keeps every rule
    breaks: list[str] = field(
        default_factory=list
    )  # the rules ("age", "budget", "exclude") it breaks


@dataclass(frozen=True)
class Recommendations(_Dict):
    picks: list[Pick]
    shopper_id: str | None = None
    request: dict[str, Any] | None = None  # the parsed GuideRequest, when a request was given
    dialogue_id: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "no toy fits the budget; relaxed it"
    # When no toy keeps every rule of the request: the rules to relax, each entry one way out
    # (["budget"], or ["budget", "age"] when both must give); the picks are then nearest picks.
    relax: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class LabelProbability(_Dict):
    label: str
    probability: float


@dataclass(frozen=True)
class Forecast(_Dict):
    item_id: str
    weeks: list[str]  # ISO Mondays of the forecast weeks
    p10: list[float]
    p50: list[float]
    p90: list[float]
    history_weeks: list[str]
    history_units: list[float]
    mean: list[float] = field(default_factory=list)  # expected units: the point forecast


@dataclass(frozen=True)
class InventoryPlan(_Dict):
    item_id: str
    lead_time_weeks: int
    review_weeks: int
    service_level: float
    stock_on_hand: float
    demand_over_protection: float  # expected units over lead time + review period
    safety_stock: float
    reorder_point: float  # order when stock on hand (plus on order) falls to this
    order_quantity: float  # order-up-to level − stock − on order, at least 0
    weeks_of_cover: float | None  # stock on hand / mean weekly demand


PriceResponse = Literal[
    "falls", "rises", "flat", "non_monotone", "no_price_input", "no_sales_task", "no_prices"
]
"""How the sales model's units move as price rises (a curve is drawn for falls and rises only),
or why there is no curve."""


@dataclass(frozen=True)
class SimilarPrice(_Dict):
    """A similar catalogue toy's price and what it sold (None where the data cannot say)."""

    item_id: str
    title: str | None
    price: float
    currency: str | None
    similarity: float  # cosine similarity of the texts
    mean_weekly_units: float | None  # from its first sales week to the data's end
    first_weeks_units: float | None  # over its first H weeks, if it launched inside the data


@dataclass(frozen=True)
class PricePoint(_Dict):
    """Expected units over the new toy's first H weeks at one candidate price."""

    price: float
    p10: float  # the weekly quantiles summed over the H weeks
    p50: float
    p90: float
    mean: float  # expected units: the weekly means summed


@dataclass(frozen=True)
class Pricing(_Dict):
    """A suggested price range from similar toys and the sales model's units at several prices;
    ``method`` and ``uncertainty`` say how both were made and how far to trust them."""

    currency: str | None  # of every price here; toys in other currencies are left out
    similar: list[SimilarPrice]
    suggested_low: float | None  # similarity-weighted P25 of the similar toys' prices
    suggested_median: float | None
    suggested_high: float | None  # weighted P75
    horizon_weeks: int  # H of the curve's and the similar toys' first-weeks units; 0: no sales
    curve: list[PricePoint]  # ascending price; empty without a sales task or price input
    price_response: PriceResponse
    method: str
    uncertainty: str


@dataclass(frozen=True)
class ToyEvaluation(_Dict):
    age_band: list[LabelProbability]
    gender_target: list[LabelProbability]
    functions: list[LabelProbability]
    first_weeks_demand: dict[str, list[float]]  # {"p10": [...], "p50": [...], "p90": [...]}
    similar: list[Pick]  # most similar existing toys (score = cosine similarity)
    price_percentile: float | None  # the toy's price among the similar toys, 0..100
    pricing: Pricing | None = None  # None when the evaluation was made without pricing


@dataclass(frozen=True)
class ShopperProfile(_Dict):
    shopper_id: str
    n_events: int
    known: dict[str, Any]  # labels the shop has (child birth date / gender / interests)
    age_band: list[LabelProbability]
    gender: list[LabelProbability]
    interests: list[LabelProbability]
    segment: str


@dataclass(frozen=True)
class Segment(_Dict):
    """Shoppers the profile head places in the same child age band, gender and top interest."""

    segment: str  # "age band · gender · top interest", as in ShopperProfile.segment
    shoppers: int
    share: float  # of the shoppers with events
    mean_events: float
