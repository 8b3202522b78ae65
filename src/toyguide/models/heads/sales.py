"""Sales head: P10/P50/P90 and the expected value of the next H weeks' units, scaled.

The quantiles are non-negative and non-crossing and are trained with the pinball loss; the
mean is non-negative and trained with the Poisson deviance. Both are needed: on intermittent
demand the median is often 0 while the expected units are not, so a median used as the point
forecast under-forecasts the total (bias far below 0); the mean is the point forecast for WAPE
and bias, the quantiles give the interval and the pinball loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.losses import LossOutput, pinball_loss, poisson_deviance_loss

__all__ = [
    "MEAN",
    "OUTPUTS",
    "QUANTILES",
    "SalesHead",
    "SalesHeadConfig",
    "conformal_offsets",
    "monotone_quantiles",
    "moved_out",
]

QUANTILES: tuple[float, float, float] = (0.1, 0.5, 0.9)
OUTPUTS: tuple[str, ...] = ("p10", "p50", "p90", "mean")
"""The channels of the head's output, in order: the quantiles, then the expected units."""
MEAN = OUTPUTS.index("mean")


@dataclass(frozen=True)
class SalesHeadConfig:
    d_model: int
    horizon: int
    mean_weight: float = 1.0  # weight of the mean's Poisson deviance beside the pinball loss
    # Weight each example's losses by its ``scale`` (its recent level): both losses are then
    # proportional to the losses in units, as WAPE and pinball in units weigh them, instead of
    # letting the many low-volume series (whose scaled targets are the noisiest) set the fit.
    weight_by_scale: bool = True

    def __post_init__(self) -> None:
        if self.d_model < 1 or self.horizon < 1:
            raise ConfigError(
                f"sales head: d_model and horizon must be >= 1, got {self.d_model}, {self.horizon}"
            )
        if self.mean_weight < 0:
            raise ConfigError(f"sales head: mean_weight must be >= 0, got {self.mean_weight}")


def monotone_quantiles(raw: Tensor) -> Tensor:
    """Unconstrained [..., 3] → quantiles [..., 3] with 0 <= P10 <= P50 <= P90.

    The median is softplus(m); the others are softplus(m ∓ softplus(d)). The increments are
    added inside the outer softplus, which is increasing, so the order holds and P10 cannot go
    below zero as ``median - increment`` could.
    """
    m = raw[..., 1]
    low = F.softplus(m - F.softplus(raw[..., 0]))
    high = F.softplus(m + F.softplus(raw[..., 2]))
    return torch.stack([low, F.softplus(m), high], dim=-1)


def moved_out(quantiles: Tensor, offset: Tensor) -> Tensor:
    """Scaled quantiles [B, H, 3] with P10 and P90 moved out by ``offset`` [H] (in by a
    negative one), still 0 <= P10 <= P50 <= P90."""
    p50 = quantiles[..., 1]
    low = torch.minimum((quantiles[..., 0] - offset).clamp(min=0), p50)
    high = torch.maximum(quantiles[..., 2] + offset, p50)
    return torch.stack([low, p50, high], dim=-1)


def conformal_offsets(quantiles: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Split conformal quantile regression (CQR) offsets [H] from held-out scaled quantiles
    [B, H, 3] and targets [B, H] where ``mask``: per horizon step the ⌈(n+1)·0.8⌉-th smallest
    of max(P10 − y, y − P90), so that P10–P90 moved out by it covers 80 % of exchangeable new
    weeks; a step without held-out weeks gets 0."""
    score = torch.maximum(quantiles[..., 0] - target, target - quantiles[..., 2])  # [B, H]
    offsets = torch.zeros(score.shape[1], dtype=score.dtype)
    coverage = QUANTILES[2] - QUANTILES[0]  # of P10–P90
    for step in range(score.shape[1]):
        s = score[:, step][mask[:, step]].sort().values
        if len(s):
            rank = min(len(s), math.ceil((len(s) + 1) * coverage))
            offsets[step] = s[rank - 1]
    return offsets


class SalesHead(nn.Module):
    """Forecasts [B, H, 4] — P10, P50, P90, mean (:data:`OUTPUTS`) — in units / ``scale``,
    not logits. :meth:`to_units` and :meth:`mean_units` multiply by the batch's ``scale``.

    The buffer ``interval_offset`` [H] widens (or narrows) P10–P90 by a conformal offset in
    scaled units, fitted after training on the validation weeks (:meth:`calibrate`): a head
    trained by the pinball loss on the training weeks covers less than 80 % of later weeks
    when demand shifts. It is 0 until calibrated and travels in the checkpoint.
    """

    def __init__(self, config: SalesHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.proj = nn.Linear(config.d_model, config.horizon * len(OUTPUTS))
        self.register_buffer("interval_offset", torch.zeros(config.horizon))

    def forward(self, h: Tensor) -> Tensor:
        raw = self.proj(h).unflatten(-1, (self.config.horizon, len(OUTPUTS)))  # [B, H, 4]
        quantiles = monotone_quantiles(raw[..., :MEAN])  # [B, H, 3]
        mean = F.softplus(raw[..., MEAN : MEAN + 1])  # [B, H, 1]
        return torch.cat([quantiles, mean], dim=-1)  # [B, H, 4]

    def loss(self, predictions: Tensor, batch: dict[str, Tensor]) -> LossOutput:
        """Pinball loss of the quantiles plus ``mean_weight`` × the Poisson deviance of the mean,
        on ``target / scale`` where ``target_mask`` (weighted by ``scale`` if configured);
        count = labelled weeks."""
        scale = batch["scale"].unsqueeze(-1)  # [B, 1]
        target, mask = batch["target"] / scale, batch["target_mask"]  # [B, H]
        weight = scale.expand_as(target) if self.config.weight_by_scale else None
        quantile = pinball_loss(predictions[..., :MEAN], target, mask, QUANTILES, weight)
        if self.config.mean_weight == 0:
            return quantile
        mean = poisson_deviance_loss(predictions[..., MEAN], target, mask, weight)
        return LossOutput(quantile.loss + self.config.mean_weight * mean.loss, quantile.count)

    def to_units(self, predictions: Tensor, scale: Tensor) -> Tensor:
        """Scaled outputs [B, H, 4] → the calibrated quantiles in units [B, H, 3], given
        ``scale`` [B]."""
        return self.calibrated(predictions[..., :MEAN]) * scale[:, None, None]

    def calibrated(self, quantiles: Tensor) -> Tensor:
        """Scaled quantiles [B, H, 3] with P10 and P90 moved out by ``interval_offset`` (in
        by a negative one), still 0 <= P10 <= P50 <= P90."""
        return moved_out(quantiles, self.interval_offset)

    @torch.no_grad()
    def calibrate(self, predictions: Tensor, target: Tensor, mask: Tensor) -> dict[str, list]:
        """Set ``interval_offset`` by split conformal quantile regression (CQR) from held-out
        scaled outputs [B, H, 4] and scaled targets [B, H] where ``mask``: per horizon step
        the ⌈(n+1)·0.8⌉-th smallest of max(P10 − y, y − P90), so that P10–P90 covers 80 % of
        exchangeable new weeks. Steps without held-out weeks keep an offset of 0."""
        offsets = conformal_offsets(predictions[..., :MEAN], target, mask)
        self.interval_offset.copy_(offsets)
        return {"interval_offset": offsets.tolist(), "weeks": mask.sum(0).tolist()}

    @staticmethod
    def mean_units(predictions: Tensor, scale: Tensor) -> Tensor:
        """Scaled outputs [B, H, 4] → the expected units [B, H], given ``scale`` [B]."""
        return predictions[..., MEAN] * scale[:, None]
