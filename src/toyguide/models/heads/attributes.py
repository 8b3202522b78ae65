"""Attributes head: a toy's age band, gender target, functions and categories from its encoding."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from toyguide.data.taxonomy import AGE_BANDS, FUNCTIONS, GENDER_TARGETS
from toyguide.errors import ConfigError
from toyguide.models.heads import HEADS
from toyguide.models.losses import (
    LossOutput,
    masked_bce_with_logits,
    masked_cross_entropy,
    sum_losses,
)

__all__ = ["ABSENT_LOGIT", "AttributesHead", "AttributesHeadConfig"]

ABSENT_LOGIT = -1.0e4
"""Fixed logit of category 0 ("absent"): never predicted, finite so BCE on it is not NaN."""


@dataclass(frozen=True)
class AttributesHeadConfig:
    """``n_categories`` is C, the category vocabulary size including index 0 = absent."""

    dim: int
    n_categories: int

    def __post_init__(self) -> None:
        if self.dim < 1 or self.n_categories < 2:
            raise ConfigError(
                "attributes head: dim must be >= 1 and n_categories >= 2 (0 = absent), "
                f"got dim={self.dim}, n_categories={self.n_categories}"
            )


@HEADS.register("attributes")
class AttributesHead(nn.Module):
    """Linear logits per target: ``age_band`` [B, 6], ``gender_target`` [B, 3], ``functions``
    [B, 15], ``categories`` [B, C] (column 0 fixed at :data:`ABSENT_LOGIT`, not in the loss)."""

    def __init__(self, config: AttributesHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.age_band = nn.Linear(config.dim, len(AGE_BANDS))
        self.gender_target = nn.Linear(config.dim, len(GENDER_TARGETS))
        self.functions = nn.Linear(config.dim, len(FUNCTIONS))
        self.categories = nn.Linear(config.dim, config.n_categories - 1)

    def forward(self, h: Tensor) -> dict[str, Tensor]:
        categories = self.categories(h)  # [B, C-1]
        absent = categories.new_full((*categories.shape[:-1], 1), ABSENT_LOGIT)  # [B, 1]
        return {
            "age_band": self.age_band(h),  # [B, 6]
            "gender_target": self.gender_target(h),  # [B, 3]
            "functions": self.functions(h),  # [B, 15]
            "categories": torch.cat([absent, categories], dim=-1),  # [B, C]
        }

    def losses(self, outputs: dict[str, Tensor], batch: dict[str, Tensor]) -> dict[str, LossOutput]:
        """Each target's masked loss (CE for age band and gender, BCE for the multi-labels).

        Categories are a target only when the batch carries them (``predict_categories``).
        """
        losses = {
            "age_band": masked_cross_entropy(outputs["age_band"], batch["age_band"]),
            "gender_target": masked_cross_entropy(outputs["gender_target"], batch["gender_target"]),
            "functions": masked_bce_with_logits(
                outputs["functions"], batch["functions"], batch["functions_mask"]
            ),
        }
        if "categories" in batch:
            losses["categories"] = masked_bce_with_logits(
                outputs["categories"][..., 1:],
                batch["categories"][..., 1:],
                batch["categories_mask"],
            )
        return losses

    def loss(self, outputs: dict[str, Tensor], batch: dict[str, Tensor]) -> LossOutput:
        """Sum of the targets' mean losses; the count is all labels used."""
        return sum_losses(self.losses(outputs, batch))
