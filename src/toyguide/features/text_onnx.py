"""The request embedder on ONNX Runtime: the same MiniLM vectors at a fraction of the cost.

A guide request embeds one short text, where PyTorch's per-operator overhead dominates: on this
2-core machine one text takes ~13 ms in PyTorch and ~5 ms in ONNX Runtime (bench/README, serving
latency). The ONNX graph is exported once from the verified safetensors weights (never
downloaded), its vectors checked against PyTorch's on probe texts (cosine >= MIN_COSINE), and
kept in a cache folder beside a JSON record of its sha256, so later loads — every worker, every
reload — only read it. An int8 graph is then made from it the same way and used where its
vectors keep cosine >= 0.99 with PyTorch's on the probes (the catalogue's index holds PyTorch's
vectors): ONNX Runtime's dynamic quantisation of the weight products, per output channel, all
but the feed-forward output projections (quantised too, the worst request text of the parser's
sets fell to cosine 0.98; without them it stays at 0.993), ~3.4 ms a text instead of ~6.1.
Quantising every product per tensor gave cosine 0.92 and is not used.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from toyguide.checksums import file_sha256
from toyguide.errors import ModelIntegrityError
from toyguide.features.text import MODEL_SHA256, TEXT_DIM, TextEmbedder, verify_model_dir

__all__ = ["MIN_COSINE", "OnnxTextEmbedder", "default_cache_dir"]

MIN_COSINE = 0.99
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_PROBES = (
    "a gift for my 5-year-old granddaughter who loves dinosaurs, under $30",
    "给三岁的男孩买遥控车，200元以内",
    "wooden jigsaw puzzle 1000 pieces",
    "soft plush rabbit for a newborn, 0-3 months",
    "remote control racing car with rechargeable battery and two speeds " * 8,  # > max length
)
CACHE_ENV = "TOYGUIDE_CACHE"

log = logging.getLogger("toyguide.text")


def default_cache_dir() -> Path:
    """``$TOYGUIDE_CACHE``, else ``~/.cache/toyguide``."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    return Path(configured) if configured else Path.home() / ".cache" / "toyguide"


class OnnxTextEmbedder:
    """``embed(texts)`` → unit-length ``[n, 384]`` float32, as :class:`TextEmbedder` gives,
    through ONNX Runtime (one intra-op thread: requests run in parallel, not inside one)."""

    def __init__(self, cache_dir: Path | None = None, threads: int = 1, int8: bool = True) -> None:
        self.reference = TextEmbedder(show_progress=False)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.threads, self.int8 = threads, int8
        self._session: Any = None
        self._tokenizer: Any = None
        self._fallback = False
        self._quantised = False
        self._graph_sha256 = ""  # the float graph's, hashed once a load (it is ~90 MB)
        self.max_length = 256

    @property
    def path(self) -> Path:
        return self.cache_dir / f"minilm-{MODEL_SHA256[:16]}.onnx"

    @property
    def int8_path(self) -> Path:
        return self.cache_dir / f"minilm-{MODEL_SHA256[:16]}-int8.onnx"

    @property
    def backend(self) -> str:
        """``"onnxruntime-int8"``, ``"onnxruntime"`` (no int8 graph kept its vectors, or
        ``int8=False``), or ``"torch"`` when no graph could be made (logged)."""
        if self._fallback:
            return "torch"
        return "onnxruntime-int8" if self._quantised else "onnxruntime"

    def load(self) -> None:
        """Read the cached graph, exporting it first when there is none for these weights; a
        graph that cannot be exported or fails the check leaves PyTorch answering."""
        if self._session is not None or self._fallback:
            return
        from transformers import AutoTokenizer

        verify_model_dir(self.reference.model_dir)  # the tokenizer files sit beside the weights
        self._tokenizer = AutoTokenizer.from_pretrained(str(self.reference.model_dir))
        try:
            if not self._cached_graph_is_valid():
                self._export()
            # one session only: a reload in a serving worker opens its graph again
            self._quantised = self.int8 and self._int8_usable()
            self._session = self._open(self.int8_path if self._quantised else self.path)
        except (ModelIntegrityError, RuntimeError, OSError, ImportError) as exc:
            log.warning("request embedder: ONNX Runtime not used, PyTorch answers (%s)", exc)
            self._quantised, self._fallback = False, True

    def _int8_usable(self) -> bool:
        """The int8 graph is cached and checked, or made and checked now; False (the float
        graph answers) when its vectors fell below MIN_COSINE or it could not be made."""
        record = self._read_record(self.int8_path)
        if not self._int8_record_holds(record):
            try:
                record = self._quantise()
            except (RuntimeError, OSError, ImportError, ValueError) as exc:
                log.warning("request embedder: no int8 graph, the float one answers (%s)", exc)
                return False
        return bool(record and record["usable"])

    def _int8_record_holds(self, record: dict[str, Any] | None) -> bool:
        """The record is of this float graph, and describes the int8 graph beside it (or a
        failed try, kept so that later loads do not try again)."""
        if record is None or record.get("source_sha256") != self._graph_sha256:
            return False
        if not record.get("usable"):
            return True
        return self.int8_path.is_file() and record.get("sha256") == file_sha256(self.int8_path)

    def _quantise(self) -> dict[str, Any]:
        """Quantise the float graph, check it on the probes, and keep it (or the record that
        it failed, so that later loads do not try again) beside the float graph."""
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory(dir=self.cache_dir) as tmp:
            graph = Path(tmp) / self.int8_path.name
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_dynamic(
                    str(self.path), str(graph), weight_type=QuantType.QInt8, per_channel=True,
                    op_types_to_quantize=["MatMul"], nodes_to_exclude=_ffn_outputs(self.path),
                )  # fmt: skip
            cosine = self._cosine(graph)
            usable = cosine >= MIN_COSINE
            record = {"source_sha256": self._graph_sha256, "usable": usable,
                      "cosine": round(cosine, 5), "min_cosine": MIN_COSINE,
                      **({"sha256": file_sha256(graph)} if usable else {})}  # fmt: skip
            if usable:
                os.replace(graph, self.int8_path)
            else:
                log.warning("request embedder: the int8 graph's vectors are at cosine %.4f "
                            "with PyTorch's (need >= %s); the float graph answers", cosine,
                            MIN_COSINE)  # fmt: skip
            self._write_record(self.int8_path, record, Path(tmp))
        return record

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, TEXT_DIM), dtype=np.float32)
        self.load()
        if self._fallback:
            return self.reference.embed(list(texts))
        return self._run(self._session, list(texts))

    def _run(self, session: Any, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer(texts, padding=True, truncation=True,
                                  max_length=self.max_length, return_tensors="np")  # fmt: skip
        feeds = {name: encoded[name].astype(np.int64) for name in _INPUTS}
        return np.asarray(session.run(None, feeds)[0], dtype=np.float32)  # [n, 384]

    def _open(self, path: Path) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    # -- the graph, exported once ------------------------------------------------------------
    def _cached_graph_is_valid(self) -> bool:
        """The graph exists and is the file its record describes, for these MiniLM weights."""
        record = self._read_record(self.path) if self.path.is_file() else None
        if (
            record is None
            or record.get("weights_sha256") != MODEL_SHA256
            or record.get("sha256") != (sha := file_sha256(self.path))
            or not isinstance(record.get("max_length"), int)
        ):
            return False
        self._graph_sha256 = sha
        self.max_length = int(record["max_length"])
        return True

    def _export(self) -> None:
        """Export the verified weights, check the vectors, then move graph and record in."""
        self.reference.load()  # verifies the weights' sha256 first
        model = self.reference._model
        self.max_length = int(model.max_seq_length)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.cache_dir) as tmp:
            graph = Path(tmp) / self.path.name
            encoded = self._tokenizer(list(_PROBES[:2]), padding=True, return_tensors="pt")
            # the tracer warns about branches on shapes; the check below is what decides
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    _MeanPooled(model[0].auto_model).eval(),
                    tuple(encoded[name] for name in _INPUTS),
                    str(graph),
                    input_names=list(_INPUTS),
                    output_names=["vectors"],
                    dynamic_axes={name: {0: "batch", 1: "length"} for name in _INPUTS}
                    | {"vectors": {0: "batch"}},
                    opset_version=17,
                    dynamo=False,
                )
            self._check(graph)
            record = {"weights_sha256": MODEL_SHA256, "sha256": file_sha256(graph),
                      "max_length": self.max_length, "torch": torch.__version__,
                      "min_cosine": MIN_COSINE}  # fmt: skip
            os.replace(graph, self.path)  # another worker may have exported it too: same bytes
            self._write_record(self.path, record, Path(tmp))
            self._graph_sha256 = record["sha256"]

    def _read_record(self, graph: Path) -> dict[str, Any] | None:
        """The JSON record beside ``graph``; None when missing or unreadable."""
        try:
            return json.loads(graph.with_suffix(".json").read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None

    def _write_record(self, graph: Path, record: dict[str, Any], tmp: Path) -> None:
        staged = tmp / "record.json"
        staged.write_text(json.dumps(record, indent=2))
        os.replace(staged, graph.with_suffix(".json"))

    def _cosine(self, graph: Path) -> float:
        """The smallest cosine between ``graph``'s vectors and PyTorch's on the probes."""
        ours = self._run(self._open(graph), list(_PROBES))
        return float((ours * self.reference.embed(list(_PROBES))).sum(1).min())

    def _check(self, graph: Path) -> None:
        cosine = self._cosine(graph)
        if cosine < MIN_COSINE:
            raise ModelIntegrityError(
                f"the ONNX export of MiniLM gives vectors at cosine {cosine:.4f} with PyTorch's "
                f"on the probe texts (need >= {MIN_COSINE}); not using it"
            )


def _ffn_outputs(graph: Path) -> list[str]:
    """The feed-forward output projections of each layer (kept in float by the int8 graph)."""
    import onnx

    nodes = onnx.load(str(graph), load_external_data=False).graph.node
    names = [n.name for n in nodes if n.op_type == "MatMul"]
    return [n for n in names if n.endswith("/output/dense/MatMul") and "/attention/" not in n]


class _MeanPooled(torch.nn.Module):
    """MiniLM's transformer, then all-MiniLM-L6-v2's pooling: the mean over real tokens,
    L2-normalised — what sentence-transformers does after the transformer."""

    def __init__(self, transformer: torch.nn.Module) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        states = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state  # fmt: skip
        mask = attention_mask.unsqueeze(-1).to(states.dtype)  # [B, L, 1]
        mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # [B, 384]
        return torch.nn.functional.normalize(mean, dim=-1)
