"""Merchant and admin routes: token present, wrong, missing, or never configured."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from toyguide.service import create_app

from .conftest import ADMIN_AUTH, MERCHANT_AUTH, settings_for
from .test_routes import error_of

PROTECTED = [
    ("POST", "/v1/items/evaluate", {"title": "kite"}),
    ("GET", "/v1/forecast/{item}", None),
    (
        "POST",
        "/v1/inventory/plan",
        {"item_id": "{item}", "lead_time_weeks": 1, "service_level": 0.9},
    ),
    ("GET", "/v1/shoppers/{shopper}/profile", None),
    ("GET", "/v1/merchant/overview", None),
    ("GET", "/v1/merchant/reorder.csv", None),
    ("GET", "/v1/merchant/toys?q=a", None),
]


def call(client, method, url, body, served, headers=None):
    url = url.format(item=served.item, shopper=served.shopper)
    if body is not None:
        body = {k: v.format(item=served.item) if isinstance(v, str) else v for k, v in body.items()}
    return client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(("method", "url", "body"), PROTECTED)
def test_merchant_routes_take_the_merchant_or_admin_token(client, served, method, url, body):
    for headers in (MERCHANT_AUTH, ADMIN_AUTH):
        assert call(client, method, url, body, served, headers).status_code == 200
    missing = call(client, method, url, body, served)
    assert "Bearer" in error_of(missing, 401)["message"]
    assert missing.headers["www-authenticate"] == "Bearer"
    for wrong in ("Bearer nope", "Basic " + MERCHANT_AUTH["Authorization"][7:], "Bearer ",
                  "Bearer é-not-ascii".encode("latin-1")):  # fmt: skip
        error_of(call(client, method, url, body, served, {"Authorization": wrong}), 401)


def test_admin_reload_takes_only_the_admin_token(client) -> None:
    error_of(client.post("/v1/admin/reload", json={}), 401)
    assert (
        "wrong token"
        in error_of(client.post("/v1/admin/reload", json={}, headers=MERCHANT_AUTH), 401)["message"]
    )


def test_unconfigured_tokens_close_the_routes(served, guide) -> None:
    client = TestClient(
        create_app(settings_for(served, admin_token="", merchant_token=None), guide)
    )
    for headers in ({}, {"Authorization": "Bearer "}, ADMIN_AUTH):
        err = error_of(client.get(f"/v1/forecast/{served.item}", headers=headers), 401)
        assert "no merchant token is configured" in err["message"]
        err = error_of(client.post("/v1/admin/reload", json={}, headers=headers), 401)
        assert "no admin token is configured" in err["message"]
    assert client.get(f"/v1/items/{served.item}").status_code == 200  # shopper routes stay open


def test_merchant_routes_open_to_the_admin_when_only_it_is_set(served, guide) -> None:
    client = TestClient(create_app(settings_for(served, merchant_token=None), guide))
    assert client.get(f"/v1/forecast/{served.item}", headers=ADMIN_AUTH).status_code == 200
    error_of(client.get(f"/v1/forecast/{served.item}", headers=MERCHANT_AUTH), 401)
