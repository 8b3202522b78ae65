"""Ingest under real faults: the process killed with SIGKILL mid-write, and the disk full.
Either way the store keeps exactly what it held before, and the same ingest then succeeds."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from toyguide.data.ingest import ingest_file
from toyguide.data.store import Store

from ..faults import run_limited, start

N_EVENTS = 130_000  # more than one DuckDB row group: rows reach the file before the commit


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A store with items and shoppers, and a large events file beside it, not yet ingested."""
    rng = np.random.default_rng(0)
    pl.DataFrame({"item_id": [f"T{i}" for i in range(500)]}).write_csv(tmp_path / "items.csv")
    pl.DataFrame({"shopper_id": [f"S{i}" for i in range(5000)]}).write_csv(
        tmp_path / "shoppers.csv"
    )
    start_ts = pl.datetime(2024, 1, 1)
    pl.DataFrame(
        {
            "shopper_id": [f"S{i}" for i in rng.integers(0, 5000, N_EVENTS)],
            "item_id": [f"T{i}" for i in rng.integers(0, 500, N_EVENTS)],
            "ts": pl.datetime_range(
                start_ts, start_ts + pl.duration(seconds=N_EVENTS - 1), "1s", eager=True
            ),
            "kind": ["view"] * N_EVENTS,
        }
    ).write_csv(tmp_path / "events.csv")
    with Store.open(tmp_path / "shop.duckdb") as store:
        ingest_file(store, "items", tmp_path / "items.csv")
        ingest_file(store, "shoppers", tmp_path / "shoppers.csv")
    return tmp_path


def counts(folder: Path) -> dict[str, int]:
    with Store.open(folder / "shop.duckdb") as store:
        return store.counts() | {"log": len(store.ingest_log())}


def ingest_code(folder: Path) -> str:
    return f"""
from toyguide.data.ingest import ingest_file
from toyguide.data.store import Store
with Store.open({str(folder / "shop.duckdb")!r}) as store:
    ingest_file(store, "events", {str(folder / "events.csv")!r})
"""


def ingest_again_succeeds(folder: Path, before: dict[str, int]) -> None:
    with Store.open(folder / "shop.duckdb") as store:
        report = ingest_file(store, "events", folder / "events.csv")
    assert report.inserted == N_EVENTS
    assert counts(folder) == before | {"events": N_EVENTS, "log": before["log"] + 1}


def test_sigkill_mid_ingest_leaves_the_store_as_it_was(shop: Path) -> None:
    before = counts(shop)
    store_file = shop / "shop.duckdb"
    size = store_file.stat().st_size
    child = start(ingest_code(shop))
    # The store file grows once the ingest writes its rows, before the commit: kill then.
    deadline = time.monotonic() + 120
    while child.poll() is None and store_file.stat().st_size == size:
        assert time.monotonic() < deadline, "the ingest never started writing"
        time.sleep(0.002)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    assert counts(shop) == before
    ingest_again_succeeds(shop, before)


def test_a_full_disk_mid_ingest_is_a_clear_error_and_stores_nothing(shop: Path) -> None:
    before = counts(shop)
    limit = (shop / "shop.duckdb").stat().st_size + 256 * 1024  # far less than the events
    result = run_limited(
        ingest_code(shop)
        + """
print("stored")
""",
        limit,
    )
    assert "stored" not in result.stdout
    assert "StoreError" in result.stderr, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    for said in ("shop.duckdb", "events.csv", "File too large", "Nothing of it was stored"):
        assert said in message, message
    assert counts(shop) == before
    ingest_again_succeeds(shop, before)
