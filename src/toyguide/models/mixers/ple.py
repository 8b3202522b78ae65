"""PLE (Tang et al., RecSys 2020, progressive layered extraction): stacked CGC levels."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from toyguide.models.mixers import MIXERS, Mixer, MixerConfig, combine, mlp

__all__ = ["PLE"]


@MIXERS.register("ple")
class PLE(Mixer):
    """``n_layers`` levels, each with ``n_experts`` shared and ``n_task_experts`` per-task experts.

    Task ``t``'s gate at a level mixes the shared experts and ``t``'s own experts; between
    levels a shared gate mixes all experts (shared and every task's) into the next level's
    shared input. ``n_layers=1`` is CGC. Tasks come in separate batches, so for an intermediate
    level every task's experts run on the current batch — the output for ``t`` is the paper's —
    but other tasks' branches run without gradient, so a one-task loss reaches the shared
    parameters and ``t``'s own and never another task's parameters. :meth:`mix_all` (all tasks
    on one batch) runs every branch once, with gradient, as in the paper.
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

    def mix_all(self, x: Tensor, tasks: Sequence[str] | None = None) -> dict[str, Tensor]:
        """Every expert runs once per level; the tasks' gates share one matmul where they share
        their input (the first level)."""
        tasks = self.served(tasks)
        every = self.config.tasks  # intermediate levels need all tasks for the shared gate
        shared_in, task_in = x, dict.fromkeys(every, x)
        for level in range(self.config.n_layers):
            last = level == self.config.n_layers - 1
            served = tasks if last else every
            shared = _run_experts(self.shared_experts[level], shared_in)  # S x [B, D]
            own = {t: _run_experts(self.per_task[t]["experts"][level], task_in[t]) for t in served}
            weights = self._task_gates(level, task_in, served)  # [B, T, S + Te]
            if not last:
                everything = [*shared, *(e for t in every for e in own[t])]
                shared_weights = torch.softmax(self.shared_gates[level](shared_in), dim=-1)
                shared_in = combine(shared_weights, everything)  # [B, D]
            task_in = {t: combine(weights[:, i], [*shared, *own[t]]) for i, t in enumerate(served)}
        return task_in

    def gate_weights(self, x: Tensor, task: str) -> Tensor:
        """Task ``task``'s gate weights per level, [B, n_layers, n_experts + n_task_experts]:
        columns are the shared experts, then the task's own (rows sum to 1)."""
        self.check_task(task)
        return torch.stack(self._run(x, task)[1], dim=1)

    def _task_gates(self, level: int, task_in: dict[str, Tensor], tasks: Sequence[str]) -> Tensor:
        """Each task's softmax gate over the shared and its own experts: [B, T, S + Te]."""
        gates = [self.per_task[t]["gates"][level] for t in tasks]
        x = task_in[tasks[0]]
        if all(task_in[t] is x for t in tasks):  # one input: the gates as one matmul
            weight = torch.cat([g.weight for g in gates])  # [T * (S + Te), d]
            logits = torch.addmm(torch.cat([g.bias for g in gates]), x, weight.T)
            logits = logits.view(len(x), len(tasks), -1)
        else:
            logits = torch.stack([g(task_in[t]) for g, t in zip(gates, tasks, strict=True)], 1)
        return torch.softmax(logits, dim=-1)

    def _run(self, x: Tensor, task: str) -> tuple[Tensor, list[Tensor]]:
        tasks = self.config.tasks
        shared_in, task_in, gates = x, dict.fromkeys(tasks, x), []
        for level in range(self.config.n_layers):
            last = level == self.config.n_layers - 1
            shared = _run_experts(self.shared_experts[level], shared_in)  # S x [B, D]
            own: dict[str, list[Tensor]] = {}
            # Other tasks only feed the shared gate, so the last level needs the served task only.
            for t in [task] if last else tasks:
                # Without gradient so that task's parameters get only their own task's gradient.
                with contextlib.nullcontext() if t == task else torch.no_grad():
                    part = self.per_task[t]
                    own[t] = _run_experts(part["experts"][level], task_in[t])  # Te x [B, D]
                    weights = torch.softmax(part["gates"][level](task_in[t]), dim=-1)
                    task_in[t] = combine(weights, [*shared, *own[t]])  # [B, D]
                if t == task:
                    gates.append(weights)  # [B, S + Te]
            if not last:
                everything = [*shared, *(e for t in tasks for e in own[t])]  # S + T*Te
                shared_weights = torch.softmax(self.shared_gates[level](shared_in), dim=-1)
                shared_in = combine(shared_weights, everything)  # [B, D]
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


def _run_experts(experts: nn.ModuleList, x: Tensor) -> list[Tensor]:
    return [e(x) for e in experts]  # E x [B, D]
