"""bench/serve.py's generated guide requests (``--guide-requests``)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch):
    """bench/serve.py (bench/ is not a package; on sys.path for this test only)."""
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("serve")


def test_generated_guide_requests_are_distinct_seeded_and_mixed(serve) -> None:
    texts = serve.guide_texts(300)
    assert len(set(texts)) == 300 and texts == serve.guide_texts(300)
    assert serve.guide_texts(300, seed=1) != texts
    chinese = sum("岁" in t for t in texts)
    assert 30 < chinese < 120  # about one in four
    assert not set(texts) & set(serve.GUIDE_TEXTS)  # none of the six fixed ones
