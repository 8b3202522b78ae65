"""The guide holder: leases, atomic swap, closing only after the last lease, failed loads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from toyguide.errors import CheckpointError
from toyguide.service import create_app
from toyguide.service.holder import GuideHolder, NotReadyError

from .conftest import ADMIN_AUTH, settings_for, settled_ready
from .test_routes import error_of, wait_ready


class FakeGuide:
    def __init__(self, name: str) -> None:
        self.name, self.closed = name, 0
        self.info = {"folder": name}

    def close(self) -> None:
        self.closed += 1


def holder_loading(*names: str) -> tuple[GuideHolder, list[FakeGuide]]:
    made: list[FakeGuide] = []

    def load(folder: Path) -> FakeGuide:
        if folder.name == "broken":
            raise CheckpointError(f"{folder}: checksum mismatch")
        made.append(FakeGuide(folder.name))
        return made[-1]

    return GuideHolder(load, Path("first"), threading.Lock()), made


def test_nothing_to_lease_until_loaded() -> None:
    holder, _ = holder_loading()
    with pytest.raises(NotReadyError, match="still loading"), holder.lease():
        pass
    assert holder.info() is None


def test_the_old_guide_closes_after_its_last_lease() -> None:
    holder, made = holder_loading()
    holder.reload()
    with holder.lease() as old:
        with holder.lease() as same:
            assert same is old
            holder.reload(Path("second"))
            with holder.lease() as new:  # new requests get the new guide at once
                assert new.name == "second" and holder.info() == {"folder": "second"}
        assert old.closed == 0  # the outer request still holds it
    assert old.closed == 1 and made[1].closed == 0
    holder.reload()  # default: the folder served now
    assert made[2].name == "second" and made[1].closed == 1
    assert holder.model_dir == Path("second") and holder.generation == 3


def test_a_reload_and_a_closed_guide_hand_freed_memory_back(monkeypatch) -> None:
    from toyguide.service import holder as holder_module

    events: list[str] = []
    holder, made = holder_loading()
    loader = holder._loader
    holder._loader = lambda folder: events.append("load") or loader(folder)
    monkeypatch.setattr(holder_module, "return_freed_memory", lambda: events.append("trim"))
    holder.reload()
    entry = holder.acquire()  # a request still holds the first guide
    holder.reload(Path("second"))
    assert events == ["trim", "load", "trim", "load"] and made[0].closed == 0
    assert holder.release(entry)  # the last lease of the retired guide: closed, then trimmed
    holder.close_retired(entry)
    assert events[-1] == "trim" and made[0].closed == 1 and entry.guide is None
    monkeypatch.undo()
    holder_module.return_freed_memory()  # the real one runs here (glibc) without error


def test_served_guides_are_out_of_the_collectors_sweeps_until_retired() -> None:
    import gc
    import weakref

    holder, made = holder_loading()
    try:
        holder.reload()
        assert gc.get_freeze_count() > 0  # the served guide: not walked by collections
        made[0].cycle = made[0]  # freed only by the collector, like a model's cyclic objects
        first = weakref.ref(made[0])
        made.clear()
        holder.reload(Path("second"))  # retires and closes the first: let go and collected
        assert first() is None
    finally:
        gc.unfreeze()


def test_a_failed_reload_keeps_the_old_guide() -> None:
    holder, made = holder_loading()
    holder.reload()
    with pytest.raises(CheckpointError):
        holder.reload(Path("broken"))
    with holder.lease() as guide:
        assert guide is made[0] and guide.closed == 0


def test_guides_passed_in_are_never_closed_by_the_holder() -> None:
    holder, _ = holder_loading()
    mine = FakeGuide("mine")
    holder.install(mine, Path("mine"), owned=False)
    holder.reload()
    holder.shutdown()
    assert mine.closed == 0
    with pytest.raises(NotReadyError, match="shutting down"), holder.lease():
        pass


def test_shutdown_waits_for_leases() -> None:
    holder, made = holder_loading()
    holder.reload()
    with holder.lease():
        holder.shutdown()
        assert made[0].closed == 0
    assert made[0].closed == 1


def test_a_request_takes_its_slot_in_the_event_loop_and_closes_a_retired_guide_off_it() -> None:
    from types import SimpleNamespace

    import anyio

    from toyguide.service.deps import current_guide

    holder, made = holder_loading()
    holder.reload()
    slots = anyio.Semaphore(1, max_value=1)
    services = SimpleNamespace(holder=holder, inference=slots)
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(services=services)))
    closed_on: list[threading.Thread] = []
    made[0].close = lambda: closed_on.append(threading.current_thread())  # type: ignore[method-assign]

    async def one_request() -> None:
        leased = current_guide(request)  # type: ignore[arg-type]
        guide = await leased.__anext__()
        assert guide is made[0] and slots.value == 0  # the slot is held for the route
        holder.reload(Path("second"))  # the request still holds the old guide
        assert closed_on == []
        with pytest.raises(StopAsyncIteration):
            await leased.__anext__()
        assert slots.value == 1
        assert closed_on and closed_on[0] is not threading.current_thread()

    anyio.run(one_request)


def test_a_model_that_fails_to_load_is_reported(served, tmp_path) -> None:
    settings = settings_for(served, model_dir=tmp_path / "no-model")
    with TestClient(create_app(settings)) as client:
        ready = settled_ready(client)
        assert ready.status_code == 503 and ready.json()["status"] == "failed"
        assert "not a toyguide model folder" in ready.json()["message"]
        err = error_of(client.get(f"/v1/items/{served.item}"), 503)
        assert err["type"] == "NotReady" and "failed to load" in err["message"]
        assert client.get("/health").json() == {"status": "ok"}


def test_reload_through_the_api(private_copy, tmp_path) -> None:
    """An app that loaded its own model reloads another folder; a bad folder changes nothing."""
    with TestClient(create_app(settings_for(private_copy))) as client:
        assert wait_ready(client, headers=ADMIN_AUTH)["model"]["folder"] == str(private_copy.model)
        err = error_of(client.post("/v1/admin/reload", json={"model_dir": str(tmp_path / "x")},
                                   headers=ADMIN_AUTH), 400)  # fmt: skip
        assert err["type"] == "CheckpointError"
        error_of(client.post("/v1/admin/reload", json={"model_dir": "a\x00b"},
                             headers=ADMIN_AUTH), 422)  # fmt: skip
        done = client.post("/v1/admin/reload", json={"model_dir": str(private_copy.run)},
                           headers=ADMIN_AUTH)  # fmt: skip
        assert done.status_code == 200 and done.json()["status"] == "reloaded"
        ready = client.get("/ready", headers=ADMIN_AUTH).json()
        assert ready["model"]["folder"] == str(private_copy.model)
        assert client.post("/v1/admin/reload", headers=ADMIN_AUTH).status_code == 200


def test_a_missing_store_is_not_created(served, tmp_path) -> None:
    from toyguide.errors import StoreError
    from toyguide.service.holder import load_guide

    with pytest.raises(StoreError, match="no store there"):
        load_guide(served.model, tmp_path / "typo.duckdb")
    assert not (tmp_path / "typo.duckdb").exists()


def test_a_bad_rate_table_fails_before_the_model_loads(served, tmp_path) -> None:
    from toyguide.errors import ConfigError
    from toyguide.service.holder import load_guide

    rates = tmp_path / "rates.toml"
    rates.write_text("[usd_per_unit]\nGBP = 0\n")
    with pytest.raises(ConfigError, match="finite and > 0"):
        load_guide(served.model, served.store, rates)
