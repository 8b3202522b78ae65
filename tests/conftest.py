from __future__ import annotations

import os
from pathlib import Path

import pytest

from toyguide.data.store import Store


def shared_data_dir() -> Path:
    """../shared/data beside the repo, or $TOYGUIDE_SHARED_DATA."""
    env = os.environ.get("TOYGUIDE_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "shop.duckdb") as s:
        yield s
