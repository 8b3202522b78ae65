"""Data-parallel training over ``torch.distributed``: one process per rank, started by torchrun.

Every rank builds the same model from the same seed and trains on its own shard of every task
stream (:meth:`TaskStream.batches` with ``shard``); after each backward the gradients are
averaged over the ranks, so every rank takes the same optimiser step and the replicas stay
equal, as under ``DistributedDataParallel``. The averaging is done here rather than by the DDP
wrapper because the weighting strategies differentiate each task's loss on its own (GradNorm,
MGDA, PCGrad): :func:`all_reduce_mean` makes those per-task gradients the world's, so that
every rank's strategy decides the same. Rank 0 alone writes checkpoints, logs and the serving
folder, and decides when training stops.

Outside torchrun (no ``WORLD_SIZE`` in the environment) the world is one process and every
function here is a no-op.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn

from toyguide.errors import ConfigError

__all__ = [
    "World",
    "all_reduce_mean",
    "average_gradients",
    "broadcast_flags",
    "broadcast_tensors",
    "gather_rng_states",
    "init_world",
    "present_anywhere",
    "world",
]

TIMEOUT = dt.timedelta(minutes=30)  # rank 0 validates alone while the others wait


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world() -> World:
    """This process's rank and the world size (one process when not under torchrun)."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))


def init_world() -> World:
    """Join the process group torchrun set up (gloo on CPU, NCCL when this rank has a GPU)."""
    here = world()
    if not here.distributed or dist.is_initialized():
        return here
    if not dist.is_available():
        raise ConfigError("this torch build has no torch.distributed; train with one process")
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, timeout=TIMEOUT)
    return world()


def all_reduce_mean(tensor: Tensor) -> Tensor:
    """The mean of ``tensor`` over the ranks (a new tensor; the input when alone)."""
    if not world().distributed:
        return tensor
    total = tensor.detach().clone()
    dist.all_reduce(total)
    return total / world().size


def average_gradients(parameters: Iterable[nn.Parameter]) -> None:
    """Average ``.grad`` over the ranks in one flat all-reduce. A parameter no rank gave a
    gradient keeps ``None`` (Adam then leaves it alone, as in one process); one that some
    ranks reached gets the others' zeros in the mean, as DDP does."""
    if not world().distributed:
        return
    params = [p for p in parameters if p.requires_grad]
    if not params:
        return
    reached = torch.tensor([p.grad is not None for p in params], dtype=torch.float32)
    # one collective: the gradients and, at the end, which ranks reached each parameter
    flat = torch.cat([*(_grad_or_zeros(p).reshape(-1) for p in params), reached])
    dist.all_reduce(flat)
    reached_anywhere = flat[-len(params) :].tolist()
    grads = flat[: -len(params)] / world().size
    offset = 0
    for p, any_rank in zip(params, reached_anywhere, strict=True):
        piece = grads[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
        p.grad = piece.to(p.dtype).clone() if any_rank else None


def _grad_or_zeros(p: nn.Parameter) -> Tensor:
    return p.grad.detach() if p.grad is not None else torch.zeros_like(p, dtype=torch.float32)


def present_anywhere(names: Sequence[str], present: Iterable[str]) -> list[str]:
    """Of ``names``, those present on at least one rank: the loss units a step must carry on
    every rank, so that the strategies' collective calls match."""
    local = set(present)
    if not world().distributed:
        return [n for n in names if n in local]
    flags = torch.tensor([n in local for n in names], dtype=torch.float32)
    dist.all_reduce(flags)
    return [n for n, f in zip(names, flags.tolist(), strict=True) if f > 0]


def broadcast_flags(*flags: bool) -> tuple[bool, ...]:
    """Rank 0's ``flags`` on every rank (its decisions: stop, out of time)."""
    if not world().distributed:
        return flags
    values = torch.tensor([float(f) for f in flags])
    dist.broadcast(values, src=0)
    return tuple(bool(v) for v in values.tolist())


def broadcast_tensors(tensors: Iterable[Tensor]) -> None:
    """Rank 0's values of ``tensors`` (parameters) on every rank: the replicas start equal
    whatever each rank's initialisation drew."""
    if not world().distributed:
        return
    for tensor in tensors:
        dist.broadcast(tensor.data, src=0)


def gather_rng_states() -> list[Tensor]:
    """Every rank's torch RNG state (rank order), so that a resumed run draws what each rank
    would have drawn: dropout masks differ per rank as their batches do."""
    state = torch.get_rng_state()
    if not world().distributed:
        return [state]
    states = [torch.empty_like(state) for _ in range(world().size)]
    dist.all_gather(states, state)
    return states
