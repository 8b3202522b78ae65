"""The gradient sharing of data-parallel training, on two real gloo processes."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from toyguide.distributed import (
    World,
    average_gradients,
    broadcast_tensors,
    present_anywhere,
    world,
)
from toyguide.weighting import build_weighting


def _rank_main(rank: int, folder: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE="2")
    dist.init_process_group("gloo", init_method=f"file://{folder}/init", rank=rank, world_size=2)
    torch.manual_seed(rank)  # each rank initialises differently: the broadcast must fix it
    shared, head_a, head_b = nn.Linear(3, 4), nn.Linear(4, 1), nn.Linear(4, 1)
    modules = nn.ModuleList([shared, head_a, head_b])
    unused = nn.Parameter(torch.ones(2))  # no rank's loss reaches it
    broadcast_tensors([*modules.parameters(), unused])
    x = torch.randn(8, 3) + rank  # each rank its own data
    h = shared(x)
    losses = {"a": head_a(h).pow(2).mean()}
    if rank == 0:  # task b has labels on rank 0 only this step
        losses["b"] = (head_b(h) - 1).pow(2).mean()
    for unit in present_anywhere(["a", "b"], losses):
        losses.setdefault(unit, torch.zeros((), requires_grad=True))
    weights = build_weighting("pcgrad", ["a", "b"]).backward(losses, shared.parameters())
    local_grads = [
        torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in modules.parameters()
    ]
    average_gradients([*modules.parameters(), unused])
    torch.save(
        {
            "world": [world().rank, world().size],
            "weights": weights,
            "params": [p.detach() for p in modules.parameters()],
            "local": local_grads,
            "grads": [p.grad for p in modules.parameters()],
            "unused": unused.grad,
        },
        f"{folder}/rank{rank}.pt",
    )
    dist.destroy_process_group()


def test_ranks_end_a_step_with_equal_averaged_gradients(tmp_path: Path) -> None:
    # fork: a spawned rank would import this test module by name, which pytest's importlib
    # mode does not make importable
    mp.start_processes(_rank_main, args=(str(tmp_path),), nprocs=2, start_method="fork")
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))
    assert (World(*r0["world"]), World(*r1["world"])) == (World(0, 2), World(1, 2))
    assert r0["weights"] == r1["weights"]  # the strategy decided alike on both ranks
    for p0, p1 in zip(r0["params"], r1["params"], strict=True):
        assert torch.equal(p0, p1)  # rank 0's initialisation everywhere
    for g0, g1 in zip(r0["grads"], r1["grads"], strict=True):
        assert torch.equal(g0, g1)
    # a head's gradient is the mean of the ranks' own (head b: rank 1 contributed zeros)
    head_b = 4  # modules.parameters(): shared w, b, head_a w, b, head_b w, b
    assert torch.allclose(r0["grads"][head_b], (r0["local"][head_b] + 0) / 2)
    assert not torch.equal(r0["local"][2], r1["local"][2])  # the data did differ
    assert r0["unused"] is None and r1["unused"] is None


def test_one_process_is_a_world_of_one() -> None:
    assert world() == World(0, 1) and not world().distributed
    assert present_anywhere(["a", "b", "c"], {"c": 1, "a": 2}) == ["a", "c"]
