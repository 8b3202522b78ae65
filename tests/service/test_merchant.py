"""The merchant's morning on a small real shop (UCI Online Retail's best-selling toys, with a
made-up stock-take): each number of the overview, the CSV and the search checked against the
single-toy routes' own computation, toy by toy."""

from __future__ import annotations

import csv
import io
import math

import pytest
from fastapi.testclient import TestClient

from toyguide.service import create_app
from toyguide.service.settings import Settings

from .conftest import MERCHANT, MERCHANT_AUTH, UciServed

shared_data = pytest.mark.shared_data
LEAD, LEVEL = 2, 0.95


@pytest.fixture(scope="module")
def uci_client(uci_served: UciServed, uci_guide) -> TestClient:
    settings = Settings(model_dir=uci_served.run, store=uci_served.store, merchant_token=MERCHANT)
    return TestClient(create_app(settings, uci_guide))


@pytest.fixture(scope="module")
def plans(uci_guide, uci_served: UciServed) -> dict:
    """Every toy's plan from the single-toy path: its forecast, then plan_inventory."""
    return {item: uci_guide.plan_inventory(item, LEAD, LEVEL) for item in uci_served.stock}


def overview(client: TestClient, **params) -> dict:
    answer = client.get("/v1/merchant/overview", params=params, headers=MERCHANT_AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


@shared_data
def test_at_risk_toys_are_those_below_their_reorder_point(uci_client, plans, uci_served):
    body = overview(uci_client, lead_time_weeks=LEAD, service_level=LEVEL, limit=200)
    expected = {i for i, p in plans.items() if p.stock_on_hand < p.reorder_point}
    assert expected and {r["item_id"] for r in body["at_risk"]} == expected
    assert body["at_risk_count"] == len(expected)
    covers = [r["weeks_of_cover"] for r in body["at_risk"]]
    assert covers == sorted(covers, key=lambda c: math.inf if c is None else c)
    for row in body["at_risk"]:
        plan = plans[row["item_id"]]
        assert row["stock_on_hand"] == uci_served.stock[row["item_id"]] == plan.stock_on_hand
        assert row["reorder_point"] == pytest.approx(plan.reorder_point, abs=1e-3)
        assert row["order_quantity"] == pytest.approx(plan.order_quantity, abs=1e-3)
        assert row["on_order"] == 0.0
    assert body["stock_known"] == body["toys"] == len(uci_served.stock)
    assert "on order counts as 0" in " ".join(body["notes"])


@shared_data
def test_top_sellers_sum_the_next_four_weeks_of_each_forecast(uci_client, uci_guide):
    body = overview(uci_client, limit=5)
    forecasts = {i: uci_guide.forecast(i) for i in uci_guide.catalogue.ids[1:]}
    expected = {i: sum(f.mean[:4]) for i, f in forecasts.items()}
    best = sorted(expected, key=lambda i: -expected[i])[:5]
    assert [r["item_id"] for r in body["top_sellers"]] == best
    assert len(body["outlook_weeks"]) == 4 and body["outlook_weeks"][0] > body["as_of"]
    for row in body["top_sellers"]:
        f = forecasts[row["item_id"]]
        assert row["expected_units"] == pytest.approx(expected[row["item_id"]], abs=1e-2)
        assert row["p50"] == pytest.approx(sum(f.p50[:4]), abs=1e-2)
        assert row["p10"] <= row["p50"] <= row["p90"]
        assert row["sold_recently"] == pytest.approx(sum(f.history_units[-4:]))
        assert row["title"] == uci_guide.item(row["item_id"]).title


@shared_data
def test_slow_movers_hold_more_than_twelve_weeks_of_cover(uci_client, plans):
    body = overview(uci_client, lead_time_weeks=LEAD, service_level=LEVEL, limit=200)
    slow = {i for i, p in plans.items() if p.stock_on_hand > 0
            and (p.weeks_of_cover is None or p.weeks_of_cover > 12)}  # fmt: skip
    assert slow and {r["item_id"] for r in body["slow_movers"]} == slow
    for row in body["slow_movers"]:
        cover = plans[row["item_id"]].weeks_of_cover
        assert row["weeks_of_cover"] == (None if cover is None else pytest.approx(cover, abs=1e-3))


@shared_data
def test_segments_fall_back_to_regions_without_a_profile_task(uci_client, uci_guide):
    body = overview(uci_client, limit=3)
    assert body["segments_source"] == "region"
    regions = uci_guide.store.query(
        "SELECT region, count(*) AS n FROM shoppers GROUP BY 1 ORDER BY n DESC, region LIMIT 3"
    )
    assert [(s["segment"], s["shoppers"]) for s in body["segments"]] == list(regions.iter_rows())
    assert "grouped by region" in " ".join(body["notes"])


@shared_data
def test_reorder_csv_lists_every_at_risk_toy(uci_client, plans, uci_guide):
    answer = uci_client.get("/v1/merchant/reorder.csv", params={"lead_time_weeks": LEAD},
                            headers=MERCHANT_AUTH)  # fmt: skip
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    as_of = uci_guide.catalogue_forecast().as_of.isoformat()
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="reorder-{as_of}-lead2w-sl0.95.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == ["item_id", "title", "stock_on_hand", "on_order", "lead_time_demand",
                             "reorder_point", "suggested_order_qty", "weeks_of_cover"]  # fmt: skip
    at_risk = {i for i, p in plans.items() if p.stock_on_hand < p.reorder_point}
    assert {r["item_id"] for r in rows} == at_risk
    for r in rows:
        plan = plans[r["item_id"]]
        assert int(r["suggested_order_qty"]) == math.ceil(plan.order_quantity)
        assert float(r["reorder_point"]) == pytest.approx(plan.reorder_point, abs=1e-3)
        assert r["title"] == uci_guide.item(r["item_id"]).title


def test_csv_cells_never_start_a_formula() -> None:
    from toyguide.guide.overview import OverviewRow
    from toyguide.service.routers.merchant import reorder_text

    row = OverviewRow("=1+1", "@SUM(A1)", 1.0, 0.0, 0.0, 1.0, 0.5, 1.0, 1.5, 1.0, 2.0, 3.2, 0.5)
    line = next(iter(csv.reader(io.StringIO(reorder_text([row])).readlines()[1:])))
    assert line[:2] == ["'=1+1", "'@SUM(A1)"] and line[6] == "4"


@shared_data
def test_search_finds_toys_by_title_out_of_stock_too(uci_client, uci_served, uci_guide):
    sold_out = sorted(i for i, s in uci_served.stock.items() if s == 0)[0]
    title = uci_guide.item(sold_out).title
    answer = uci_client.get("/v1/merchant/toys", params={"q": title.lower()}, headers=MERCHANT_AUTH)
    toys = answer.json()["toys"]  # UCI has toys sharing a title (two listings of one product)
    assert {"item_id": sold_out, "title": title, "stock_on_hand": 0.0}.items() <= next(
        t for t in toys if t["item_id"] == sold_out
    ).items()
    assert all(t["title"] == title for t in toys)
    words = title.split()[-1]
    found = uci_client.get("/v1/merchant/toys", params={"q": words, "k": 50},
                           headers=MERCHANT_AUTH).json()["toys"]  # fmt: skip
    assert all(words.lower() in t["title"].lower() for t in found)
    expected = [t["expected_units"] for t in found if not t["title"].lower().startswith(words)]
    assert expected == sorted(expected, reverse=True)
    by_id = uci_client.get("/v1/merchant/toys", params={"q": sold_out}, headers=MERCHANT_AUTH)
    assert by_id.json()["toys"][0]["item_id"] == sold_out
    none = uci_client.get(
        "/v1/merchant/toys", params={"q": "no such toy zzz"}, headers=MERCHANT_AUTH
    )
    assert none.json() == {"toys": []}


@shared_data
def test_a_lead_time_beyond_the_forecast_is_a_400_naming_it(uci_client):
    answer = uci_client.get("/v1/merchant/overview", params={"lead_time_weeks": 4},
                            headers=MERCHANT_AUTH)  # fmt: skip
    assert answer.status_code == 400
    assert "lead_time_weeks + review_weeks = 5" in answer.json()["error"]["message"]
    assert uci_client.get("/v1/merchant/overview").status_code == 401
    bad = uci_client.get("/v1/merchant/overview?service_level=0.5", headers=MERCHANT_AUTH)
    assert bad.status_code == 422
