"""The merchant's morning: the whole catalogue's coming weeks in one answer.

Every toy is forecast once per loaded model (``CatalogueForecast``: the model and the weekly
sales it read do not change while it is served), exactly as ``Guide.forecast`` forecasts one
toy; each overview then plans all toys at once with ``inventory.plan_many`` and picks its rows
with numpy, so a request costs a few array passes, not a model call per toy.

What the overview shows, and how each list is chosen:

* **at risk**: stock on hand + on order is below the reorder point, i.e. below the lead-time
  demand at the service level (the same policy and numbers as ``plan_inventory``), most urgent
  (fewest weeks of cover) first. These toys are the **reorder list**, with the quantity that
  brings the inventory position up to the order-up-to level.
* **top sellers**: the largest expected units over the next ``OUTLOOK_WEEKS`` weeks (sum of the
  weekly means), with an 80% interval for that total from the same normal fit as the inventory
  plan (weeks independent; P10 floored at 0).
* **slow movers**: stock that lasts more than ``SLOW_COVER_WEEKS`` weeks at the expected weekly
  demand, or toys in stock with no demand expected at all (listed first).

Stock on hand is the latest the store knows per toy; toys without one are left out of the
at-risk and slow lists (never guessed), and the answer says how many that is. The store holds
no quantities on order, so on order counts as 0 and the answer says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from toyguide.data.store import Store
from toyguide.guide.catalogue import Catalogue
from toyguide.guide.inventory import Z_P90, PlanArrays, plan_many, week_sigma
from toyguide.guide.loaded import LoadedModel, sales_forecasts
from toyguide.guide.views import Segment

__all__ = [
    "OUTLOOK_WEEKS",
    "RECENT_WEEKS",
    "SLOW_COVER_WEEKS",
    "CatalogueForecast",
    "MerchantOverview",
    "OverviewRow",
    "ToyMatch",
    "build_overview",
    "find_by_title",
    "forecast_catalogue",
    "region_segments",
    "reorder_rows",
]

OUTLOOK_WEEKS = 4  # "the next 4 weeks" of the top sellers (fewer when the model forecasts fewer)
RECENT_WEEKS = 4  # actual units sold in the last weeks of history, shown beside each forecast
SLOW_COVER_WEEKS = 12.0  # more than a quarter's worth of stock is slow
_CHUNK = 1024  # toys per model call: bounded memory on a 100k-toy catalogue
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class OverviewRow:
    """One toy in an overview table (and a line of the reorder list)."""

    item_id: str
    title: str | None
    stock_on_hand: float | None  # latest known; None = unknown
    on_order: float
    sold_recently: float  # actual units sold in the last RECENT_WEEKS weeks of history
    expected_units: float  # Σ weekly mean over the outlook weeks
    p10: float  # 80% interval of the outlook total (normal fit, weeks independent)
    p50: float
    p90: float
    lead_time_demand: float  # Σ weekly P50 over the lead time
    reorder_point: float  # lead-time demand + z·σ over the lead time
    order_quantity: float | None  # up to the order-up-to level; None when stock is unknown
    weeks_of_cover: float | None  # stock / mean weekly P50; None: no demand or stock unknown


@dataclass(frozen=True)
class MerchantOverview:
    as_of: str  # ISO Monday of the last week of sales history
    outlook_weeks: list[str]  # ISO Mondays the top sellers' totals cover
    lead_time_weeks: int
    review_weeks: int
    service_level: float
    toys: int
    stock_known: int  # toys with a known stock on hand
    at_risk_count: int  # all at-risk toys; ``at_risk`` holds the first ``limit``
    slow_mover_count: int
    at_risk: list[OverviewRow]
    top_sellers: list[OverviewRow]
    slow_movers: list[OverviewRow]
    segments: list[Segment]
    segments_source: str | None  # "profile" (predicted), "region" (from the store) or None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ToyMatch:
    """A toy found by its title or id, out of stock or not."""

    item_id: str
    title: str | None
    stock_on_hand: float | None
    sold_recently: float
    expected_units: float  # over the outlook weeks


@dataclass(frozen=True)
class CatalogueForecast:
    """Every catalogue toy's forecast and stock, row i = the item vocabulary's row i + 1."""

    ids: pl.Series  # [N] str
    titles: pl.Series  # [N] str, null when unknown
    p10: np.ndarray  # [N, H] units, rounded as Guide.forecast rounds them
    p50: np.ndarray  # [N, H]
    p90: np.ndarray  # [N, H]
    mean: np.ndarray  # [N, H] expected units
    stock: np.ndarray  # [N] latest known stock on hand, NaN when unknown
    sold_recently: np.ndarray  # [N] units in the last RECENT_WEEKS weeks of history
    as_of: dt.date  # Monday of the last history week
    searchable: pl.Series  # [N] lower-cased "id title", for find_by_title

    @property
    def outlook(self) -> int:
        return min(OUTLOOK_WEEKS, self.p50.shape[1])

    def outlook_mean(self) -> np.ndarray:
        return self.mean[:, : self.outlook].sum(1)


def forecast_catalogue(loaded: LoadedModel, catalogue: Catalogue) -> CatalogueForecast:
    """Forecast every toy of ``catalogue`` (the model's item rows 1..N) in chunks."""
    n = len(catalogue.ids) - 1
    starts = range(1, n + 1, _CHUNK)
    parts = [sales_forecasts(loaded, np.arange(s, min(s + _CHUNK, n + 1))) for s in starts]
    q = np.concatenate([p[0] for p in parts]).round(3)  # [N, H, 3]
    mean = np.concatenate([p[1] for p in parts]).round(3)  # [N, H]
    views = catalogue.views[1:]
    stock = np.array([np.nan if v is None or v.stock_on_hand is None else v.stock_on_hand
                      for v in views], dtype=np.float64)  # fmt: skip
    ids = pl.Series("item_id", catalogue.ids[1:], dtype=pl.String)
    titles = pl.Series("title", [v.title if v else None for v in views], dtype=pl.String)
    sales = loaded.data.of("sales")
    return CatalogueForecast(
        ids=ids, titles=titles, p10=q[..., 0], p50=q[..., 1], p90=q[..., 2], mean=mean,
        stock=stock,
        sold_recently=sales.units[1:, -RECENT_WEEKS:].sum(1).astype(np.float64),
        as_of=_EPOCH + dt.timedelta(days=int(sales.mondays[-1])),
        searchable=(ids + " " + titles.fill_null("")).str.to_lowercase(),
    )  # fmt: skip


def _plan(book: CatalogueForecast, lead: int, level: float, review: int) -> PlanArrays:
    return plan_many(
        book.p10, book.p50, book.p90, lead_time_weeks=lead, service_level=level,
        review_weeks=review, stock_on_hand=book.stock, on_order=np.zeros(len(book.stock)),
    )  # fmt: skip


def _at_risk_order(book: CatalogueForecast, plan: PlanArrays) -> np.ndarray:
    """Rows whose inventory position is below the reorder point, fewest weeks of cover first
    (no cover figure = no demand expected, last), larger orders first among equals."""
    known = ~np.isnan(book.stock)
    position = np.where(known, book.stock, np.inf)  # + on order, which is 0 (not in the store)
    rows = np.flatnonzero(position < plan.reorder_point)
    cover = np.nan_to_num(plan.weeks_of_cover[rows], nan=np.inf)
    return rows[np.lexsort((-plan.order_quantity[rows], cover))]


def _slow_order(book: CatalogueForecast, plan: PlanArrays) -> np.ndarray:
    """Rows in stock covering more than SLOW_COVER_WEEKS, longest cover first (no demand
    expected counts as endless cover), more stock first among equals."""
    cover = np.nan_to_num(plan.weeks_of_cover, nan=np.inf)
    rows = np.flatnonzero((np.nan_to_num(book.stock) > 0) & (cover > SLOW_COVER_WEEKS))
    return rows[np.lexsort((-book.stock[rows], -cover[rows]))]


def _outlook_interval(book: CatalogueForecast) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P10, P50, P90 of each toy's outlook total: Σ P50 ± z₀.₉·√(Σ σ²), floored at 0."""
    w = book.outlook
    mid = book.p50[:, :w].sum(1)
    spread = Z_P90 * np.sqrt(np.square(week_sigma(book.p10[:, :w], book.p90[:, :w])).sum(1))
    return np.maximum(mid - spread, 0.0), mid, mid + spread


def _rows(book: CatalogueForecast, plan: PlanArrays, picked: np.ndarray) -> list[OverviewRow]:
    low, mid, high = _outlook_interval(book)
    expected = book.outlook_mean()
    ids, titles = book.ids.to_list(), book.titles
    return [
        OverviewRow(
            item_id=ids[i], title=titles[int(i)], stock_on_hand=_maybe(book.stock[i]),
            on_order=0.0, sold_recently=round(float(book.sold_recently[i]), 3),
            expected_units=_round(expected[i]), p10=_round(low[i]), p50=_round(mid[i]),
            p90=_round(high[i]), lead_time_demand=_round(plan.lead_time_demand[i]),
            reorder_point=_round(plan.reorder_point[i]),
            order_quantity=_maybe(plan.order_quantity[i]),
            weeks_of_cover=_maybe(plan.weeks_of_cover[i]),
        )
        for i in picked.tolist()
    ]  # fmt: skip


def _round(value: float) -> float:
    return round(float(value), 3)


def _maybe(value: float) -> float | None:
    return None if np.isnan(value) else _round(value)


def build_overview(
    book: CatalogueForecast, *, lead_time_weeks: int, service_level: float, review_weeks: int,
    limit: int, segments: list[Segment], segments_source: str | None,
) -> MerchantOverview:  # fmt: skip
    """The overview's lists, each cut to ``limit`` rows (counts say how many there are)."""
    plan = _plan(book, lead_time_weeks, service_level, review_weeks)
    at_risk, slow = _at_risk_order(book, plan), _slow_order(book, plan)
    top = np.argsort(-book.outlook_mean(), kind="stable")[:limit]
    mondays = [book.as_of + dt.timedelta(weeks=h + 1) for h in range(book.outlook)]
    return MerchantOverview(
        as_of=book.as_of.isoformat(), outlook_weeks=[d.isoformat() for d in mondays],
        lead_time_weeks=lead_time_weeks, review_weeks=review_weeks, service_level=service_level,
        toys=len(book.ids), stock_known=int((~np.isnan(book.stock)).sum()),
        at_risk_count=len(at_risk), slow_mover_count=len(slow),
        at_risk=_rows(book, plan, at_risk[:limit]), top_sellers=_rows(book, plan, top),
        slow_movers=_rows(book, plan, slow[:limit]), segments=segments,
        segments_source=segments_source, notes=_notes(book, segments_source),
    )  # fmt: skip


def reorder_rows(
    book: CatalogueForecast, *, lead_time_weeks: int, service_level: float, review_weeks: int
) -> list[OverviewRow]:
    """Every at-risk toy, most urgent first: the reorder list."""
    plan = _plan(book, lead_time_weeks, service_level, review_weeks)
    return _rows(book, plan, _at_risk_order(book, plan))


def _notes(book: CatalogueForecast, segments_source: str | None) -> list[str]:
    known, n = int((~np.isnan(book.stock)).sum()), len(book.ids)
    notes = []
    if known == 0:
        notes.append(
            "The store holds no stock on hand for any toy, so none can be shown at risk or "
            "slow and the reorder list is empty. Load stock counts as sales rows with "
            "stock_on_hand (toyguide ingest sales FILE) to see them."
        )
    elif known < n:
        notes.append(
            f"Stock on hand is known for {known:,} of {n:,} toys; the others are left out of "
            "the at-risk and slow-mover lists."
        )
    if known:
        notes.append("The store holds no quantities on order: on order counts as 0.")
    if segments_source == "region":
        notes.append(
            "This model has no shopper-profile task (the store knows no children's ages, "
            "genders or interests): shoppers are grouped by region instead."
        )
    elif segments_source is None:
        notes.append("No shopper segments: no profile task, and no shopper has a region.")
    return notes


def find_by_title(book: CatalogueForecast, query: str, k: int) -> list[ToyMatch]:
    """Toys whose title or id holds every word of ``query`` (any case), in or out of stock:
    the exact id first, then titles that start with the query, then by expected units."""
    words = query.lower().split()
    if not words:
        return []
    hit = np.ones(len(book.ids), dtype=bool)
    for word in words:  # a handful of words, each one vectorised pass over the catalogue
        hit &= book.searchable.str.contains(word, literal=True).to_numpy()
    rows = np.flatnonzero(hit)
    phrase = " ".join(words)
    exact = (book.ids[rows].str.to_lowercase() == phrase).to_numpy()
    starts = book.titles[rows].str.to_lowercase().str.starts_with(phrase).fill_null(False)
    expected = book.outlook_mean()
    order = np.lexsort((-expected[rows], ~starts.to_numpy(), ~exact))
    ids = book.ids
    return [
        ToyMatch(ids[i], book.titles[i], _maybe(book.stock[i]),
                 round(float(book.sold_recently[i]), 3), _round(expected[i]))
        for i in rows[order[:k]].tolist()
    ]  # fmt: skip


def region_segments(store: Store, top: int) -> list[Segment]:
    """Shoppers grouped by their stored region, largest first (share of shoppers with a
    region; events per shopper over all of them): the segments of a shop without a profile
    task. Reads the store: hold the store lock."""
    rows = store.query(
        "SELECT s.region AS segment, count(*) AS shoppers, avg(coalesce(e.n, 0)) AS mean_events, "
        "sum(count(*)) OVER () AS total FROM shoppers s "
        "LEFT JOIN (SELECT shopper_id, count(*) AS n FROM events GROUP BY 1) e USING (shopper_id) "
        "WHERE s.region IS NOT NULL GROUP BY 1 ORDER BY shoppers DESC, segment LIMIT ?",
        [top],
    )
    return [
        Segment(r["segment"], r["shoppers"], round(float(r["shoppers"] / r["total"]), 4),
                round(float(r["mean_events"]), 2))
        for r in rows.iter_rows(named=True)
    ]  # fmt: skip
