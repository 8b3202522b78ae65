"""Sales: the units a toy sells in each of the next H weeks — P10, P50, P90 and the mean — from
its item vector, its last K weeks and the calendar of the weeks ahead (also for new toys).

Unit: an (item, origin week) pair; rolling origins split by time. Loss: pinball loss at the
quantiles plus the Poisson deviance of the mean, on units scaled by the item's recent level.
Metrics: WAPE, MASE and bias of the mean (the point forecast), pinball, interval coverage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor, nn

from toyguide.evaluation.protocols import sales_arrays, sales_metrics
from toyguide.features.data import TaskData
from toyguide.features.sales import (
    CALENDAR_FEATURES,
    HISTORY_FEATURES,
    SUMMARY_FEATURES,
    SalesData,
    build_sales,
    summary_features,
)
from toyguide.features.splits import TRAIN, require_labels
from toyguide.features.streams import Batch, TaskStream, as_bool, as_float, as_long
from toyguide.models.config import ModelConfig
from toyguide.models.encoders import SalesDims, SalesEncoder
from toyguide.models.heads.sales import SalesHead, SalesHeadConfig
from toyguide.tasks.base import Task, register_task
from toyguide.tasks.spec import Target, TaskSpec

__all__ = ["SALES_INPUTS", "SalesStream", "SalesTask"]

SALES_INPUTS = ("history", "calendar", "summary")
"""The sales batch's inputs the sales encoder reads beside the item vector, in its order."""


class SalesStream(TaskStream):
    """Item-week batches: K history weeks before an origin and the H weeks from it on.

    An example is an (item, origin) pair with at least one target week that is on or after
    the item's first sales week and before the split's target limit. Origins whose history
    window reaches before the data start are left out for items already on sale at the start
    (that history is unknown, not empty); for items launched inside the data the weeks before
    launch are truly empty, so their early origins (new-toy forecasts) are kept.
    """

    task = "sales"
    salt = 13
    holds_out_by_time = True

    def __init__(self, data: TaskData) -> None:
        self._pairs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._to_the_end = False
        super().__init__(data)

    def through_the_end(self) -> None:
        """Train on every origin and every week of the data: the validation and test weeks
        join the training targets (a refit once the epoch is chosen)."""
        self._to_the_end = True
        self._pairs.pop(TRAIN, None)
        self._train = self.examples(TRAIN)

    def _origins(self, split: int) -> range:
        if split == TRAIN and self._to_the_end:
            return range(self.task_data.weeks.n_weeks)
        return self.task_data.weeks.origins(split)

    def _target_end(self, split: int) -> int:
        weeks = self.task_data.weeks
        return weeks.n_weeks if split == TRAIN and self._to_the_end else weeks.target_end(split)

    def pairs(self, split: int) -> tuple[np.ndarray, np.ndarray]:
        """(item rows, origin weeks) of a split, item-major."""
        if split not in self._pairs:
            sales, k, h = self.task_data, self.config.history_weeks, self.config.horizon
            origins = np.array(self._origins(split))
            first = sales.first_week[:, None]
            valid = (
                (origins[None, :] + h > first)
                & (origins[None, :] < self._target_end(split))
                & ((origins[None, :] >= k) | (first > 0))
                & (first < sales.weeks.n_weeks)
            )
            rows, cols = np.nonzero(valid)
            self._pairs[split] = (rows, origins[cols])
        return self._pairs[split]

    def examples(self, split: int) -> np.ndarray:
        return np.arange(len(self.pairs(split)[0]))

    def make_batch(self, examples: np.ndarray, split: int) -> Batch:
        rows, origins = (a[examples] for a in self.pairs(split))
        return self.batch_at(rows, origins, self._target_end(split))

    def batch_at(self, rows: np.ndarray, origins: np.ndarray, target_end: int) -> Batch:
        """The batch for (item row, origin week) pairs; target weeks from ``target_end`` on are
        masked (a forecast beyond the data has an origin of ``n_weeks`` and no targets)."""
        sales, k, h = self.task_data, self.config.history_weeks, self.config.horizon
        week = origins[:, None] - k + np.arange(k)[None, :]  # [B, K]
        inside = (week >= 0) & (week < sales.weeks.n_weeks)
        week = np.where(inside, week, 0)
        r = rows[:, None]
        in_history = sales.in_history[r, week] * inside
        units = sales.units[r, week] * in_history
        scale = units.sum(1) / np.maximum(in_history.sum(1), 1) + 1.0  # [B]
        history = np.stack(
            [
                np.log1p(units / scale[:, None]),
                sales.rel_price[r, week] * inside,
                sales.promo[r, week] * inside,
                sales.in_stock[r, week] * inside,
                in_history,
            ],
            axis=-1,
        )  # [B, K, Fh]
        target_week = origins[:, None] + np.arange(h)[None, :]  # [B, H]
        mask = (target_week < target_end) & (target_week >= sales.first_week[r])
        target = sales.units[r, np.minimum(target_week, sales.weeks.n_weeks - 1)]
        return {
            "items": as_long(rows),
            "history": as_float(history),
            "calendar": as_float(sales.calendar[target_week]),  # [B, H, Fc]
            "summary": as_float(summary_features(sales, rows, origins, scale)),  # [B, Fs]
            "scale": as_float(scale),
            "target": as_float(np.where(mask, target, 0.0)),
            "target_mask": as_bool(mask),
        }


@register_task
class SalesTask(Task):
    spec = TaskSpec(
        "sales",
        "item-week",
        (Target("units", "quantiles", ("wape", "mase", "pinball", "coverage_80", "bias")),),
        "pinball loss at P10/P50/P90 plus the Poisson deviance of the mean (the point forecast"
        " for WAPE, MASE and bias), on units scaled by the item's recent level",
        # WAPE alone picks the epochs that forecast low (on UCI Online Retail the first epoch,
        # at bias -26 %): its selection adds |bias|
        ("units", "wape_abs_bias"),
    )
    stream = SalesStream
    head_class = SalesHead
    reads = frozenset({"sales"})

    def build_data(self, data: TaskData, frames: dict[str, pl.DataFrame]) -> SalesData:
        require_labels(self.name, frames["sales"].height > 0, "no sales rows")
        return build_sales(
            frames["sales"], frames["items"], data.vocabs["items"], data.config.horizon
        )

    def dims(self, data: TaskData) -> dict[str, int]:
        return {
            "history_weeks": data.config.history_weeks,
            "history_features": len(HISTORY_FEATURES),
            "horizon": data.config.horizon,
            "calendar_features": len(CALENDAR_FEATURES),
            "summary_features": len(SUMMARY_FEATURES),
        }

    def head_config(self, dims: Mapping[str, int], config: ModelConfig) -> SalesHeadConfig:
        return SalesHeadConfig(
            d_model=config.d_model, horizon=dims["horizon"],
            weight_by_scale=config.sales_weight_by_scale,
        )  # fmt: skip

    def own_modules(self, dims: Mapping[str, int], config: ModelConfig) -> dict[str, nn.Module]:
        sizes = SalesDims(
            history_weeks=dims["history_weeks"], horizon=dims["horizon"],
            n_history_features=dims["history_features"],
            n_calendar_features=dims["calendar_features"],
            n_summary_features=dims["summary_features"],
        )  # fmt: skip
        return {"sales_encoder": SalesEncoder(config, sizes)}

    def represent(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        item = model.item_encoder(batch["items"])  # [B, D]
        return model.sales_encoder(item, *(batch[k] for k in SALES_INPUTS))  # [B, D]

    def forecast(
        self, model: Any, item_vectors: Tensor, inputs: Mapping[str, Tensor]
    ) -> dict[str, Tensor]:
        """``quantiles`` [B, H, 3] and ``mean`` [B, H] in units from item vectors and a sales
        batch's :data:`SALES_INPUTS` (``scale`` [B] = 1 for a toy without history gives the
        head's scaled outputs as they are)."""
        head, scale = model.heads[self.name], inputs["scale"]
        out = self.scaled(model, item_vectors, inputs)  # [B, H, 4]
        boosted = getattr(model, "boosted_sales", None)
        if boosted is not None:  # models/boosted_sales.py: blended with the boosters
            return boosted.forecast(item_vectors, inputs, out)
        return {"quantiles": head.to_units(out, scale), "mean": head.mean_units(out, scale)}

    def scaled(self, model: Any, item_vectors: Tensor, inputs: Mapping[str, Tensor]) -> Tensor:
        """The neural head's outputs [B, H, 4] in units over the scale, uncalibrated."""
        encoded = model.sales_encoder(item_vectors, *(inputs[k] for k in SALES_INPUTS))
        return model.heads[self.name](model.mixer(encoded, self.name))

    @torch.no_grad()
    def calibrate(self, model: Any, batches: Iterable[dict]) -> dict[str, Any] | None:
        """Conformal P10–P90 offsets from the held-out weeks (:meth:`SalesHead.calibrate`)."""
        outputs, targets, masks = [], [], []
        for batch in batches:
            outputs.append(self.scaled(model, model.encode_items(batch["items"]), batch))
            targets.append(batch["target"] / batch["scale"][:, None])
            masks.append(batch["target_mask"])
        if not outputs:
            return None
        return model.heads[self.name].calibrate(
            torch.cat(outputs), torch.cat(targets), torch.cat(masks)
        )

    def predict(self, model: Any, batch: dict[str, Tensor]) -> Tensor:
        """The quantiles in units ``[B, H, 3]``."""
        return model.sales_outputs(batch)["quantiles"]

    def evaluate(self, model: Any, batches: Iterable[dict]) -> dict[str, float]:
        return sales_metrics("units", sales_arrays(model.sales_outputs, batches))
