"""Small hooks around the training loop: progress display, gradient tracking and the like."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

__all__ = ["Callback", "ProgressCallback"]


class Callback:
    """Override what you need; the trainer calls every hook on every callback."""

    def on_epoch_start(self, trainer: Any, epoch: int, steps: int) -> None: ...

    def on_step(
        self, trainer: Any, epoch: int, step: int, losses: dict[str, float], weights: dict
    ) -> None: ...

    def on_epoch_end(self, trainer: Any, epoch: int, metrics: dict) -> None: ...


class ProgressCallback(Callback):
    """A Rich progress bar per epoch showing each task's loss and weight."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: Any = None

    def on_epoch_start(self, trainer: Any, epoch: int, steps: int) -> None:
        self._progress = Progress(
            TextColumn(f"epoch {epoch}/{trainer.config.epochs}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("", total=steps)

    def on_step(self, trainer: Any, epoch: int, step: int, losses: dict, weights: dict) -> None:
        if self._progress is None:
            return
        shown = " ".join(f"{t}={v:.3f}(w{weights.get(t, 0):.2f})" for t, v in losses.items())
        self._progress.update(self._task, advance=1, description=shown)

    def on_epoch_end(self, trainer: Any, epoch: int, metrics: dict) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        sel, state = trainer.selection, trainer.state
        # the value the trainer selected on (a mean over tasks is in no task's metrics)
        value = state.history[-1]["selection"] if state.history else None
        mark = "*" if state.best_epoch == epoch else ""
        bests = [f"{part} {e}" for part, (e, _) in state.part_best.items()]
        parts = f" (each part's best epoch: {', '.join(bests)})" if bests else ""
        print(f"epoch {epoch}: validation {sel.task}/{sel.metric} = {value}{mark}{parts}",
              flush=True)  # fmt: skip
