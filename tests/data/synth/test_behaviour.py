"""The shop behaves as designed: ages, genders, interests, prices, seasons, sales = events."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from toyguide.data.synth import SynthShop
from toyguide.data.taxonomy import age_band_index


@pytest.fixture(scope="module")
def purchases(shop: SynthShop) -> pl.DataFrame:
    """Purchases with the buyer's true child and the toy's true attributes."""
    tr = shop.truth
    return (
        shop.frames["events"]
        .filter(pl.col("kind") == "purchase")
        .join(tr["shopper_truth"], on="shopper_id")
        .join(tr["item_truth"], on="item_id")
        .with_columns(
            age=((pl.col("ts").cast(pl.Date) - pl.col("child_birth_date")).dt.total_days())
            .clip(0)
            .truediv(365.25 / 12)
        )
    )


def test_purchases_concentrate_on_age_appropriate_toys(purchases: pl.DataFrame) -> None:
    fits = purchases["age"].is_between(purchases["age_min_months"], purchases["age_max_months"] + 1)
    assert fits.mean() > 0.85


def test_gender_target_effect(purchases: pl.DataFrame) -> None:
    share = purchases.group_by("child_gender").agg(
        girl_toys=(pl.col("gender_target") == "girl").mean(),
        boy_toys=(pl.col("gender_target") == "boy").mean(),
    )
    s = {r["child_gender"]: r for r in share.iter_rows(named=True)}
    assert s["girl"]["girl_toys"] > 4 * s["boy"]["girl_toys"]
    assert s["boy"]["boy_toys"] > 4 * s["girl"]["boy_toys"]


def test_purchases_follow_interests(purchases: pl.DataFrame) -> None:
    match = purchases.select(
        pl.col("functions").list.set_intersection(pl.col("interests")).list.len() > 0
    ).to_series()
    assert match.mean() > 0.5  # far above the ~15% a random toy would match


def test_price_sensitive_shoppers_pay_less(purchases: pl.DataFrame) -> None:
    by_level = (
        purchases.with_columns(rel=pl.col("price_paid") / pl.col("list_price"))
        .group_by("price_sensitivity")
        .agg(pl.col("price_paid").log().mean())
        .sort("price_sensitivity")
    )
    paid = by_level["price_paid"].to_list()
    assert paid[0] > paid[-1] + 0.1


def test_prices_are_lognormal_per_function(shop: SynthShop) -> None:
    med = shop.truth["item_truth"].group_by("primary_function").agg(pl.col("list_price").median())
    m = dict(zip(med["primary_function"], med["list_price"], strict=True))
    assert m["science_stem"] > 1.8 * m["baby_sensory"]


def test_children_age_over_the_weeks(shop: SynthShop) -> None:
    c = shop.config
    births = shop.truth["shopper_truth"]["child_birth_date"]
    first = (c.start_date - births).dt.total_days().clip(0) / (365.25 / 12)
    last = (c.end_date - dt.timedelta(days=1) - births).dt.total_days() / (365.25 / 12)
    bands_first = np.array([age_band_index(a) for a in first])
    bands_last = np.array([age_band_index(a) for a in last])
    assert (bands_last >= bands_first).all()
    assert (bands_last > bands_first).mean() > 0.15  # a year moves many children up a band


def test_christmas_peak(shop: SynthShop) -> None:
    weekly = shop.frames["sales"].group_by("week").agg(pl.col("units").sum())
    december = weekly.filter((pl.col("week").dt.month() == 12) & (pl.col("week").dt.day() <= 21))[
        "units"
    ].mean()
    mid_year = weekly.filter(pl.col("week").dt.month().is_in([6, 7, 8]))["units"].mean()
    assert december > 1.8 * mid_year
    singles = weekly.filter(pl.col("week") == dt.date(2025, 11, 10))["units"].item()
    assert singles > 1.3 * mid_year


def test_sales_are_the_weekly_sum_of_purchases(shop: SynthShop) -> None:
    buys = (
        shop.frames["events"]
        .filter(pl.col("kind") == "purchase")
        .group_by("item_id", week=pl.col("ts").dt.truncate("1w").cast(pl.Date))
        .agg(
            bought=pl.col("value").sum(),
            paid=(pl.col("value") * pl.col("price_paid")).sum(),
            max_price=pl.col("price_paid").max(),
            min_price=pl.col("price_paid").min(),
        )
    )
    sales = shop.frames["sales"].join(buys, on=["item_id", "week"], how="left").fill_null(0)
    assert sales["bought"].sum() == buys["bought"].sum()  # no purchase outside a sales row
    assert (sales["units"] == sales["bought"]).all()
    assert np.allclose(sales["revenue"], sales["paid"], atol=0.01)
    sold = sales.filter(pl.col("units") > 0)
    assert (sold["min_price"] == sold["price"]).all() and (sold["max_price"] == sold["price"]).all()
    assert (shop.frames["sales"]["stock_on_hand"] >= 0).all()


def test_promotions_cut_the_price(shop: SynthShop) -> None:
    sales = shop.frames["sales"].join(shop.truth["item_truth"], on="item_id")
    promo = sales.filter("promo")
    assert 0.02 < promo.height / sales.height < 0.15
    assert (promo["price"] < promo["list_price"]).all()
    assert (
        sales.filter(~pl.col("promo"))["price"] == sales.filter(~pl.col("promo"))["list_price"]
    ).all()


def test_demand_truth_is_the_mean_of_sales(shop: SynthShop) -> None:
    joined = shop.frames["sales"].join(shop.truth["demand_truth"], on=["item_id", "week"])
    assert joined.height == shop.frames["sales"].height
    assert joined["units"].sum() == pytest.approx(joined["expected_units"].sum(), rel=0.06)
    per_item = joined.group_by("item_id").agg(pl.col("units", "expected_units").sum())
    corr = np.corrcoef(per_item["units"], per_item["expected_units"])[0, 1]
    assert corr > 0.95
    weekly = joined.group_by("week").agg(pl.col("units", "expected_units").sum())
    assert np.corrcoef(weekly["units"], weekly["expected_units"])[0, 1] > 0.9
    # Units are compound Poisson (quantity 1 + Poisson(0.2)): variance = 1.37 x mean.
    e, u = joined["expected_units"].to_numpy(), joined["units"].to_numpy()
    dispersion = np.mean((u - e) ** 2 / e)
    assert 1.1 < dispersion < 1.7
