"""Shared fixtures of the service tests: one tiny real model trained on the synthetic shop.

The model is trained once per session (all four tasks, a few steps) and loaded once; each
test gets a fresh app around it (a new dialogue store, the same guide).
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from toyguide.data.ingest import build_synthetic_store
from toyguide.data.store import Store
from toyguide.data.synth import SynthConfig
from toyguide.runs import run_config_from_dict, train_run
from toyguide.service import Settings, create_app
from toyguide.service.holder import load_guide

ADMIN, MERCHANT = "admin-secret", "merchant-secret"
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}
MERCHANT_AUTH = {"Authorization": f"Bearer {MERCHANT}"}


@dataclass(frozen=True)
class Served:
    """A trained run and its store; ``shopper``/``item`` are ids the model knows."""

    root: Path
    store: Path
    run: Path
    model: Path
    shopper: str
    item: str


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    root = tmp_path_factory.mktemp("served")
    store = root / "shop.duckdb"
    with Store.open(store) as s:
        build_synthetic_store(s, SynthConfig(n_shoppers=400, n_items=80, n_weeks=30, seed=3))
    config = run_config_from_dict({
        "threads": 1,
        "text_cache": str(root / "text-cache"),  # shared by every copy of the store
        "features": {"tasks": ["preference", "attributes", "sales", "profile"], "horizon": 8},
        "model": {"d_model": 16, "shopper_layers": 1},
        "train": {"epochs": 1, "steps_per_epoch": 15},
        "analysis": {"every_steps": 0},
    })  # fmt: skip
    train_run(config, store, root / "run")
    assert (root / "run" / "model").is_dir()
    with Store.open(store, read_only=True) as s:
        shopper = s.query("SELECT shopper_id FROM events GROUP BY 1 ORDER BY 1 LIMIT 1").item()
        item = s.query(
            "SELECT item_id FROM sales WHERE stock_on_hand IS NOT NULL ORDER BY week DESC, 1 LIMIT 1"
        ).item()
    return Served(root, store, root / "run", root / "run" / "model", shopper, item)


@pytest.fixture(scope="session")
def guide(served: Served):
    """The guide every route test shares (read-only use; event writes use their own copy)."""
    g = load_guide(served.model, served.store)
    yield g
    g.close()


def settings_for(served: Served, **overrides) -> Settings:
    values = {"model_dir": served.model, "store": served.store, "admin_token": ADMIN,
              "merchant_token": MERCHANT, **overrides}  # fmt: skip
    return Settings(**values)


@pytest.fixture
def client(served: Served, guide) -> TestClient:
    return TestClient(create_app(settings_for(served), guide))


@pytest.fixture
def private_copy(served: Served, tmp_path: Path) -> Served:
    """A copy of the store and the run, for tests that write or reload."""
    store = tmp_path / "shop.duckdb"
    shutil.copyfile(served.store, store)
    shutil.copytree(served.run, tmp_path / "run")
    return Served(tmp_path, store, tmp_path / "run", tmp_path / "run" / "model",
                  served.shopper, served.item)  # fmt: skip


@contextmanager
def running(app) -> Iterator[str]:
    """``app`` under a real uvicorn on a free 127.0.0.1 port, in a background thread; yields
    its base URL and stops it afterwards (running the app's lifespan once, as in production)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=10))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def settled_ready(client: TestClient, headers: dict | None = None):
    """``/ready`` once the model is no longer loading (a few seconds at most)."""
    for _ in range(200):
        ready = client.get("/ready", headers=headers or {})
        if ready.json()["status"] != "loading":
            return ready
        threading.Event().wait(0.02)
    return ready


# -- a small real-data shop: UCI Online Retail's toy-like products ------------------------------
UCI_FILE = "online_retail.csv.gz"
UCI_PRODUCTS = 200


@pytest.fixture(scope="session")
def uci_served(tmp_path_factory: pytest.TempPathFactory, shared_dataset) -> Served:
    """A run trained briefly on 200 toys of UCI Online Retail (products whose title the
    adapter's taxonomy rules label; every invoice line of theirs, in the adapter's own source
    format): real prices in GBP and real weekly sales, for the pricing pages. Attributes and
    sales only: the merchant's evaluator needs no more."""
    import polars as pl

    from toyguide.cli.demo import dataset_config
    from toyguide.data.adapters.uci_retail_taxonomy import functions_for
    from toyguide.data.ingest import import_dataset
    from toyguide.runs import config_for_store

    root = tmp_path_factory.mktemp("uci")
    lines = pl.read_csv(shared_dataset("uci-online-retail") / UCI_FILE, infer_schema_length=0)
    titles = lines.select("StockCode", "Description").unique().drop_nulls()
    toys = titles.filter(pl.col("Description").map_elements(functions_for, pl.List(pl.String))
                         .list.len() > 0)["StockCode"]  # fmt: skip
    codes = toys.str.to_uppercase().unique().sort().head(UCI_PRODUCTS)
    kept = io.BytesIO()
    lines.filter(pl.col("StockCode").str.to_uppercase().is_in(codes.implode())).write_csv(kept)
    source = root / "source"
    source.mkdir()
    (source / UCI_FILE).write_bytes(gzip.compress(kept.getvalue(), mtime=0))
    store = root / "shop.duckdb"
    with Store.open(store) as s:
        import_dataset(s, "uci-online-retail", source)
        config, _ = config_for_store(dataset_config(0), s)
    f, m, t = config.features, config.model, config.train
    config = dataclasses.replace(
        config, threads=1, text_cache=str(root / "text-cache"),
        # functions, not price_band: a price band target would blank the price input
        features=dataclasses.replace(f, tasks=("attributes", "sales"), text_buckets=0,
                                     attribute_targets=("functions",)),
        model=dataclasses.replace(m, d_model=16),
        train=dataclasses.replace(t, epochs=2, steps_per_epoch=10, patience=1),
        analysis=dataclasses.replace(config.analysis, every_steps=0),
    )  # fmt: skip
    train_run(config, store, root / "run")
    with Store.open(store, read_only=True) as s:
        item = s.query("SELECT item_id FROM sales GROUP BY 1 ORDER BY sum(units) DESC LIMIT 1")
    return Served(root, store, root / "run", root / "run" / "model", "", item.item())
