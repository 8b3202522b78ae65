"""The sales matrices' summary features: what a K-week window cannot show, from weeks before
the origin only."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from toyguide.features.sales import SUMMARY_FEATURES, build_sales, summary_features
from toyguide.features.vocab import Vocabulary

MONDAY = dt.date(2024, 1, 1)
COLUMN = {name: i for i, name in enumerate(SUMMARY_FEATURES)}


def _sales(units: dict[str, list[float]]) -> pl.DataFrame:
    rows = [
        {"item_id": item, "week": MONDAY + dt.timedelta(weeks=w), "units": u, "price": None,
         "promo": False, "stock_on_hand": None}
        for item, weeks in units.items() for w, u in enumerate(weeks) if u is not None
    ]  # fmt: skip
    return pl.DataFrame(rows)


# "a" sells from week 0; "b" launches in week 3 and sells every other week
UNITS = {"a": [4, 0, 0, 8, 0, 2, 0, 0, 6, 0, 0, 0], "b": [None] * 3 + [1, 0, 3, 0, 5, 0, 7, 0, 9]}


def _build(units: dict[str, list[float]]):
    vocab = Vocabulary.fit(["a", "b"])
    items = pl.DataFrame({"item_id": ["a", "b"], "price": [1.0, 1.0]})
    return build_sales(_sales(units), items, vocab, horizon=2), vocab


@pytest.fixture()
def data():
    return _build(UNITS)


def test_levels_intermittency_and_recency_use_the_weeks_before_the_origin_only(data) -> None:
    sales, vocab = data
    a, b = vocab.transform(pl.Series(["a", "b"]))
    got = summary_features(sales, np.array([a, b]), np.array([9, 9]), np.array([2.0, 1.0]))
    # a: weeks 0..8 sum 20 over 9 weeks; b: weeks 3..8 sum 9 over 6 weeks on sale
    np.testing.assert_allclose(got[:, COLUMN["log1p_level_13_over_scale"]],
                               [np.log1p(20 / 9 / 2), np.log1p(9 / 6)], rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(got[:, COLUMN["nonzero_share_26"]], [4 / 9, 3 / 6], rtol=1e-6)
    # a last sold in week 8 (0 weeks before origin 9), b in week 7 (1 week)
    np.testing.assert_allclose(got[:, COLUMN["weeks_since_sale"]], [0, np.log1p(1) / np.log1p(52)],
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(got[:, COLUMN["weeks_on_sale"]],
                               np.log1p([9, 6]) / np.log1p(52), rtol=1e-6)  # fmt: skip
    # weeks from the origin on do not change the features
    changed, _ = _build({item: [*u[:9], 50, 50, 50] for item, u in UNITS.items()})
    again = summary_features(changed, np.array([a, b]), np.array([9, 9]), np.array([2.0, 1.0]))
    np.testing.assert_array_equal(got, again)


def test_the_shop_trend_compares_its_last_four_weeks_with_longer_windows(data) -> None:
    sales, _ = data
    got = summary_features(sales, np.array([0]), np.array([12]), np.array([1.0]))
    store = sales.units.sum(axis=0)
    expected = np.log(store[8:12].mean() / store[:12].mean())  # 12 weeks < the 13-week window
    np.testing.assert_allclose(got[0, COLUMN["store_trend_4_13"]], expected, rtol=1e-6)
    # row 0 (a new toy) has no level and never sold
    assert got[0, COLUMN["log1p_level_26_over_scale"]] == 0
    assert got[0, COLUMN["weeks_since_sale"]] == 1 and got[0, COLUMN["weeks_on_sale"]] == 0


def test_an_origin_at_the_start_or_past_the_data_is_clipped_not_an_error(data) -> None:
    sales, vocab = data
    a = vocab.transform(pl.Series(["a"]))
    start = summary_features(sales, a, np.array([0]), np.array([1.0]))
    assert np.isfinite(start).all() and start[0, COLUMN["store_trend_4_52"]] == 0
    past = summary_features(sales, a, np.array([12]), np.array([1.0]))
    beyond = summary_features(sales, a, np.array([14]), np.array([1.0]))
    np.testing.assert_array_equal(past, beyond)
