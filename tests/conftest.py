from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from toyguide.data.ingest import build_synthetic_store
from toyguide.data.store import Store
from toyguide.data.synth import SynthConfig


def shared_data_dir() -> Path:
    """../shared/data beside the repo, or $TOYGUIDE_SHARED_DATA."""
    env = os.environ.get("TOYGUIDE_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_dataset() -> Callable[[str], Path]:
    """``shared_dataset(name)``: that dataset's folder; the test skips only when it is absent."""

    def folder(name: str) -> Path:
        path = shared_data_dir() / name
        if not path.is_dir():
            pytest.skip(f"dataset folder {path} is absent")
        return path

    return folder


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Small tensors gain nothing from threads, and on a busy 2-core machine two threads per
    process thrash; the tests run single-threaded (benchmarks set their own)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True, scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory):
    """The request embedder's ONNX graph goes to a folder of this session (exported once, read
    by every guide and server process the tests start), not to the user's cache."""
    from toyguide.features.text_onnx import CACHE_ENV

    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("toyguide-cache"))
    yield
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "shop.duckdb") as s:
        yield s


# A tiny synthetic shop in a store on disk, for tests that run the CLI in subprocesses.
TINY_SHOP = SynthConfig(n_shoppers=300, n_items=60, n_weeks=16, seed=1)


@pytest.fixture(scope="module")
def shop_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store file, built once and closed, so subprocesses can open it read-only. Text
    vectors are cached beside it (``.toyguide-cache``), so MiniLM runs once per module."""
    path = tmp_path_factory.mktemp("shop") / "shop.duckdb"
    with Store.open(path) as store:
        build_synthetic_store(store, TINY_SHOP)
    return path
