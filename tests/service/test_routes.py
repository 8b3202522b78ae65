"""Every route with good input (shapes per docs/design/api-contract.md) and with bad input."""

from __future__ import annotations

import dataclasses

from toyguide.guide import views
from toyguide.service.routers.events import SOURCE

from .conftest import MERCHANT_AUTH
from .test_dialogues import made_up_words

ITEM_KEYS = {f.name for f in dataclasses.fields(views.ItemView)}
RECOMMENDATION_KEYS = {"picks", "shopper_id", "request", "dialogue_id", "notes", "relax"}


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and {"type", "message", "problems"} <= set(body["error"])
    return body["error"]


def assert_picks(picks: list[dict], k: int) -> None:
    assert 0 < len(picks) <= k
    for pick in picks:
        assert set(pick) == {"item", "score", "reasons", "fits", "breaks"}
        assert set(pick["item"]) == ITEM_KEYS
        assert pick["reasons"] and isinstance(pick["score"], float)


def test_health_and_ready(client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    model = ready.json()["model"]
    assert {"folder", "checksums", "metrics", "tasks"} <= set(model)


def test_recommendations_for_a_known_shopper(client, served) -> None:
    body = client.post("/v1/recommendations", json={"shopper_id": served.shopper, "k": 5}).json()
    assert set(body) == RECOMMENDATION_KEYS and body["shopper_id"] == served.shopper
    assert_picks(body["picks"], 5)
    assert "similar recent toys" in body["picks"][0]["reasons"][0]


def test_recommendations_with_a_request_filter_the_picks(client) -> None:
    request = {"age_months": None, "gender": None, "budget": {"min": None, "max": 20.0,
               "currency": None}, "interests": [], "exclude": [], "occasion": None,
               "keywords": []}  # fmt: skip
    body = client.post("/v1/recommendations", json={"request": request, "text": "a toy"}).json()
    assert body["request"]["budget"]["max"] == 20.0
    assert_picks(body["picks"], 10)
    assert all(p["item"]["price"] <= 20.0 for p in body["picks"])


def test_recommendations_bad_inputs(client) -> None:
    assert (
        "unknown shopper"
        in error_of(client.post("/v1/recommendations", json={"shopper_id": "nobody"}), 404)[
            "message"
        ]
    )
    for bad in ({"k": 0}, {"k": 51}, {"shopper_id": "x" * 201}, {"text": "x" * 501},
                {"surprise": 1}, {"text": "nul\x00"}):  # fmt: skip
        error_of(client.post("/v1/recommendations", json=bad), 422)
    err = error_of(client.post("/v1/recommendations", json={"request": {"gender": "x"}}), 400)
    assert err["type"] == "GuideRequestError" and "missing fields" in err["message"]


def test_guide_keeps_the_dialogue_and_cheaper_lowers_the_budget(client) -> None:
    first = client.post("/v1/guide", json={"text": "a puzzle for a 5 year old girl under $30"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == RECOMMENDATION_KEYS and body["dialogue_id"]
    assert body["request"]["budget"]["max"] == 30.0 and body["request"]["gender"] == "girl"
    shown = [p["item"]["price"] for p in body["picks"]]
    again = client.post("/v1/guide", json={"text": "cheaper", "dialogue_id": body["dialogue_id"]})
    after = again.json()
    assert again.status_code == 200 and after["dialogue_id"] == body["dialogue_id"]
    assert after["request"]["budget"]["max"] < min(shown)
    assert after["request"]["gender"] == "girl"  # earlier slots are kept
    cap = after["request"]["budget"]["max"]
    assert all(p["item"]["price"] <= cap for p in after["picks"] if p["fits"])
    # where no toy is that cheap for her, the nearest picks say so and the budget is named
    assert all(p["fits"] for p in after["picks"]) or ["budget"] in after["relax"]


def test_guide_unknown_dialogue_and_bad_turns(client) -> None:
    err = error_of(client.post("/v1/guide", json={"text": "hi", "dialogue_id": "nope"}), 404)
    assert "unknown or expired dialogue" in err["message"]
    for bad in ({"text": ""}, {"text": "x" * 501}, {}, {"text": "hi", "k": 100}):
        error_of(client.post("/v1/guide", json=bad), 422)
    error_of(client.post("/v1/guide", json={"text": "hi", "shopper_id": "nobody"}), 404)


def test_long_dialogues_stay_usable(client) -> None:
    """Many keywords per turn: every later turn still rebuilds the dialogue (no 400), and the
    answer's request can be sent back as it is."""
    words = made_up_words(240)
    dialogue_id = None
    for turn in range(3):
        text = " ".join(words[turn * 80 : (turn + 1) * 80])[:500]
        response = client.post("/v1/guide", json={"text": text, "dialogue_id": dialogue_id})
        assert response.status_code == 200, response.text
        request = response.json()["request"]
        assert len(request["keywords"]) == 64  # the latest, within GuideRequest's bounds
        assert client.post("/v1/recommendations", json={"request": request}).status_code == 200
        dialogue_id = response.json()["dialogue_id"]


def test_item_and_search(client, served) -> None:
    item = client.get(f"/v1/items/{served.item}").json()
    assert set(item) == ITEM_KEYS and item["item_id"] == served.item
    error_of(client.get("/v1/items/nope"), 404)
    found = client.get("/v1/items/search", params={"q": "jigsaw puzzle", "k": 3}).json()
    assert set(found) == {"picks"}
    assert_picks(found["picks"], 3)
    for params in ({"q": ""}, {"q": "x", "k": 0}, {"q": "x", "k": 51}, {"k": 3}):
        error_of(client.get("/v1/items/search", params=params), 422)


def test_evaluate_a_new_toy(client) -> None:
    toy = {"title": "wooden train set", "description": "a train with tracks", "price": 25.0}
    body = client.post("/v1/items/evaluate", json=toy, headers=MERCHANT_AUTH).json()
    assert list(body) == [f.name for f in dataclasses.fields(views.ToyEvaluation)]
    assert abs(sum(p["probability"] for p in body["age_band"]) - 1) < 1e-3
    assert set(body["first_weeks_demand"]) == {"p10", "p50", "p90", "mean"}
    assert 0 <= body["price_percentile"] <= 100 and body["similar"]
    pricing = body["pricing"]
    assert pricing["currency"] and pricing["similar"] and pricing["method"]
    assert {s["currency"] for s in pricing["similar"]} == {pricing["currency"]}
    assert pricing["suggested_low"] <= pricing["suggested_median"] <= pricing["suggested_high"]
    prices = [p["price"] for p in pricing["curve"]]
    assert len(prices) >= 2 and prices == sorted(prices) and pricing["horizon_weeks"] == 8
    assert all(0 <= p["p10"] <= p["p50"] <= p["p90"] for p in pricing["curve"])
    for bad in ({"title": ""}, {"title": "t", "price": -1}, {"title": "t", "colour": "red"}):
        error_of(client.post("/v1/items/evaluate", json=bad, headers=MERCHANT_AUTH), 422)


def test_forecast(client, served) -> None:
    body = client.get(f"/v1/forecast/{served.item}", headers=MERCHANT_AUTH).json()
    assert list(body) == [f.name for f in dataclasses.fields(views.Forecast)]
    assert len(body["weeks"]) == len(body["p50"]) == 8  # the run's horizon
    quantiles = zip(body["p10"], body["p50"], body["p90"], strict=True)
    assert all(lo <= mid <= hi for lo, mid, hi in quantiles)
    error_of(client.get("/v1/forecast/nope", headers=MERCHANT_AUTH), 404)


def test_inventory_plan(client, served) -> None:
    plan = {"item_id": served.item, "lead_time_weeks": 2, "service_level": 0.95}
    body = client.post("/v1/inventory/plan", json=plan, headers=MERCHANT_AUTH).json()
    assert list(body) == [f.name for f in dataclasses.fields(views.InventoryPlan)]
    assert body["reorder_point"] >= 0 and body["order_quantity"] >= 0
    with_stock = {**plan, "stock_on_hand": 0.0, "on_order": 0.0, "review_weeks": 2}
    refill = client.post("/v1/inventory/plan", json=with_stock, headers=MERCHANT_AUTH).json()
    assert refill["order_quantity"] > 0 and refill["review_weeks"] == 2
    for bad in ({"service_level": 0.5}, {"service_level": 1.0}, {"lead_time_weeks": 53},
                {"lead_time_weeks": -1}, {"review_weeks": 13}, {"stock_on_hand": -1}):  # fmt: skip
        error_of(
            client.post("/v1/inventory/plan", json={**plan, **bad}, headers=MERCHANT_AUTH), 422
        )
    too_long = {**plan, "lead_time_weeks": 20}  # beyond the 8-week forecast: the guide refuses
    assert (
        "weeks of forecast"
        in error_of(client.post("/v1/inventory/plan", json=too_long, headers=MERCHANT_AUTH), 400)[
            "message"
        ]
    )
    missing = {**plan, "item_id": "nope"}
    error_of(client.post("/v1/inventory/plan", json=missing, headers=MERCHANT_AUTH), 404)


def test_shopper_profile(client, served) -> None:
    url = f"/v1/shoppers/{served.shopper}/profile"
    body = client.get(url, headers=MERCHANT_AUTH).json()
    assert list(body) == [f.name for f in dataclasses.fields(views.ShopperProfile)]
    assert body["shopper_id"] == served.shopper and body["n_events"] > 0
    error_of(client.get("/v1/shoppers/nobody/profile", headers=MERCHANT_AUTH), 404)


def test_segments_cover_the_shoppers_with_events(client, served) -> None:
    body = client.get("/v1/segments?top=200", headers=MERCHANT_AUTH).json()
    segments = body["segments"]
    assert segments and abs(sum(s["share"] for s in segments) - 1) < 1e-3
    sizes = [s["shoppers"] for s in segments]
    assert sizes == sorted(sizes, reverse=True)
    profile = client.get(f"/v1/shoppers/{served.shopper}/profile", headers=MERCHANT_AUTH).json()
    assert profile["segment"] in {s["segment"] for s in segments}
    assert client.get("/v1/segments").status_code == 401
    error_of(client.get("/v1/segments?top=0", headers=MERCHANT_AUTH), 422)


def test_bad_json_unknown_routes_and_large_bodies(client) -> None:
    raw = {"content-type": "application/json"}
    err = error_of(client.post("/v1/guide", content=b"{not json", headers=raw), 422)
    assert err["problems"][0]["row"] is None  # a character position is not a row
    error_of(client.post("/v1/guide", content=b"NaN", headers=raw), 422)
    infinite = b'{"title": "t", "price": Infinity}'  # Python's json reads it; the schema refuses
    error_of(client.post("/v1/items/evaluate", content=infinite,
                         headers={**raw, **MERCHANT_AUTH}), 422)  # fmt: skip
    error_of(client.get("/v1/nothing-here"), 404)
    error_of(client.put("/v1/guide", json={}), 405)
    big = b'{"text": "' + b"x" * (3 << 20) + b'"}'
    assert error_of(client.post("/v1/guide", content=big, headers=raw), 413)["type"]


def test_events_are_stored_or_refused_naming_row_and_field(private_copy) -> None:
    from fastapi.testclient import TestClient

    from toyguide.data.store import Store
    from toyguide.service import create_app

    from .conftest import settings_for

    good = {"shopper_id": private_copy.shopper, "item_id": private_copy.item,
            "ts": "2026-05-04T10:30:00Z", "kind": "view"}  # fmt: skip
    with TestClient(create_app(settings_for(private_copy))) as client:
        wait_ready(client)
        stored = client.post("/v1/events", json={"events": [good, {**good, "kind": "click"}]})
        assert stored.status_code == 200 and stored.json() == {"stored": 2}
        bad = [good, {**good, "kind": "poke"}, {**good, "ts": "yesterday", "item_id": "ghost"}]
        err = error_of(client.post("/v1/events", json={"events": bad}), 400)
        assert err["type"] == "DataValidationError" and "nothing was stored" in err["message"]
        where = {(p["row"], p["field"]) for p in err["problems"]}
        assert {(2, "kind"), (3, "ts"), (3, "item_id")} <= where
        schema_bad = [good, {**good, "value": "many"}]
        problems = error_of(client.post("/v1/events", json={"events": schema_bad}), 422)["problems"]
        assert (problems[0]["row"], problems[0]["field"]) == (2, "body.events.value")
        error_of(client.post("/v1/events", json={"events": []}), 422)
        error_of(client.post("/v1/events", json={"events": [good] * 1001}), 422)
    with Store.open(private_copy.store, read_only=True) as store:
        log = [r for r in store.ingest_log() if r["source"] == SOURCE]
    assert [r["n_rows"] for r in log] == [2]  # the refused batch left nothing


def wait_ready(client, timeout: float = 60.0, headers: dict | None = None) -> dict:
    """``/ready``'s body once the model is in (with ``headers``: e.g. the admin token)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/ready", headers=headers)
        if response.status_code == 200:
            return response.json()
        assert response.json()["status"] == "loading", response.text
        time.sleep(0.05)
    raise AssertionError("the model did not load in time")


def test_edited_needs_replace_the_dialogues_slots(client) -> None:
    first = client.post(
        "/v1/guide", json={"text": "a puzzle for a 6 year old girl under $40"}
    ).json()
    edited = {**first["request"], "gender": None}  # the shopper removed the gender chip
    turn = {"text": "cheaper", "dialogue_id": first["dialogue_id"], "request": edited}
    second = client.post("/v1/guide", json=turn).json()
    assert second["request"]["gender"] is None
    assert second["request"]["budget"]["max"] < 40
    third = client.post("/v1/guide", json={"text": "older", "dialogue_id": first["dialogue_id"]})
    assert third.json()["request"]["gender"] is None  # the edit was kept for later turns
    bad = client.post("/v1/guide", json={**turn, "request": {"gender": "robot"}})
    assert bad.status_code == 400
