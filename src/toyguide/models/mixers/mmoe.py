"""MMoE (Ma et al., KDD 2018, multi-gate mixture-of-experts): shared experts, one gate per task."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from toyguide.models.mixers import MIXERS, Mixer, MixerConfig, combine, mlp

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
        return combine(self._gate(x, task), [e(x) for e in self.experts])  # [B, d_out]

    def mix_all(self, x: Tensor, tasks: Sequence[str] | None = None) -> dict[str, Tensor]:
        """The experts run once for all tasks; the tasks' gates are one matmul."""
        tasks = self.served(tasks)
        gates = [self.per_task[t] for t in tasks]
        weight = torch.cat([g.weight for g in gates])  # [T * E, d_in]
        logits = torch.addmm(torch.cat([g.bias for g in gates]), x, weight.T)
        weights = torch.softmax(logits.view(len(x), len(tasks), -1), dim=-1)  # [B, T, E]
        mixed = combine(weights, [e(x) for e in self.experts])  # [T, B, d_out]
        return dict(zip(tasks, mixed.unbind(0), strict=True))

    def gate_weights(self, x: Tensor, task: str) -> Tensor:
        """Task ``task``'s weights over the shared experts, [B, n_experts] (rows sum to 1)."""
        self.check_task(task)
        return self._gate(x, task)

    def _gate(self, x: Tensor, task: str) -> Tensor:
        return torch.softmax(self.per_task[task](x), dim=-1)  # [B, E]
