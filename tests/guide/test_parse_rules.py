"""The rule layer, slot by slot, in English and Chinese (no embedding model is loaded)."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toyguide.guide import GuideRequest, SemanticMatcher, parse, parse_turn
from toyguide.guide.lexicon import INTEREST_TERMS, NEGATION_CUES, OCCASION_WORDS


def slot(text: str, name: str):
    return parse(text).to_dict()[name]


@pytest.mark.parametrize(
    ("text", "months"),
    [("for a 5 year old", (60, 71)), ("5-year-old", (60, 71)), ("five year old", (60, 71)),
     ("五岁", (60, 71)), ("一岁半", (18, 23)), ("3岁半", (42, 47)), ("4 and a half years", (54, 59)),
     ("18 months", (18, 18)), ("18个月", (18, 18)), ("6-12 month old", (6, 12)),
     ("ages 8-10", (96, 131)), ("3到6岁", (36, 83)), ("两到三岁", (24, 47)), ("五六岁", (60, 83)),
     ("toddler", (12, 35)), ("newborn", (0, 2)), ("teen", (156, 215)), ("上幼儿园", (36, 83)),
     ("kids under 3", (None, 35)), ("3岁以下", (None, 35)), ("8+ year olds", (96, None)),
     ("3岁以上", (36, None)), ("my grandkids are 3 and 5", (36, 71)), ("girl, 4, loves", (48, 59)),
     ("my daughter (13)", (156, 167)), ("he just turned 4", (48, 59)), ("3rd birthday", (36, 47)),
     ("宝宝周岁", (12, 23)), ("快四岁了", (48, 59)), ("a baby", (0, 11)),
     ("a 6 month old baby", (6, 6))],
)  # fmt: skip
def test_ages(text: str, months: tuple) -> None:
    assert slot(text, "age_months") == {"min": months[0], "max": months[1]}


@pytest.mark.parametrize(
    "text", ["a pack of 5 cars", "500 pieces", "under $30", "for 2 kids", "一起玩", "45岁的奶奶"]
)
def test_numbers_that_are_not_ages(text: str) -> None:
    assert slot(text, "age_months") is None


@pytest.mark.parametrize(
    ("text", "budget"),
    [("under $30", (None, 30, "USD")), ("200元以内", (None, 200, "CNY")),
     ("between £10 and £20", (10, 20, "GBP")), ("不超过一百块", (None, 100, "CNY")),
     ("around €25", (20, 30, "EUR")), ("$20-40", (20, 40, "USD")), ("预算两百", (None, 200, "CNY")),
     ("三十五元", (None, 35, "CNY")), ("一百五十元左右", (120, 180, "CNY")),
     ("over £50", (50, None, "GBP")), ("at least $25 but no more than $40", (25, 40, "USD")),
     ("around twenty pounds", (16, 24, "GBP")), ("under 30 bucks", (None, 30, "USD")),
     ("up to 200 yuan", (None, 200, "CNY")), ("budget 40", (None, 40, None)),
     ("under a tenner", (None, 10, "GBP")), ("一百到两百之间", (100, 200, "CNY")),
     ("预算 $50", (None, 50, "USD")), ("one hundred and twenty five dollars", (None, 125, "USD")),
     ("between 10 and 20 euros", (10, 20, "EUR")), ("from $10 to $20", (10, 20, "USD")),
     ("under 50p", (None, 0.5, "GBP")), ("up to 99 pence", (None, 0.99, "GBP"))],
)  # fmt: skip
def test_budgets(text: str, budget: tuple) -> None:
    low, high, currency = budget
    expected = {"min": low and float(low), "max": high and float(high), "currency": currency}
    assert slot(text, "budget") == expected


@pytest.mark.parametrize(
    "text", ["3到6岁", "under 5", "500 pieces", "a 3 month old", "六一", "a 100pc puzzle"]
)
def test_numbers_that_are_not_money(text: str) -> None:
    assert slot(text, "budget") is None


@pytest.mark.parametrize(
    ("text", "gender"),
    [("granddaughter", "girl"), ("nephew", "boy"), ("侄子", "boy"), ("外孙女", "girl"),
     ("外孙", "boy"), ("son", "boy"), ("女儿", "girl"), ("great-nephew", "boy"),
     ("my sister's son", "boy"), ("妹妹的女儿", "girl"), ("my son's birthday", "boy"),
     ("she's 6", "girl"), ("他喜欢车", "boy"), ("twins, a boy and a girl", None),
     ("my grandaughter", "girl"), ("for a 5 year old", None), ("他们都喜欢", None)],
)  # fmt: skip
def test_relatives_and_pronouns_give_gender(text: str, gender: str | None) -> None:
    assert slot(text, "gender") == gender


@pytest.mark.parametrize(
    ("text", "labels"),
    [("loves dinosaurs", ["animals_nature"]), ("LEGO", ["building"]), ("遥控车", ["vehicles"]),
     ("编程机器人", ["science_stem"]), ("拼图", ["puzzles"]), ("stuffed animals", ["plush"]),
     ("dinosours", ["animals_nature"]), ("puzzels", ["puzzles"]), ("马上要过生日了", []),
     ("trains and music", ["vehicles", "music"]), ("together", [])],
)  # fmt: skip
def test_interests_map_into_the_taxonomy(text: str, labels: list[str]) -> None:
    assert slot(text, "interests") == labels


@pytest.mark.parametrize(
    ("text", "liked", "excluded"),
    [("no board games", [], ["games"]), ("not plush", [], ["plush"]),
     ("不要毛绒玩具", [], ["plush"]), ("别买积木", [], ["building"]), ("不要拼图了", [], ["puzzles"]),
     ("对拼图不感兴趣", [], ["puzzles"]), ("拼图就不要了", [], ["puzzles"]),
     ("she hates puzzles but loves board games", ["games"], ["puzzles"]),
     ("no plush or dolls", [], ["dolls", "plush"]), ("不要毛绒和娃娃", [], ["dolls", "plush"]),
     ("no dolls, loves cars", ["vehicles"], ["dolls"]), ("anything but action figures", [], ["action_figures"]),
     ("LEGO instead of dolls", ["building"], ["dolls"]), ("特别喜欢恐龙", ["animals_nature"], []),
     ("not sure, maybe lego", ["building"], []), ("no more than $30, likes cars", ["vehicles"], []),
     ("no board games but loves chess", ["games"], []),
     # a negation before 的 describes the kind after it: a toy car, without batteries
     ("不要电池的玩具车", ["vehicles"], []), ("不要电动的积木", ["building"], []),
     ("不要恐龙的玩具", [], ["animals_nature"])],
)  # fmt: skip
def test_negation_goes_to_exclude_and_not_to_interests(text, liked, excluded) -> None:
    result = parse(text).to_dict()
    assert (result["interests"], result["exclude"]) == (liked, excluded)


def test_negated_words_are_not_keywords() -> None:
    assert parse("wooden, no batteries, nothing noisy").keywords == ("wooden",)
    assert parse("不要带电池的").keywords == ()


@pytest.mark.parametrize(
    ("text", "occasion"),
    [("birthday", "birthday"), ("生日", "birthday"), ("Christmas", "christmas"),
     ("圣诞", "christmas"), ("stocking stuffers", "christmas"), ("Chrismas", "christmas"),
     ("六一", "children_day"), ("儿童节", "children_day"), ("children's day", "children_day"),
     ("新年", "new_year"), ("春节", "new_year"), ("chinese new year", "new_year"),
     ("baby shower", "baby_shower"), ("满月", "baby_shower"), ("graduation", "other"),
     ("中秋节", "other"), ("just because", None)],
)  # fmt: skip
def test_occasions(text: str, occasion: str | None) -> None:
    assert slot(text, "occasion") == occasion


@pytest.mark.parametrize(
    ("text", "keywords"),
    [("a wooden kitchen for a 3 yr old", ["wooden"]), ("glow in the dark stars", ["glow", "dark", "stars"]),
     ("有没有安全的玩具推荐", ["安全"]), ("喜欢天文和太空", ["太空"]), ("给老师的孩子", ["老师"]),
     ("a gift for my grandson", []), ("想买个礼物", [])],
)  # fmt: skip
def test_keywords_are_the_content_words_left(text: str, keywords: list[str]) -> None:
    assert slot(text, "keywords") == keywords


def test_lists_are_in_taxonomy_order_and_unique() -> None:
    result = parse("music, dinosaurs, LEGO and more LEGO")
    assert result.interests == ("building", "music", "animals_nature")


@pytest.mark.parametrize(
    ("text", "flag"),
    [("cheaper", "cheaper"), ("更便宜一点", "cheaper"), ("便宜点", "cheaper"),
     ("more expensive", "dearer"), ("贵一点", "dearer"), ("for an older kid", "older"),
     ("大一点的", "older"), ("younger", "younger"), ("小一点的", "younger"),
     ("also likes music", "additive"), ("也喜欢画画", "additive")],
)  # fmt: skip
def test_dialogue_cues_are_flagged_and_are_not_keywords(text: str, flag: str) -> None:
    turn = parse_turn(text)
    assert getattr(turn, flag)
    assert turn.request.keywords == ()


def test_an_injected_matcher_labels_only_english_leftovers(keyword_embedder) -> None:
    embedder = keyword_embedder(["rocket", "space"])
    matcher = SemanticMatcher(embedder, prototypes={"science_stem": ["rocket"]})
    result = parse("a 6 year old into rockets, 喜欢太空, no plush", matcher)
    assert result.interests == ("science_stem",)
    assert result.keywords == ("rockets", "太空")  # a fallback label keeps its words
    assert embedder.calls[-1] == ["rockets"]  # the Chinese leftover is not embedded


def test_the_matcher_cannot_add_an_excluded_label(keyword_embedder) -> None:
    matcher = SemanticMatcher(keyword_embedder(["bear"]), prototypes={"plush": ["bear"]})
    assert parse("no plush, a bear", matcher).to_dict()["interests"] == []


# Texts built from the parser's own vocabulary reach its rules far more often than random ones.
_VOCAB = [
    *[t for terms in INTEREST_TERMS.values() for t in terms[:4]],
    *list(OCCASION_WORDS)[:12], *NEGATION_CUES[:10], "$", "£", "€", "元", "块", "岁", "个月",
    "years old", "months", "under", "between", "and", "around", "左右", "以内", "到", "-", ",",
    "，", "半", "one", "twenty", "一百", "两", "5", "18", "3.5", "1e400", "9" * 40, "'s", "的",
]  # fmt: skip
texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(_VOCAB), st.text(max_size=3)), max_size=30).map(" ".join),
    st.lists(st.sampled_from(_VOCAB), max_size=30).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_any_text_parses_into_a_valid_request(text: str) -> None:
    request = parse(text)
    assert GuideRequest.from_dict(request.to_dict()) == request
    assert GuideRequest.from_json(request.to_json()) == request


@pytest.mark.parametrize(
    "text",
    [
        "一" * 3000,
        "9" * 3000,
        "万" * 3000,
        "5 " * 1500,
        "$" * 3000,
        "one and " * 300,
        "不要" * 1000,
    ],
)
def test_pathological_text_parses_quickly(text: str) -> None:
    started = time.perf_counter()
    request = parse(text)
    assert GuideRequest.from_dict(request.to_dict()) == request
    assert time.perf_counter() - started < 0.5  # a request is bounded work (MAX_TEXT_CHARS)


def test_very_long_text_is_read_in_bounded_time() -> None:
    request = parse("lego " * 5000 + " " * 10_000 + "5 year old")
    assert request.interests == ("building",)


@pytest.mark.parametrize(
    ("text", "avoid"),
    [("a car for a 5 year old, no batteries", ["batteries"]),
     ("我家孩子4岁，不要电动的，也不要毛绒", ["batteries"]),
     ("3岁宝宝，不要电池的玩具车", ["batteries"]),
     ("nothing noisy please", ["noise"]),
     ("a battery powered car for a 6 year old", None),  # said, not ruled out
     ("a musical toy for a 1 year old, please not too loud", None),  # a degree
     ("不要太吵的玩具", None)],
)  # fmt: skip
def test_features_are_avoided_only_under_a_negation(text: str, avoid) -> None:
    assert parse(text).to_dict().get("avoid") == avoid
