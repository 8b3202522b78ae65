"""Shared fixtures of the guide tests: the request sets, one loaded MiniLM matcher and one small
real model trained on the synthetic shop."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from toyguide.data.ingest import build_synthetic_store
from toyguide.data.store import Store
from toyguide.data.synth import SynthConfig
from toyguide.guide import SemanticMatcher
from toyguide.guide.engine import Guide
from toyguide.runs import run_config_from_dict, train_run

HERE = Path(__file__).resolve().parent


RUN = {
    "threads": 1,
    "features": {"tasks": ["preference", "attributes", "sales", "profile"], "horizon": 8},
    "model": {"d_model": 16, "shopper_layers": 1},
    "train": {"epochs": 1, "steps_per_epoch": 15},
    "analysis": {"every_steps": 0},
}


def _load_set(name: str) -> list[dict]:
    with (HERE / f"{name}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def load_set() -> Callable[[str], list[dict]]:
    """``load_set(name)``: rows of ``tests/guide/<name>.jsonl``, {"lang", "text", "expected"}."""
    return _load_set


@pytest.fixture(scope="session")
def real_matcher() -> SemanticMatcher:
    """The embedding fallback on the real, verified MiniLM: loaded once for the session."""
    from toyguide.features.text import TextEmbedder

    matcher = SemanticMatcher(TextEmbedder())
    matcher.match(["warm up"])  # loads the model and embeds the label phrases once
    return matcher


class _KeywordEmbedder:
    """A stand-in for MiniLM: one axis per trigger word, so tests choose the similarities."""

    def __init__(self, axes: list[str]) -> None:
        self.axes = axes
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), len(self.axes) + 1), dtype=np.float32)
        for row, text in enumerate(texts):
            hits = [i for i, axis in enumerate(self.axes) if axis in text.lower()]
            out[row, hits or [len(self.axes)]] = 1.0
        return out


@pytest.fixture
def keyword_embedder() -> type[_KeywordEmbedder]:
    """``keyword_embedder(axes)``: a fake embedder whose similarities the test chooses."""
    return _KeywordEmbedder


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run folder, store) of a four-task model trained on a 400-shopper synthetic shop."""
    root = tmp_path_factory.mktemp("guide")
    store = root / "shop.duckdb"
    with Store.open(store) as s:
        build_synthetic_store(s, SynthConfig(n_shoppers=400, n_items=80, n_weeks=30, seed=3))
    train_run(run_config_from_dict(RUN), store, root / "run")
    return root / "run", store


@pytest.fixture(scope="module")
def guide(trained: tuple[Path, Path]):
    """The trained model's guide, without the semantic matcher; one per test module."""
    run, store = trained
    g = Guide.load(run, store, semantic=False)
    yield g
    g.close()
