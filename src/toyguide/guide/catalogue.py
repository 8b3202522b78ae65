"""The shop's catalogue as the guide sees it: item views, stock, prices and hard filters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from toyguide.data.store import Store
from toyguide.data.taxonomy import FUNCTIONS
from toyguide.guide.request import GuideRequest
from toyguide.guide.views import ItemView

__all__ = ["Catalogue"]


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
    predicted_age: np.ndarray | None = None  # [N+1] bool: age range from the attributes head
    predicted_functions: np.ndarray | None = None  # [N+1] bool: functions from the head

    def fill_predictions(self, age_band: np.ndarray | None, functions: np.ndarray | None) -> None:
        """Where the shop states no age range or functions, use the model's: the band with the
        highest probability ([N+1] indices) and functions with probability > 0.5 ([N+1, F]);
        None = the model has no such prediction, the shop's values stay as they are."""
        if age_band is not None:
            self._fill_age(age_band)
        if functions is not None:
            self._fill_functions(functions)

    def _fill_age(self, age_band: np.ndarray) -> None:
        from toyguide.data.taxonomy import AGE_BANDS

        self.predicted_age = np.isnan(self.age_min)
        self.predicted_age[0] = False
        lo = np.array([AGE_BANDS[b].min_months for b in age_band], dtype=np.float64)
        hi = np.array([min(AGE_BANDS[b].max_months, 1200) - 1 for b in age_band], dtype=np.float64)
        self.age_min = np.where(self.predicted_age, lo, self.age_min)
        self.age_max = np.where(self.predicted_age, hi, self.age_max)

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
        return cls(
            ids=["", *item_ids],
            views=views,
            price=_column(frame, "price"),
            age_min=_column(frame, "age_min_months"),
            age_max=np.where(
                np.isnan(_column(frame, "age_min_months")), np.nan,
                np.nan_to_num(_column(frame, "age_max_months"), nan=1200.0),
            ),
            functions=functions,
            in_stock=np.concatenate([[False], ~(frame["stock"].fill_null(1.0) <= 0).to_numpy()]),
            currency=[None, *frame["currency"].to_list()],
        )  # fmt: skip

    def allowed(self, request: GuideRequest | None) -> np.ndarray:
        """[N+1] bool: in stock, within budget and age, nothing excluded. Unknown price or age
        passes (the reasons then say it is unknown); row 0 never does."""
        ok = self.in_stock.copy()
        ok[0] = False
        if request is None:
            return ok
        if request.budget is not None:
            price = np.nan_to_num(self.price, nan=0.0)
            if request.budget.max is not None:
                ok &= price <= request.budget.max
            if request.budget.min is not None:
                ok &= np.isnan(self.price) | (price >= request.budget.min)
        if request.age_months is not None:
            lo = request.age_months.min if request.age_months.min is not None else 0
            hi = request.age_months.max if request.age_months.max is not None else 1200
            known = ~np.isnan(self.age_min)
            ok &= ~known | ((self.age_min <= hi) & (self.age_max >= lo))
        for label in request.exclude:
            ok &= ~self.functions[:, FUNCTIONS.index(label)]
        return ok


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
