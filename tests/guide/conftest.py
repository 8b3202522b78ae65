"""Shared fixtures of the guide tests: the request sets and one loaded MiniLM matcher."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from toyguide.guide import SemanticMatcher

HERE = Path(__file__).resolve().parent


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
