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

import polars as pl
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


# -- a small real shop: UCI Online Retail's best-selling toys ------------------------------------
UCI_TOYS = 100  # toys kept: the best sellers among those the taxonomy rules call toys
# UCI Online Retail has no stock levels. The tests make up a stock-take for the last week (a
# shop would load its own counts the same way: sales rows with stock_on_hand), so that some
# toys run short and some sit on the shelf; each toy's stock is its last 4 weeks' units times
# one of these factors (0 = sold out).
STOCK_FACTORS = (0.0, 0.3, 1.0, 3.0, 20.0)


@dataclass(frozen=True)
class UciServed:
    store: Path
    run: Path
    stock: dict[str, float]  # the made-up stock-take, item id → units


def _uci_slice(source: Path) -> dict[str, pl.DataFrame]:
    """The adapter's tables cut to UCI_TOYS best-selling toys (sold in 20+ weeks), the
    shoppers who bought them, and the made-up stock-take in the last week's sales rows."""
    from toyguide.data.adapters import ADAPTERS

    frames = ADAPTERS.get("uci-online-retail")(source).frames
    items, sales = frames["items"], frames["sales"]
    sold = sales.group_by("item_id").agg(pl.len().alias("weeks"), pl.col("units").sum())
    toys = (
        items.filter(pl.col("functions").list.len() > 0)
        .join(sold.filter(pl.col("weeks") >= 20), on="item_id")
        .sort(["units", "item_id"], descending=[True, False])
        .head(UCI_TOYS)["item_id"]
        .implode()
    )
    events = frames["events"].filter(pl.col("item_id").is_in(toys))
    shoppers = frames["shoppers"].filter(pl.col("shopper_id").is_in(events["shopper_id"].implode()))
    sales = sales.filter(pl.col("item_id").is_in(toys))
    return {"items": items.filter(pl.col("item_id").is_in(toys)), "shoppers": shoppers,
            "events": events, "sales": _with_stock_take(sales)}  # fmt: skip


def _with_stock_take(sales: pl.DataFrame) -> pl.DataFrame:
    """``sales`` with a stock on hand for every toy in the last week (a zero-unit row where
    the toy did not sell that week: a missing week is a week without sales anyway)."""
    last = sales["week"].max()
    recent = (
        sales.filter(pl.col("week") > pl.lit(last) - pl.duration(weeks=4))
        .group_by("item_id")
        .agg(pl.col("units").sum().alias("recent"))
    )
    toys = sales.select("item_id").unique().sort("item_id").join(recent, on="item_id", how="left")
    factor = [STOCK_FACTORS[i % len(STOCK_FACTORS)] for i in range(toys.height)]
    stock = toys.with_columns(
        stock=(pl.col("recent").fill_null(0.0) * pl.Series(factor)).round(0), week=pl.lit(last)
    )
    rows = sales.join(stock.select("item_id", "week", "stock"), on=["item_id", "week"], how="full",
                      coalesce=True)  # fmt: skip
    return rows.with_columns(
        units=pl.col("units").fill_null(0.0),
        revenue=pl.col("revenue").fill_null(0.0),
        stock_on_hand=pl.coalesce("stock", "stock_on_hand"),
    ).select(sales.columns)


@pytest.fixture(scope="session")
def uci_served(tmp_path_factory: pytest.TempPathFactory, shared_dataset) -> UciServed:
    """A run trained briefly on the UCI slice, as the dataset demo trains (its config fitted to
    the store), smaller: the tests check the merchant's pages on real history, not accuracy."""
    import dataclasses

    from toyguide.cli.demo import dataset_config
    from toyguide.runs import config_for_store

    source = shared_dataset("uci-online-retail")
    root = tmp_path_factory.mktemp("uci")
    store = root / "shop.duckdb"
    parts = _uci_slice(source)
    with Store.open(store) as s:
        s.ingest_many([(t, parts[t]) for t in ("items", "shoppers", "events", "sales")], "test")
        config, _ = config_for_store(dataset_config(0), s)
    config = dataclasses.replace(
        config, threads=1, text_cache=str(root / "text-cache"),
        features=dataclasses.replace(config.features, text_buckets=0),
        model=dataclasses.replace(config.model, d_model=32),
        train=dataclasses.replace(config.train, epochs=2, steps_per_epoch=5, patience=1),
    )  # fmt: skip
    train_run(config, store, root / "run")
    last = parts["sales"].filter(pl.col("stock_on_hand").is_not_null())
    return UciServed(
        store, root / "run", dict(zip(last["item_id"], last["stock_on_hand"], strict=True))
    )


@pytest.fixture(scope="session")
def uci_guide(uci_served: UciServed):
    g = load_guide(uci_served.run, uci_served.store)
    yield g
    g.close()


# -- a small real-data shop: UCI Online Retail's toy-like products ------------------------------
UCI_FILE = "online_retail.csv.gz"
UCI_PRODUCTS = 200


@pytest.fixture(scope="session")
def uci_pricing_served(tmp_path_factory: pytest.TempPathFactory, shared_dataset) -> Served:
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
