"""The request embedder on ONNX Runtime gives MiniLM's PyTorch vectors, exports its graph once
per cache folder, never serves a graph that is not the one it checked, and answers from an
int8 graph only where its vectors keep cosine >= 0.99 with PyTorch's."""

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
    OnnxTextEmbedder(cache).load()  # the float graph, then the int8 one
    return cache, TextEmbedder(show_progress=False).embed(TEXTS)


def test_vectors_are_pytorchs(exported: tuple[Path, np.ndarray]) -> None:
    cache, reference = exported
    embedder = OnnxTextEmbedder(cache, int8=False)
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
    monkeypatch.setattr(OnnxTextEmbedder, "_quantise", no_export)
    embedder = OnnxTextEmbedder(cache)
    assert (embedder.embed(TEXTS[:1]) * reference[:1]).sum() > 0.99
    assert embedder.backend == "onnxruntime-int8"


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
    embedder = OnnxTextEmbedder(copy, int8=False)
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


def test_the_int8_graph_keeps_pytorchs_vectors_within_the_bound(
    exported: tuple[Path, np.ndarray],
) -> None:
    cache, reference = exported
    embedder = OnnxTextEmbedder(cache)
    ours = embedder.embed(TEXTS)
    assert embedder.backend == "onnxruntime-int8"
    cosine = (ours * reference).sum(1)
    assert cosine.min() >= 0.99 and cosine.max() < 0.99999  # quantised, and still close
    record = json.loads(embedder.int8_path.with_suffix(".json").read_text())
    assert record["usable"] and record["cosine"] >= 0.99
    assert record["sha256"] == file_sha256(embedder.int8_path)
    assert record["source_sha256"] == file_sha256(embedder.path)


def test_a_tampered_int8_graph_is_made_again(
    exported: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    cache, reference = exported
    for name in ("path", "int8_path"):
        graph = getattr(OnnxTextEmbedder(cache), name)
        for source in (graph, graph.with_suffix(".json")):
            (tmp_path / source.name).write_bytes(source.read_bytes())
    int8 = OnnxTextEmbedder(tmp_path).int8_path
    original = int8.read_bytes()
    int8.write_bytes(original[:-100] + bytes(100))
    embedder = OnnxTextEmbedder(tmp_path)
    assert (embedder.embed(TEXTS) * reference).sum(1).min() >= 0.99
    assert embedder.backend == "onnxruntime-int8"
    assert file_sha256(int8) == json.loads(int8.with_suffix(".json").read_text())["sha256"]


def test_an_int8_graph_below_the_bound_leaves_the_float_graph_answering(
    exported: tuple[Path, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, reference = exported
    graph = OnnxTextEmbedder(cache).path
    for source in (graph, graph.with_suffix(".json")):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    real_cosine = OnnxTextEmbedder._cosine
    monkeypatch.setattr(OnnxTextEmbedder, "_cosine", lambda self, g: 0.95)
    embedder = OnnxTextEmbedder(tmp_path)
    assert (embedder.embed(TEXTS) * reference).sum(1).min() > 0.999
    assert embedder.backend == "onnxruntime" and not embedder.int8_path.exists()
    record = json.loads(embedder.int8_path.with_suffix(".json").read_text())
    assert record == {**record, "usable": False, "cosine": 0.95}
    monkeypatch.setattr(OnnxTextEmbedder, "_cosine", real_cosine)

    def no_quantise(self: OnnxTextEmbedder) -> None:
        raise AssertionError("quantised again")

    monkeypatch.setattr(OnnxTextEmbedder, "_quantise", no_quantise)
    later = OnnxTextEmbedder(tmp_path)  # the record of the failed try is read, not redone
    later.load()
    assert later.backend == "onnxruntime"
