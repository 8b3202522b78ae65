"""A serving folder loaded for the guide: verified checksums, the model, its data and indexes.

Loading never unpickles: weights are safetensors, configs and id maps JSON, indexes FAISS's own
format. A folder whose files do not match ``checksums.json`` is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from toyguide.checksums import file_sha256
from toyguide.config import from_dict
from toyguide.data.store import Store
from toyguide.errors import CheckpointError, ConfigError
from toyguide.evaluation.export import CHECKSUMS, MODEL_DIR, NEIGHBOURS_FILE, PARTS_FILE
from toyguide.features.neighbours import ItemNeighbours
from toyguide.guide.views import LabelProbability
from toyguide.models.boosted_sales import BOOSTED_SALES_FILE, BoostedSales, feature_count
from toyguide.parts import part_task
from toyguide.runs import RunConfig, build, model_of

__all__ = [
    "LoadedModel",
    "label_probabilities",
    "load_model_folder",
    "neighbour_candidates",
    "resolve_model_dir",
    "retrieval_queries",
    "row_scores",
    "sales_forecasts",
]

_REQUIRED = ("model.safetensors", "config.json", "features.json", "text.faiss", CHECKSUMS)


@dataclass
class LoadedModel:
    folder: Path
    config: RunConfig
    data: Any  # TaskData
    streams: dict[str, Any]
    model: Any  # MultiTaskModel, in eval mode
    items_index: Any | None  # FAISS index over the preference catalogue (None without it)
    text_index: Any  # FAISS index over MiniLM vectors of the catalogue
    info: dict[str, Any]
    # part (a task, or task/target) → the model of its own best epoch (selection.each)
    part_models: dict[str, Any] = field(default_factory=dict)

    def model_for(self, task: str) -> Any:
        """The model that serves ``task``: its own best epoch's where the run kept one."""
        return self.part_models.get(task, self.model)

    def task_outputs(self, task: str, outputs: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        """``outputs(model)`` (target → tensor) of the model serving ``task``, each target
        taken from the model serving that target where it has its own."""
        base = self.model_for(task)
        out = dict(outputs(base))
        others: dict[int, tuple[Any, list[str]]] = {}
        for part, model in self.part_models.items():
            owner, target = part_task(part)
            if owner == task and target is not None and model is not base:
                others.setdefault(id(model), (model, []))[1].append(target)
        for model, targets in others.values():
            theirs = outputs(model)
            out |= {target: theirs[target] for target in targets if target in theirs}
        return out


def resolve_model_dir(path: Path) -> Path:
    """A run folder or its ``model/`` folder → the serving folder."""
    path = Path(path)
    return path / MODEL_DIR if (path / MODEL_DIR / CHECKSUMS).exists() else path


def verify_folder(folder: Path) -> dict[str, str]:
    missing = [name for name in _REQUIRED if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(
            f"{folder}: not a toyguide model folder; missing {', '.join(missing)}"
        )
    sums = _read_json(folder / CHECKSUMS)
    for name, expected in sums.items():
        path = folder / name
        if not path.is_file() or file_sha256(path) != expected:
            raise CheckpointError(f"{path}: checksum mismatch or missing; refusing to load")
    return sums


def load_model_folder(path: Path, store: Store) -> LoadedModel:
    """Verify and load a serving folder against ``store`` (the shop's current data)."""
    folder = resolve_model_dir(path)
    sums = verify_folder(folder)
    config = from_dict(RunConfig, _read_json(folder / "config.json"))
    state = _read_json(folder / "features.json")
    data, streams, model = build(config, store, state)
    _load_weights(model, folder / "model.safetensors")
    part_models = _part_models(folder, config, data)
    ranker = part_models.get("preference", model)
    ranker.neighbours = _read_neighbours(folder / NEIGHBOURS_FILE, data.n_items + 1)
    forecaster = part_models.get("sales", model)
    forecaster.boosted_sales = _read_boosted_sales(folder / BOOSTED_SALES_FILE, forecaster)
    items_path = folder / "items.faiss"
    info = {
        "folder": str(folder),
        "checksums": sums,
        "metrics": _read_json(folder / "metrics.json"),
        "data": _read_json(folder / "data.json"),
        "tasks": list(config.features.tasks),
    }
    return LoadedModel(
        folder, config, data, streams, model,
        _read_index(items_path) if items_path.exists() else None,
        _read_index(folder / "text.faiss"), info, part_models,
    )  # fmt: skip


def _load_weights(model: Any, path: Path) -> None:
    try:
        model.load_state_dict(load_file(str(path)))
    except (SafetensorError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit this config: {exc}") from None
    model.eval()


def _part_models(folder: Path, config: RunConfig, data: Any) -> dict[str, Any]:
    """Part → its model, one per weights file that ``parts.json`` names (none without it)."""
    path = folder / PARTS_FILE
    if not path.exists():
        return {}
    parts = _read_json(path)
    if not isinstance(parts, dict) or not all(isinstance(f, str) for f in parts.values()):
        raise CheckpointError(f"{path}: expected an object of part -> weights file")
    models = {}
    for name in sorted(set(parts.values())):
        if Path(name).name != name or not (folder / name).is_file():
            raise CheckpointError(f"{path}: '{name}' is not a weights file of {folder}")
        models[name] = model_of(config, data)
        _load_weights(models[name], folder / name)
    return {part: models[name] for part, name in parts.items()}


# A file can match its checksum and still be broken (an export that was cut short and then
# summed, a hand edit): that is a bad folder for whoever passed it, not a bug in toyguide.
def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc}); refusing to load") from None


def _read_boosted_sales(path: Path, model: Any) -> BoostedSales | None:
    if not path.exists():  # a run without [boosted_sales], or whose validation chose neural
        return None
    head = BoostedSales.load(path)
    head.check_fits(path, feature_count(model.dims), model.config.d_model, model.dims["horizon"])
    return head


def _read_neighbours(path: Path, n_rows: int) -> ItemNeighbours | None:
    if not path.exists():  # a run without features.item_neighbours
        return None
    try:
        neighbours = ItemNeighbours.load(path)
    except (SafetensorError, ConfigError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable item-neighbours file ({exc})") from None
    if neighbours.similarity.shape[0] != n_rows:
        raise CheckpointError(
            f"{path}: {neighbours.similarity.shape[0]} item rows; the catalogue has {n_rows}"
        )
    return neighbours


def _read_index(path: Path) -> Any:
    import faiss

    try:
        return faiss.read_index(str(path))
    except RuntimeError as exc:  # FAISS reports a short or garbled file as RuntimeError
        reason = str(exc).strip().splitlines()[-1][-200:]
        raise CheckpointError(f"{path}: not a readable FAISS index ({reason})") from None


def neighbour_candidates(
    loaded: LoadedModel, items: torch.Tensor, log_probs: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """With the folder's item neighbours: ``log_probs`` ``[B, N+1]`` plus their weighted scores
    for the shoppers' events ``items`` ``[B, L]``, and ``[B, <=k]`` rows, each shopper's
    ``k`` best neighbour items (a second candidate source beside the FAISS index: toys bought
    with theirs that the model alone ranks low). Without neighbours: unchanged, none."""
    neighbours = loaded.model_for("preference").neighbours
    none = np.zeros((len(log_probs), 0), dtype=np.int64)
    if neighbours is None or neighbours.weight == 0:
        return log_probs, none
    events = items.numpy()
    extra = neighbours.scores(events)  # [B, N+1] in [0, 1]
    # a toy is its own nearest neighbour: its buyer is not pushed to buy it again (the
    # evaluation leaves seen toys out; the guide ranks them by the model alone)
    np.put_along_axis(extra, events, 0.0, axis=1)
    k = min(k, int((extra > 0).sum(1).max()))  # no more than the shoppers' neighbour toys
    best = np.argpartition(-extra, k - 1, axis=1)[:, :k] if k else none
    return log_probs + neighbours.weight * extra, best


def retrieval_queries(loaded: LoadedModel, states: Any) -> np.ndarray:
    """Shopper states ``[B, D]`` as queries of the folder's ``items.faiss``: an index of D+1
    columns holds the preference head's retrieval vectors (inner product = logit); one of D
    columns, an older folder's item vectors, takes the states as they are."""
    index, model = loaded.items_index, loaded.model_for("preference")
    query = states if index.d == states.shape[1] else model.retrieval_query(states)
    return np.ascontiguousarray(query.numpy(), dtype=np.float32)


def row_scores(index: Any, query: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Inner products of one query vector with ``rows`` of ``index`` (None: every row). An
    exact inner-product index is read in place (a matrix-vector product); a search for every
    row would sort them all first, ~3x the time of the product on a 12,000-toy catalogue,
    whatever the rows asked for. Gathering many rows first copies them (3.0 ms for all 12,000
    against 0.55 ms for the product over every row, one thread), so past a third of the
    catalogue every row is scored and the wanted ones picked."""
    import faiss

    query = np.ascontiguousarray(query, dtype=np.float32)
    if isinstance(index, faiss.IndexFlat) and index.metric_type == faiss.METRIC_INNER_PRODUCT:
        stored = faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d)  # a view, no copy
        stored = stored.reshape(index.ntotal, index.d)
        if rows is None:
            return stored @ query
        if 3 * len(rows) > index.ntotal:
            return (stored @ query)[rows]
        return stored[rows] @ query
    scores, found = index.search(query[None, :], index.ntotal)
    out = np.full(index.ntotal, -np.inf, dtype=np.float32)
    kept = found[0] >= 0
    out[found[0][kept]] = scores[0][kept]
    return out if rows is None else out[rows]


def top_k(index: Any, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the ``k`` best rows for one query vector; row 0 (padding) is skipped."""
    wanted = min(k + 1, index.ntotal)
    scores, rows = index.search(np.ascontiguousarray(query[None, :], dtype=np.float32), wanted)
    keep = rows[0] > 0
    return scores[0][keep][:k], rows[0][keep][:k]


@torch.no_grad()
def shopper_state(loaded: LoadedModel, row: int) -> dict[str, torch.Tensor]:
    """The sequence batch of one shopper's latest events (all of them, up to max_len)."""
    from toyguide.features.streams import sequence_batch

    seqs = loaded.data.sequences
    rows = np.array([row])
    batch, _, _ = sequence_batch(seqs, rows, seqs.offsets[rows + 1], loaded.config.features.max_len)
    return batch


@torch.no_grad()
def sales_forecasts(loaded: LoadedModel, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles ``[B, H, 3]`` (P10, P50, P90) and means ``[B, H]``, in units, of item ``rows``
    for the H weeks after the store's last sales week."""
    n_weeks = loaded.data.of("sales").weeks.n_weeks
    origins = np.full(len(rows), n_weeks)
    batch = loaded.streams["sales"].batch_at(np.asarray(rows), origins, n_weeks)
    out = loaded.model_for("sales").sales_outputs(batch)
    return (out["quantiles"].numpy().astype(np.float64),
            out["mean"].numpy().astype(np.float64))  # fmt: skip


def label_probabilities(
    logits: torch.Tensor, labels: list[str], multilabel: bool = False
) -> list[LabelProbability]:
    """One row of a head's ``logits`` as labels with probabilities, most likely first."""
    p = torch.sigmoid(logits[0]) if multilabel else torch.softmax(logits[0], -1)
    pairs = sorted(zip(labels, p.tolist(), strict=True), key=lambda x: -x[1])
    return [LabelProbability(label, round(prob, 4)) for label, prob in pairs]
