"""Week-by-week simulation of the event funnel, vectorised over shoppers and events.

One Python iteration per week; within a week every shopper's views, motives, toys, funnel
steps and timestamps are numpy arrays. The same loop computes the exact expected units per toy
and week (see :mod:`toyguide.data.synth.model`), which is the demand truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toyguide.data.synth import model as m
from toyguide.data.synth.catalogue import Catalogue
from toyguide.data.synth.config import SynthConfig
from toyguide.data.synth.season import demand_season, function_season, promo_plan, week_days
from toyguide.data.synth.shoppers import MAX_INTERESTS, Shoppers
from toyguide.data.taxonomy import EVENT_KINDS, FUNCTIONS

__all__ = ["Simulated", "simulate"]

VIEW, CLICK, CART, PURCHASE, RATING = (
    EVENT_KINDS.index(k) for k in ("view", "click", "cart", "purchase", "rating")
)
_STEPS = (VIEW, CLICK, CART, PURCHASE, RATING)  # funnel order
_F, _T = len(FUNCTIONS), len(m.SENSITIVITY)
_NOVELTY, _NOVELTY_WEEKS = 1.0, 6.0  # a new toy's extra appeal, decaying over weeks
_PROMO_APPEAL = 1.5  # promoted toys are shown more
_DAY_START_S, _DAY_SPAN_S = 7 * 3600, 15 * 3600  # shoppers browse between 07:00 and 22:00
_GAPS_S = ((5, 300), (10, 900), (30, 1800), (60, 1800))  # view→click→cart→purchase→rating


@dataclass
class Simulated:
    """Everything the simulation drew: events as parallel arrays, and [toy, week] matrices."""

    shopper: np.ndarray  # int32 shopper number
    item: np.ndarray  # int32 toy number
    ts: np.ndarray  # int64 microseconds since 1970
    kind: np.ndarray  # int8 index into EVENT_KINDS
    value: np.ndarray  # float64, NaN where empty
    price_paid: np.ndarray  # float64, NaN where empty
    units: np.ndarray  # [toy, week] units sold (sum of purchase quantities)
    expected_units: np.ndarray  # [toy, week] the Poisson mean the units were drawn from
    price: np.ndarray  # [toy, week] price charged
    promo: np.ndarray  # [toy, week] bool
    weeks: np.ndarray  # day numbers of the Mondays


@dataclass(frozen=True)
class _Tables:
    """Static per-run tables of the choice model."""

    fit: np.ndarray  # [age bin * 2 + gender, toy] age fit x gender fit
    function_fit: np.ndarray  # [function, toy]
    motive: np.ndarray  # [age bin * 2 + gender, function] default motive
    appeal: np.ndarray  # [toy, week] popularity x season x novelty x launched x promo
    base_rate: float  # views per shopper-week at activity 1 and season 1


def simulate(
    config: SynthConfig, cat: Catalogue, shoppers: Shoppers, rng: np.random.Generator
) -> Simulated:
    """Run every week; the draws happen in a fixed order, so a seed fixes the result."""
    weeks = week_days(config.start_date, config.n_weeks)
    promo, discount = promo_plan(weeks, len(cat), config.promo_rate, rng)
    price = np.round(cat.price[:, None] * (1 - discount), 2)
    tables = _tables(cat, weeks, promo, config.events_per_shopper_week)
    season = demand_season(weeks)
    parts, units = [], np.zeros((len(cat), len(weeks)))
    expected = np.zeros_like(units)
    for w, day in enumerate(weeks):
        events, units[:, w], expected[:, w] = _week(
            w, int(day), season[w], tables, cat, shoppers, price[:, w], rng
        )
        parts.append(events)
    columns = [np.concatenate(c) for c in zip(*parts, strict=True)]
    return Simulated(*columns, units, expected, price, promo, weeks)


def _tables(cat: Catalogue, weeks: np.ndarray, promo: np.ndarray, per_week: float) -> _Tables:
    age = m.age_fit(cat.age_min, cat.age_max)  # [bins, toy]
    gender = m.GENDER_FIT[:, cat.gender]  # [2, toy]
    fit = (age[:, None, :] * gender[None, :, :]).reshape(m.N_AGE_BINS * 2, len(cat))
    function_fit = np.where(cat.functions.T, 1.0, m.OFF_FUNCTION)
    since = np.arange(len(weeks))[None, :] - cat.launch_week[:, None]  # [toy, week]
    is_new = (cat.launch_week > 0)[:, None]
    novelty = 1 + is_new * _NOVELTY * np.exp(-since.clip(0, None) / _NOVELTY_WEEKS)
    appeal = (
        cat.popularity[:, None]
        * function_season(weeks)[cat.primary]
        * novelty
        * (since >= 0)  # no views before launch
        * np.where(promo, _PROMO_APPEAL, 1.0)
    )
    # Mean events per view, to turn events per shopper-week into views per shopper-week.
    q = m.buy_probability(cat.quality, cat.price, cat.reference_price)  # [levels, toy]
    q_mean = float(m.SENSITIVITY_SHARE @ (q @ cat.popularity) / cat.popularity.sum())
    buy = m.C_CLICK * m.C_CART * q_mean
    per_view = 1 + m.C_CLICK + m.C_CLICK * m.C_CART + buy * (1 + m.C_RATE)
    return _Tables(fit, function_fit, m.default_motive(), appeal, per_week / per_view)


def _week(
    w: int,
    day: int,
    season: float,
    tables: _Tables,
    cat: Catalogue,
    shoppers: Shoppers,
    price: np.ndarray,
    rng: np.random.Generator,
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """One week: (event columns sorted by time, units per toy, expected units per toy)."""
    segment = m.age_bins(shoppers.age_months(day + 3)) * 2 + shoppers.gender  # age at mid-week
    rate = tables.base_rate * season * shoppers.activity  # expected views per shopper
    weights = tables.fit[:, None, :] * tables.function_fit[None, :, :] * tables.appeal[:, w]
    weights = weights.reshape(-1, len(cat))  # [segment * function, toy]
    buy = m.buy_probability(cat.quality, price, cat.reference_price)  # [level, toy]
    mass = _view_mass(segment, rate, shoppers, tables.motive)
    expected = _expected_units(weights, mass, buy)
    shopper, k, item = _draw_views(segment, rate, weights, shoppers, tables.motive, rng)
    events = _funnel(shopper, k, item, shoppers.sensitivity, cat.quality, buy, price, day, rng)
    bought = events[3] == PURCHASE
    units = np.bincount(events[1][bought], weights=events[4][bought], minlength=len(cat))
    return events, units, expected


def _view_mass(
    segment: np.ndarray, rate: np.ndarray, shoppers: Shoppers, motive: np.ndarray
) -> np.ndarray:
    """[segment * function, level] expected views with each motive, by sensitivity level."""
    n_seg = len(motive)
    level = shoppers.sensitivity
    mass = np.zeros(n_seg * _F * _T)
    share = rate * m.MOTIVE_INTEREST / shoppers.n_interests
    for j in range(MAX_INTERESTS):  # interest-driven views, split evenly over the interests
        f = shoppers.interests[:, j]
        ok = f >= 0
        key = ((segment * _F + f) * _T + level)[ok]
        mass += np.bincount(key, weights=share[ok], minlength=len(mass))
    other = np.bincount(
        segment * _T + level, weights=rate * (1 - m.MOTIVE_INTEREST), minlength=n_seg * _T
    ).reshape(n_seg, 1, _T)
    mass = mass.reshape(n_seg, _F, _T) + other * motive[:, :, None]
    return mass.reshape(n_seg * _F, _T)


def _expected_units(weights: np.ndarray, mass: np.ndarray, buy: np.ndarray) -> np.ndarray:
    """[toy] sum over segments of views x P(toy | segment) x P(purchase) x mean quantity."""
    views = (mass / weights.sum(axis=1, keepdims=True)).T @ weights  # [level, toy]
    per_view = m.C_CLICK * m.C_CART * (1 + m.MEAN_EXTRA_QTY)
    return per_view * (views * buy).sum(axis=0)


def _draw_views(
    segment: np.ndarray,
    rate: np.ndarray,
    weights: np.ndarray,
    shoppers: Shoppers,
    motive: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each view's shopper, its number among the shopper's views this week, and its toy."""
    counts = rng.poisson(rate)
    shopper = np.repeat(np.arange(len(rate), dtype=np.int32), counts)
    k = np.arange(len(shopper)) - np.repeat(np.cumsum(counts) - counts, counts)
    by_interest = rng.random(len(shopper)) < m.MOTIVE_INTEREST
    j = (rng.random(len(shopper)) * shoppers.n_interests[shopper]).astype(np.int64)
    seg = segment[shopper]
    other = m.sample_rows(motive, seg, rng.random(len(shopper)))
    f = np.where(by_interest, shoppers.interests[shopper, j], other)
    item = m.sample_rows(weights, seg * _F + f, rng.random(len(shopper)))
    return shopper, k, item.astype(np.int32)


def _funnel(
    shopper: np.ndarray,
    k: np.ndarray,
    item: np.ndarray,
    level: np.ndarray,
    quality: np.ndarray,
    buy: np.ndarray,
    price: np.ndarray,
    day: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, ...]:
    """Views → clicks → carts → purchases → ratings, as event columns sorted by time.

    Timestamps are whole seconds after the view plus ``k`` microseconds: a shopper's views in
    a week have distinct ``k``, so (shopper, toy, ts, kind) is unique by construction, and every
    step stays inside the week it was viewed in (so a purchase counts in that week's sales).
    """
    n = len(shopper)
    offset = rng.integers(0, 7, n) * 86_400 + _DAY_START_S + rng.integers(0, _DAY_SPAN_S, n)
    offsets = [offset]
    for lo, hi in _GAPS_S:
        offsets.append(offsets[-1] + rng.integers(lo, hi + 1, n))
    click = np.flatnonzero(rng.random(n) < m.C_CLICK)
    cart = click[rng.random(len(click)) < m.C_CART]
    bought = cart[rng.random(len(cart)) < buy[level[shopper[cart]], item[cart]]]
    rated = bought[rng.random(len(bought)) < m.C_RATE]
    quantity = 1.0 + rng.poisson(m.MEAN_EXTRA_QTY, len(bought))
    noise = rng.normal(0.0, 0.9, len(rated))
    stars = np.clip(np.rint(1 + 4 * quality[item[rated]] + noise), 1, 5)
    rows = [np.arange(n), click, cart, bought, rated]
    idx = np.concatenate(rows)
    kind = np.concatenate(
        [np.full(len(r), code, np.int8) for code, r in zip(_STEPS, rows, strict=True)]
    )
    seconds = np.concatenate([offsets[step][r] for step, r in enumerate(rows)])
    empty = np.full(n + len(click) + len(cart), np.nan)
    value = np.concatenate([empty, quantity, stars])
    paid = np.concatenate([empty, price[item[bought]], np.full(len(rated), np.nan)])
    ts = (day * 86_400 + seconds) * 1_000_000 + k[idx]
    order = np.argsort(ts, kind="stable")
    return shopper[idx][order], item[idx][order], ts[order], kind[order], value[order], paid[order]
