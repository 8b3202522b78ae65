"""Sales head: P10/P50/P90 of the next H weeks' units, scaled, non-negative and non-crossing."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.heads import HEADS
from toyguide.models.losses import LossOutput, pinball_loss

__all__ = ["QUANTILES", "SalesHead", "SalesHeadConfig", "monotone_quantiles"]

QUANTILES: tuple[float, float, float] = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class SalesHeadConfig:
    dim: int
    horizon: int

    def __post_init__(self) -> None:
        if self.dim < 1 or self.horizon < 1:
            raise ConfigError(
                f"sales head: dim and horizon must be >= 1, got {self.dim}, {self.horizon}"
            )


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


@HEADS.register("sales")
class SalesHead(nn.Module):
    """Quantile forecasts [B, H, 3] at :data:`QUANTILES`, in units / ``scale`` — not logits.

    Multiply by the batch's ``scale`` (see :meth:`to_units`) to get units.
    """

    def __init__(self, config: SalesHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.proj = nn.Linear(config.dim, config.horizon * len(QUANTILES))

    def forward(self, h: Tensor) -> Tensor:
        raw = self.proj(h).unflatten(-1, (self.config.horizon, len(QUANTILES)))  # [B, H, 3]
        return monotone_quantiles(raw)  # [B, H, 3]

    def loss(self, predictions: Tensor, batch: dict[str, Tensor]) -> LossOutput:
        """Pinball loss on ``target / scale`` where ``target_mask``; count = labelled weeks."""
        target = batch["target"] / batch["scale"].unsqueeze(-1)  # [B, H]
        return pinball_loss(predictions, target, batch["target_mask"], QUANTILES)

    @staticmethod
    def to_units(predictions: Tensor, scale: Tensor) -> Tensor:
        """Scaled quantiles [B, H, 3] → units, given ``scale`` [B]."""
        return predictions * scale[:, None, None]
