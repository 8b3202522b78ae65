"""Fit the boosted sales head beside a trained model and choose its blend on validation.

After the epoch is chosen (and the neural head calibrated), :func:`attach_boosted_sales` fits
the boosters (``models/boosted_sales.py``) on the training weeks (their rounds fixed, or
stopped early on the validation weeks), then tries each blend with the neural head
(``boosted_sales.blends``) on those weeks and keeps the one with the best selection metric of
the sales task (WAPE + |bias|): 1 serves the neural head alone, 0 the boosters alone. The
interval is then calibrated on the same weeks. After a refit (``train.refit_epochs``),
:func:`refit_boosted_sales` fits the boosters again through every week with the rounds chosen
before, on the refitted item vectors, and keeps the blend and offsets.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from toyguide.evaluation.protocols import sales_arrays, sales_metrics
from toyguide.features.splits import TRAIN, split_code
from toyguide.models.boosted_sales import BoostedSales, BoostedSalesConfig, ItemComponents, design

__all__ = ["attach_boosted_sales", "chosen_blend", "refit_boosted_sales"]

SELECTION = "units/wape_abs_bias"


def attach_boosted_sales(
    model: Any, stream: Any, config: BoostedSalesConfig, seed: int, threads: int
) -> dict[str, Any]:
    """Fit, choose the blend on validation and attach the head to ``model`` (as
    ``model.boosted_sales``); what was chosen and measured, for metrics.json."""
    started = time.perf_counter()
    model.boosted_sales = None
    components = ItemComponents.fit(_catalogue_vectors(model), config.item_components)
    train = _rows(model, stream, TRAIN, components)
    validation = _rows(model, stream, "validation", components)
    head = BoostedSales.fit(train, validation, components, stream.config.horizon, config,
                            seed, threads)  # fmt: skip
    model.boosted_sales = head
    held_out = _HeldOut.of(model, stream, head)
    scores = {}
    for blend in config.blends:
        head.blend = blend
        scores[blend] = held_out.metrics()
    head.blend = chosen_blend({b: scores[b][SELECTION] for b in config.blends})
    head.record |= {"blend": head.blend, "served": head.blend < 1.0,
                    "item_components": config.item_components,
                    "validation_by_blend": {str(b): scores[b] for b in config.blends},
                    "training_rows": len(train[1])}  # fmt: skip
    if head.blend < 1.0:
        head.record["calibration"] = head.calibrate(*held_out.served())
        head.record["validation"] = held_out.metrics()
    else:  # the neural head alone, as calibrated already
        model.boosted_sales = None
    head.record["seconds"] = round(time.perf_counter() - started, 2)
    return head.record


def chosen_blend(scores: dict[float, float]) -> float:
    """The blend with the lowest validation score; a tie goes to the more neural blend, and
    a score that is not a number (no validation weeks) counts as the worst, so that without
    evidence the neural head is kept where 1 is among the blends."""
    return min(scores, key=lambda b: (scores[b] if math.isfinite(scores[b]) else math.inf, -b))


def refit_boosted_sales(model: Any, stream: Any, config: BoostedSalesConfig, seed: int,
                        threads: int) -> dict[str, Any]:  # fmt: skip
    """Fit ``model.boosted_sales`` again on the stream's training examples (through the end,
    after a refit) for the rounds chosen before; the blend and the offsets stay."""
    started = time.perf_counter()
    old: BoostedSales = model.boosted_sales
    components = ItemComponents.fit(_catalogue_vectors(model), config.item_components)
    train = _rows(model, stream, TRAIN, components)
    head = BoostedSales.fit(train, None, components, old.horizon, config, seed, threads,
                            rounds=old.record["rounds"])  # fmt: skip
    head.blend, head.interval_offset = old.blend, old.interval_offset
    refit = {"training_rows": len(train[1]), "seconds": round(time.perf_counter() - started, 2)}
    head.record = old.record | {"refit": refit}
    model.boosted_sales = head
    return refit


def _catalogue_vectors(model: Any) -> np.ndarray:
    with torch.no_grad():
        return model.encode_items(torch.arange(1, model.dims["n_items"] + 1)).numpy()


def _rows(
    model: Any, stream: Any, split: str | int, components: ItemComponents
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and scaled targets of every labelled (item, origin, step) of ``split``."""
    xs, ys = [], []
    code = split if isinstance(split, int) else split_code(split)
    for batch in stream.ordered_batches(code):
        with torch.no_grad():
            vectors = components(model.encode_items(batch["items"]))
        x = design(vectors, batch)
        y = (batch["target"] / batch["scale"][:, None]).reshape(-1).numpy()
        keep = batch["target_mask"].reshape(-1).numpy()
        xs.append(x[keep])
        ys.append(y[keep])
    if not xs:  # a split without examples (a short store's validation weeks)
        return np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.float32)
    return np.concatenate(xs), np.concatenate(ys).astype(np.float32)


@dataclass
class _HeldOut:
    """The validation batches with the neural head's and the boosters' scaled outputs,
    computed once: every blend, the calibration and the served head's score read them."""

    head: BoostedSales
    batches: list[dict]
    neural: list[torch.Tensor]
    boosted: list[torch.Tensor]

    @classmethod
    def of(cls, model: Any, stream: Any, head: BoostedSales) -> _HeldOut:
        part, batches, neural, boosted = model.part("sales"), [], [], []
        with torch.no_grad():
            for batch in stream.eval_batches("validation"):
                vectors = model.encode_items(batch["items"])
                batches.append(batch)
                neural.append(part.scaled(model, vectors, batch))
                boosted.append(head.boosted(vectors, batch))
        return cls(head, batches, neural, boosted)

    def metrics(self) -> dict[str, float]:
        """The sales metrics of the head as it now stands (blend, calibration)."""
        at = {id(b): i for i, b in enumerate(self.batches)}

        def forecast(batch: dict) -> dict[str, torch.Tensor]:
            i = at[id(batch)]
            out = self.head.mixed(self.boosted[i], self.neural[i])
            return self.head.to_units(out, batch["scale"])

        return sales_metrics("units", sales_arrays(forecast, self.batches))

    def served(self) -> tuple[torch.Tensor, ...]:
        """The served outputs before calibration, scaled targets and masks."""
        outputs = [self.head.mixed(b, n) for b, n in zip(self.boosted, self.neural, strict=True)]
        targets = [b["target"] / b["scale"][:, None] for b in self.batches]
        masks = [b["target_mask"] for b in self.batches]
        return torch.cat(outputs), torch.cat(targets), torch.cat(masks)
