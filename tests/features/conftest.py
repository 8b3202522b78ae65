"""The tiny synthetic shop the feature tests read, and a fake text embedder."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from toyguide.data.ingest import build_synthetic_store
from toyguide.data.store import Store
from toyguide.data.synth import SynthConfig
from toyguide.data.taxonomy import EVENT_KINDS
from toyguide.features.data import FeatureConfig, TaskData
from toyguide.tasks import build_task_data

TINY = SynthConfig(n_shoppers=300, n_items=80, n_weeks=20, seed=1)
FAKE_DIM = 8


def _fake_embed(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in for MiniLM: a hashed one-hot plus the text length."""
    out = np.zeros((len(texts), FAKE_DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        out[row, zlib.crc32(text.encode()) % (FAKE_DIM - 1)] = 1.0
        out[row, -1] = len(text) / 100
    return out


@pytest.fixture(scope="session")
def fake_embedder() -> Callable[[list[str]], np.ndarray]:
    return _fake_embed


@pytest.fixture(scope="session")
def tiny_shop() -> SynthConfig:
    return TINY


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory):
    """The tiny synthetic shop in a store, built once; tests only read it."""
    path = Path(tmp_path_factory.mktemp("features")) / "tiny.duckdb"
    with Store.open(path) as store:
        build_synthetic_store(store, TINY)
        yield store


@pytest.fixture(scope="session")
def task_data(tiny_store: Store) -> TaskData:
    """Every task on; sequences long enough to hold any shopper's whole history."""
    # Uncollapsed, so the tests can compare steps with the raw events one to one.
    config = FeatureConfig(max_len=400, collapse_repeats=False)
    return build_task_data(tiny_store, config, text_vectors=_fake_embed)


@pytest.fixture(scope="session")
def ordered_events(tiny_store: Store) -> pl.DataFrame:
    """The events in the order the features layer promises: shopper, time, funnel kind, item."""
    kind_order = {k: i for i, k in enumerate(EVENT_KINDS)}
    return (
        tiny_store.frame("events")
        .with_columns(pl.col("kind").replace_strict(kind_order, return_dtype=pl.Int64).alias("k"))
        .sort(["shopper_id", "ts", "k", "item_id"])
    )
