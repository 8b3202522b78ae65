"""Faults the service must hold through: a corrupt model folder given to reload, a second
writer on its store. Each time the service keeps answering and the culprit is told why."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from toyguide.checksums import file_sha256
from toyguide.service import create_app
from toyguide.service.holder import load_guide

from .conftest import ADMIN_AUTH, settings_for
from .test_cli_commands import toyguide
from .test_routes import error_of


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def resum(folder: Path) -> None:
    """Rewrite checksums.json to match the files: a folder written corrupt, not damaged later."""
    sums = {p.name: file_sha256(p) for p in sorted(folder.iterdir()) if p.name != "checksums.json"}
    (folder / "checksums.json").write_text(json.dumps(sums))


def truncated_and_resummed(name: str) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        truncate(folder / name)
        resum(folder)

    return corrupt


CORRUPTIONS: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated weights": (lambda f: truncate(f / "model.safetensors"), "checksum mismatch"),
    "a file missing": (lambda f: (f / "config.json").unlink(), "missing config.json"),
    "truncated checksums": (lambda f: truncate(f / "checksums.json"), "checksums.json"),
    "weights written truncated": (truncated_and_resummed("model.safetensors"), "weights"),
    "config written truncated": (truncated_and_resummed("config.json"), "config.json"),
    "id maps written truncated": (truncated_and_resummed("features.json"), "features.json"),
    "index written truncated": (truncated_and_resummed("text.faiss"), "text.faiss"),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_corrupt_model_folder_is_refused_and_the_old_model_serves_on(
    client, served, tmp_path, corruption
) -> None:
    corrupt, reason = CORRUPTIONS[corruption]
    bad = tmp_path / "bad"
    shutil.copytree(served.model, bad)
    corrupt(bad)
    holder = client.app.state.services.holder
    before = holder.generation
    answer = client.post("/v1/admin/reload", json={"model_dir": str(bad)}, headers=ADMIN_AUTH)
    err = error_of(answer, 400)
    assert err["type"] == "CheckpointError" and reason in err["message"], err
    assert holder.generation == before
    ready = client.get("/ready", headers=ADMIN_AUTH).json()
    assert ready["status"] == "ready" and ready["model"]["folder"] == str(served.model)
    item = client.get(f"/v1/items/{served.item}")
    assert item.status_code == 200 and item.json()["item_id"] == served.item


def test_a_second_writer_is_told_the_store_is_in_use_and_the_service_answers_on(
    private_copy, tmp_path
) -> None:
    events = tmp_path / "events.csv"
    events.write_text(f"shopper_id,item_id,ts,kind\n{private_copy.shopper},{private_copy.item},"
                      "2026-05-04T10:30:00Z,view\n")  # fmt: skip
    guide = load_guide(private_copy.model, private_copy.store)  # holds the store, as serve does
    try:
        client = TestClient(create_app(settings_for(private_copy), guide))
        writer = toyguide("ingest", "events", str(events), "--store", str(private_copy.store))
        assert writer.returncode == 1 and "Traceback" not in writer.stderr, writer.stderr
        said = " ".join(writer.stderr.split())  # rich wraps long lines
        assert "the store is in use by another process" in said, said
        assert "POST /v1/events" in said and "lock" in said
        assert client.get(f"/v1/items/{private_copy.item}").status_code == 200
        stored = client.post("/v1/events", json={"events": [{
            "shopper_id": private_copy.shopper, "item_id": private_copy.item,
            "ts": "2026-05-04T10:30:00Z", "kind": "view"}]})  # fmt: skip
        assert stored.status_code == 200 and stored.json() == {"stored": 1}
        assert client.get("/ready").json()["status"] == "ready"
    finally:
        guide.close()
