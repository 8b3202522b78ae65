"""The request embedder on ONNX Runtime gives MiniLM's PyTorch vectors, exports its graph once
per cache folder, and never serves a graph that is not the one it checked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from toyguide.checksums import file_sha256
from toyguide.errors import ModelIntegrityError
from toyguide.features.text import TEXT_DIM, TextEmbedder
from toyguide.features.text_onnx import OnnxTextEmbedder

TEXTS = [
    "lego for an 8 year old boy",
    "给六岁女孩的生日礼物，喜欢画画",
    "something musical for a toddler, no plush",
    "a very long description of a wooden train set with magnetic couplings " * 20,
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A cache folder with the exported graph, and PyTorch's vectors of TEXTS."""
    cache = tmp_path_factory.mktemp("onnx")
    OnnxTextEmbedder(cache).load()
    return cache, TextEmbedder(show_progress=False).embed(TEXTS)


def test_vectors_are_pytorchs(exported: tuple[Path, np.ndarray]) -> None:
    cache, reference = exported
    embedder = OnnxTextEmbedder(cache)
    ours = embedder.embed(TEXTS)
    assert embedder.backend == "onnxruntime"
    assert ours.shape == (len(TEXTS), TEXT_DIM) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * reference).sum(1).min() > 0.999
    # a batch pads its texts to the longest: each vector is the one of the text alone
    alone = np.stack([embedder.embed([t])[0] for t in TEXTS])
    np.testing.assert_allclose(ours, alone, atol=1e-4)
    assert embedder.embed([]).shape == (0, TEXT_DIM)


def test_a_second_embedder_reads_the_graph_without_exporting(
    exported: tuple[Path, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, reference = exported

    def no_export(self: OnnxTextEmbedder) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(OnnxTextEmbedder, "_export", no_export)
    embedder = OnnxTextEmbedder(cache)
    assert (embedder.embed(TEXTS[:1]) * reference[:1]).sum() > 0.999
    assert embedder.backend == "onnxruntime"


def test_a_tampered_graph_is_exported_again(
    exported: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    cache, reference = exported
    copy = tmp_path / "cache"
    copy.mkdir()
    graph = OnnxTextEmbedder(copy).path
    original = (cache / graph.name).read_bytes()
    graph.write_bytes(original[:-100] + bytes(100))  # same size, last weights zeroed
    graph.with_suffix(".json").write_text((cache / graph.name).with_suffix(".json").read_text())
    embedder = OnnxTextEmbedder(copy)
    assert (embedder.embed(TEXTS) * reference).sum(1).min() > 0.999
    record = json.loads(graph.with_suffix(".json").read_text())
    assert record["sha256"] == file_sha256(graph) and graph.read_bytes() == original


def test_a_graph_failing_the_check_leaves_pytorch_answering(
    exported: tuple[Path, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    _, reference = exported

    def fails(self: OnnxTextEmbedder, graph: Path) -> None:
        raise ModelIntegrityError("vectors at cosine 0.5")

    monkeypatch.setattr(OnnxTextEmbedder, "_check", fails)
    embedder = OnnxTextEmbedder(tmp_path)
    with caplog.at_level("WARNING", logger="toyguide.text"):
        vectors = embedder.embed(TEXTS)
    assert embedder.backend == "torch" and "cosine 0.5" in caplog.text
    np.testing.assert_allclose(vectors, reference, atol=1e-5)
    assert not embedder.path.exists()  # nothing unchecked was kept
