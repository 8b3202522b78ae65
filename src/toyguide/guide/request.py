"""The guide's parsed request: what a shopper asked for, as slots with one exact JSON form.

::

    {"age_months": {"min": int|null, "max": int|null} | null,
     "gender": "boy"|"girl"|null,
     "budget": {"min": float|null, "max": float|null,
                "currency": "USD"|"GBP"|"EUR"|"CNY"|null} | null,
     "interests": [taxonomy label], "exclude": [taxonomy label],
     "occasion": "birthday"|"christmas"|"children_day"|"new_year"|"baby_shower"|"other"|null,
     "keywords": [str],
     "avoid": [feature]}            -- only when not empty; optional on input

``avoid`` (issue 13) holds features a toy must not have (``lexicon.FEATURES``: batteries,
noise); it came after the seven slots, so a request without it keeps their exact form and an
older client may leave it out.

``from_dict`` is the boundary check: every problem in the input is reported at once, and an
input that passes is always a consistent request (bounds ordered and non-negative, labels
known and unique). ``interests`` and ``exclude`` are kept in taxonomy order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from toyguide.data.taxonomy import CHILD_GENDERS, CURRENCIES, FUNCTIONS
from toyguide.errors import GuideRequestError
from toyguide.guide.lexicon import FEATURES, OCCASIONS

__all__ = [
    "FIELDS",
    "OCCASIONS",
    "OPTIONAL_FIELDS",
    "AgeRange",
    "Budget",
    "GuideRequest",
    "GuideRequestError",
    "avoid_order",
    "taxonomy_order",
]

FIELDS = ("age_months", "gender", "budget", "interests", "exclude", "occasion", "keywords")
OPTIONAL_FIELDS = ("avoid",)
MAX_KEYWORDS = 64  # a request is a few sentences; more is not a request but a payload
MAX_KEYWORD_CHARS = 100
_LABEL_RANK = {label: i for i, label in enumerate(FUNCTIONS)}


def taxonomy_order(labels: Iterable[str]) -> tuple[str, ...]:
    """Unique known labels in ``FUNCTIONS`` order, so equal sets compare and serialise equal."""
    return tuple(sorted(set(labels), key=_LABEL_RANK.__getitem__))


@dataclass(frozen=True)
class AgeRange:
    """Child age in months, both bounds inclusive; ``None`` is an open bound."""

    min: int | None
    max: int | None

    def to_dict(self) -> dict[str, int | None]:
        return {"min": self.min, "max": self.max}


@dataclass(frozen=True)
class Budget:
    """Price bounds, both inclusive; ``None`` is an open bound or an unstated currency."""

    min: float | None
    max: float | None
    currency: str | None

    def to_dict(self) -> dict[str, float | str | None]:
        return {"min": self.min, "max": self.max, "currency": self.currency}


@dataclass(frozen=True)
class GuideRequest:
    """The slots of one shopper request; empty slots are ``None`` or empty tuples."""

    age_months: AgeRange | None = None
    gender: str | None = None
    budget: Budget | None = None
    interests: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    occasion: str | None = None
    keywords: tuple[str, ...] = field(default=())
    avoid: tuple[str, ...] = ()  # FEATURES a toy must not have, in FEATURES order

    def to_dict(self) -> dict[str, Any]:
        avoid = {"avoid": list(self.avoid)} if self.avoid else {}
        return {
            "age_months": None if self.age_months is None else self.age_months.to_dict(),
            "gender": self.gender,
            "budget": None if self.budget is None else self.budget.to_dict(),
            "interests": list(self.interests),
            "exclude": list(self.exclude),
            "occasion": self.occasion,
            "keywords": list(self.keywords),
        } | avoid

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> GuideRequest:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GuideRequestError([f"not JSON: {exc}"]) from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> GuideRequest:
        """Validate ``data`` against the exact schema; raise GuideRequestError listing faults."""
        if not isinstance(data, dict):
            raise GuideRequestError([f"expected an object, got {type(data).__name__}"])
        problems: list[str] = []
        keys = set(data)
        if not set(FIELDS) <= keys <= {*FIELDS, *OPTIONAL_FIELDS}:
            if missing := sorted(set(FIELDS) - keys):
                problems.append(f"missing fields {missing}")
            if extra := sorted(keys - {*FIELDS, *OPTIONAL_FIELDS}):
                problems.append(f"unknown fields {extra}; allowed {[*FIELDS, *OPTIONAL_FIELDS]}")
            raise GuideRequestError(problems)
        request = cls(
            age_months=_age(data["age_months"], problems),
            gender=_choice(data["gender"], "gender", CHILD_GENDERS, problems),
            budget=_budget(data["budget"], problems),
            interests=_labels(data["interests"], "interests", problems),
            exclude=_labels(data["exclude"], "exclude", problems),
            occasion=_choice(data["occasion"], "occasion", OCCASIONS, problems),
            keywords=_keywords(data["keywords"], problems),
            avoid=_features(data.get("avoid", []), problems),
        )
        if problems:
            raise GuideRequestError(problems)
        return request


def _bound_pair(
    data: Any, name: str, keys: set[str], number: type, problems: list[str]
) -> tuple[Any, Any] | None:
    """The ordered (min, max) of an object holding exactly ``keys``; ``None`` after a fault."""
    if not isinstance(data, dict) or set(data) != keys:
        problems.append(f"{name}: expected an object with exactly the fields {sorted(keys)}")
        return None
    lo, hi = data["min"], data["max"]
    accepted = int if number is int else (int, float)  # a JSON 30 is a fine price
    for key, value in (("min", lo), ("max", hi)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, accepted):
            problems.append(f"{name}.{key}: expected {number.__name__} or null, got {value!r}")
            return None
        if not math.isfinite(value) or value < 0:
            problems.append(f"{name}.{key}: must be finite and >= 0, got {value!r}")
            return None
    if lo is not None and hi is not None and lo > hi:
        problems.append(f"{name}: min {lo!r} is above max {hi!r}")
        return None
    return lo, hi


def _age(data: Any, problems: list[str]) -> AgeRange | None:
    if data is None:
        return None
    pair = _bound_pair(data, "age_months", {"min", "max"}, int, problems)
    if pair is None or pair == (None, None):  # both open says nothing: the slot is empty
        return None
    return AgeRange(*pair)


def _budget(data: Any, problems: list[str]) -> Budget | None:
    if data is None:
        return None
    pair = _bound_pair(data, "budget", {"min", "max", "currency"}, float, problems)
    if pair is None:
        return None
    currency = _choice(data["currency"], "budget.currency", CURRENCIES, problems)
    if pair == (None, None) and currency is None:
        return None
    lo, hi = (None if v is None else float(v) for v in pair)
    return Budget(lo, hi, currency)


def _choice(value: Any, name: str, allowed: tuple[str, ...], problems: list[str]) -> str | None:
    if value is None or value in allowed:
        return value
    problems.append(f"{name}: {value!r} is not one of {list(allowed)} or null")
    return None


def _labels(value: Any, name: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list):
        problems.append(f"{name}: expected a list of taxonomy labels")
        return ()
    unknown = [v for v in value if not isinstance(v, str) or v not in _LABEL_RANK]
    if unknown:
        problems.append(f"{name}: unknown labels {unknown}; allowed {list(FUNCTIONS)}")
        return ()
    if len(set(value)) != len(value):
        problems.append(f"{name}: labels repeat")
    return taxonomy_order(value)


def _keywords(value: Any, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append("keywords: expected a list of non-empty strings")
        return ()
    if len(value) > MAX_KEYWORDS or any(len(v) > MAX_KEYWORD_CHARS for v in value):
        problems.append(
            f"keywords: at most {MAX_KEYWORDS} of at most {MAX_KEYWORD_CHARS} characters each"
        )
        return ()
    return tuple(value)


def avoid_order(features: Iterable[str]) -> tuple[str, ...]:
    """Unique known features in ``FEATURES`` order."""
    wanted = set(features)
    return tuple(f for f in FEATURES if f in wanted)


def _features(value: Any, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append("avoid: expected a list of features")
        return ()
    if unknown := [v for v in value if v not in FEATURES]:
        problems.append(f"avoid: unknown features {unknown}; allowed {list(FEATURES)}")
        return ()
    if len(set(value)) != len(value):
        problems.append("avoid: features repeat")
    return avoid_order(value)
