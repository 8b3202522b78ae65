"""Write a trained run's serving folder: everything the guide needs, nothing it must unpickle.

``RUN/model/`` holds ``model.safetensors`` (the best weights), ``config.json`` (the run config),
``features.json`` (id maps and fitted encoders), ``items.faiss`` (the catalogue as retrieval
vectors of the preference head, ``[N+1, D+1]``, when preference was trained) and
``text.faiss`` (MiniLM vectors of the catalogue texts), ``metrics.json``, ``data.json`` (the
store fingerprint), ``neighbours.safetensors`` (the item neighbours the preference scores add,
when the run fitted them), ``parts.json`` and ``model-<n>.safetensors`` (with ``selection.each``:
the tasks or targets served by the weights of their own best epoch) and ``checksums.json``
(sha256 of every file), which loading verifies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from toyguide.config import to_dict
from toyguide.folders import CHECKSUMS, write_folder
from toyguide.models.boosted_sales import BOOSTED_SALES_FILE

__all__ = ["CHECKSUMS", "MODEL_DIR", "NEIGHBOURS_FILE", "PARTS_FILE", "export_model_folder"]

MODEL_DIR = "model"
NEIGHBOURS_FILE = "neighbours.safetensors"
PARTS_FILE = "parts.json"


def _inner_product_index(vectors: np.ndarray, path: Path) -> None:
    import faiss  # heavy: only when exporting

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(path))


@torch.no_grad()
def export_model_folder(
    model: Any, data: Any, config: Any, run_dir: Path, metrics: dict, fingerprint: dict,
    part_models: dict[str, Any] | None = None,
) -> Path:  # fmt: skip
    """Write ``run_dir/model`` from the (best) ``model``; replaces an older folder atomically.
    ``part_models``: part (a task, or ``task/target``) → the model of another epoch that
    serves it (``selection.each``): its weights go in beside, named in ``parts.json``."""
    part_models = part_models or {}
    state = _weights(model)
    others = {id(m): m for m in part_models.values()}
    files = {key: f"model-{i}.safetensors" for i, key in enumerate(others, start=1)}
    ranker = part_models.get("preference", model)  # the model whose item space serves
    forecaster = part_models.get("sales", model)
    model.eval()

    def fill(folder: Path) -> None:
        save_file(state, str(folder / "model.safetensors"))
        for key, name in files.items():
            save_file(_weights(others[key]), str(folder / name))
        if part_models:
            parts = {part: files[id(m)] for part, m in part_models.items()}
            (folder / PARTS_FILE).write_text(json.dumps(parts, indent=1))
        (folder / "config.json").write_text(json.dumps(to_dict(config), indent=1))
        (folder / "features.json").write_text(json.dumps(data.state()))
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=1))
        (folder / "data.json").write_text(json.dumps(fingerprint, indent=1, default=str))
        if "preference" in ranker.tasks:
            # the logit as an inner product (bias and scale folded in): exact candidates
            _inner_product_index(ranker.retrieval_vectors().numpy(), folder / "items.faiss")
        _inner_product_index(data.items.text.numpy(), folder / "text.faiss")
        if getattr(ranker, "neighbours", None) is not None:
            ranker.neighbours.save(folder / NEIGHBOURS_FILE)
        if getattr(forecaster, "boosted_sales", None) is not None:
            forecaster.boosted_sales.save(folder / BOOSTED_SALES_FILE)

    return write_folder(run_dir / MODEL_DIR, fill, "model folder")


def _weights(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
