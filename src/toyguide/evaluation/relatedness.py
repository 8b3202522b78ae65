"""Task relatedness, independent of any model (DESIGN.md §2): label mutual information where
tasks meet on the same unit, gradient cosine similarity on the shared parameters, lookahead
task affinity, a suggested grouping, and a report with heatmaps.

Matrices are ``np.ndarray`` [T, T] whose rows and columns follow the order of the task names
given (or of the dict passed in). ``NaN`` marks a pair that was never measured.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from toyguide.evaluation.metrics import EvaluationError

__all__ = [
    "AffinityTracker",
    "GradientCosineTracker",
    "LabelledMatrix",
    "PairwiseMean",
    "RelatednessReport",
    "flat_task_gradients",
    "format_matrix",
    "gradient_cosine",
    "label_mutual_information",
    "lookahead_affinity",
    "save_heatmap",
    "suggest_grouping",
]

MAX_GROUPING_TASKS = 8
"""Exhaustive search visits Bell(T) partitions: 4,140 for 8 tasks, 4.2 million for 12."""


class PairwiseMean:
    """Running mean of a task × task matrix, entry by entry; NaN entries (unmeasured on a
    step, e.g. a task without labels in its batch) are skipped and not counted."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self._index = {n: i for i, n in enumerate(self.names)}
        self._sum = np.zeros((len(names), len(names)))
        self.count = np.zeros((len(names), len(names)), dtype=np.int64)

    def add(self, matrix: np.ndarray, names: Sequence[str] | None = None) -> None:
        """Add one measurement over ``names`` (default: all tasks, in order)."""
        names = self.names if names is None else list(names)
        unknown = [n for n in names if n not in self._index]
        if unknown or len(set(names)) < len(names):
            raise EvaluationError(f"unknown or repeated tasks {names}; known: {self.names}")
        block = np.asarray(matrix, dtype=np.float64)
        if block.shape != (len(names), len(names)):
            raise EvaluationError(f"matrix {block.shape} does not match {len(names)} tasks")
        cells = np.ix_([self._index[n] for n in names], [self._index[n] for n in names])
        seen = ~np.isnan(block)
        self._sum[cells] += np.where(seen, block, 0.0)
        self.count[cells] += seen

    @property
    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self._sum / self.count, np.nan)


def flat_task_gradients(
    losses: Mapping[str, torch.Tensor], shared: Sequence[torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Each task's gradient on the shared parameters, flattened [P]; ``.grad`` is untouched.

    A parameter a task does not reach contributes zeros, so every vector has the same length.
    """
    out: dict[str, torch.Tensor] = {}
    for name, loss in losses.items():
        grads = torch.autograd.grad(loss, list(shared), retain_graph=True, allow_unused=True)
        parts = [
            torch.zeros_like(p) if g is None else g for g, p in zip(grads, shared, strict=True)
        ]
        out[name] = torch.cat([g.reshape(-1) for g in parts]).detach()
    return out


def gradient_cosine(grads: Mapping[str, torch.Tensor]) -> np.ndarray:
    """Pairwise cosine similarity of flat task gradients; NaN where a gradient is zero."""
    g = torch.stack([v.detach().reshape(-1).to(torch.float64) for v in grads.values()])  # [T, P]
    norms = g.norm(dim=1)
    cos = (g @ g.T) / (norms[:, None] * norms[None, :])
    cos = cos.clamp(-1.0, 1.0).cpu().numpy()
    zero = (norms == 0).cpu().numpy()
    cos[zero, :] = np.nan  # a task with no gradient has no direction to compare
    cos[:, zero] = np.nan
    return cos


class GradientCosineTracker(PairwiseMean):
    """Running mean of pairwise gradient cosines over training steps."""

    def update(self, grads: Mapping[str, torch.Tensor]) -> np.ndarray:
        """Add one step's per-task flat gradients (any subset of the tasks); returns its matrix."""
        matrix = gradient_cosine(grads)
        self.add(matrix, list(grads))
        return matrix


def _restore(params: Sequence[torch.Tensor], saved: Sequence[torch.Tensor]) -> None:
    with torch.no_grad():
        for p, s in zip(params, saved, strict=True):
            p.copy_(s)


def _scalar_losses(
    fn: Callable[[], dict[str, torch.Tensor]], rng: torch.Tensor
) -> dict[str, torch.Tensor]:
    torch.set_rng_state(rng)  # the same dropout masks and samples on every evaluation
    losses = fn()
    if bad := [n for n, v in losses.items() if v.dim() != 0]:
        raise EvaluationError(f"task losses must be scalars; not: {bad}")
    return losses


def lookahead_affinity(
    shared: Sequence[torch.Tensor],
    task_losses_fn: Callable[[], dict[str, torch.Tensor]],
    lr: float,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Lookahead affinity Z[i, j] = 1 − L_j(θ − lr·∇θ L_i) / L_j(θ) (Fifty et al., NeurIPS 2021):
    > 0 when an SGD step on task i's loss over the ``shared`` parameters θ lowers task j's loss.

    ``task_losses_fn`` recomputes the losses on fixed batches, each time from the same CPU RNG
    state (dropout draws match); θ and the RNG are restored exactly afterwards, so a seeded run
    is unchanged. Forwards must have no other side effects (BatchNorm: use eval mode). NaN where
    L_j(θ) is 0 or task i's loss has no graph (no labels in its batch).
    """
    params = list(shared)
    saved = [p.detach().clone() for p in params]
    rng = torch.get_rng_state()
    try:
        before = _scalar_losses(task_losses_fn, rng)
        names = list(before) if names is None else list(names)
        if missing := [n for n in names if n not in before]:
            raise EvaluationError(f"the losses function returned no loss for {missing}")
        base = np.array([float(before[n].detach()) for n in names])
        steps = [_grads_or_none(before[n], params) for n in names]
        del before  # frees the graph before the lookahead forwards
        evaluate = partial(_scalar_losses, task_losses_fn, rng)
        after = np.full((len(names), len(names)), np.nan)  # [source i, target j]
        for i, grads in enumerate(steps):
            if grads is not None:
                losses = _losses_after_step(params, grads, lr, evaluate)
                after[i] = [float(losses[n]) for n in names]
                _restore(params, saved)
    finally:
        _restore(params, saved)
        torch.set_rng_state(rng)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base != 0, 1.0 - after / base, np.nan)


def _grads_or_none(loss: torch.Tensor, params: list[torch.Tensor]) -> tuple | None:
    if not loss.requires_grad:
        return None  # no graph: the task had no labels in this batch; its row stays unmeasured
    return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)


def _losses_after_step(
    params: list[torch.Tensor],
    grads: Sequence[torch.Tensor | None],
    lr: float,
    evaluate: Callable[[], dict[str, torch.Tensor]],
) -> dict[str, torch.Tensor]:
    """Take the SGD step θ ← θ − lr·g in place and evaluate the losses there (no graph)."""
    with torch.no_grad():
        for p, g in zip(params, grads, strict=True):
            if g is not None:
                p.sub_(lr * g)
        return evaluate()


class AffinityTracker(PairwiseMean):
    """Running mean of lookahead affinities, measured every few steps during training."""

    def __init__(self, names: Sequence[str], lr: float) -> None:
        super().__init__(names)
        self.lr = lr

    def update(
        self,
        shared: Sequence[torch.Tensor],
        task_losses_fn: Callable[[], dict[str, torch.Tensor]],
        names: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Measure one batch's affinity (over ``names``, default all tasks) and add it."""
        names = self.names if names is None else list(names)
        matrix = lookahead_affinity(shared, task_losses_fn, self.lr, names)
        self.add(matrix, names)
        return matrix


def _nmi(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised MI, MI / mean(H(a), H(b)) — scikit-learn's ``normalized_mutual_info_score``
    with its default arithmetic mean, computed here so scikit-learn is not a dependency."""
    ia, ib = (np.unique(x, return_inverse=True)[1] for x in (a, b))
    joint = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(joint, (ia, ib), 1.0)
    if joint.shape[0] == joint.shape[1] == 1:
        return 1.0  # both constant: identical partitions
    pj = joint / len(a)
    pa, pb = pj.sum(1), pj.sum(0)
    nz = pj > 0
    mi = float((pj[nz] * np.log(pj[nz] / np.outer(pa, pb)[nz])).sum())
    ha, hb = -(pa * np.log(pa)).sum(), -(pb * np.log(pb)).sum()
    # MI <= min(H(a), H(b)), so the ratio lies in [0, 1]; rounding can push MI a hair below 0.
    return mi / ((ha + hb) / 2.0) if mi > 0 else 0.0


def label_mutual_information(labels: Mapping[str, np.ndarray]) -> np.ndarray:
    """Normalised mutual information of discrete labels on the same unit (e.g. an item's age
    band, gender target and primary function), each pair over the rows where both are known
    (``-1`` = missing); NaN where two tasks share no labelled row."""
    arrays = [np.asarray(v) for v in labels.values()]
    if not arrays or len({a.shape for a in arrays}) > 1 or arrays[0].ndim != 1:
        raise EvaluationError("label arrays must be [n] and of one length (one row per unit)")
    z = np.full((len(arrays), len(arrays)), np.nan)
    for i, a in enumerate(arrays):
        for j, b in enumerate(arrays[: i + 1]):
            both = (a >= 0) & (b >= 0)
            if both.any():
                z[i, j] = z[j, i] = _nmi(a[both], b[both])
    return z


def _partitions(items: list[int]) -> Iterator[list[list[int]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _partitions(rest):
        for k in range(len(part)):
            yield [*part[:k], [first, *part[k]], *part[k + 1 :]]
        yield [[first], *part]


def _partition_score(z: np.ndarray, partition: list[list[int]]) -> float:
    """Mean over tasks of the mean affinity onto the task from its group-mates (0 alone)."""
    onto = [
        np.mean([z[i, j] for i in g if i != j]) if len(g) > 1 else 0.0 for g in partition for j in g
    ]
    return float(np.mean(onto))


def suggest_grouping(
    affinity: np.ndarray, names: Sequence[str], *, group_cost: float = 0.0
) -> list[list[str]]:
    """The partition of tasks into jointly trained groups that maximises
    ``mean_j a_j − group_cost · (groups − 1)``, where a_j is the mean affinity Z[i, j] onto task
    j from the other members of its group (Fifty et al. 2021) and a task alone scores 0.

    Exhaustive over all partitions (≤ :data:`MAX_GROUPING_TASKS` tasks). Because a singleton
    scores 0, a task that others hurt, or that hurts them, ends up alone; ``group_cost`` (the
    price of one more model, in affinity units) pushes towards fewer groups. Ties go to fewer
    groups. Works for asymmetric (lookahead) and symmetric (cosine, NMI) matrices alike.
    """
    z = np.asarray(affinity, dtype=np.float64)
    t = len(names)
    if z.shape != (t, t) or not 0 < t <= MAX_GROUPING_TASKS:
        raise EvaluationError(f"need a square matrix of 1..{MAX_GROUPING_TASKS} tasks: {z.shape}")
    off = ~np.eye(t, dtype=bool)
    if np.isnan(z[off]).any():
        raise EvaluationError("affinity has unmeasured (NaN) pairs; measure them before grouping")
    best: list[list[int]] = []
    best_key: tuple[float, int] = (-math.inf, 0)
    for partition in _partitions(list(range(t))):
        score = _partition_score(z, partition) - group_cost * (len(partition) - 1)
        key = (round(score, 12), -len(partition))  # rounding: float noise must not split ties
        if key > best_key:
            best, best_key = partition, key
    groups = sorted((sorted(g) for g in best), key=lambda g: g[0])
    return [[names[i] for i in g] for g in groups]


def format_matrix(matrix: np.ndarray, names: Sequence[str], digits: int = 3) -> str:
    """A plain fixed-width table (rows i, columns j) for the CLI; NaN shows as ``-``."""
    z = np.asarray(matrix, dtype=np.float64)
    width = max(digits + 4, *(len(n) for n in names))
    head = " " * width + " " + " ".join(n.rjust(width) for n in names)
    rows = [
        name.ljust(width)
        + " "
        + " ".join(("-" if math.isnan(v) else f"{v:+.{digits}f}").rjust(width) for v in row)
        for name, row in zip(names, z, strict=True)
    ]
    return "\n".join([head, *rows])


def save_heatmap(matrix: np.ndarray, names: Sequence[str], title: str, path: str | Path) -> Path:
    """Write an annotated heatmap PNG (diverging colours centred on 0; NaN blank). Rows are
    i and columns j, so for lookahead affinity a row is the task stepped on."""
    # Figure + Agg canvas directly: no pyplot, no global backend switch, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    z = np.asarray(matrix, dtype=np.float64)
    limit = float(np.nanmax(np.abs(z), initial=0.0)) or 1.0
    size = 1.5 + 0.9 * len(names)
    fig = Figure(figsize=(size + 1.0, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(z), cmap="RdBu", vmin=-limit, vmax=limit)
    ax.set_xticks(range(len(names)), labels=list(names), rotation=45, ha="right")
    ax.set_yticks(range(len(names)), labels=list(names))
    ax.set_title(title)
    for (i, j), v in np.ndenumerate(z):
        dark = not math.isnan(v) and abs(v) > 0.6 * limit
        text = "-" if math.isnan(v) else f"{v:.2f}"
        ax.text(
            j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black"
        )
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=120)
    return path


def _jsonable(z: np.ndarray) -> list[list[float | None]]:
    return [[None if math.isnan(v) else float(v) for v in row] for row in z]  # JSON has no NaN


@dataclass
class LabelledMatrix:
    """A task × task matrix with its names and what an entry means."""

    names: list[str]
    values: np.ndarray
    meaning: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"names": self.names, "values": _jsonable(self.values), "meaning": self.meaning}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LabelledMatrix:
        n = len(d["names"])
        values = np.array([[math.nan if v is None else v for v in row] for row in d["values"]])
        return cls(list(d["names"]), values.reshape(n, n), d.get("meaning", ""))


@dataclass
class RelatednessReport:
    """Relatedness matrices by kind (``"label_nmi:item"``, ``"gradient_cosine"``,
    ``"lookahead_affinity"``, ...), the suggested grouping and the matrix it came from."""

    matrices: dict[str, LabelledMatrix]
    grouping: list[list[str]] = field(default_factory=list)
    grouping_from: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "matrices": {k: m.to_dict() for k, m in self.matrices.items()},
            "grouping": self.grouping,
            "grouping_from": self.grouping_from,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RelatednessReport:
        unknown = set(d) - {"matrices", "grouping", "grouping_from", "meta"}
        if unknown or "matrices" not in d:
            raise EvaluationError(f"not a relatedness report: unknown keys {sorted(unknown)}")
        matrices = {k: LabelledMatrix.from_dict(m) for k, m in d["matrices"].items()}
        grouping = [list(g) for g in d.get("grouping", [])]
        return cls(matrices, grouping, d.get("grouping_from", ""), dict(d.get("meta", {})))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> RelatednessReport:
        return cls.from_dict(json.loads(text))

    def format(self) -> str:
        """Every matrix as a table, then the grouping: the CLI's text output."""
        parts = [
            f"{kind}  ({m.meaning})\n{format_matrix(m.values, m.names)}"
            for kind, m in self.matrices.items()
        ]
        if self.grouping:
            groups = " | ".join(", ".join(g) for g in self.grouping)
            parts.append(f"suggested grouping (from {self.grouping_from}): {groups}")
        return "\n\n".join(parts)
