"""Numbers in shopper requests and the quantities they state: ages and prices.

Number words: Arabic digits, Chinese numerals (一百, 两百, 三十五, 一百五) and English number
words (five, twenty-five, a hundred). Each parser returns ``None`` for text it does not read
as a number, so a caller can try the next reading instead of catching exceptions.

Quantities: ``find_budget`` and ``find_ages`` read normalised (NFKC, lower-case) request text
and return what they found with the spans they read, so the request parser can blank those
out; the conventions they follow are listed in ``parse.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from toyguide.guide.lexicon import BUDGET_CUES, CURRENCY_WORDS, PENCE_WORDS
from toyguide.guide.request import AgeRange, Budget

__all__ = [
    "AROUND",
    "CJK",
    "DIGITS_PATTERN",
    "EN_NUMBER_PATTERN",
    "EN_NUMBER_WORDS",
    "MAX_AGE_YEARS",
    "NUMBER_PATTERN",
    "ZH_NUMBER_PATTERN",
    "alternation",
    "find_ages",
    "find_budget",
    "find_ordinal_ages",
    "parse_chinese_number",
    "parse_english_number",
    "parse_number",
]

AROUND = 0.2  # "around €25" → 20–30: ± 20 % is how far shoppers' "about" usually stretches
MAX_AGE_YEARS = 18  # a toy shop's shoppers; larger "ages" are other numbers
MIN_UNITLESS_PRICE = 20  # "under 30" is money, "under 3" an age
CJK = re.compile(r"[\u3400-\u9fff]")

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_ZH_DIGITS |= {"七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_WAN = "万"

_EN_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
            "eighteen", "nineteen")  # fmt: skip
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_VALUES = {w: i for i, w in enumerate(_EN_ONES)} | {
    w: 20 + 10 * i for i, w in enumerate(_EN_TENS)
}
_EN_SCALES = {"hundred": 100, "thousand": 1000}
EN_NUMBER_WORDS = frozenset([*_EN_VALUES, *_EN_SCALES])

# Not inside a longer number ("1,000", "2.5"), but a comma before is fine ("，200元").
DIGITS_PATTERN = r"(?<![\d.])(?<!\d,)\d{1,7}(?:,\d{3})*(?:\.\d{1,2})?(?!\d)"
ZH_NUMBER_PATTERN = "[零〇一二两三四五六七八九十百千万]{1,12}"  # bounded: a price, not a payload
_EN_WORD = "|".join(sorted([*_EN_VALUES, *_EN_SCALES], key=len, reverse=True))
# "a" counts only right before a scale word ("a hundred"); "and" only between number words;
# at most six words ("one hundred and twenty five" has four), which keeps matching linear.
EN_NUMBER_PATTERN = (
    rf"(?<![a-z])(?:a\s+(?=hundred|thousand))?(?:{_EN_WORD})"
    rf"(?:(?:[\s-]+|\s+and\s+)(?:{_EN_WORD})){{0,5}}(?![a-z])"
)
NUMBER_PATTERN = rf"(?:{DIGITS_PATTERN}|{ZH_NUMBER_PATTERN}|{EN_NUMBER_PATTERN})"

_DIGITS_RE = re.compile(r"^\d{1,7}(?:,\d{3})*(?:\.\d{1,2})?$")
_LARGEST = 1e9  # beyond any age or toy budget; larger "numbers" are noise, not amounts


def parse_chinese_number(text: str) -> int | None:
    """一百 → 100, 两百 → 200, 三十五 → 35, 一百五 → 150 (colloquial), 一万二千 → 12000."""
    if not text or text[0] == _ZH_WAN:
        return None
    if any(c not in _ZH_DIGITS and c not in _ZH_UNITS and c != _ZH_WAN for c in text):
        return None
    if all(c in _ZH_DIGITS for c in text):  # 二零二四: digit by digit, as prices are written
        return int("".join(str(_ZH_DIGITS[c]) for c in text)) if len(text) <= 7 else None
    total, section, digit, last_unit = 0, 0, None, 1
    for char in text:
        if char in _ZH_DIGITS:
            if digit is not None:
                return None  # two digits in a row (三四十) is a vague range, not a number
            digit = _ZH_DIGITS[char]
            if digit == 0:
                digit, last_unit = None, 1  # 一百零五: the zero means "no tens"
        elif char in _ZH_UNITS:
            section += (1 if digit is None else digit) * _ZH_UNITS[char]
            digit, last_unit = None, _ZH_UNITS[char]
        else:  # 万 closes a section
            total += (section + (digit or 0)) * 10_000
            section, digit, last_unit = 0, None, 1
    if digit is not None:
        # 一百五 is 150 and 两千五 is 2500: a trailing digit after 百/千 counts one place down
        # (after 十 or 零, last_unit is 10 or 1 and the digit is plain units).
        section += digit * (last_unit // 10 if last_unit >= 100 else 1)
    return total + section


def parse_english_number(text: str) -> int | None:
    """five → 5, twenty-five → 25, a hundred → 100, one hundred and fifty → 150."""
    words = [w for w in re.split(r"[\s-]+", text.strip().lower()) if w and w != "and"]
    if words and words[0] == "a":
        words[0] = "one"
    if not words:
        return None
    total, current = 0, 0
    for word in words:
        if word in _EN_VALUES:
            current += _EN_VALUES[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total, current = total + max(current, 1) * 1000, 0
        else:
            return None
    return total + current


def parse_number(text: str) -> float | None:
    """Any number this module knows, or ``None``; never a non-finite or absurdly large value."""
    text = text.strip()
    if _DIGITS_RE.match(text):
        value: float | None = float(text.replace(",", ""))
    else:
        value = parse_chinese_number(text)
        if value is None:
            value = parse_english_number(text)
    if value is None or value > _LARGEST or not math.isfinite(value):  # an int may not fit a float
        return None
    return float(value)


def alternation(words: Iterable[str]) -> str:
    """Regex alternation of ``words``, longest first; English words match whole words."""
    return "|".join(
        re.escape(w)
        if CJK.search(w) or not w[0].isalpha()
        else rf"(?<![a-z]){re.escape(w)}(?![a-z])"
        for w in sorted(words, key=len, reverse=True)
    )


# --- prices -----------------------------------------------------------------------------------
_NOT_MONEY = (  # a number followed by an age or a count is not a price
    r"(?!\s*-?\s*(?:周岁|岁|个|月|years?\b|yrs?\b|yo\b|y/o|months?\b|mos?\b|pieces?\b|pcs\b|%))"
)
_POST = alternation([*(w for w in CURRENCY_WORDS if w[0].isalpha() or CJK.search(w)), *PENCE_WORDS])
_CUE = rf"(?:(?P<cue>{alternation(BUDGET_CUES)})\s*(?:'s|is|of|:|是|在|大概|大约)?\s*)?"


def _amt(t: str) -> str:
    """An amount with optional currency marks; groups pre<t>, num<t>, post<t>."""
    number = rf"(?P<num{t}>{NUMBER_PATTERN}){_NOT_MONEY}"
    return rf"(?P<pre{t}>[$£€¥])?\s*{number}(?:\s*(?P<post{t}>{_POST}))?"


_OPS = {
    "max": (
        r"under|below|less than|no more than|not more than|not over|maximum|max|up to|at most|"
        r"within|cheaper than|<|不超过|不要超过|别超过|最多|不高于|低于|少于|不到|控制在",
        r"以内|以下|之内|内|maximum\b|max\b|or less|tops\b|or under",
    ),
    "min": (
        r"over|above|more than|at least|minimum|min|>|不低于|至少|高于|起码",
        r"以上|起|\+|or more",
    ),
    "around": (
        r"around|about|approximately|approx\.?|roughly|circa|~|大约|大概|差不多|约",
        r"左右|上下|-?ish\b|or so\b",
    ),
}  # fmt: skip
_TO = r"\s*(?:-|–|~|to|到|至)\s*"  # "and" joins a range only after "between"
_BUDGET_RES = [
    ("range", re.compile(rf"{_CUE}between\s+{_amt('1')}\s+and\s+{_amt('2')}")),
    ("range", re.compile(rf"{_CUE}(?:from\s+)?{_amt('1')}{_TO}{_amt('2')}(?:\s*之间)?")),
    *[(k, re.compile(rf"{_CUE}(?P<op>{pre})\s*{_amt('1')}")) for k, (pre, _) in _OPS.items()],
    *[(k, re.compile(rf"{_CUE}{_amt('1')}\s*(?P<op>{post})")) for k, (_, post) in _OPS.items()],
    ("bare", re.compile(rf"{_CUE}{_amt('1')}")),
]  # fmt: skip


def _money(kind: str, m: re.Match[str]) -> tuple[float | None, float | None, str | None] | None:
    """(min, max, currency) of one budget phrase, or None when its numbers are not money."""
    groups = m.groupdict()
    values = [parse_number(groups[f"num{t}"]) for t in "12" if groups.get(f"num{t}")]
    marks = [groups.get(f"{p}{t}") for t in "12" for p in ("pre", "post")]
    pence = any(c in PENCE_WORDS for c in marks if c)
    if pence:  # "50p": pounds are what the rest of the guide compares
        values = [None if v is None else v / 100 for v in values]
    currency = "GBP" if pence else next((CURRENCY_WORDS[c] for c in marks if c), None)
    op = groups.get("op") or ""
    evidence = currency or groups["cue"] or CJK.search(op) or m.group().endswith("之间")
    if not evidence and not (op and kind != "range" and (values[0] or 0) >= MIN_UNITLESS_PRICE):
        return None
    if any(v is None or v <= 0 or v > 1e6 for v in values):
        return None
    if currency is None and CJK.search(m.group()):
        currency = "CNY"  # 预算五百, 两百以内: Chinese budget talk is in yuan
    low, high = sorted(values) if kind == "range" else (values[0], values[0])
    if kind == "around":
        low, high = round(low * (1 - AROUND), 2), round(high * (1 + AROUND), 2)
    return (None if kind in ("max", "bare") else low), (None if kind == "min" else high), currency


def find_budget(text: str) -> tuple[Budget | None, list[tuple[int, int]]]:
    """The budget stated in normalised ``text``, and the spans it was read from."""
    low = high = currency = None
    spans = []
    for kind, pattern in _BUDGET_RES:
        for m in pattern.finditer(text):
            found = _money(kind, m)
            if found is None:
                continue
            spans.append(m.span())
            text = _blank(text, m.span())  # the next pattern must not read it again
            low = low if low is not None else found[0]  # the first statement of a bound wins
            high = high if high is not None else found[1]
            currency = currency or found[2]
    if low is None and high is None:
        return None, spans
    if low is not None and high is not None and low > high:
        low = None  # "at least $50 ... under $30": keep the cap, the safer of the two
    return Budget(low, high, currency), spans


# --- ages -----------------------------------------------------------------------------------
_N, _EN = NUMBER_PATTERN, EN_NUMBER_PATTERN
_Y, _M = r"(?:years?|yrs?|yo|y/o|y\.o\.?)", r"(?:months?|mos?|mths?)"
_OLD, _ZY, _AND = r"(?:[\s-]*olds?)?", r"(?:周岁|岁)", r"\s*(?:-|–|~|to|and|or|&|到|至)\s*"
_KIDS = (
    "kids|children|grandkids|grandchildren|grandsons|granddaughters|boys|girls|twins|sons|"
    "daughters|nieces|nephews"
)
_AGE_RULES = [  # (pattern, kind): earlier rules read first
    (r"(?P<a>[一二三四五六七八])(?P<b>[二三四五六七八九])\s*(?:周岁|岁)", "adjacent"),  # 五六岁
    (rf"(?P<a>{_N}){_AND}(?P<b>{_N})\s*-?\s*(?:个)?(?:{_M}|月){_OLD}", "months"),
    (rf"(?P<a>{_N}){_AND}(?P<b>{_N})\s*-?\s*(?:{_Y}|{_ZY}){_OLD}", "years"),
    (rf"\bage[sd]?\s+(?:between\s+|from\s+)?(?P<a>{_N}){_AND}(?P<b>{_N})(?![\d.])", "years"),
    (rf"\b(?:{_KIDS})(?:\s+are\s+|,\s*|\s*\(\s*|\s+)(?P<span>(?P<a>\d{{1,2}}|{_EN})\s*(?:and|&)\s*"
     rf"(?P<b>\d{{1,2}}|{_EN}))(?![\d.])", "years"),
    (rf"(?P<a>{_N})\s*{_ZY}(?:以下|以内|之内)", "under"),
    (rf"(?:under|below|younger than)\s+(?P<a>{_N})\s*(?:s\b|{_Y}{_OLD})", "under"),
    (rf"\b(?:kids|children|child|babies|toddlers|ages?)\s+(?:under|below)\s+(?P<a>{_N})(?![\d.])",
     "under"),
    (rf"(?P<a>{_N})\s*{_ZY}以上", "over"),
    (rf"(?P<a>{_N})\s*\+\s*(?:{_Y}{_OLD})?", "over"),
    (rf"(?:over|older than)\s+(?P<a>{_N})\s*{_Y}{_OLD}", "over"),
    (rf"(?P<a>{_N})\s*-?\s*(?:个多月|个月|{_M}){_OLD}", "month"),
    (rf"(?P<a>{_N})(?P<half>\s+and\s+a\s+half|½)?\s*-?\s*{_Y}{_OLD}", "year"),
    (rf"(?P<a>{_N})\s*{_ZY}(?P<half>半)?", "year"),
    (r"半岁", "half"),
    (rf"\b(?:aged?|turn(?:s|ed|ing)?|is|he's|she's|he is|she is|(?:boy|girl|kid|child)s? of"
     rf"(?: about| around)?)\s+(?P<span>(?P<a>\d{{1,2}}|{_EN}))(?!\.\d|\s*[$£€¥%+])", "year"),
    (r"\b(?:boy|girl|son|daughter|grandson|granddaughter|nephew|niece|kid|child)(?:,\s*|\s*\(\s*)"
     r"(?P<span>(?P<a>\d{1,2}))(?!\.\d)", "year"),
]  # fmt: skip
_AGE_RES = [(re.compile(p), kind) for p, kind in _AGE_RULES]


def _years(low: float, high: float) -> AgeRange | None:
    """Whole years span twelve months ("5" is 60–71); half years six ("5.5" is 66–71)."""
    if not 0 <= low <= high <= MAX_AGE_YEARS:
        return None
    top = round(12 * high) + (11 if high == int(high) else 5)
    return AgeRange(round(12 * low), top)


def _age_of(kind: str, m: re.Match[str]) -> AgeRange | None:
    if kind == "half":
        return AgeRange(6, 11)
    if kind == "adjacent":  # 五六岁 is five or six, not a number
        a, b = parse_number(m["a"]), parse_number(m["b"])
        return _years(a, b) if a is not None and b == a + 1 else None
    a = parse_number(m["a"])
    b = parse_number(m["b"]) if "b" in m.groupdict() else a
    if a is None or b is None or a > b:
        return None
    if kind in ("months", "month"):
        return AgeRange(round(a), round(b)) if b <= 12 * MAX_AGE_YEARS else None
    if kind == "year" and m.groupdict().get("half"):
        a = b = a + 0.5
    years = _years(a, b)
    if years is None or kind in ("year", "years"):
        return years
    return AgeRange(None, max(years.min - 1, 0)) if kind == "under" else AgeRange(years.min, None)


def find_ages(text: str) -> tuple[list[AgeRange], list[tuple[int, int]]]:
    """Every age stated with a number in normalised ``text``, and the spans read."""
    ages, spans = [], []
    for pattern, kind in _AGE_RES:
        for m in pattern.finditer(text):
            age = _age_of(kind, m)
            if age is not None:
                ages.append(age)
                spans.append(m.span("span" if m.groupdict().get("span") else 0))
                text = _blank(text, spans[-1])
    return ages, spans


_ORDINALS = "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth"
_ORDINAL_RE = re.compile(
    rf"(?:(?P<n>\d{{1,2}})(?:st|nd|rd|th)|(?P<w>{'|'.join(_ORDINALS.split())}))"
    r"(?=\s+(?:birthday|bday|b-day))"
)


def find_ordinal_ages(text: str) -> tuple[list[AgeRange], list[tuple[int, int]]]:
    """Ages from ordinal birthdays ("3rd birthday", "first birthday"); the word birthday
    itself is left for the occasion."""
    ages, spans = [], []
    for m in _ORDINAL_RE.finditer(text):
        years = int(m["n"]) if m["n"] else _ORDINALS.split().index(m["w"]) + 1
        age = _years(years, years)
        if age is not None:
            ages.append(age)
            spans.append(m.span())
    return ages, spans


def _blank(text: str, span: tuple[int, int]) -> str:
    start, end = span
    return text[:start] + "|" * (end - start) + text[end:]
