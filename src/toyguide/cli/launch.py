"""``toyguide train --nproc N``: the same command again, once per rank, under torchrun.

torchrun's own parser and launcher (``torch.distributed.run``) start the ranks, so its
rendezvous flags work as documented for multi-node runs; this module only builds its argument
list and turns a failed rank into one clear message (which rank, how it died, how to resume).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence

from toyguide.errors import ToyGuideError

__all__ = ["TrainingFailedError", "launch_ranks", "under_torchrun"]


class TrainingFailedError(ToyGuideError):
    """A rank of a distributed run stopped before the run finished."""


def under_torchrun() -> bool:
    """True inside a rank that torchrun started (it sets these for every worker)."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def launch_ranks(command: Sequence[str], nproc: int, torchrun_args: Sequence[str]) -> None:
    """Run ``python -m toyguide COMMAND`` as ``nproc`` ranks on this machine (and on others,
    through ``torchrun_args`` such as ``--nnodes 2 --rdzv-endpoint host:29400``)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    args = [f"--nproc-per-node={nproc}", *torchrun_args]
    if not any(a.startswith(("--rdzv", "--nnodes", "--master", "--standalone")) for a in args):
        args.append("--standalone")  # one machine: a free local port, no endpoint to set
    args += ["--max-restarts=0", "-m", "toyguide", *command]
    try:
        run(parse_args(args))
    except ChildFailedError as exc:
        raise TrainingFailedError(failure_message(exc.failures)) from None


def failure_message(failures: dict) -> str:
    """Which rank stopped first and how: ``failures`` maps global rank → ProcessFailure.

    The launcher stops the surviving ranks with SIGTERM once one fails, so a rank that died
    any other way is the cause; among several, the earliest."""
    stopped = -signal.SIGTERM
    causes = {r: f for r, f in failures.items() if f.exitcode != stopped} or failures
    rank, first = min(causes.items(), key=lambda kv: (kv[1].timestamp, kv[0]))
    how = _how(first.exitcode)
    others = sorted(set(failures) - {rank})
    rest = f"; ranks {others} were stopped with it" if others else ""
    return (
        f"distributed training failed: rank {rank} (pid {first.pid}) {how}{rest}. "
        "The last checkpoint is intact: run the same command with --resume to continue."
    )


def _how(exitcode: int) -> str:
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode} (its error is printed above)"
