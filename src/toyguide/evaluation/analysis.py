"""Task relatedness of a run: measured during training and reported by ``toyguide analyze``.

Three views (DESIGN §2): label mutual information where two tasks meet on the same unit
(items: attributes × sales × preference; shoppers: profile × preference), the cosine between
task gradients on the shared parameters, and the lookahead affinity of Fifty et al. (2021) —
how a step on task i changes task j's loss — averaged over training. The grouping is
suggested from the affinity (falling back to the gradient cosine).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from toyguide.evaluation.relatedness import (
    AffinityTracker,
    GradientCosineTracker,
    LabelledMatrix,
    RelatednessReport,
    flat_task_gradients,
    label_mutual_information,
    save_heatmap,
    suggest_grouping,
)
from toyguide.training.callbacks import Callback

__all__ = ["AnalysisConfig", "RelatednessCallback", "analyze_run", "label_matrices"]

_PROBE_EPOCH = 10_000_000  # stream "epochs" used for probe batches, never for training


@dataclass(frozen=True)
class AnalysisConfig:
    every_steps: int = 25  # measure relatedness every N training steps; 0 = never
    lookahead_lr: float = 0.01  # SGD step of the lookahead affinity


class RelatednessCallback(Callback):
    """Every few steps, on fresh probe batches in eval mode (no dropout, so training's random
    stream is untouched): per-task gradients on the shared parameters and lookahead affinity."""

    def __init__(self, model: Any, streams: dict[str, Any], config: AnalysisConfig) -> None:
        self.model, self.streams, self.config = model, streams, config
        names = list(streams)
        self.cosine = GradientCosineTracker(names)
        self.affinity = AffinityTracker(names, config.lookahead_lr)
        self.probes = 0

    def on_step(self, trainer: Any, epoch: int, step: int, losses: dict, weights: dict) -> None:
        every = self.config.every_steps
        if not every or len(self.streams) < 2 or step % every:
            return
        self.probes += 1
        batches = {
            t: next(iter(s.batches(_PROBE_EPOCH + self.probes))) for t, s in self.streams.items()
        }
        shared = [p for p in self.model.shared_parameters() if p.requires_grad]
        self.model.eval()
        try:
            self.cosine.update(flat_task_gradients(self._losses(batches), shared))
            self.affinity.update(shared, lambda: self._losses(batches))
        finally:
            self.model.train()

    def _losses(self, batches: dict[str, dict]) -> dict:
        out = {}
        for task, batch in batches.items():
            loss, count = self.model.task_loss(task, batch)
            if count:
                out[task] = loss
        return out

    def matrices(self) -> dict[str, LabelledMatrix]:
        if not self.probes:
            return {}
        names = list(self.streams)
        return {
            "gradient_cosine": LabelledMatrix(
                names, self.cosine.mean, "mean cosine of task gradients on shared parameters"
            ),
            "lookahead_affinity": LabelledMatrix(
                names, self.affinity.mean, "Z[i,j] = 1 - L_j(after a step on i) / L_j(before)"
            ),
        }


def _tercile(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    out = np.full(len(values), -1, dtype=np.int64)
    if known.sum() >= 3:
        cuts = np.quantile(values[known], [1 / 3, 2 / 3])
        out[known] = np.searchsorted(cuts, values[known], side="right")
    return out


def _primary(multi_hot: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask & (multi_hot.sum(1) > 0), multi_hot.argmax(1), -1).astype(np.int64)


def label_matrices(data: Any) -> dict[str, LabelledMatrix]:
    """Normalised mutual information between the labels of tasks that share a unit."""
    out: dict[str, LabelledMatrix] = {}
    item_labels = _item_labels(data)
    if len(item_labels) >= 2:
        names = list(item_labels)
        out["label_nmi:item"] = LabelledMatrix(
            names, label_mutual_information(item_labels), "NMI of item-level labels"
        )
    shopper_labels = _shopper_labels(data, item_labels.get("attributes:primary_function"))
    if len(shopper_labels) >= 2:
        names = list(shopper_labels)
        out["label_nmi:shopper"] = LabelledMatrix(
            names, label_mutual_information(shopper_labels), "NMI of shopper-level labels"
        )
    return out


def _item_labels(data: Any) -> dict[str, np.ndarray]:
    labels: dict[str, np.ndarray] = {}
    if data.has("attributes"):
        a = data.of("attributes").labels
        labels["attributes:age_band"] = a.age_band
        labels["attributes:gender_target"] = a.gender_target
        labels["attributes:primary_function"] = _primary(a.functions, a.functions_mask)
    if data.has("sales"):
        sales = data.of("sales")
        total = sales.units.sum(1)
        labels["sales:volume_tercile"] = _tercile(total, sales.first_week < sales.units.shape[1])
    if data.sequences is not None:
        seqs = data.sequences
        counts = np.bincount(seqs.items[seqs.is_target], minlength=data.n_items + 1).astype(float)
        labels["preference:popularity_tercile"] = _tercile(counts, np.arange(len(counts)) > 0)
    return labels


def _shopper_labels(data: Any, item_function: np.ndarray | None) -> dict[str, np.ndarray]:
    labels: dict[str, np.ndarray] = {}
    if data.has("profile"):
        labels["profile:age_band"] = data.of("profile").age_band
        labels["profile:gender"] = data.of("profile").gender
    seqs = data.sequences
    if seqs is not None and item_function is not None and len(labels):
        shopper = np.repeat(np.arange(len(seqs.offsets) - 1), np.diff(seqs.offsets))
        func = item_function[seqs.items]
        keep = seqs.is_target & (func >= 0)
        n_f = int(item_function.max()) + 1 if (item_function >= 0).any() else 1
        counts = np.zeros((len(seqs.offsets) - 1, n_f))
        np.add.at(counts, (shopper[keep], func[keep]), 1)
        labels["preference:top_function"] = np.where(counts.sum(1) > 0, counts.argmax(1), -1)
    return labels


def with_suggested_grouping(report: RelatednessReport) -> RelatednessReport:
    """``report`` with the grouping suggested by its measured affinity (lookahead, else
    gradient cosine); none when the run measured neither."""
    source = next(
        (k for k in ("lookahead_affinity", "gradient_cosine") if k in report.matrices), ""
    )
    if source:
        m = report.matrices[source]
        grouping = suggest_grouping(np.nan_to_num(m.values), m.names)  # unmeasured pair: no effect
        report.grouping, report.grouping_from = grouping, source
    return report


def analyze_run(run_dir: Path) -> tuple[RelatednessReport, list[Path]]:
    """The run's relatedness report with a suggested grouping, and heatmaps saved as PNG."""
    path = run_dir / "relatedness.json"
    if not path.exists():
        from toyguide.errors import EvaluationError

        raise EvaluationError(
            f"{path} is missing: the run measured no relatedness (it needs two or more tasks "
            "and analysis.every_steps > 0)"
        )
    report = with_suggested_grouping(RelatednessReport.from_json(path.read_text()))
    out_dir = run_dir / "analysis"
    out_dir.mkdir(exist_ok=True)
    images = [
        save_heatmap(m.values, m.names, kind, out_dir / f"{kind.replace(':', '_')}.png")
        for kind, m in report.matrices.items()
    ]
    (out_dir / "relatedness.json").write_text(report.to_json())
    return report, images
