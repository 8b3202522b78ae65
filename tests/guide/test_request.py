from __future__ import annotations

import copy
import math

import pytest

from toyguide.guide import AgeRange, Budget, GuideRequest, GuideRequestError

VALID = {
    "age_months": {"min": 60, "max": 71},
    "gender": "girl",
    "budget": {"min": None, "max": 30.0, "currency": "USD"},
    "interests": ["building", "animals_nature"],
    "exclude": ["plush"],
    "occasion": "birthday",
    "keywords": ["wooden"],
}


def with_(path: str, value):
    data = copy.deepcopy(VALID)
    *parents, leaf = path.split(".")
    target = data
    for key in parents:
        target = target[key]
    target[leaf] = value
    return data


def test_the_json_form_has_exactly_the_seven_fields() -> None:
    request = GuideRequest.from_dict(VALID)
    assert request.to_dict() == VALID
    assert request.age_months == AgeRange(60, 71)
    assert request.budget == Budget(None, 30.0, "USD")
    assert GuideRequest().to_dict() == {
        "age_months": None, "gender": None, "budget": None, "interests": [], "exclude": [],
        "occasion": None, "keywords": [],
    }  # fmt: skip


def test_json_text_round_trips() -> None:
    request = GuideRequest.from_dict(VALID)
    assert GuideRequest.from_json(request.to_json()) == request


def test_labels_come_back_in_taxonomy_order_and_prices_as_floats() -> None:
    data = with_("interests", ["animals_nature", "building"])
    data["budget"]["max"] = 30
    result = GuideRequest.from_dict(data).to_dict()
    assert result["interests"] == ["building", "animals_nature"]
    assert result["budget"]["max"] == 30.0 and isinstance(result["budget"]["max"], float)


def test_empty_bounds_are_an_empty_slot() -> None:
    data = with_("age_months", {"min": None, "max": None})
    data["budget"] = {"min": None, "max": None, "currency": None}
    request = GuideRequest.from_dict(data)
    assert request.age_months is None and request.budget is None
    currency_only = GuideRequest.from_dict(
        with_("budget", {"min": None, "max": None, "currency": "EUR"})
    )
    assert currency_only.budget == Budget(None, None, "EUR")


@pytest.mark.parametrize(
    ("data", "message"),
    [(with_("gender", "unisex"), "gender"), (with_("occasion", "wedding"), "occasion"),
     (with_("interests", ["lego"]), "unknown labels"), (with_("exclude", ["plush", "plush"]), "repeat"),
     (with_("age_months.min", 80), "above max"), (with_("age_months.min", 5.5), "int"),
     (with_("age_months.max", True), "int"), (with_("age_months.min", -1), ">= 0"),
     (with_("age_months", {"min": 1}), "exactly the fields"),
     (with_("budget.max", math.nan), "finite"), (with_("budget.max", "30"), "float"),
     (with_("budget.currency", "JPY"), "currency"), (with_("budget.min", 50.0), "above max"),
     (with_("keywords", "wooden"), "keywords"), (with_("keywords", [""]), "keywords"),
     (with_("keywords", ["x" * 101]), "at most"), ([], "object")],
)  # fmt: skip
def test_each_fault_is_named(data, message: str) -> None:
    with pytest.raises(GuideRequestError, match=message):
        GuideRequest.from_dict(data)


def test_missing_and_unknown_fields_are_named_together() -> None:
    data = {k: v for k, v in VALID.items() if k != "gender"} | {"colour": "red"}
    with pytest.raises(GuideRequestError) as info:
        GuideRequest.from_dict(data)
    assert "missing fields ['gender']" in str(info.value)
    assert "unknown fields ['colour']" in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    data = with_("gender", "x")
    data["occasion"] = "y"
    with pytest.raises(GuideRequestError) as info:
        GuideRequest.from_dict(data)
    assert len(info.value.problems) == 2
    assert isinstance(info.value, ValueError)


def test_text_that_is_not_json_is_refused() -> None:
    with pytest.raises(GuideRequestError, match="not JSON"):
        GuideRequest.from_json("{oops")


def test_avoid_is_optional_on_input_and_shown_only_when_stated() -> None:
    assert "avoid" not in GuideRequest.from_dict(VALID).to_dict()  # older clients' form
    with_avoid = {**VALID, "avoid": ["noise", "batteries"]}
    request = GuideRequest.from_dict(with_avoid)
    assert request.avoid == ("batteries", "noise")  # in FEATURES order
    assert GuideRequest.from_dict(request.to_dict()) == request
    with pytest.raises(GuideRequestError, match="unknown features"):
        GuideRequest.from_dict({**VALID, "avoid": ["glitter"]})
