"""Checkpoints as folders of safetensors + JSON with checksums; nothing is ever unpickled.

Nested state (``state_dict()`` of a model, an optimiser, a weighting strategy, RNG states) is
split into a flat tensor file and a JSON skeleton that says where each tensor goes. A folder is
written under a temporary name and renamed when complete, and ``LATEST`` is replaced atomically,
so a run killed at any moment leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from toyguide.checksums import file_sha256
from toyguide.errors import CheckpointError
from toyguide.folders import CHECKSUMS, write_folder

__all__ = [
    "flatten_state",
    "latest_checkpoint",
    "read_checkpoint",
    "unflatten_state",
    "write_checkpoint",
]

_TENSOR = "__tensor__"
LATEST = "LATEST"


def flatten_state(obj: Any, prefix: str = "") -> tuple[Any, dict[str, torch.Tensor]]:
    """(JSON skeleton, tensors): every tensor is replaced by ``{"__tensor__": key}``."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any, key: str) -> Any:
        if isinstance(value, torch.Tensor):
            tensors[key] = value.detach().cpu().contiguous()
            return {_TENSOR: key}
        if isinstance(value, dict):
            if not all(isinstance(k, str | int) for k in value):
                raise CheckpointError(f"state key types at '{key}' cannot be stored")
            return {"__dict__": [[k, walk(v, f"{key}.{k}")] for k, v in value.items()]}
        if isinstance(value, list | tuple):
            items = [walk(v, f"{key}.{i}") for i, v in enumerate(value)]
            return {"__tuple__": items} if isinstance(value, tuple) else items
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise CheckpointError(f"cannot store a {type(value).__name__} at '{key}'")

    return walk(obj, prefix or "s"), tensors


def unflatten_state(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(skeleton, dict):
        if _TENSOR in skeleton:
            return tensors[skeleton[_TENSOR]]
        if "__dict__" in skeleton:
            return {k: unflatten_state(v, tensors) for k, v in skeleton["__dict__"]}
        if "__tuple__" in skeleton:
            return tuple(unflatten_state(v, tensors) for v in skeleton["__tuple__"])
    if isinstance(skeleton, list):
        return [unflatten_state(v, tensors) for v in skeleton]
    return skeleton


def write_checkpoint(
    root: Path, name: str, parts: dict[str, Any], meta: dict[str, Any], *, latest: bool = True
) -> Path:
    """Write ``parts`` (name → nested state) and ``meta`` to ``root/name``; mark it latest.
    A failed write (disk full) raises :class:`CheckpointError` and leaves the previous
    checkpoint, and ``LATEST``, as they were."""

    def fill(folder: Path) -> None:
        skeletons = {}
        for part, state in parts.items():
            skeleton, tensors = flatten_state(state, part)
            save_file(tensors, str(folder / f"{part}.safetensors"))
            skeletons[part] = skeleton
        (folder / "state.json").write_text(json.dumps({"parts": skeletons, "meta": meta}))

    final = write_folder(root / name, fill, "checkpoint")
    if latest:
        _write_atomic(root / LATEST, name)
    return final


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CheckpointError(f"could not write {path}: {exc}; it still names the previous "
                              "checkpoint") from None  # fmt: skip
    os.replace(tmp, path)


def latest_checkpoint(root: Path) -> Path | None:
    pointer = root / LATEST
    if not pointer.exists():
        return None
    folder = root / pointer.read_text().strip()
    if not folder.is_dir():
        raise CheckpointError(f"{pointer} names {folder.name}, which does not exist")
    return folder


def read_checkpoint(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(parts, meta) of a checkpoint folder after verifying every file's checksum."""
    verify_checksums(folder)
    try:
        state = json.loads((folder / "state.json").read_text())
        parts = {
            part: unflatten_state(skeleton, load_file(str(folder / f"{part}.safetensors")))
            for part, skeleton in state["parts"].items()
        }
    except (OSError, KeyError, ValueError, SafetensorError) as exc:
        raise CheckpointError(f"{folder}: unreadable checkpoint: {exc}") from None
    return parts, state["meta"]


def verify_checksums(folder: Path) -> None:
    sums_path = folder / CHECKSUMS
    if not sums_path.is_file():
        raise CheckpointError(f"{folder}: no {CHECKSUMS}; not a complete checkpoint")
    try:
        sums = json.loads(sums_path.read_text())
    except json.JSONDecodeError:
        raise CheckpointError(f"{sums_path}: not valid JSON") from None
    for name, expected in sums.items():
        path = folder / name
        if not path.is_file():
            raise CheckpointError(f"{folder}: {name} is missing")
        if file_sha256(path) != expected:
            raise CheckpointError(
                f"{path}: checksum mismatch (truncated or modified); refusing to load"
            )
