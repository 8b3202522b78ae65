"""The multi-task training loop. It names no model and no weighting strategy.

Each step draws one batch per active task from that task's own stream, computes each task's
loss over the labels the batch has, lets the strategy do the backward pass, and steps the
optimiser. Each epoch ends with validation, early stopping on a metric whose direction the
caller gives, and a checkpoint from which ``fit(resume=True)`` continues to the same result.

Under torchrun every rank runs this loop on its own shard of each stream, the gradients
averaged over the ranks (``toyguide.distributed``); rank 0 validates, logs, checkpoints and
decides when to stop, and the others follow its decision.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from toyguide.distributed import (
    all_reduce_mean,
    average_gradients,
    broadcast_flags,
    broadcast_tensors,
    gather_rng_states,
    present_anywhere,
    world,
)
from toyguide.errors import CheckpointError, ConfigError, NonFiniteLossError
from toyguide.training.callbacks import Callback, ProgressCallback
from toyguide.training.checkpoint import latest_checkpoint, read_checkpoint, write_checkpoint
from toyguide.training.schedule import lr_factor

__all__ = [
    "Selection",
    "TrailingSelection",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "part_checkpoint",
    "trailing",
]

Metrics = dict[str, dict[str, float]]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.0
    steps_per_epoch: int = 0  # 0: the longest task stream's batches per epoch
    grad_clip: float = 5.0  # 0 disables clipping
    patience: int = 3  # epochs without improvement before stopping
    log_every: int = 50
    # > 0: no new epoch starts once training and validation have taken this many minutes (a
    # wall-clock budget, as benchmarks set; the epoch count then depends on the machine)
    max_minutes: float = 0.0
    # the rate over the planned epochs × steps (training.schedule): "constant", "linear" or
    # "cosine" down to lr_floor × lr, after warmup_steps of linear warm-up
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    lr_floor: float = 0.0
    # task → the last epoch it trains (a curriculum: an auxiliary task that speeds up the
    # first epochs and then only costs time stops there); a task not named trains throughout
    task_epochs: dict[str, int] = field(default_factory=dict)
    # > 0: once the epoch is chosen (and tested), train this many more epochs from it with the
    # data held out by time (the sales task's validation and test weeks) in the training split,
    # and serve those weights: a forecast then learns from the latest weeks too
    refit_epochs: int = 0

    def __post_init__(self) -> None:
        lr_factor(self.lr_schedule, 1, 1)  # an unknown schedule fails when the config is read
        if any(last < 1 for last in self.task_epochs.values()):
            raise ConfigError(
                f"train.task_epochs must be >= 1 for each task, got {self.task_epochs}"
            )
        if self.refit_epochs < 0:
            raise ConfigError(f"train.refit_epochs must be >= 0, got {self.refit_epochs}")
        if not 0.0 <= self.lr_floor <= 1.0 or self.warmup_steps < 0:
            raise ConfigError(
                "train.lr_floor must be in [0, 1] and train.warmup_steps >= 0, got "
                f"{self.lr_floor} and {self.warmup_steps}"
            )


@dataclass(frozen=True)
class Selection:
    """The validation metric that picks the best epoch: ``metrics[task][metric]``."""

    task: str
    metric: str
    higher_is_better: bool

    def improved(self, new: float, best: float | None) -> bool:
        if best is None or math.isnan(best):
            return not math.isnan(new)
        return new > best if self.higher_is_better else new < best

    def value(self, metrics: Mapping[str, Mapping[str, float]], history: list[dict]) -> float:
        """The selection value of this epoch's validation ``metrics`` (``history``: earlier
        epochs' records, for selections relative to the first)."""
        return metrics.get(self.task, {}).get(self.metric, float("nan"))


@dataclass(frozen=True)
class MeanSelection(Selection):
    """Every task alike: the mean over ``parts`` (task, metric, higher is better) of each
    metric's relative gain over its first validation, signed so that higher is better. No task
    is favoured by its metric's scale, and a run keeps the epoch best for the tasks together;
    a task without a finite value this epoch is left out of the mean."""

    parts: tuple[tuple[str, str, bool], ...] = ()

    def value(self, metrics: Mapping[str, Mapping[str, float]], history: list[dict]) -> float:
        first = history[0]["validation"] if history else metrics
        gains = []
        for task, metric, higher in self.parts:
            now = metrics.get(task, {}).get(metric, math.nan)
            base = first.get(task, {}).get(metric, math.nan)
            if math.isfinite(now) and math.isfinite(base):
                gain = (now - base) / max(abs(base), 1e-8)
                gains.append(gain if higher else -gain)
        return sum(gains) / len(gains) if gains else math.nan


@dataclass(frozen=True)
class TrailingSelection(Selection):
    """``inner``'s value averaged over this epoch's validation and the ``window`` - 1 before
    it (those that have one). On a few dozen validation labels one epoch's score swings by
    several points; an epoch among good neighbours is the steadier pick."""

    inner: Selection | None = None
    window: int = 1

    def value(self, metrics: Mapping[str, Mapping[str, float]], history: list[dict]) -> float:
        assert self.inner is not None
        start = max(len(history) - self.window + 1, 0)
        values = [self.inner.value(history[i]["validation"], history[:i])
                  for i in range(start, len(history))]  # fmt: skip
        values = [v for v in [*values, self.inner.value(metrics, history)] if math.isfinite(v)]
        return sum(values) / len(values) if values else math.nan


def trailing(selection: Selection, window: int) -> Selection:
    """``selection`` judged on its mean over ``window`` epochs (itself for a window of 1)."""
    if window == 1:
        return selection
    return TrailingSelection(selection.task, selection.metric, selection.higher_is_better,
                             inner=selection, window=window)  # fmt: skip


class MultiTaskModel(Protocol):
    def task_loss(self, task: str, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]: ...
    def target_losses(
        self, task: str, batch: dict[str, torch.Tensor]
    ) -> dict[str, tuple[torch.Tensor, int]]: ...
    def shared_parameters(self) -> list[nn.Parameter]: ...
    def parameters(self) -> Iterator[nn.Parameter]: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> Any: ...
    def train(self, mode: bool = True) -> Any: ...


class Stream(Protocol):
    def __len__(self) -> int: ...
    def batches(
        self, epoch: int, shard: tuple[int, int] = (0, 1)
    ) -> Iterator[dict[str, torch.Tensor]]: ...


@dataclass
class TrainResult:
    best_epoch: int
    best_value: float | None
    epochs_run: int
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    part_best: dict[str, int] = field(default_factory=dict)  # part → its own best epoch


@dataclass
class _State:
    epoch: int = 0  # epochs completed
    best_epoch: int = 0
    best_value: float | None = None
    bad_epochs: int = 0
    log_lines: int = 0
    part_best: dict[str, list] = field(default_factory=dict)  # part → [epoch, value]
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    def __init__(
        self,
        model: MultiTaskModel,
        streams: dict[str, Stream],
        strategy: Any,
        evaluate: Callable[[Any, str], Metrics],
        selection: Selection,
        config: TrainConfig,
        run_dir: Path,
        callbacks: Sequence[Callback] = (),
        per_target: Sequence[str] = (),
        parts: Mapping[str, Selection] | None = None,
    ) -> None:
        """``per_target``: tasks whose targets' losses the strategy weighs apart, as loss units
        ``"task/target"`` (the strategy is built with those names). ``parts``: name → the
        selection of one task or target that also keeps its own best epoch (the checkpoint
        :func:`part_checkpoint` names); the run stops only once neither its selection nor any
        part has improved for ``patience`` epochs, so each part trains as long as it would
        alone."""
        self.model, self.streams, self.strategy = model, streams, strategy
        self.parts = dict(parts or {})
        self.per_target = frozenset(per_target)
        self.evaluate, self.selection, self.config = evaluate, selection, config
        self.run_dir = Path(run_dir)
        self.world = world()
        # rank 0 alone shows progress and runs the callbacks (they write the run's records)
        self.callbacks = [ProgressCallback(), *callbacks] if self.world.is_main else []
        # tasks that train on another task's batch of each step (``TaskStream.rides``)
        self.riders = {task: host for task, stream in streams.items()
                       if (host := getattr(stream, "rides", None)) in streams}  # fmt: skip
        self.params = [*model.parameters(), *strategy.parameters()]
        self.optimizer = torch.optim.Adam(
            self.params, lr=config.lr, weight_decay=config.weight_decay
        )
        self.state = _State()
        # the catalogue tables (buffers) are read from the same store by every rank
        broadcast_tensors(self.params)

    @property
    def checkpoints(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "log.jsonl"

    def steps_per_epoch(self) -> int:
        """Steps of one rank: an epoch is the same number of batches, shared by the ranks."""
        steps = self.config.steps_per_epoch or max(len(s) for s in self.streams.values())
        return math.ceil(steps / self.world.size)

    def fit(self, resume: bool = False) -> TrainResult:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume:
            self._restore()
        elif self.log_path.exists() and self.world.is_main:
            self.log_path.unlink()
        stopped = False
        while not self._done(stopped):
            epoch = self.state.epoch + 1
            start = time.perf_counter()
            train_losses = self._train_epoch(epoch)
            stopped = self._end_epoch(epoch, train_losses, time.perf_counter() - start)
        s = self.state
        part_best = {name: epoch for name, (epoch, _) in s.part_best.items()}
        return TrainResult(s.best_epoch, s.best_value, s.epoch, s.history, stopped, part_best)

    def _done(self, stopped: bool) -> bool:
        """Rank 0's decision, the same on every rank (only rank 0 keeps the history)."""
        done = self.state.epoch >= self.config.epochs or stopped or self._out_of_time()
        return broadcast_flags(done)[0]

    def _out_of_time(self) -> bool:
        """The budget counts the epochs' recorded seconds, so a resumed run keeps its own."""
        if self.config.max_minutes <= 0:
            return False
        spent = sum(h["seconds"] + h.get("validation_seconds", 0.0) for h in self.state.history)
        return spent >= 60 * self.config.max_minutes

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        shard = (self.world.rank, self.world.size)
        training = self.training_tasks(epoch)
        riders = {task: host for task, host in self.riders.items() if {task, host} <= training}
        # in the streams' order (not the set's), so the losses come in the same order every run
        draws = {task: _cycle(stream, epoch, shard) for task, stream in self.streams.items()
                 if task in training and task not in riders}  # fmt: skip
        totals: dict[str, float] = {}
        steps = self.steps_per_epoch()
        for cb in self.callbacks:
            cb.on_epoch_start(self, epoch, steps)
        for step in range(1, steps + 1):
            batches = {task: next(it) for task, it in draws.items()}
            batches |= {task: batches[host] for task, host in riders.items()}
            losses = self._losses(batches, epoch, step)
            self.optimizer.zero_grad(set_to_none=True)
            weights = self.strategy.backward(losses, self.model.shared_parameters())
            average_gradients(self.params)
            if self.config.grad_clip:
                nn.utils.clip_grad_norm_(list(self.model.parameters()), self.config.grad_clip)
            self._set_lr((epoch - 1) * steps + step, self.config.epochs * steps)
            self.optimizer.step()
            values = {t: float(v.detach()) for t, v in losses.items()}
            for t, v in values.items():
                totals[t] = totals.get(t, 0.0) + v / steps
            self._log_step(epoch, step, values, weights)
            for cb in self.callbacks:
                cb.on_step(self, epoch, step, values, weights)
        return self._world_means(totals)

    def training_tasks(self, epoch: int) -> set[str]:
        """The tasks that train in ``epoch`` (``train.task_epochs``); the others still validate."""
        last = self.config.task_epochs
        return {task for task in self.streams if epoch <= last.get(task, epoch)}

    def _set_lr(self, step: int, total: int) -> None:
        c = self.config
        lr = c.lr * lr_factor(c.lr_schedule, step, total, c.warmup_steps, c.lr_floor)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _world_means(self, totals: dict[str, float]) -> dict[str, float]:
        """The epoch's mean losses over the ranks, so epoch-based strategies (DWA) agree."""
        if not self.world.distributed:
            return totals
        names = present_anywhere(self.strategy.tasks, totals)
        local = torch.tensor([totals.get(t, 0.0) for t in names], dtype=torch.float64)
        return dict(zip(names, all_reduce_mean(local).tolist(), strict=True))

    def _losses(self, batches: dict[str, dict], epoch: int, step: int) -> dict[str, torch.Tensor]:
        losses = {}
        for unit, loss, n_labels in self._loss_units(batches):
            if n_labels == 0:
                continue  # this batch carries none of the task's (or target's) labels
            if not torch.isfinite(loss):
                last = latest_checkpoint(self.checkpoints)
                kept = f"the last good checkpoint is {last}" if last else "no checkpoint yet"
                raise NonFiniteLossError(
                    f"task '{unit}' loss is {float(loss.detach())} at epoch {epoch}, step {step}; "
                    f"training stopped; {kept}"
                )
            losses[unit] = loss
        if self.world.distributed:
            # a unit another rank has this step gets a zero here: the strategies' collective
            # calls (per-task gradients) must see the same units on every rank
            for unit in present_anywhere(self.strategy.tasks, losses):
                losses.setdefault(unit, torch.zeros((), requires_grad=True))
        return losses

    def _loss_units(self, batches: dict[str, dict]) -> Iterator[tuple[str, torch.Tensor, int]]:
        """(unit, loss, labels used) of a step: a task's loss, or each of its targets' losses
        as ``task/target`` when the strategy weighs them apart."""
        for task, batch in batches.items():
            if task in self.per_target:
                for target, (loss, n) in self.model.target_losses(task, batch).items():
                    yield f"{task}/{target}", loss, n
            else:
                yield task, *self.model.task_loss(task, batch)

    def _log_step(self, epoch: int, step: int, losses: dict, weights: dict) -> None:
        if step % self.config.log_every == 0 or step == self.steps_per_epoch():
            lr = self.optimizer.param_groups[0]["lr"]
            self._log({"epoch": epoch, "step": step, "lr": lr, "loss": losses, "weight": weights})

    def _log(self, record: dict[str, Any]) -> None:
        if not self.world.is_main:
            return
        with self.log_path.open("a") as f:
            f.write(json.dumps(record, default=float) + "\n")
        self.state.log_lines += 1

    def _end_epoch(self, epoch: int, train_losses: dict[str, float], seconds: float) -> bool:
        self.strategy.on_epoch_end(train_losses)
        rng = gather_rng_states()  # every rank's, collected before rank 0 goes on alone
        if not self.world.is_main:
            self.state.epoch = epoch
            return False  # rank 0 decides; _done shares its decision
        started = time.perf_counter()
        metrics = self.evaluate(self.model, "validation")
        validation_seconds = time.perf_counter() - started
        s = self.state
        value = self.selection.value(metrics, s.history)
        improved = self.selection.improved(value, s.best_value)
        part_values = {name: part.value(metrics, s.history) for name, part in self.parts.items()}
        parts_improved = self._keep_part_bests(epoch, part_values)
        if improved:
            s.best_epoch, s.best_value, s.bad_epochs = epoch, value, 0
            self._save_best(epoch)
        elif s.best_value is None:
            # nothing measured yet (a task alone with no validation examples, say): the latest
            # epoch stands in as the best, and no epoch counts against the patience
            s.best_epoch = epoch
            self._save_best(epoch)
        else:
            s.bad_epochs = 0 if parts_improved else s.bad_epochs + 1
        record = {
            "epoch": epoch,
            "train_loss": train_losses,
            "validation": metrics,
            "seconds": round(seconds, 3),
            "validation_seconds": round(validation_seconds, 3),
            "selection": value,
            "improved": improved,
            **({"parts": part_values} if part_values else {}),
        }
        s.history.append(record)
        self._log(record)
        s.epoch = epoch
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, metrics)
        self._save_last(epoch, rng)
        return s.bad_epochs >= self.config.patience

    def _save_best(self, epoch: int, name: str = "best") -> None:
        write_checkpoint(
            self.checkpoints,
            name,
            {"model": self.model.state_dict()},
            {"epoch": epoch},
            latest=False,
        )

    def _keep_part_bests(self, epoch: int, values: dict[str, float]) -> bool:
        """Each part that improved this epoch now points at it; its weights are saved once
        for all such parts, and an epoch no part points at any more is deleted."""
        best = self.state.part_best
        improved = [
            name
            for name, value in values.items()
            if self.parts[name].improved(value, best[name][1] if name in best else None)
        ]
        if not improved:
            return False
        self._save_best(epoch, part_checkpoint(epoch))
        best |= {name: [epoch, values[name]] for name in improved}
        _prune(self.checkpoints, {part_checkpoint(e) for e, _ in best.values()}, PART_PREFIX)
        return True

    def _save_last(self, epoch: int, rng: list[torch.Tensor]) -> None:
        parts = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "strategy": self.strategy.state_dict(),
            # rank 0's as before (a one-process checkpoint reads the same), then the others'
            "rng": {"torch": rng[0], **{f"rank-{r}": rng[r] for r in range(1, len(rng))}},
        }
        meta = {
            "trainer": asdict(self.state),
            "config": asdict(self.config),
            "world_size": self.world.size,
        }
        write_checkpoint(self.checkpoints, f"epoch-{epoch:04d}", parts, meta)
        _prune(self.checkpoints, {f"epoch-{epoch:04d}"}, "epoch-")

    def _restore(self) -> None:
        folder = latest_checkpoint(self.checkpoints)
        if folder is None:
            raise CheckpointError(f"{self.checkpoints}: nothing to resume from")
        parts, meta = read_checkpoint(folder)
        saved_world = meta.get("world_size", 1)
        if saved_world != self.world.size:
            raise CheckpointError(
                f"{folder} was written by {saved_world} process(es); resume it with "
                f"--nproc {saved_world} (this run has {self.world.size}) to continue exactly"
            )
        self.model.load_state_dict(parts["model"])
        self.optimizer.load_state_dict(parts["optimizer"])
        self.strategy.load_state_dict(parts["strategy"])
        rank = self.world.rank
        torch.set_rng_state(parts["rng"]["torch" if rank == 0 else f"rank-{rank}"])
        self.state = _State(**meta["trainer"])
        if self.world.is_main:
            _truncate_lines(self.log_path, self.state.log_lines)


def _cycle(
    stream: Stream, epoch: int, shard: tuple[int, int] = (0, 1)
) -> Iterator[dict[str, torch.Tensor]]:
    """This rank's batches of ``epoch``; a stream shorter than the epoch restarts with a
    derived order."""
    lap = 0
    while True:
        yield from stream.batches(epoch * 1_000 + lap if lap else epoch, shard)
        lap += 1


PART_PREFIX = "best-at-"


def part_checkpoint(epoch: int) -> str:
    """The checkpoint of ``epoch``'s weights, kept while a part's best epoch is ``epoch``."""
    return f"{PART_PREFIX}{epoch:04d}"


def _prune(root: Path, keep: set[str], prefix: str) -> None:
    import shutil

    for folder in root.glob(f"{prefix}*"):
        if folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)


def _truncate_lines(path: Path, n: int) -> None:
    """Drop log lines written after the checkpoint a resumed run starts from."""
    if path.exists():
        lines = path.read_text().splitlines(keepends=True)[:n]
        path.write_text("".join(lines))
