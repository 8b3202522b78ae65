"""A tiny synthetic shop in a store on disk, for tests that run the CLI in subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from toyguide.data.ingest import build_synthetic_store
from toyguide.data.store import Store
from toyguide.data.synth import SynthConfig

TINY_SHOP = SynthConfig(n_shoppers=300, n_items=60, n_weeks=16, seed=1)


@pytest.fixture(scope="module")
def shop_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store file, built once and closed, so subprocesses can open it read-only. Text
    vectors are cached beside it (``.toyguide-cache``), so MiniLM runs once per module."""
    path = tmp_path_factory.mktemp("shop") / "shop.duckdb"
    with Store.open(path) as store:
        build_synthetic_store(store, TINY_SHOP)
    return path
