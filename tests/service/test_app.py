"""The app factory: its OpenAPI contract, its public API and the optional web pages."""

from __future__ import annotations

import sys
import types

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

import toyguide.service
from toyguide.service import Settings, create_app

CONTRACT = {
    ("POST", "/v1/recommendations"), ("POST", "/v1/guide"), ("GET", "/v1/items/{item_id}"),
    ("GET", "/v1/items/search"), ("POST", "/v1/events"), ("GET", "/health"), ("GET", "/ready"),
    ("POST", "/v1/items/evaluate"), ("GET", "/v1/forecast/{item_id}"),
    ("POST", "/v1/inventory/plan"), ("GET", "/v1/shoppers/{shopper_id}/profile"),
    ("GET", "/v1/segments"), ("POST", "/v1/admin/reload"), ("GET", "/v1/merchant/overview"),
    ("GET", "/v1/merchant/reorder.csv"), ("GET", "/v1/merchant/toys"),
}  # fmt: skip
PROTECTED = {"/v1/items/evaluate", "/v1/forecast/{item_id}", "/v1/inventory/plan",
             "/v1/shoppers/{shopper_id}/profile", "/v1/segments", "/v1/admin/reload",
             "/v1/merchant/overview", "/v1/merchant/reorder.csv", "/v1/merchant/toys"}  # fmt: skip
DOWNLOADS = {"/v1/merchant/reorder.csv": "text/csv"}  # 200s that are files, not JSON


def schema() -> dict:
    return create_app(Settings("unused", "unused")).openapi()


def test_the_schema_has_exactly_the_contract_routes_with_documented_answers() -> None:
    paths = schema()["paths"]
    assert {(m.upper(), p) for p, ms in paths.items() for m in ms} == CONTRACT
    for path, methods in paths.items():
        for operation in methods.values():
            content = operation["responses"]["200"]["content"]
            if path in DOWNLOADS:
                assert list(content) == [DOWNLOADS[path]], path
            else:
                assert content["application/json"]["schema"], path
            assert ("security" in operation) == (path in PROTECTED), path
            if "422" in operation["responses"]:
                body = operation["responses"]["422"]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/ErrorBody"}


def test_public_api() -> None:
    assert toyguide.service.__all__ == ["Settings", "create_app", "serve"]


def use_pages(monkeypatch, module) -> None:
    """Make ``toyguide.service.pages`` be ``module`` (None: absent) for this test."""
    monkeypatch.setitem(sys.modules, "toyguide.service.pages", module)
    if module is None:
        monkeypatch.delattr(toyguide.service, "pages", raising=False)
    else:
        monkeypatch.setattr(toyguide.service, "pages", module, raising=False)


def test_pages_are_included_when_their_module_exists(monkeypatch) -> None:
    pages = types.ModuleType("toyguide.service.pages")
    pages.router = APIRouter()
    pages.router.add_api_route("/", lambda: {"page": "guide"}, methods=["GET"])
    use_pages(monkeypatch, pages)
    client = TestClient(create_app(Settings("unused", "unused")))
    assert client.get("/").json() == {"page": "guide"}


def test_without_pages_the_api_still_serves(monkeypatch) -> None:
    use_pages(monkeypatch, None)  # the import fails as for a missing module
    client = TestClient(create_app(Settings("unused", "unused")))
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/").status_code == 404


def test_a_broken_pages_module_is_not_hidden(monkeypatch) -> None:
    use_pages(monkeypatch, types.ModuleType("toyguide.service.pages"))  # no router in it
    with pytest.raises(AttributeError):
        create_app(Settings("unused", "unused"))
