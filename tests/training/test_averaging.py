"""The weights' moving average: its arithmetic, the swap, and a trainer that selects by it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from toyguide.errors import CheckpointError, ConfigError
from toyguide.training.averaging import WeightAverage
from toyguide.training.trainer import TrainConfig

from .test_trainer import make_trainer, without_time


def test_the_average_follows_the_warmed_up_decay() -> None:
    layer = nn.Linear(2, 1)
    start = layer.weight.detach().clone()
    average = WeightAverage(layer, decay=0.5)
    expected = start.clone()
    for t in range(1, 6):
        with torch.no_grad():
            layer.weight.add_(1.0)
        average.update(layer)
        decay = min(0.5, (1 + t) / (10 + t))
        expected = decay * expected + (1 - decay) * layer.weight.detach()
    assert torch.allclose(average.state_dict()["average"]["weight"], expected)
    assert not torch.allclose(expected, layer.weight)


def test_the_average_is_swapped_in_and_the_own_weights_come_back() -> None:
    layer = nn.Linear(2, 1)
    average = WeightAverage(layer, decay=0.9)
    with torch.no_grad():
        layer.weight.add_(3.0)
    own = layer.weight.detach().clone()
    average.update(layer)
    with pytest.raises(RuntimeError), average.swapped_in(layer):
        assert torch.allclose(layer.weight, average.state_dict()["average"]["weight"])
        raise RuntimeError("an evaluation that fails still gives the weights back")
    assert torch.equal(layer.weight, own)


def test_decay_zero_averages_nothing() -> None:
    layer = nn.Linear(2, 1)
    average = WeightAverage(layer, decay=0.0)
    average.update(layer)
    assert not average.active and average.average == []
    with average.swapped_in(layer):
        pass


def test_a_decay_outside_zero_to_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)


def test_the_trainer_validates_and_saves_the_averaged_weights(tmp_path: Path) -> None:
    trainer = make_trainer(tmp_path, ema_decay=0.9)
    validated: list[torch.Tensor] = []
    evaluate = trainer.evaluate

    def recording(model, split: str) -> dict:
        validated.append(model.trunk[0].weight.detach().clone())
        return evaluate(model, split)

    trainer.evaluate = recording
    result = trainer.fit()
    averaged = trainer.averaged.state_dict()["average"]["trunk.0.weight"]
    own = trainer.model.trunk[0].weight
    assert torch.equal(validated[-1], averaged)  # the last epoch validated its average
    assert not torch.allclose(own, averaged)  # and the model trains on with its own weights
    saved = load_file(str(tmp_path / "checkpoints" / "best" / "model.safetensors"))
    key = next(k for k in saved if k.endswith("trunk.0.weight"))
    assert torch.equal(saved[key], validated[result.best_epoch - 1])


def test_a_run_with_an_average_resumes_exactly(tmp_path: Path) -> None:
    full = make_trainer(tmp_path / "full", ema_decay=0.9).fit()
    make_trainer(tmp_path / "cut", epochs=2, ema_decay=0.9).fit()
    resumed = make_trainer(tmp_path / "cut", ema_decay=0.9).fit(resume=True)
    assert without_time(resumed.history) == without_time(full.history)


def test_resuming_without_the_average_it_was_written_with_is_refused(tmp_path: Path) -> None:
    make_trainer(tmp_path, epochs=2).fit()
    with pytest.raises(CheckpointError, match="ema_decay"):
        make_trainer(tmp_path, ema_decay=0.9).fit(resume=True)
