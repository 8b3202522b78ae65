from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toyguide.guide.numbers import parse_chinese_number, parse_english_number, parse_number

DIGITS = "零一二三四五六七八九"


def to_chinese(n: int) -> str:
    """A plain reference writer of Chinese numerals below 100000 (一万零五, 三十五)."""
    if n == 0:
        return "零"
    parts, zero = [], False
    for unit, name in ((10000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, unit)
        if digit:
            if zero and parts:
                parts.append("零")
            parts.append(DIGITS[digit] + name)
            zero = False
        elif parts:
            zero = True
    text = "".join(parts)
    return text[1:] if text.startswith("一十") else text  # 十五, not 一十五


@pytest.mark.parametrize(
    ("text", "value"),
    [("一百", 100), ("两百", 200), ("三十五", 35), ("十", 10), ("十五", 15), ("二十", 20),
     ("一百五", 150), ("一百五十", 150), ("两千五", 2500), ("一百零五", 105), ("一千", 1000),
     ("一万二千", 12000), ("两", 2), ("二零二四", 2024)],
)  # fmt: skip
def test_chinese_numerals(text: str, value: int) -> None:
    assert parse_chinese_number(text) == value


@pytest.mark.parametrize("text", ["", "万", "三四十", "百a", "abc"])
def test_not_chinese_numerals(text: str) -> None:
    assert parse_chinese_number(text) is None


@given(st.integers(min_value=1, max_value=99_999))
def test_chinese_numerals_read_back_what_is_written(n: int) -> None:
    assert parse_chinese_number(to_chinese(n)) == n


@given(st.text(alphabet="零〇一二两三四五六七八九十百千万", max_size=12))
def test_any_run_of_numeral_characters_is_read_or_refused(text: str) -> None:
    value = parse_chinese_number(text)
    assert value is None or (isinstance(value, int) and value >= 0)


@pytest.mark.parametrize(
    ("text", "value"),
    [("five", 5), ("twenty-five", 25), ("twenty five", 25), ("a hundred", 100),
     ("one hundred and fifty", 150), ("two thousand", 2000), ("eighteen", 18)],
)  # fmt: skip
def test_english_number_words(text: str, value: int) -> None:
    assert parse_english_number(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("30", 30.0), ("1,200.50", 1200.5), ("9.99", 9.99), ("一百", 100.0), ("twenty", 20.0),
     ("9" * 30, None), ("lots", None)],
)  # fmt: skip
def test_parse_number_reads_every_form_and_refuses_absurd_values(text, value) -> None:
    assert parse_number(text) == value


@given(st.text(max_size=50))
def test_parse_number_never_raises(text: str) -> None:
    value = parse_number(text)
    assert value is None or 0 <= value <= 1e9


def test_long_digit_runs_are_not_numbers() -> None:
    assert parse_chinese_number("一" * 2000) is None
    assert parse_number("一" * 2000) is None
