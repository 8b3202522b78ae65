"""Profile head: a shopper's child age band, child gender and interests from the shopper state."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from toyguide.data.taxonomy import AGE_BANDS, CHILD_GENDERS, FUNCTIONS
from toyguide.errors import ConfigError
from toyguide.models.heads.bag import LinearBag
from toyguide.models.losses import (
    LossOutput,
    masked_bce_with_logits,
    masked_cross_entropy,
    sum_losses,
)

__all__ = ["ProfileHead", "ProfileHeadConfig"]


@dataclass(frozen=True)
class ProfileHeadConfig:
    """``n_items`` > 0 adds an item term over that many catalogue rows
    (``ModelConfig.profile_items``); off by default, so older checkpoints keep loading."""

    d_model: int
    n_items: int = 0
    item_scale: float = 30.0

    def __post_init__(self) -> None:
        if self.d_model < 1 or self.n_items < 0:
            raise ConfigError(
                "profile head: d_model must be >= 1 and n_items >= 0, got "
                f"d_model={self.d_model}, n_items={self.n_items}"
            )


class ProfileHead(nn.Module):
    """Linear logits: ``age_band`` [B, 6], ``gender`` [B, 2] (boy, girl), ``interests`` [B, 15]."""

    def __init__(self, config: ProfileHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.age_band = nn.Linear(config.d_model, len(AGE_BANDS))
        self.gender = nn.Linear(config.d_model, len(CHILD_GENDERS))
        self.interests = nn.Linear(config.d_model, len(FUNCTIONS))
        self.widths = {"age_band": len(AGE_BANDS), "gender": len(CHILD_GENDERS),
                       "interests": len(FUNCTIONS)}  # fmt: skip
        self.items = (
            LinearBag(config.n_items, sum(self.widths.values()), config.item_scale)
            if config.n_items
            else None
        )

    def forward(self, h: Tensor, items: Tensor | None = None) -> dict[str, Tensor]:
        """Logits per target of shopper states ``h`` [B, D], plus the item term of the items
        of their events ``items`` [B, L] (0 = padding) when the head has one and they are given."""
        out = {
            "age_band": self.age_band(h),  # [B, 6]
            "gender": self.gender(h),  # [B, 2]
            "interests": self.interests(h),  # [B, 15]
        }
        if self.items is None or items is None:
            return out
        terms = self.items(items).split(list(self.widths.values()), dim=-1)
        return {name: out[name] + t for name, t in zip(self.widths, terms, strict=True)}

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
