"""MMoE (Ma et al., KDD 2018, multi-gate mixture-of-experts): shared experts, one gate per task."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from toyguide.models.mixers import MIXERS, Mixer, MixerConfig, mlp

__all__ = ["MMoE"]


@MIXERS.register("mmoe")
class MMoE(Mixer):
    """``n_experts`` shared MLP experts; task ``t`` mixes them with its gate ``softmax(W_t x)``.

    With ``n_experts=1`` every gate is the constant 1 and its parameters learn nothing.
    """

    def __init__(self, config: MixerConfig) -> None:
        super().__init__(config)
        c = config
        self.experts = nn.ModuleList(
            mlp(c.d_in, c.expert_hidden, c.d_out, c.dropout) for _ in range(c.n_experts)
        )
        self.per_task = nn.ModuleDict({t: nn.Linear(c.d_in, c.n_experts) for t in c.tasks})

    def mix(self, x: Tensor, task: str) -> Tensor:
        experts = torch.stack([e(x) for e in self.experts], dim=1)  # [B, E, d_out]
        weights = self._gate(x, task)  # [B, E]
        return torch.einsum("be,bed->bd", weights, experts)  # [B, d_out]

    def gate_weights(self, x: Tensor, task: str) -> Tensor:
        """Task ``task``'s weights over the shared experts, [B, n_experts] (rows sum to 1)."""
        self.check_task(task)
        return self._gate(x, task)

    def _gate(self, x: Tensor, task: str) -> Tensor:
        return torch.softmax(self.per_task[task](x), dim=-1)  # [B, E]
