"""Profile head: a shopper's child age band, child gender and interests from the shopper state."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from toyguide.data.taxonomy import AGE_BANDS, CHILD_GENDERS, FUNCTIONS
from toyguide.errors import ConfigError
from toyguide.models.losses import (
    LossOutput,
    masked_bce_with_logits,
    masked_cross_entropy,
    sum_losses,
)

__all__ = ["ProfileHead", "ProfileHeadConfig"]


@dataclass(frozen=True)
class ProfileHeadConfig:
    d_model: int

    def __post_init__(self) -> None:
        if self.d_model < 1:
            raise ConfigError(f"profile head: d_model must be >= 1, got {self.d_model}")


class ProfileHead(nn.Module):
    """Linear logits: ``age_band`` [B, 6], ``gender`` [B, 2] (boy, girl), ``interests`` [B, 15]."""

    def __init__(self, config: ProfileHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.age_band = nn.Linear(config.d_model, len(AGE_BANDS))
        self.gender = nn.Linear(config.d_model, len(CHILD_GENDERS))
        self.interests = nn.Linear(config.d_model, len(FUNCTIONS))

    def forward(self, h: Tensor) -> dict[str, Tensor]:
        return {
            "age_band": self.age_band(h),  # [B, 6]
            "gender": self.gender(h),  # [B, 2]
            "interests": self.interests(h),  # [B, 15]
        }

    def losses(self, outputs: dict[str, Tensor], batch: dict[str, Tensor]) -> dict[str, LossOutput]:
        """Each target's masked loss (CE for age band and gender, BCE for interests)."""
        return {
            "age_band": masked_cross_entropy(outputs["age_band"], batch["age_band"]),
            "gender": masked_cross_entropy(outputs["gender"], batch["gender"]),
            "interests": masked_bce_with_logits(
                outputs["interests"], batch["interests"], batch["interests_mask"]
            ),
        }

    def loss(self, outputs: dict[str, Tensor], batch: dict[str, Tensor]) -> LossOutput:
        """Sum of the targets' mean losses; the count is all labels used."""
        return sum_losses(self.losses(outputs, batch))
