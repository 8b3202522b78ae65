"""Shared-bottom (Caruana, "Multitask Learning", 1997): a shared MLP, then a tower per task."""

from __future__ import annotations

from torch import Tensor, nn

from toyguide.models.mixers import MIXERS, Mixer, MixerConfig, mlp

__all__ = ["SharedBottom"]


@MIXERS.register("shared_bottom")
class SharedBottom(Mixer):
    """Hard parameter sharing: ``expert_hidden`` layers shared, a linear tower per task.

    Shaped like one MMoE expert whose output layer is task-specific, so with ``n_experts=1`` the
    two differ only in where the last layer sits.
    """

    def __init__(self, config: MixerConfig) -> None:
        super().__init__(config)
        c = config
        self.bottom = mlp(c.d_in, c.expert_hidden, None, c.dropout)
        self.per_task = nn.ModuleDict({t: nn.Linear(c.expert_hidden[-1], c.d_out) for t in c.tasks})

    def mix(self, x: Tensor, task: str) -> Tensor:
        shared = self.bottom(x)  # [B, H]
        return self.per_task[task](shared)  # [B, d_out]
