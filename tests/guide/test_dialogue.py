from __future__ import annotations

import json

import pytest

from toyguide.guide import CHEAPER, Dialogue, GuideRequestError


def said(*turns: str, shown=None) -> dict:
    dialogue = Dialogue()
    for text in turns:
        dialogue.say(text)
    if shown is not None:
        return dialogue.say(turns[-1], shown).to_dict()
    return dialogue.request.to_dict()


@pytest.mark.parametrize("cheaper", ["cheaper", "something cheaper please", "更便宜一点", "便宜点"])
def test_cheaper_cuts_the_cap(cheaper: str) -> None:
    assert said("for a 5 year old, under $40", cheaper)["budget"] == {
        "min": None, "max": round(40 * CHEAPER, 2), "currency": "USD",
    }  # fmt: skip


def test_cheaper_goes_below_the_cheapest_shown_price() -> None:
    dialogue = Dialogue()
    dialogue.say("between $20 and $50")
    dialogue.show([24.99, 30.0, 45.5])
    assert dialogue.say("cheaper").budget.to_dict() == {
        "min": 20.0,
        "max": 24.98,
        "currency": "USD",
    }
    dialogue.show([19.5])
    assert dialogue.say("便宜点").budget.to_dict() == {"min": None, "max": 19.49, "currency": "USD"}


def test_cheaper_without_budget_or_shown_prices_changes_nothing() -> None:
    assert said("for a 5 year old", "cheaper")["budget"] is None


@pytest.mark.parametrize("dearer", ["more expensive", "贵一点"])
def test_more_expensive_raises_the_floor(dearer: str) -> None:
    assert said("200元以内", dearer)["budget"] == {"min": 200.0, "max": 285.71, "currency": "CNY"}
    dialogue = Dialogue()
    dialogue.say("under $30", shown_prices=[12.0, 25.0])
    assert dialogue.say(dearer).budget.to_dict() == {"min": 25.01, "max": 42.86, "currency": "USD"}


@pytest.mark.parametrize(
    ("turn", "months"),
    [("for an older kid", (72, 83)), ("大一点的", (72, 83)), ("a bit younger", (48, 59)),
     ("小一点的", (48, 59)), ("older, she is 9 actually", (108, 119))],
)  # fmt: skip
def test_older_and_younger_move_both_bounds_a_year(turn: str, months: tuple) -> None:
    assert said("five year old girl", turn)["age_months"] == {"min": months[0], "max": months[1]}


def test_younger_stops_at_zero() -> None:
    assert said("a 6 month old", "younger")["age_months"] == {"min": 0, "max": 0}
    assert said("kids under 3", "younger")["age_months"] == {"min": None, "max": 23}


@pytest.mark.parametrize(("turn", "gender"), [("换成女孩的", "girl"), ("for a boy instead", "boy")])
def test_gender_swap_keeps_the_rest(turn: str, gender: str) -> None:
    first = (
        "给五岁的孙子买个生日礼物，喜欢拼图，预算两百"
        if gender == "girl"
        else "my 5 yo niece loves puzzles, under $30"
    )
    before, after = said(first), said(first, turn)
    assert after["gender"] == gender
    assert {k: v for k, v in after.items() if k != "gender"} == {
        k: v for k, v in before.items() if k != "gender"
    }


def test_adding_and_removing_interests_in_both_languages() -> None:
    assert said("5 year old who loves dinosaurs", "also likes music")["interests"] == [
        "music", "animals_nature",
    ]  # fmt: skip
    assert said("喜欢拼图和恐龙", "不要拼图了") | {} == said("喜欢拼图和恐龙", "不要拼图了")
    removed = said("喜欢拼图和恐龙", "不要拼图了")
    assert (removed["interests"], removed["exclude"]) == (["animals_nature"], ["puzzles"])
    back = said("no puzzles", "actually puzzles are fine, she loves puzzles")
    assert (back["interests"], back["exclude"]) == (["puzzles"], [])
    assert said("喜欢画画", "也喜欢唱歌")["interests"] == ["arts_crafts", "music"]


def test_a_new_full_request_replaces_what_it_states_and_keeps_the_rest() -> None:
    result = said(
        "Christmas gift for my 5 year old granddaughter who loves dinosaurs, under £40",
        "actually it's for my 8 year old nephew who likes science",
    )
    assert result["age_months"] == {"min": 96, "max": 107}
    assert result["gender"] == "boy"
    assert result["interests"] == ["science_stem"]
    assert result["budget"] == {"min": None, "max": 40.0, "currency": "GBP"}
    assert result["occasion"] == "christmas"


def test_a_new_budget_without_currency_keeps_the_old_currency() -> None:
    assert said("under €50", "budget 30")["budget"] == {"min": None, "max": 30.0, "currency": "EUR"}


def test_the_dialogue_round_trips_through_json() -> None:
    dialogue = Dialogue()
    dialogue.say("孙女三岁半，喜欢画画，预算一百块左右")
    dialogue.say("cheaper", shown_prices=[59.0, 88.0])
    restored = Dialogue.from_dict(json.loads(json.dumps(dialogue.to_dict())))
    assert restored.to_dict() == dialogue.to_dict()
    assert restored.say("大一点的") == dialogue.say("大一点的")


@pytest.mark.parametrize(
    "data",
    [[], {"version": 1}, {"version": 2, "request": {}, "turns": [], "shown_prices": []},
     {"version": 1, "request": {}, "turns": [1], "shown_prices": []},
     {"version": 1, "request": {}, "turns": [], "shown_prices": [float("inf")]},
     {"version": 1, "request": {"gender": "boy"}, "turns": [], "shown_prices": []}],
)  # fmt: skip
def test_malformed_saved_dialogues_are_refused(data) -> None:
    with pytest.raises(GuideRequestError):
        Dialogue.from_dict(data)


def test_an_avoided_feature_is_kept_across_turns() -> None:
    kept = said("a car for a 5 year old, no batteries", "cheaper please")
    assert kept.get("avoid") == ["batteries"]
    assert Dialogue.from_dict(json.loads(json.dumps(_saved("no batteries")))).request.avoid == (
        "batteries",
    )


def _saved(*turns: str) -> dict:
    dialogue = Dialogue()
    for turn in turns:
        dialogue.say(turn)
    return dialogue.to_dict()
