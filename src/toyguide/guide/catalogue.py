"""The shop's catalogue as the guide sees it: item views, stock, prices and hard filters."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import polars as pl

from toyguide.data.store import Store
from toyguide.data.taxonomy import AGE_BANDS, FUNCTIONS
from toyguide.guide.lexicon import FEATURE_TEXT, INTEREST_TERMS
from toyguide.guide.views import ItemView, PredictedAge

__all__ = [
    "AGE_CONFIDENCE",
    "MAX_PREDICTED_BANDS",
    "Catalogue",
    "predicted_range",
    "title_age",
]

# A predicted age range is the most likely band, widened by its likelier neighbour while the
# range holds less than AGE_CONFIDENCE of the probability, up to MAX_PREDICTED_BANDS bands:
# a range this wide still says something, and its probability is shown beside it.
AGE_CONFIDENCE = 0.6
MAX_PREDICTED_BANDS = 2


@dataclass
class Catalogue:
    """Item rows aligned with the model's item vocabulary (row 0 = padding, never shown)."""

    ids: list[str]
    views: list[ItemView | None]
    price: np.ndarray  # [N+1] NaN when unknown
    age_min: np.ndarray  # [N+1] NaN when unknown
    age_max: np.ndarray  # [N+1] NaN when unknown (open-ended counts as 1200 months)
    functions: np.ndarray  # [N+1, F] bool, known labels only
    in_stock: np.ndarray  # [N+1] bool (unknown stock counts as in stock)
    currency: list[str | None]
    age_in_title: np.ndarray | None = None  # [N+1] bool: the age range read from the title
    not_toy: np.ndarray | None = None  # [N+1] bool: the shop files it under no toy function
    predicted_age: np.ndarray | None = None  # [N+1] bool: age range from the attributes head
    age_probability: np.ndarray | None = None  # [N+1] probability of the predicted range
    predicted_functions: np.ndarray | None = None  # [N+1] bool: functions from the head
    texts: list[str] | None = None  # [N+1] title, description and category path, lower-case
    _titled: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _mentioned: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @cached_property
    def main_currency(self) -> str | None:
        """The currency most prices are in: what a budget without a currency is read in."""
        counts = Counter(c for c in self.currency if c is not None)
        return max(counts, key=counts.__getitem__) if counts else None

    @cached_property
    def rows_by_currency(self) -> dict[str | None, np.ndarray]:
        """The rows priced in each currency (None: unknown), so that a budget converts one
        rate per currency, not one per toy."""
        codes = np.array(self.currency, dtype=object)
        return {c: np.flatnonzero(codes == c) for c in set(self.currency)}

    def row(self, item_id: str) -> int:
        """The catalogue row of ``item_id`` (KeyError when unknown)."""
        return self._row_of[item_id]

    @cached_property
    def _row_of(self) -> dict[str, int]:
        return {item_id: i for i, item_id in enumerate(self.ids) if i}

    def serves(self, label: str, with_title: bool = False) -> np.ndarray:
        """[N+1] bool: the toy serves ``label`` by its stated or predicted functions, or — with
        ``with_title`` — by a lexicon term of that label in its title ("plush", "积木")."""
        out = self.functions[:, FUNCTIONS.index(label)].copy()
        return out | self._in_title(label) if with_title else out

    @cached_property
    def gender_targets(self) -> np.ndarray:
        """[N+1] str: each toy's gender target ("girl", "boy", "unisex"; "" unknown)."""
        return np.array([(v.gender_target or "") if v else "" for v in self.views], dtype=object)

    def serves_any(self, labels: Iterable[str]) -> np.ndarray:
        """[N+1] bool: the toy serves one of ``labels`` (``serves`` with its title); all
        False for none."""
        out = np.zeros(len(self.ids), dtype=bool)
        for label in labels:
            out |= self.serves(label, with_title=True)
        return out

    def serves_by_shop(self, label: str) -> np.ndarray:
        """[N+1] bool: the shop's own data says the toy serves ``label`` (a stated function or
        a lexicon term in its title); predictions left out."""
        stated = self.functions[:, FUNCTIONS.index(label)]
        if self.predicted_functions is not None:
            stated = stated & ~self.predicted_functions
        return stated | self._in_title(label)

    def has_feature(self, feature: str) -> np.ndarray:
        """[N+1] bool: the toy's title, description or category says it has ``feature``
        (``lexicon.FEATURE_TEXT``: "batteries", "noise")."""
        if feature not in self._mentioned:
            texts = self.texts or [(v.title or "").lower() if v else "" for v in self.views]
            pattern = _words_re(FEATURE_TEXT[feature])
            self._mentioned[feature] = np.array([bool(pattern.search(t)) for t in texts])
        return self._mentioned[feature]

    def warm(self) -> None:
        """Compute now what the first request needing each would otherwise compute, each a
        scan of the catalogue: every label's title matches, every feature's text matches and
        the lookup tables."""
        for label in FUNCTIONS:
            self._in_title(label)
        for feature in FEATURE_TEXT:
            self.has_feature(feature)
        for table in ("main_currency", "rows_by_currency", "_row_of", "gender_targets"):
            getattr(self, table)

    def _in_title(self, label: str) -> np.ndarray:
        if label not in self._titled:
            self._titled[label] = _titled(self.views, label)
        return self._titled[label]

    def fill_predictions(self, age_band: np.ndarray | None, functions: np.ndarray | None) -> None:
        """Where the shop states no age range or functions, use the model's: the predicted age
        range (``predicted_range`` of the band probabilities [N+1, bands]) and functions with
        probability > 0.5 ([N+1, F]); None = the model has no such prediction, the shop's
        values stay as they are."""
        if age_band is not None:
            self._fill_age(age_band)
        if functions is not None:
            self._fill_functions(functions)

    def _fill_age(self, band_probs: np.ndarray) -> None:
        self.predicted_age = np.isnan(self.age_min)
        self.predicted_age[0] = False
        ranges = [predicted_range(p) for p in band_probs]
        lo = np.array([r[0] for r in ranges], dtype=np.float64)
        hi = np.array([r[1] for r in ranges], dtype=np.float64)
        self.age_min = np.where(self.predicted_age, lo, self.age_min)
        self.age_max = np.where(self.predicted_age, hi, self.age_max)
        self.age_probability = np.where(self.predicted_age, [r[2] for r in ranges], np.nan)
        self.views = [_with_prediction(v, ranges[i]) if self.predicted_age[i] else v
                      for i, v in enumerate(self.views)]  # fmt: skip

    def _fill_functions(self, functions: np.ndarray) -> None:
        unknown = ~self.functions.any(1) & np.array([v is None or not v.functions
                                                      for v in self.views])  # fmt: skip
        unknown[0] = False
        self.predicted_functions = unknown
        self.functions = np.where(unknown[:, None], functions > 0.5, self.functions)

    @classmethod
    def from_store(cls, store: Store, item_ids: list[str]) -> Catalogue:
        items = store.frame("items")
        stock = store.query(
            "SELECT item_id, arg_max(stock_on_hand, week) AS stock FROM sales GROUP BY item_id"
        )
        frame = pl.DataFrame({"item_id": item_ids}).join(items, on="item_id", how="left")
        frame = frame.join(stock, on="item_id", how="left")
        views = [None] + [_view(r) for r in frame.iter_rows(named=True)]
        n = len(item_ids) + 1
        functions = np.zeros((n, len(FUNCTIONS)), dtype=bool)
        for row, labels in enumerate(frame["functions"].to_list(), start=1):
            for label in labels or ():
                functions[row, FUNCTIONS.index(label)] = True
        age_min = _column(frame, "age_min_months")
        age_max = np.where(
            np.isnan(age_min), np.nan, np.nan_to_num(_column(frame, "age_max_months"), nan=1200.0)
        )
        in_title = np.isnan(age_min) & _title_ages(views, age_min, age_max)
        return cls(
            ids=["", *item_ids],
            views=views,
            price=_column(frame, "price"),
            age_min=age_min,
            age_max=age_max,
            age_in_title=in_title,
            functions=functions,
            in_stock=np.concatenate([[False], ~(frame["stock"].fill_null(1.0) <= 0).to_numpy()]),
            currency=[None, *frame["currency"].to_list()],
            texts=["", *(_text(r) for r in frame.iter_rows(named=True))],
            # an empty list is the shop saying "none of these" (party supplies), null unknown
            not_toy=np.array([False] + [f is not None and not len(f)
                                        for f in frame["functions"].to_list()]),
        )  # fmt: skip


def _column(frame: pl.DataFrame, name: str) -> np.ndarray:
    values = frame[name].cast(pl.Float64).fill_null(float("nan")).to_numpy()
    return np.concatenate([[np.nan], values])


def _view(row: dict) -> ItemView:
    return ItemView(
        item_id=row["item_id"], title=row["title"], brand=row["brand"], price=row["price"],
        currency=row["currency"], age_min_months=row["age_min_months"],
        age_max_months=row["age_max_months"], gender_target=row["gender_target"],
        functions=list(row["functions"] or []), categories=list(row["categories"] or []),
        stock_on_hand=row["stock"],
    )  # fmt: skip


def predicted_range(probs: np.ndarray) -> tuple[int, int, float]:
    """(min_months, max_months inclusive, probability) of the predicted age range of one toy
    from its age-band probabilities (see AGE_CONFIDENCE)."""
    lo = hi = int(np.argmax(probs))
    while hi - lo + 1 < MAX_PREDICTED_BANDS and probs[lo : hi + 1].sum() < AGE_CONFIDENCE:
        left = probs[lo - 1] if lo > 0 else -1.0
        right = probs[hi + 1] if hi + 1 < len(probs) else -1.0
        lo, hi = (lo - 1, hi) if left > right else (lo, hi + 1)
    top = min(AGE_BANDS[hi].max_months, 1200) - 1
    return AGE_BANDS[lo].min_months, top, round(float(probs[lo : hi + 1].sum()), 4)


# Ages a product title states, read strictly (titles are full of other numbers: "1:64
# scale", "Pack of 36", "300+ beads"): a range or an open "N+" with its unit, or "age N+".
_UNIT_Y, _UNIT_M = r"(?:years?|yrs?)\b", r"(?:months?|mths?)\b"
_TITLE_AGES = [  # (pattern, months per unit, open-ended)
    (re.compile(rf"\b(\d{{1,2}})\s*(?:-|–|to)\s*(\d{{1,2}})\s*{_UNIT_Y}"), 12, False),
    (re.compile(rf"\b(\d{{1,2}})\s*(?:-|–|to)\s*(\d{{1,2}})\s*{_UNIT_M}"), 1, False),
    (re.compile(rf"\b(\d{{1,2}})\s*{_UNIT_M}\s*(?:\+|plus|and up|and over)"), 1, True),
    (
        re.compile(rf"\b(\d{{1,2}})\s*(?:\+\s*{_UNIT_Y}|{_UNIT_Y}\s*(?:\+|plus|and up|and over))"),
        12,
        True,
    ),
    (re.compile(r"\bage[sd]?\s*(\d{1,2})\s*(?:-|–|to)\s*(\d{1,2})\b"), 12, False),
    (re.compile(r"\bage[sd]?\s*(\d{1,2})\s*(?:\+|plus|and up|and over)"), 12, True),
]
# A title naming grown-ups and no children as its wearers or players ("Adult Fancy Dress",
# "Ladies Costume") states an age too: 18 and up ("adult supervision" names who watches, and
# "for adults and children" is for everyone).
_FOR_ADULTS = re.compile(r"\b(?:adults?|ladies|women|womens|women's)(?![\w'])(?!\s+supervision)")
_FOR_CHILDREN = re.compile(r"\b(?:kids?|child|children|childrens|junior|boys?|girls?|family)\b")


def title_age(title: str) -> tuple[int, int] | None:
    """(min, max) months of the age a product title states ("Age 8+", "3-6 years"), or None;
    an open range ends at 1200 months."""
    text = unicodedata.normalize("NFKC", title).lower()
    for pattern, unit, open_ended in _TITLE_AGES:
        if m := pattern.search(text):
            low = int(m[1]) * unit
            high = 1200 if open_ended else int(m[2]) * unit + (11 if unit == 12 else 0)
            return (low, high) if high >= low else None
    if _FOR_ADULTS.search(text) and not _FOR_CHILDREN.search(text):
        return 216, 1200
    return None


def _title_ages(views: list[ItemView | None], age_min: np.ndarray, age_max: np.ndarray):
    """Where the shop gives no age field, the age its title states; fills ``age_min`` and
    ``age_max`` in place and returns [N+1] bool where it did."""
    found = np.zeros(len(views), dtype=bool)
    for row, view in enumerate(views):
        if view is None or not view.title or not np.isnan(age_min[row]):
            continue
        if (age := title_age(view.title)) is not None:
            age_min[row], age_max[row], found[row] = *age, True
    return found


def _with_prediction(view: ItemView | None, found: tuple[int, int, float]) -> ItemView | None:
    return None if view is None else replace(view, predicted_age=PredictedAge(*found))


# Request words that mean something else in a product title: "steam" (STEAM education) is
# mostly a steam engine there.
_NOT_IN_TITLES = frozenset({"steam"})


def _words_re(terms: Iterable[str]) -> re.Pattern[str]:
    """Any of ``terms``, longest first: English ones as whole words with an optional plural.
    The English ones share one word-boundary check around their alternation: a boundary check
    per term made the engine test each term's lookbehind at every character (0.7 s for one
    feature over a 12,000-toy catalogue's texts; 16x less this way, the same matches)."""
    ordered = sorted(terms, key=len, reverse=True)
    english = "|".join(re.escape(t) for t in ordered if t.isascii())
    parts = [re.escape(t) for t in ordered if not t.isascii()]
    if english:
        parts.append(rf"(?<![a-z0-9])(?:{english})(?:s|es)?(?![a-z0-9])")
    return re.compile("|".join(parts))


def _text(row: dict) -> str:
    parts = [row["title"], row.get("description"), " > ".join(row["categories"] or [])]
    return " \n ".join(p for p in parts if p).lower()


def _titled(views: list[ItemView | None], label: str) -> np.ndarray:
    """[N+1] bool: the title holds a lexicon term of ``label`` (whole English words)."""
    pattern = _words_re(set(INTEREST_TERMS[label]) - _NOT_IN_TITLES)
    return np.array([v is not None and bool(pattern.search((v.title or "").lower()))
                     for v in views])  # fmt: skip
