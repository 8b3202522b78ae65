"""Several worker processes over one read-only store: events spooled and ingested exactly once,
dialogues and admin reloads shared through the runtime folder.

Two apps in this process stand for two workers (they share the store and the runtime folder as
workers do); the last test runs the real ``toyguide serve --workers 2``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from toyguide.data.spool import spool_dir
from toyguide.data.store import Store
from toyguide.service import create_app
from toyguide.service.app import DIALOGUES_FILE, ingest_pending_events
from toyguide.service.workers import PID_HEADER

from .conftest import ADMIN, ADMIN_AUTH, MERCHANT, Served, settings_for
from .test_cli_commands import toyguide
from .test_faults import truncate
from .test_routes import error_of


def two_workers(copy: Served) -> tuple[TestClient, TestClient]:
    settings = settings_for(copy, workers=2, reload_check_s=0.1)
    return TestClient(create_app(settings)), TestClient(create_app(settings))


def event(copy: Served, minute: int, kind: str = "view") -> dict:
    return {"shopper_id": copy.shopper, "item_id": copy.item,
            "ts": f"2035-05-04T10:{minute:02d}:00Z", "kind": kind}  # fmt: skip


def stored_events(store: Path) -> list[tuple]:
    with Store.open(store, read_only=True) as s:
        return s.query(
            "SELECT ts::VARCHAR, kind, count(*) FROM events WHERE ts >= '2035-05-04' GROUP BY ALL "
            "ORDER BY ALL"
        ).rows()


def folder_of(client: TestClient) -> str:
    return client.get("/ready", headers=ADMIN_AUTH).json()["model"]["folder"]


def test_events_spooled_by_two_workers_are_stored_once_after_the_ingest(private_copy) -> None:
    a_client, b_client = two_workers(private_copy)
    with a_client as a, b_client as b:
        assert a.post("/v1/events", json={"events": [event(private_copy, 1)]}).json() == {
            "stored": 1
        }
        again = [event(private_copy, 2), event(private_copy, 1)]  # minute 1 sent again
        assert b.post("/v1/events", json={"events": again}).json() == {"stored": 2}
        bad = [event(private_copy, 3), {**event(private_copy, 4), "item_id": "ghost"}]
        err = error_of(b.post("/v1/events", json={"events": bad}), 400)
        assert err["problems"][0]["row"] == 2 and err["problems"][0]["field"] == "item_id"
        assert stored_events(private_copy.store) == []  # read-only: spooled, not stored yet
        assert len(list(spool_dir(private_copy.store).glob("*.jsonl"))) == 2
        events = private_copy.root / "events.csv"
        events.write_text("shopper_id,item_id,ts,kind\n")
        writer = toyguide("ingest", "events", str(events), "--store", str(private_copy.store))
        assert writer.returncode == 1 and "in use by another process" in writer.stderr
    done = toyguide("data", "ingest-spool", "--store", str(private_copy.store))
    assert done.returncode == 0, done.stderr
    # minute 1 came through both workers: stored by the first file, replaced by the second
    said = " ".join(done.stdout.split())
    assert "3 events from 2 batches in 2 spool file(s) (2 new, 1 replaced)" in said, said
    assert stored_events(private_copy.store) == [
        ("2035-05-04 10:01:00", "view", 1),
        ("2035-05-04 10:02:00", "view", 1),
    ]
    assert ingest_pending_events(private_copy.store) is None  # nothing left to ingest


def test_a_dialogue_continues_on_the_other_worker(private_copy) -> None:
    a_client, b_client = two_workers(private_copy)
    with a_client as a, b_client as b:
        first = a.post("/v1/guide", json={"text": "a puzzle for a 5 year old girl under $30"})
        assert first.status_code == 200, first.text
        turn = {"text": "cheaper", "dialogue_id": first.json()["dialogue_id"]}
        second = b.post("/v1/guide", json=turn)
        assert second.status_code == 200, second.text
        kept = second.json()["request"]
        assert kept["gender"] == "girl" and kept["budget"]["max"] < 30.0
        assert (
            a.post("/v1/guide", json={**turn, "text": "for a boy"}).json()["request"]["budget"]
            == kept["budget"]
        )  # and back on the first: the second's turn is there
    assert (
        private_copy.store.parent / f"{private_copy.store.name}.serve" / DIALOGUES_FILE
    ).is_file()


def wait_for_folder(client: TestClient, folder: Path, timeout: float = 60.0) -> float:
    start = time.monotonic()
    while folder_of(client) != str(folder):
        assert time.monotonic() - start < timeout, f"still on {folder_of(client)}"
        time.sleep(0.05)
    return time.monotonic() - start


def test_an_admin_reload_reaches_every_worker_and_a_bad_folder_none(private_copy) -> None:
    second = private_copy.root / "second-run"
    shutil.copytree(private_copy.run, second)
    bad = private_copy.root / "bad"
    shutil.copytree(private_copy.model, bad)
    truncate(bad / "model.safetensors")
    a_client, b_client = two_workers(private_copy)
    with a_client as a, b_client as b:
        assert folder_of(a) == folder_of(b) == str(private_copy.model)
        reloaded = a.post("/v1/admin/reload", json={"model_dir": str(second)}, headers=ADMIN_AUTH)
        assert reloaded.status_code == 200, reloaded.text
        wait_for_folder(b, second / "model")
        refused = a.post("/v1/admin/reload", json={"model_dir": str(bad)}, headers=ADMIN_AUTH)
        assert error_of(refused, 400)["type"] == "CheckpointError"
        time.sleep(1.0)  # ten checks of the marker
        assert folder_of(a) == folder_of(b) == str(second / "model")
        with TestClient(create_app(settings_for(private_copy, workers=2))) as late:
            assert folder_of(late) == str(second / "model")  # a worker started after it
        back = b.post("/v1/admin/reload", json={"model_dir": str(private_copy.run)},
                      headers=ADMIN_AUTH)  # fmt: skip
        assert back.status_code == 200, back.text
        wait_for_folder(a, private_copy.model)


# -- the real thing: `toyguide serve --workers 2` -----------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(url: str, method: str, path: str, **kwargs) -> httpx.Response:
    """One request on a new connection (so that any worker may take it), with the admin
    token, so the answer names its worker."""
    headers = {**ADMIN_AUTH, "Connection": "close"}
    return httpx.request(method, url + path, headers=headers, timeout=60, **kwargs)


@pytest.fixture
def serving(private_copy) -> tuple[str, subprocess.Popen]:
    port = free_port()
    env = {**os.environ, "TOYGUIDE_ADMIN_TOKEN": ADMIN, "TOYGUIDE_MERCHANT_TOKEN": MERCHANT}
    server = subprocess.Popen(
        [sys.executable, "-m", "toyguide", "serve", "--model", str(private_copy.run), "--store",
         str(private_copy.store), "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        yield url, server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(30)


def worker_pids(url: str, server: subprocess.Popen, timeout: float = 180.0) -> set[str]:
    """The pids that answered ``/ready`` once both workers have (fresh connections)."""
    seen: set[str] = set()
    start = time.monotonic()
    while len(seen) < 2:
        assert server.poll() is None, server.stdout.read()
        assert time.monotonic() - start < timeout, f"workers seen: {seen}"
        try:
            ready = ask(url, "GET", "/ready")
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if ready.status_code == 200:
            assert ready.json()["worker"]["workers"] == 2
            seen.add(ready.headers[PID_HEADER])
            assert str(ready.json()["worker"]["pid"]) == ready.headers[PID_HEADER]
    return seen


def test_serve_with_two_workers(private_copy, serving) -> None:
    url, server = serving
    pids = worker_pids(url, server)
    listed = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True).stdout
    assert "toyguide" in listed and ADMIN not in listed and MERCHANT not in listed
    # events: each worker takes some, each sent once (minute = the event's number)
    by_worker: dict[str, list[int]] = {pid: [] for pid in pids}
    for minute in range(40):
        answer = ask(url, "POST", "/v1/events", json={"events": [event(private_copy, minute)]})
        assert answer.status_code == 200 and answer.json() == {"stored": 1}, answer.text
        by_worker[answer.headers[PID_HEADER]].append(minute)
        if minute >= 3 and all(by_worker.values()):
            break
    assert all(by_worker.values()), by_worker
    sent = sorted(m for minutes in by_worker.values() for m in minutes)
    # a dialogue: turns until one reaches the worker that did not start it
    first = ask(url, "POST", "/v1/guide", json={"text": "a puzzle for a 5 year old girl"})
    assert first.status_code == 200, first.text
    turn = {"text": "under $30", "dialogue_id": first.json()["dialogue_id"]}
    for _ in range(40):
        later = ask(url, "POST", "/v1/guide", json=turn)
        assert later.status_code == 200, later.text
        if later.headers[PID_HEADER] != first.headers[PID_HEADER]:
            break
    assert later.headers[PID_HEADER] != first.headers[PID_HEADER]
    kept = later.json()["request"]
    assert kept["gender"] == "girl" and kept["budget"]["max"] == 30.0
    # a reload answered by one worker reaches both
    second = private_copy.root / "second-run"
    shutil.copytree(private_copy.run, second)
    assert ask(url, "POST", "/v1/admin/reload", json={"model_dir": str(second)}).status_code == 200
    folders: dict[str, str] = {}
    start = time.monotonic()
    while set(folders) != pids or set(folders.values()) != {str(second / "model")}:
        assert time.monotonic() - start < 120, folders
        ready = ask(url, "GET", "/ready")
        folders[ready.headers[PID_HEADER]] = ready.json()["model"]["folder"]
    # a worker that dies is replaced, on the same port, serving the reloaded folder
    os.kill(int(sorted(pids)[0]), signal.SIGKILL)
    start, replaced = time.monotonic(), False
    while not replaced:
        assert time.monotonic() - start < 120, "no worker replaced the killed one"
        try:
            ready = ask(url, "GET", "/ready")
        except httpx.TransportError:  # a connection the kernel gave the dead worker's socket
            continue
        replaced = ready.headers[PID_HEADER] not in pids
    assert ready.json()["model"]["folder"] == str(second / "model")
    server.send_signal(signal.SIGINT)  # Ctrl-C: workers stop, then the parent ingests
    out, _ = server.communicate(timeout=120)
    assert server.returncode == 0, out
    assert f"ingested {len(sent)} spooled events ({len(sent)} new)" in out, out
    assert [int(ts[14:16]) for ts, _, n in stored_events(private_copy.store) if n == 1] == sent
    assert len(stored_events(private_copy.store)) == len(sent)
    assert list(spool_dir(private_copy.store).iterdir()) == []
