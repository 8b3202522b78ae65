"""Rule-based request parser for English and Chinese (and mixed) shopper requests.

Slots are taken from the text one kind at a time; each match is blanked out (``|``), so a
later rule cannot read the same words twice and the leftovers become the keywords. Order:
ordinal birthdays → occasion → budget → numeric ages → gender → interests (with negation) →
age words → dialogue cues → keywords → embedding fallback on the leftovers (optional).

Conventions (also what ``tests/guide/requests.jsonl`` is annotated with):

* Age: "5 years" is 60–71 months; "N and a half"/"N岁半" is 12N+6..12N+11; "18 months" is
  18–18; a range "3到6岁" is 36–83; "under 3"/"3岁以下" is max 35; "8+"/"3岁以上" is min only.
  Several ages (siblings) give their span. Words (toddler 12–35, newborn 0–2, baby 0–11,
  teen 156–215, 幼儿园 36–83, …) count only when no number does. "turning 7"/"快七岁" is 7.
* Budget: a bare amount or "budget X" is a maximum; "around X"/"X左右" is X ± 20 %
  (``numbers.AROUND``); the currency is null unless stated, except that a Chinese budget phrase
  implies CNY. A number needs a currency, a budget word or a bound word (``under``, 以内)
  to count as money; "under N" without any of them is money only from 20 up (younger is an
  age: "kids under 3"). Contradictory bounds keep the maximum.
* Gender: child nouns and relatives; pronouns only when no noun decides; both → null.
  "my sister's son" is a boy: a relative followed by 's/的 and a child noun is the giver's.
* Interests/exclude: lexicon terms (plurals and small misspellings too). A negation cue
  ("no", "not", "不要", "别") negates the terms after it up to the end of its clause or a
  positive cue, or a 的 before a kind of toy ("不要电池的玩具车": a toy car, no batteries);
  a clause-final cue ("不感兴趣", "不要了") negates backwards. A label named
  both ways stays an interest only: exclusion is a hard filter and would drop what the
  shopper also asked for. Words under a negation never become keywords.
* Avoid: features a toy must not have (``lexicon.AVOID_TERMS``: batteries, noise), read only
  under a negation ("no batteries", "不要电动的") and not as a degree ("not too loud").
* Keywords: leftover English words minus stop words; leftover Chinese runs after a
  dictionary-based forward maximum matching drops stop words (single characters drop).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from toyguide.guide import lexicon as lx
from toyguide.guide.numbers import CJK as _CJK
from toyguide.guide.numbers import (
    EN_NUMBER_WORDS,
    alternation,
    find_ages,
    find_budget,
    find_ordinal_ages,
)
from toyguide.guide.request import AgeRange, GuideRequest, avoid_order, taxonomy_order

__all__ = ["MAX_TEXT_CHARS", "LabelMatcher", "ParsedTurn", "parse", "parse_turn"]

MAX_TEXT_CHARS = 2000  # longer input is read up to here: parsing stays bounded per request
_T = TypeVar("_T")
SEP = "|"  # what blanks out text already read; numbers.find_* blank with the same
_FILLER = re.compile(r"^(?:[\s|了的吧啦呀啊哦呢]|please)*$")


class LabelMatcher(Protocol):
    """What the parser needs of the embedding fallback (``semantic.SemanticMatcher``)."""

    def match(self, phrases: list[str]) -> list[str | None]: ...


@dataclass(frozen=True)
class ParsedTurn:
    """A request plus the dialogue cues of its text ("cheaper", "大一点的", "also ...")."""

    request: GuideRequest
    cheaper: bool = False
    dearer: bool = False
    older: bool = False
    younger: bool = False
    additive: bool = False


def parse(text: str, semantic: LabelMatcher | None = None) -> GuideRequest:
    """Slots of one request; ``semantic`` maps leftover words to labels when rules run out."""
    return parse_turn(text, semantic).request


def parse_turn(text: str, semantic: LabelMatcher | None = None) -> ParsedTurn:
    """``parse`` plus the dialogue cues of the text (what ``Dialogue`` needs); never raises."""
    s = _Scratch(_normalize(text))
    ages, first_birthday = _first_birthdays(s)
    occasion = _occasion(s) or first_birthday
    budget = s.take_found(find_budget(s.text))
    ages += s.take_found(find_ages(s.text))
    gender = _gender(s)
    negated = _negation_mask(s.text)
    liked, disliked = _interests(s, negated)
    avoid = _avoided(s, negated)
    word_ages = _take_terms(s, _AGE_WORD_RE, lx.AGE_WORDS)
    age = _span(ages) or _span([AgeRange(*a) for _, a in word_ages])
    cues = {name: bool(_take_terms(s, pattern, {})) for name, pattern in _CUE_RES.items()}
    keywords, phrases = _keywords(s, negated)
    if semantic is not None and phrases:
        liked |= {label for label in semantic.match(phrases) if label and label not in disliked}
    request = GuideRequest(
        age, gender, budget, taxonomy_order(liked), taxonomy_order(disliked - liked), occasion,
        tuple(keywords), avoid,
    )  # fmt: skip
    return ParsedTurn(request, additive=bool(_ADDITIVE_RE.search(s.original)), **cues)


class _Scratch:
    """The text being parsed, with the parts already read blanked out by ``SEP``."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.text = text

    def take(self, start: int, end: int) -> None:
        self.text = self.text[:start] + SEP * (end - start) + self.text[end:]

    def take_found(self, found: tuple[_T, list[tuple[int, int]]]) -> _T:
        """Blank out the spans a ``numbers.find_*`` read; return what it found."""
        for start, end in found[1]:
            self.take(start, end)
        return found[0]


def _normalize(text: str) -> str:
    """NFKC folds full-width forms (，＄１) into ASCII; runs of blanks become one space, which
    also keeps every optional-space regex linear."""
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).lower()
    text = text.replace("’", "'").replace("‘", "'").replace("、", " ")
    text = _SLANG_RE.sub(lambda m: lx.SLANG_AMOUNTS[m.group()], text)
    return re.sub(r"\n+", "\n", re.sub(r"[^\S\n]+", " ", text)).replace(SEP, " ")


_SLANG_RE = re.compile(alternation(lx.SLANG_AMOUNTS))


def _term_re(terms: Iterable[str]) -> re.Pattern[str]:
    """Longest terms first; English ones as whole words with an optional plural."""
    parts = []
    for term in sorted(set(terms), key=len, reverse=True):
        escaped = re.escape(term)
        parts.append(
            escaped if _CJK.search(term) else rf"(?<![a-z0-9]){escaped}(?:s|es)?(?![a-z0-9])"
        )
    return re.compile("|".join(parts))


def _lookup(table: Mapping[str, object], word: str) -> object | None:
    """The value of ``word`` or of its English singular; ``None`` for words that block a
    shorter term (马上 is not 马)."""
    if word in table:
        return table[word]
    for suffix in ("s", "es"):
        if word.endswith(suffix) and word[: -len(suffix)] in table:
            return table[word[: -len(suffix)]]
    return None


def _take_terms(s: _Scratch, pattern: re.Pattern[str], table: Mapping) -> list[tuple[int, object]]:
    """(position, value) of every term found, each blanked out."""
    found = []
    for m in pattern.finditer(s.text):
        found.append((m.start(), _lookup(table, m.group())))
        s.take(m.start(), m.end())
    return found


# --- fuzzy matching of misspelt English words (dinosours, puzzels, chrismas) ----------------
def _osa(a: str, b: str) -> int:
    """Optimal-string-alignment distance: edits plus adjacent swaps."""
    prev2, prev = [], list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def _fuzzy(s: _Scratch, table: Mapping[str, object], min_len: int) -> list[tuple[int, object]]:
    """Leftover words within 1 edit (2 from 9 letters) of exactly one table word; misspellings
    rarely change the first letter, which keeps the search small."""
    found = []
    for m in re.finditer(r"[a-z][a-z'-]+", s.text):
        word = m.group()
        if len(word) < min_len or word in _STOP_EN or _lookup(table, word) is not None:
            continue
        limit = 1 if len(word) < 9 else 2
        hits = {
            table[key]
            for key in table
            if key[0] == word[0] and abs(len(key) - len(word)) <= limit and " " not in key
            for form in (key, key + "s")
            if _osa(word, form) <= limit
        }
        if len(hits) == 1:
            found.append((m.start(), hits.pop()))
            s.take(m.start(), m.end())
    return found


# --- occasion and first birthdays -------------------------------------------------------------
_OCCASION_RE = _term_re(lx.OCCASION_WORDS)
_ZH_FIRST_BIRTHDAY = re.compile(r"(?<![\d零〇一二两三四五六七八九十百])周岁|抓周")


def _first_birthdays(s: _Scratch) -> tuple[list[AgeRange], str | None]:
    """Ages of ordinal birthdays ("3rd birthday"); 周岁/抓周 without a number: a first one."""
    ages, spans = find_ordinal_ages(s.text)
    for span in spans:
        s.take(*span)
    zh = list(_ZH_FIRST_BIRTHDAY.finditer(s.text))
    for m in zh:
        ages.append(AgeRange(12, 23))
        s.take(m.start(), m.end())
    return ages, "birthday" if zh else None


def _occasion(s: _Scratch) -> str | None:
    found = _take_terms(s, _OCCASION_RE, lx.OCCASION_WORDS) + _fuzzy(s, lx.OCCASION_WORDS, 6)
    return str(min(found, key=lambda f: f[0])[1]) if found else None


def _span(ages: list) -> AgeRange | None:
    """The span of several ages (siblings); an open bound stays open."""
    ages = [a for a in ages if a is not None]
    if not ages:
        return None
    lows, highs = [a.min for a in ages], [a.max for a in ages]
    return AgeRange(None if None in lows else min(lows), None if None in highs else max(highs))


# --- gender ---------------------------------------------------------------------------------
_GENDER_RE = _term_re(lx.GENDER_WORDS)
_PRONOUN_RE = re.compile(
    "|".join(rf"(?<![a-z]){re.escape(p)}(?![a-z'])" if p.isascii() else p + "(?!们)"
             for p in sorted(lx.PRONOUNS, key=len, reverse=True))
)  # fmt: skip
_POSSESSIVE = re.compile(rf"^(?:'s\s+(?:[a-z]+\s+)?|的)(?:{alternation(lx.CHILD_NOUNS)})")


def _gender(s: _Scratch) -> str | None:
    genders = set()
    for m in _GENDER_RE.finditer(s.text):
        if not _POSSESSIVE.match(s.text[m.end() :]):  # "my sister's son": not the sister
            genders.add(_lookup(lx.GENDER_WORDS, m.group()))
        s.take(m.start(), m.end())
    genders |= {g for _, g in _fuzzy(s, lx.GENDER_WORDS, 7)}
    if not genders:
        genders = {lx.PRONOUNS[m.group()] for m in _PRONOUN_RE.finditer(s.text)}
    return str(genders.pop()) if len(genders) == 1 else None


# --- negation and interests -----------------------------------------------------------------
def _cue_roles() -> dict[str, set[str]]:
    """Cue word -> its roles; 不要 both negates forwards and, clause-final, backwards."""
    roles: dict[str, set[str]] = {}
    for role, words in (
        ("neg", lx.NEGATION_CUES),
        ("post", lx.POST_NEGATION_CUES),
        ("pos", lx.POSITIVE_CUES),
        ("neutral", lx.NEUTRAL_CUES),
    ):
        for word in words:
            roles.setdefault(word, set()).add(role)
    return roles


_ROLES = _cue_roles()
_CUE_RE = re.compile(alternation(_ROLES))


def _negation_mask(text: str) -> list[bool]:
    """True where a character is under a negation (see the module docstring)."""
    mask = [False] * len(text)
    start = 0
    for end in [*(i for i, c in enumerate(text) if c in lx.CLAUSE_BREAKS), len(text)]:
        scope, since_positive = None, start
        for m in _CUE_RE.finditer(text, start, end):
            roles = _ROLES[m.group()]
            closes = scope is not None and roles & {"pos", "neg", "post"}
            if closes:
                mask[scope : m.start()] = [True] * (m.start() - scope)
                scope = None
            if "post" in roles and _FILLER.match(text[m.end() : end]):
                mask[since_positive : m.start()] = [True] * (m.start() - since_positive)
            elif "neg" in roles:
                scope = m.end()
            elif "pos" in roles:
                since_positive = m.end()
        if scope is not None:
            stop = _modified_kind(text, scope, end)
            mask[scope:stop] = [True] * (stop - scope)
        start = end + 1
    return mask


def _modified_kind(text: str, scope: int, end: int) -> int:
    """Where a negation's scope ends in its clause: at a 的 before a kind of toy, since
    the negated words then only describe it ("不要电池的玩具车" asks for a toy car without
    batteries), else at the clause's end."""
    for de in _DE_RE.finditer(text, scope, end):
        cue = _CUE_RE.search(text, de.end(), end)
        phrase_end = cue.start() if cue else end
        kinds = _INTEREST_RE.finditer(text, de.end(), phrase_end)
        if any(kind.group() not in lx.NOT_INTERESTS for kind in kinds):
            return de.start()
    return end


_INTEREST_TABLE = {t: label for label, terms in lx.INTEREST_TERMS.items() for t in terms}
_INTEREST_RE = _term_re([*_INTEREST_TABLE, *lx.NOT_INTERESTS])
_DE_RE = re.compile(r"的\s*")


def _interests(s: _Scratch, negated: list[bool]) -> tuple[set[str], set[str]]:
    """(liked, disliked) labels."""
    found = _take_terms(s, _INTEREST_RE, _INTEREST_TABLE) + _fuzzy(s, _INTEREST_TABLE, 5)
    liked = {str(label) for pos, label in found if label and not negated[pos]}
    return liked, {str(label) for pos, label in found if label and negated[pos]}


_AVOID_TABLE = {t: feature for feature, terms in lx.AVOID_TERMS.items() for t in terms}
_AVOID_RE = _term_re(_AVOID_TABLE)
# "not too loud", "不要太吵": a degree asked for, not a feature ruled out
_DEGREE_RE = re.compile(r"(?:(?<![a-z])(?:too|overly|very|so)\s+|太|过于|特别)$")


def _avoided(s: _Scratch, negated: list[bool]) -> tuple[str, ...]:
    """Features ruled out ("no batteries", "不要电池"); said without a negation they are
    neither wanted nor unwanted and stay in the text."""
    found = []
    for m in _AVOID_RE.finditer(s.text):
        if negated[m.start()] and not _DEGREE_RE.search(s.text[: m.start()]):
            found.append(_lookup(_AVOID_TABLE, m.group()))
            s.take(m.start(), m.end())
    return avoid_order(str(f) for f in found if f)


# --- dialogue cues and keywords -------------------------------------------------------------
_AGE_WORD_RE = _term_re(lx.AGE_WORDS)
_CUE_RES = {
    "cheaper": _term_re(lx.CHEAPER_CUES),
    "dearer": _term_re(lx.DEARER_CUES),
    "older": _term_re(lx.OLDER_CUES),
    "younger": _term_re(lx.YOUNGER_CUES),
}
_ADDITIVE_RE = re.compile(alternation(lx.ADDITIVE_CUES).replace("还", "还(?!是)"))
_ALL_CUES = [*_ROLES, *lx.ADDITIVE_CUES, "感兴趣"]
_STOP_EN = lx.STOP_WORDS_EN | EN_NUMBER_WORDS | {w for w in _ALL_CUES if not _CJK.search(w)}
_ZH_VOCAB = {w: True for w in [*lx.STOP_WORDS_ZH, *filter(_CJK.search, _ALL_CUES)]}
_ZH_VOCAB |= {w: False for w in [*lx.CONTENT_WORDS_ZH, *filter(_CJK.search, _INTEREST_TABLE)]}
_ZH_LONGEST = max(map(len, _ZH_VOCAB))
_GENERIC = lx.GENERIC_WORDS_EN
_CONTRACTION = re.compile(r"'(?:s|d|ll|re|ve|m)$")  # she'd is she: a stop word


def _zh_words(run: str, offset: int) -> list[tuple[int, str]]:
    """Forward maximum matching: known words are taken whole (stop words dropped); runs of
    unknown characters are kept as words when two characters or longer."""
    out, i, unknown = [], 0, 0
    while i < len(run):
        n = next((n for n in range(min(_ZH_LONGEST, len(run) - i), 0, -1)
                  if run[i : i + n] in _ZH_VOCAB), 0)  # fmt: skip
        if n and i - unknown >= 2:
            out.append((offset + unknown, run[unknown:i]))
        if n and not _ZH_VOCAB[run[i : i + n]]:
            out.append((offset + i, run[i : i + n]))
        i, unknown = (i + n, i + n) if n else (i + 1, unknown)
    if i - unknown >= 2:
        out.append((offset + unknown, run[unknown:]))
    return out


def _keywords(s: _Scratch, negated: list[bool]) -> tuple[list[str], list[str]]:
    """Keywords in text order, and the English leftover phrases for the embedding fallback."""
    words: list[tuple[int, int, str]] = []
    for m in re.finditer(r"[a-z][a-z'-]*[a-z]|[\u3400-\u9fff]+", s.text):
        if _CJK.match(m.group()):
            words += [(p, p + len(w), w) for p, w in _zh_words(m.group(), m.start())]
        elif (w := _CONTRACTION.sub("", m.group())) not in _STOP_EN and len(w) > 1:
            words.append((m.start(), m.end(), w))
    words = [w for w in words if not negated[w[0]]]
    return list(dict.fromkeys(w for _, _, w in words)), _phrases(s.text, words)


def _phrases(text: str, words: list[tuple[int, int, str]]) -> list[str]:
    """Runs of English keywords not parted by a slot, a clause break or Chinese text, with
    the small words between them kept ("spaceships and planets") for the sentence encoder."""
    spans: list[list[int]] = []
    for start, end, word in words:
        if _CJK.search(word):
            continue
        gap = text[spans[-1][1] : start] if spans else SEP
        if SEP in gap or _CJK.search(gap) or any(c in lx.CLAUSE_BREAKS for c in gap):
            spans.append([start, end])
        else:
            spans[-1][1] = end
    phrases = (" ".join(w for w in text[a:b].split() if w not in _GENERIC) for a, b in spans)
    return list(dict.fromkeys(phrases))
