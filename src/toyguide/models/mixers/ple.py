"""PLE (Tang et al., RecSys 2020, progressive layered extraction): stacked CGC levels."""

from __future__ import annotations

import contextlib

import torch
from torch import Tensor, nn

from toyguide.models.mixers import MIXERS, Mixer, MixerConfig, mlp

__all__ = ["PLE"]


@MIXERS.register("ple")
class PLE(Mixer):
    """``n_layers`` levels, each with ``n_experts`` shared and ``n_task_experts`` per-task experts.

    Task ``t``'s gate at a level mixes the shared experts and ``t``'s own experts; between
    levels a shared gate mixes all experts (shared and every task's) into the next level's
    shared input. ``n_layers=1`` is CGC. Tasks come in separate batches, so for an intermediate
    level every task's experts run on the current batch — the output for ``t`` is the paper's —
    but other tasks' branches run without gradient, so a one-task loss reaches the shared
    parameters and ``t``'s own and never another task's parameters.
    """

    def __init__(self, config: MixerConfig) -> None:
        super().__init__(config)
        c = config
        widths = [c.d_in] + [c.d_out] * (c.n_layers - 1)  # input width of each level
        n_all = c.n_experts + len(c.tasks) * c.n_task_experts
        self.shared_experts = nn.ModuleList(_experts(c, w, c.n_experts) for w in widths)
        self.shared_gates = nn.ModuleList(nn.Linear(w, n_all) for w in widths[:-1])
        self.per_task = nn.ModuleDict({t: _task_part(c, widths) for t in c.tasks})

    def mix(self, x: Tensor, task: str) -> Tensor:
        return self._run(x, task)[0]

    def gate_weights(self, x: Tensor, task: str) -> Tensor:
        """Task ``task``'s gate weights per level, [B, n_layers, n_experts + n_task_experts]:
        columns are the shared experts, then the task's own (rows sum to 1)."""
        self.check_task(task)
        return torch.stack(self._run(x, task)[1], dim=1)

    def _run(self, x: Tensor, task: str) -> tuple[Tensor, list[Tensor]]:
        tasks = self.config.tasks
        shared_in, task_in, gates = x, dict.fromkeys(tasks, x), []
        for level in range(self.config.n_layers):
            last = level == self.config.n_layers - 1
            shared = _stack(self.shared_experts[level], shared_in)  # [B, S, D]
            own: dict[str, Tensor] = {}
            # Other tasks only feed the shared gate, so the last level needs the served task only.
            for t in [task] if last else tasks:
                # Without gradient so that task's parameters get only their own task's gradient.
                with contextlib.nullcontext() if t == task else torch.no_grad():
                    part = self.per_task[t]
                    own[t] = _stack(part["experts"][level], task_in[t])  # [B, Te, D]
                    weights = torch.softmax(part["gates"][level](task_in[t]), dim=-1)
                    task_in[t] = _combine(weights, torch.cat([shared, own[t]], dim=1))  # [B, D]
                if t == task:
                    gates.append(weights)  # [B, S + Te]
            if not last:
                everything = torch.cat([shared, *own.values()], dim=1)  # [B, S + T*Te, D]
                shared_weights = torch.softmax(self.shared_gates[level](shared_in), dim=-1)
                shared_in = _combine(shared_weights, everything)  # [B, D]
        return task_in[task], gates


def _experts(c: MixerConfig, d_in: int, n: int) -> nn.ModuleList:
    return nn.ModuleList(mlp(d_in, c.expert_hidden, c.d_out, c.dropout) for _ in range(n))


def _task_part(c: MixerConfig, widths: list[int]) -> nn.ModuleDict:
    n_own = c.n_experts + c.n_task_experts
    return nn.ModuleDict(
        {
            "experts": nn.ModuleList(_experts(c, w, c.n_task_experts) for w in widths),
            "gates": nn.ModuleList(nn.Linear(w, n_own) for w in widths),
        }
    )


def _stack(experts: nn.ModuleList, x: Tensor) -> Tensor:
    return torch.stack([e(x) for e in experts], dim=1)  # [B, E, D]


def _combine(weights: Tensor, experts: Tensor) -> Tensor:
    return torch.einsum("be,bed->bd", weights, experts)  # [B, E] x [B, E, D] -> [B, D]
