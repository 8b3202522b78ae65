"""Reload under load: real HTTP (uvicorn), concurrent shoppers, two reloads, no failure."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from toyguide.service import create_app

from .conftest import ADMIN_AUTH, running, settings_for

THREADS, REQUESTS = 4, 60


def test_reload_under_load_fails_no_request(private_copy, caplog) -> None:
    caplog.set_level(logging.INFO, logger="toyguide.service")
    second = private_copy.root / "second-run"
    shutil.copytree(private_copy.run, second)
    app = create_app(settings_for(private_copy))  # loads its own model at startup
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as admin:
        ready = wait_until_ready(admin)
        assert ready["model"]["folder"] == str(private_copy.model)
        failures: list[str] = []
        finished: list[float] = []  # when each request's answer came
        started = threading.Barrier(THREADS + 1)

        def shopper(worker: int) -> int:
            done = 0
            with httpx.Client(base_url=url, timeout=60) as client:
                started.wait()
                for i in range(REQUESTS):
                    if (worker + i) % 2:
                        r = client.post("/v1/recommendations",
                                        json={"shopper_id": private_copy.shopper, "k": 5})  # fmt: skip
                        ok = r.status_code == 200 and r.json()["picks"]
                    else:
                        r = client.get(f"/v1/items/{private_copy.item}")
                        ok = r.status_code == 200 and r.json()["item_id"] == private_copy.item
                    if not ok:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                    finished.append(time.monotonic())
                    done += 1
            return done

        with ThreadPoolExecutor(THREADS) as pool:
            futures = [pool.submit(shopper, w) for w in range(THREADS)]
            started.wait()
            windows = []
            for folder in (second, private_copy.run):  # each reload while requests are running
                begin = time.monotonic()
                reloaded = admin.post("/v1/admin/reload", json={"model_dir": str(folder)},
                                      headers=ADMIN_AUTH)  # fmt: skip
                assert reloaded.status_code == 200, reloaded.text
                assert reloaded.json()["model"]["folder"] == str(folder / "model")
                windows.append((begin, time.monotonic()))
                assert served_folder(admin) == str(folder / "model")
            served = sum(f.result() for f in futures)
        assert failures == [] and served == THREADS * REQUESTS
        for begin, end in windows:  # requests were answered while each reload ran
            assert any(begin < t < end for t in finished), (windows, finished[0], finished[-1])
        closed = [r for r in caplog.records if r.getMessage().startswith("closed the guide")]
        assert len(closed) == 2  # both replaced guides, once their last request was done
        holder = app.state.services.holder
        assert holder.generation == 3 and holder.model_dir == private_copy.run
        reloaded = admin.post("/v1/admin/reload", json={"model_dir": str(second)},
                              headers=ADMIN_AUTH)  # fmt: skip
        assert served_folder(admin) == str(second / "model")


def served_folder(admin: httpx.Client) -> str:
    """The model folder ``/ready`` names (to the admin token: others see no paths)."""
    return admin.get("/ready", headers=ADMIN_AUTH).json()["model"]["folder"]


def wait_until_ready(client: httpx.Client, timeout: float = 60.0) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/ready", headers=ADMIN_AUTH)
        if response.status_code == 200:
            return response.json()
        time.sleep(0.05)
    raise AssertionError("the model did not load in time")
