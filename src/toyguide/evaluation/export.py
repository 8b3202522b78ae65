"""Write a trained run's serving folder: everything the guide needs, nothing it must unpickle.

``RUN/model/`` holds ``model.safetensors`` (the best weights), ``config.json`` (the run config),
``features.json`` (id maps and fitted encoders), ``items.faiss`` (the catalogue as retrieval
vectors of the preference head, ``[N+1, D+1]``, when preference was trained) and
``text.faiss`` (MiniLM vectors of the catalogue texts), ``metrics.json``, ``data.json`` (the
store fingerprint) and ``checksums.json`` (sha256 of every file), which loading verifies.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from toyguide.checksums import file_sha256
from toyguide.config import to_dict

__all__ = ["CHECKSUMS", "MODEL_DIR", "export_model_folder"]

MODEL_DIR = "model"
CHECKSUMS = "checksums.json"


def _inner_product_index(vectors: np.ndarray, path: Path) -> None:
    import faiss  # heavy: only when exporting

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(path))


@torch.no_grad()
def export_model_folder(
    model: Any, data: Any, config: Any, run_dir: Path, metrics: dict, fingerprint: dict
) -> Path:
    """Write ``run_dir/model`` from the (best) ``model``; replaces an older folder atomically."""
    final, tmp = run_dir / MODEL_DIR, run_dir / f".{MODEL_DIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp / "model.safetensors"))
    (tmp / "config.json").write_text(json.dumps(to_dict(config), indent=1))
    (tmp / "features.json").write_text(json.dumps(data.state()))
    (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1))
    (tmp / "data.json").write_text(json.dumps(fingerprint, indent=1, default=str))
    model.eval()
    if "preference" in model.tasks:
        # the logit as an inner product (bias and scale folded in): exact candidates
        _inner_product_index(model.retrieval_vectors().numpy(), tmp / "items.faiss")
    _inner_product_index(data.items.text.numpy(), tmp / "text.faiss")
    sums = {p.name: file_sha256(p) for p in sorted(tmp.iterdir())}
    (tmp / CHECKSUMS).write_text(json.dumps(sums, indent=1))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final
