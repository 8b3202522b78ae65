from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from toyguide.errors import ModelIntegrityError
from toyguide.features.text import (
    MODEL_SHA256,
    TEXT_DIM,
    TextEmbedder,
    default_model_dir,
    file_sha256,
)

TOYS = ["plush teddy bear", "soft cuddly bear", "remote control racing car"]


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    e = TextEmbedder()
    e.load()  # once for the module: the import of sentence-transformers takes seconds
    return e


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(default_model_dir(), tmp_path / "model"))


def test_installed_weights_are_the_published_ones() -> None:
    assert file_sha256(default_model_dir() / "model.safetensors") == MODEL_SHA256


def test_real_model_embeds_similar_toys_closer(embedder: TextEmbedder) -> None:
    vectors = embedder.embed(TOYS)
    assert vectors.shape == (3, TEXT_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    bear, cuddly, car = vectors
    assert bear @ cuddly > bear @ car + 0.3
    assert bear @ cuddly > cuddly @ car + 0.3
    assert embedder.embed([]).shape == (0, TEXT_DIM)


def _refuse_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    import sentence_transformers

    def boom(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", boom)


def test_tampered_weights_are_refused_before_loading(
    model_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = model_copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    _refuse_loading(monkeypatch)
    tampered = TextEmbedder(model_copy)
    with pytest.raises(ModelIntegrityError, match="sha256"):
        tampered.embed(["lego set"])
    assert not tampered.is_loaded


def test_pickle_weights_beside_the_safetensors_are_refused(
    model_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (model_copy / "pytorch_model.bin").write_bytes(b"not to be unpickled")
    _refuse_loading(monkeypatch)
    with pytest.raises(ModelIntegrityError, match=r"pytorch_model\.bin"):
        TextEmbedder(model_copy).load()


def test_missing_weights_are_refused(model_copy: Path) -> None:
    (model_copy / "model.safetensors").unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        TextEmbedder(model_copy).load()


def test_cache_returns_identical_vectors_without_loading(
    embedder: TextEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [*TOYS, "wooden puzzle", "plush teddy bear"]  # a duplicate is embedded once
    embedded: list[list[str]] = []
    real_embed = embedder.embed

    def counting(batch: list[str]) -> np.ndarray:
        embedded.append(list(batch))
        return real_embed(batch)

    monkeypatch.setattr(embedder, "embed", counting)
    first = embedder.embed_cached(texts, tmp_path / "cache")
    assert embedded == [[*TOYS, "wooden puzzle"]]
    np.testing.assert_allclose(first, real_embed(texts), atol=1e-6)  # batching may differ

    fresh = TextEmbedder()  # a new process, say: the cache alone must answer
    monkeypatch.setattr(fresh, "load", lambda: pytest.fail("model loaded for cached texts"))
    second = fresh.embed_cached(texts, tmp_path / "cache")
    np.testing.assert_array_equal(second, first)
    assert second.dtype == np.float32 and not fresh.is_loaded

    embedder.embed_cached(["a new doll house", *TOYS], tmp_path / "cache")
    assert embedded[-1] == ["a new doll house"]  # only what is new
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) == 2
    assert not list((tmp_path / "cache").glob("*.pkl"))
