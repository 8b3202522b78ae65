"""A guide dialogue: slots kept across turns and refined by follow-ups, in English and Chinese.

How a turn changes the slots:

* Age, gender, budget and occasion: a turn that states one replaces it; the rest are kept.
  A new budget without a currency keeps the old currency ("under 20" after "$30").
* Interests, exclusions and keywords: a turn that restates the recipient (an age or a
  gender) without "also"/"也" replaces the lists it states; any other turn adds to them.
  A label a turn excludes leaves the interests ("不要拼图了"), and one it asks for leaves
  the exclusions.
* "cheaper"/"更便宜一点"/"便宜点": the maximum becomes just below the cheapest price shown
  (``show``), or, when nothing was shown, the old maximum × ``CHEAPER`` (0.7); a minimum at
  or above the new maximum is dropped. With neither a budget nor shown prices nothing
  changes: there is no price to go below.
* "more expensive"/"贵一点": the minimum becomes just above the dearest price shown, or the
  old maximum when nothing was shown; the maximum grows by 1 / ``CHEAPER`` (so "cheaper"
  then "more expensive" returns to about the same cap) or opens when it would not exceed
  the new minimum.
* "for an older kid"/"大一点的" and "younger"/"小一点的": both age bounds move by 12 months
  (not below 0), unless the turn states an age itself.
* "换成女孩的"/"for a boy instead": the turn states a gender, which replaces the old one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from toyguide.guide.parse import LabelMatcher, ParsedTurn, parse_turn
from toyguide.guide.request import (
    MAX_KEYWORD_CHARS,
    MAX_KEYWORDS,
    AgeRange,
    Budget,
    GuideRequest,
    GuideRequestError,
    avoid_order,
)
from toyguide.guide.request import taxonomy_order as _ordered

__all__ = ["CHEAPER", "MAX_TURNS", "SHIFT_MONTHS", "Dialogue"]

CHEAPER = 0.7  # "cheaper" without shown prices: 30 % off the cap, a visible step down
SHIFT_MONTHS = 12  # "older"/"younger": one year, the width of a stated age
MAX_TURNS = 50  # turns kept for display; the slots already hold everything they said
_VERSION = 1


class Dialogue:
    """One shopper's conversation with the guide; ``say`` returns the updated request."""

    def __init__(
        self,
        request: GuideRequest | None = None,
        *,
        turns: Iterable[str] = (),
        shown_prices: Iterable[float] = (),
        semantic: LabelMatcher | None = None,
    ) -> None:
        self.request = request if request is not None else GuideRequest()
        self.turns = list(turns)
        self.shown_prices = list(shown_prices)
        self.semantic = semantic  # not serialised: the service owns the one loaded model

    def show(self, prices: Iterable[float]) -> None:
        """Record the prices of the picks just shown; "cheaper" goes below the lowest."""
        self.shown_prices = [float(p) for p in prices if math.isfinite(p) and p >= 0]

    def say(self, text: str, shown_prices: Iterable[float] | None = None) -> GuideRequest:
        """Apply one shopper turn and return the request as it now stands."""
        if shown_prices is not None:
            self.show(shown_prices)
        self.request = apply_turn(self.request, parse_turn(text, self.semantic), self.shown_prices)
        self.turns = [*self.turns, text][-MAX_TURNS:]
        return self.request

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": _VERSION,
            "request": self.request.to_dict(),
            "turns": list(self.turns),
            "shown_prices": list(self.shown_prices),
        }

    @classmethod
    def from_dict(cls, data: Any, semantic: LabelMatcher | None = None) -> Dialogue:
        """Rebuild a dialogue saved by ``to_dict``; raise GuideRequestError if malformed."""
        if not isinstance(data, dict) or set(data) != {
            "version",
            "request",
            "turns",
            "shown_prices",
        }:
            raise GuideRequestError(
                ["expected an object with version, request, turns and shown_prices"], "dialogue"
            )
        problems = []
        if data["version"] != _VERSION:
            problems.append(f"version {data['version']!r} is not {_VERSION}")
        turns, prices = data["turns"], data["shown_prices"]
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            problems.append("turns: expected a list of strings")
        if not isinstance(prices, list) or not all(_is_price(p) for p in prices):
            problems.append("shown_prices: expected a list of finite numbers >= 0")
        if problems:
            raise GuideRequestError(problems, "dialogue")
        request = GuideRequest.from_dict(data["request"])
        return cls(request, turns=turns[-MAX_TURNS:], shown_prices=prices, semantic=semantic)


def _is_price(value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and math.isfinite(value) and value >= 0


def apply_turn(old: GuideRequest, turn: ParsedTurn, shown: list[float]) -> GuideRequest:
    """The request after ``turn``; see the module docstring for the rules."""
    new = turn.request
    age = new.age_months or _shift(old.age_months, turn)
    budget = _inherit_currency(new.budget, old.budget) or _reprice(old.budget, turn, shown)
    restated = (new.age_months is not None or new.gender is not None) and not turn.additive
    interests = new.interests if restated and new.interests else old.interests + new.interests
    exclude = new.exclude if restated and new.exclude else old.exclude + new.exclude
    keywords = new.keywords if restated and new.keywords else old.keywords + new.keywords
    avoid = new.avoid if restated and new.avoid else old.avoid + new.avoid
    return GuideRequest(
        age_months=age,
        gender=new.gender or old.gender,
        budget=budget,
        interests=_ordered(set(interests) - set(new.exclude)),
        exclude=_ordered(set(exclude) - set(new.interests)),
        occasion=new.occasion or old.occasion,
        keywords=_latest_keywords(keywords),
        avoid=avoid_order(avoid),
    )


def _latest_keywords(keywords: Iterable[str]) -> tuple[str, ...]:
    """Distinct keywords the schema allows, the latest turns' kept when there are too many."""
    fitting = [k for k in dict.fromkeys(keywords) if len(k) <= MAX_KEYWORD_CHARS]
    return tuple(fitting[-MAX_KEYWORDS:])


def _shift(age: AgeRange | None, turn: ParsedTurn) -> AgeRange | None:
    step = SHIFT_MONTHS * (turn.older - turn.younger)
    if age is None or step == 0:
        return age
    return AgeRange(*(None if b is None else max(b + step, 0) for b in (age.min, age.max)))


def _inherit_currency(new: Budget | None, old: Budget | None) -> Budget | None:
    if new is None or new.currency is not None or old is None:
        return new
    return replace(new, currency=old.currency)


def _reprice(budget: Budget | None, turn: ParsedTurn, shown: list[float]) -> Budget | None:
    """Apply "cheaper" or "more expensive" to the old budget (module docstring)."""
    if turn.cheaper == turn.dearer:
        return budget
    low, high = (budget.min, budget.max) if budget else (None, None)
    currency = budget.currency if budget else None
    if turn.cheaper:
        cap = round(min(shown) - 0.01, 2) if shown else _scaled(high, CHEAPER)
        if cap is None:
            return budget
        cap = max(cap, 0.0)
        return Budget(low if low is not None and low < cap else None, cap, currency)
    floor = round(max(shown) + 0.01, 2) if shown else high
    if floor is None:
        return budget
    top = _scaled(high, 1 / CHEAPER)
    return Budget(floor, top if top is not None and top > floor else None, currency)


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else round(value * factor, 2)
