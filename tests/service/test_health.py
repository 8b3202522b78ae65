"""``/ready`` shows file-system paths only to the admin token; the rest of the info to all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from toyguide.service import create_app

from .conftest import ADMIN, ADMIN_AUTH, MERCHANT_AUTH, settings_for, settled_ready
from .test_routes import error_of


def strings(value: Any) -> list[str]:
    """Every string value in a JSON value (keys are names such as ``preference/.../hr@5``)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def assert_no_paths(body: dict, root: Path) -> None:
    for text in strings(body):
        assert str(root) not in text and not text.startswith("/") and " /" not in text, text


def test_ready_hides_paths_without_the_admin_token(client, served) -> None:
    full = client.get("/ready", headers=ADMIN_AUTH).json()
    assert full["model"]["folder"] == str(served.model)
    assert full["model"]["data"]["store"] == str(served.store)
    for headers in ({}, MERCHANT_AUTH, {"Authorization": f"Bearer {ADMIN}x"},
                    {"Authorization": f"Basic {ADMIN}"}):  # fmt: skip
        shown = client.get("/ready", headers=headers)
        assert shown.status_code == 200, shown.text
        body = shown.json()
        assert_no_paths(body, served.root)
        model = body["model"]
        assert model["folder"] == "<model folder>" and model["data"]["store"] == "<store>"
        assert set(model) == set(full["model"])  # everything else kept as it was
        for key in ("checksums", "metrics", "tasks"):
            assert model[key] == full["model"][key]
        assert model["data"]["sha256"] == full["model"]["data"]["sha256"]


def test_a_failed_load_names_no_path_on_open_routes(served, tmp_path) -> None:
    missing = tmp_path / "no-model"
    with TestClient(create_app(settings_for(served, model_dir=missing))) as client:
        ready = settled_ready(client)
        assert ready.status_code == 503 and ready.json()["status"] == "failed"
        assert ready.json()["message"].startswith("<model folder>: not a toyguide model folder")
        assert_no_paths(ready.json(), tmp_path)
        admin = client.get("/ready", headers=ADMIN_AUTH).json()
        assert admin["message"].startswith(f"{missing}: not a toyguide model folder")
        err = error_of(client.get(f"/v1/items/{served.item}"), 503)
        assert "failed to load: <model folder>: not a toyguide" in err["message"]
        assert_no_paths(err, tmp_path)
