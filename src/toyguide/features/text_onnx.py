"""The request embedder on ONNX Runtime: the same MiniLM vectors at a fraction of the cost.

A guide request embeds one short text, where PyTorch's per-operator overhead dominates: on this
2-core machine one text takes ~13 ms in PyTorch and ~5 ms in ONNX Runtime (bench/README, serving
latency). The ONNX graph is exported once from the verified safetensors weights (never
downloaded), its vectors checked against PyTorch's on probe texts (cosine >= MIN_COSINE), and
kept in a cache folder beside a JSON record of its sha256, so later loads — every worker, every
reload — only read it. The int8-quantised graph is not used: its vectors fell to cosine 0.92
with PyTorch's on the probes, below the 0.99 the catalogue's FAISS index needs to stay valid.
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

    def __init__(self, cache_dir: Path | None = None, threads: int = 1) -> None:
        self.reference = TextEmbedder(show_progress=False)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._fallback = False
        self.max_length = 256

    @property
    def path(self) -> Path:
        return self.cache_dir / f"minilm-{MODEL_SHA256[:16]}.onnx"

    @property
    def backend(self) -> str:
        """``"onnxruntime"``, or ``"torch"`` when the graph could not be made (logged)."""
        return "torch" if self._fallback else "onnxruntime"

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
            self._session = self._open(self.path)
        except (ModelIntegrityError, RuntimeError, OSError, ImportError) as exc:
            log.warning("request embedder: ONNX Runtime not used, PyTorch answers (%s)", exc)
            self._fallback = True

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
    def _record(self) -> Path:
        return self.path.with_suffix(".json")

    def _cached_graph_is_valid(self) -> bool:
        """The graph exists and is the file its record describes, for these MiniLM weights."""
        if not self.path.is_file() or not self._record().is_file():
            return False
        try:
            record = json.loads(self._record().read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return False
        if (
            record.get("weights_sha256") != MODEL_SHA256
            or record.get("sha256") != file_sha256(self.path)
            or not isinstance(record.get("max_length"), int)
        ):
            return False
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
            record_tmp = Path(tmp) / "record.json"
            record_tmp.write_text(json.dumps(record, indent=2))
            os.replace(record_tmp, self._record())

    def _check(self, graph: Path) -> None:
        ours = self._run(self._open(graph), list(_PROBES))
        cosine = float((ours * self.reference.embed(list(_PROBES))).sum(1).min())
        if cosine < MIN_COSINE:
            raise ModelIntegrityError(
                f"the ONNX export of MiniLM gives vectors at cosine {cosine:.4f} with PyTorch's "
                f"on the probe texts (need >= {MIN_COSINE}); not using it"
            )


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
