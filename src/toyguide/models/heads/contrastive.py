"""Contrastive head: a projection of two stacked views of each sequence, trained with InfoNCE.

The self-supervised sequence tasks (toyguide.tasks.sequence_views, .same_target) represent a
batch of B sequences twice — two augmented or dropout views, or two sequences with the same next
item — as ``[2B, D]``; this head projects both halves and pulls each pair together against the
rest of the batch (``models.losses.info_nce``). The projection keeps the contrastive geometry
out of the shared state, as SimCLR's projection head does.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.losses import LossOutput, info_nce

__all__ = ["ContrastiveHead", "ContrastiveHeadConfig"]


@dataclass(frozen=True)
class ContrastiveHeadConfig:
    d_model: int
    temperature: float = 1.0  # DuoRec's and CL4SRec's default on Amazon data
    group_key: str = ""  # batch key of each pair's group: same group = not a negative

    def __post_init__(self) -> None:
        if self.d_model < 1 or self.temperature <= 0:
            raise ConfigError(
                f"contrastive head: d_model >= 1 and temperature > 0, got {self.d_model}, "
                f"{self.temperature}"
            )


class ContrastiveHead(nn.Module):
    """``[2B, D]`` (view one of each row, then view two) → projected ``[2B, D]``."""

    def __init__(self, config: ContrastiveHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.proj = nn.Linear(config.d_model, config.d_model)

    def forward(self, h: Tensor) -> Tensor:
        return self.proj(h)  # [2B, D]

    def logits(self, z: Tensor, batch: dict[str, Tensor]) -> tuple[LossOutput, Tensor]:
        """InfoNCE of the halves of ``z`` and its pair logits ``[2B, 2B]``."""
        a, b = z.chunk(2)
        groups = batch[self.config.group_key] if self.config.group_key else None
        return info_nce(a, b, self.config.temperature, groups)

    def loss(self, z: Tensor, batch: dict[str, Tensor]) -> LossOutput:
        return self.logits(z, batch)[0]
