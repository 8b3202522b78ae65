"""Contract tests run on every registered mixer: a new mixer is tested without new code."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from toyguide.errors import ConfigError, RegistryError
from toyguide.models.mixers import MIXERS, Mixer, MixerConfig, build_mixer, combine

CONFIGS = {
    "default": MixerConfig(
        d_in=12, d_out=8, tasks=("preference", "attributes"), expert_hidden=(16,)
    ),
    "deep": MixerConfig(
        d_in=12,
        d_out=8,
        tasks=("a", "b", "c"),
        n_experts=3,
        n_task_experts=2,
        expert_hidden=(16, 8),
        n_layers=2,
    ),
    "three_levels_one_task": MixerConfig(
        d_in=12, d_out=8, tasks=("only",), n_experts=2, expert_hidden=(8,), n_layers=3
    ),
}
CASES = [(name, key) for name in MIXERS.names() for key in CONFIGS]
IDS = [f"{name}-{key}" for name, key in CASES]


def make(name: str, key: str) -> tuple[Mixer, MixerConfig]:
    torch.manual_seed(0)
    config = CONFIGS[key]
    return build_mixer(name, config), config


def nonzero_grad(p: nn.Parameter) -> bool:
    return p.grad is not None and bool(p.grad.abs().sum() > 0)


def test_the_three_mixers_are_registered() -> None:
    assert {"shared_bottom", "mmoe", "ple"} <= set(MIXERS.names())


@pytest.mark.parametrize(("name", "key"), CASES, ids=IDS)
def test_shape_and_finite(name: str, key: str) -> None:
    mixer, config = make(name, key)
    x = torch.randn(5, config.d_in)
    for task in config.tasks:
        out = mixer(x, task)
        assert out.shape == (5, config.d_out)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize(("name", "key"), CASES, ids=IDS)
def test_one_task_loss_reaches_shared_and_own_parameters_only(name: str, key: str) -> None:
    mixer, config = make(name, key)
    x = torch.randn(32, config.d_in)
    for task in config.tasks:
        mixer.zero_grad(set_to_none=True)
        (mixer(x, task) * torch.randn(32, config.d_out)).sum().backward()
        assert all(nonzero_grad(p) for p in mixer.shared_parameters())
        assert all(nonzero_grad(p) for p in mixer.task_parameters(task))
        for other in (t for t in config.tasks if t != task):
            untouched = (p.grad is None for p in mixer.task_parameters(other))
            assert all(untouched), f"{task} loss reached {other}'s parameters"


@pytest.mark.parametrize(("name", "key"), CASES, ids=IDS)
def test_shared_and_task_parameters_partition_all_parameters(name: str, key: str) -> None:
    mixer, config = make(name, key)
    groups = [mixer.shared_parameters()] + [mixer.task_parameters(t) for t in config.tasks]
    listed = [id(p) for group in groups for p in group]
    assert len(listed) == len(set(listed)), "a parameter is listed twice"
    assert set(listed) == {id(p) for p in mixer.parameters()}


@pytest.mark.parametrize(("name", "key"), CASES, ids=IDS)
def test_unknown_task_is_a_config_error_naming_the_known_tasks(name: str, key: str) -> None:
    mixer, config = make(name, key)
    with pytest.raises(ConfigError, match=f"unknown task 'nope'.*known: {config.tasks[0]}"):
        mixer(torch.randn(2, config.d_in), "nope")
    with pytest.raises(ConfigError, match="unknown task 'nope'"):
        mixer.task_parameters("nope")


@pytest.mark.parametrize(("name", "key"), CASES, ids=IDS)
def test_eval_mode_is_deterministic(name: str, key: str) -> None:
    mixer, config = make(name, key)
    mixer.eval()
    x = torch.randn(7, config.d_in)
    for task in config.tasks:
        torch.testing.assert_close(mixer(x, task), mixer(x, task), rtol=0, atol=0)


GATED = [(n, k) for n, k in CASES if hasattr(MIXERS.get(n), "gate_weights")]


@pytest.mark.parametrize(("name", "key"), GATED, ids=[f"{n}-{k}" for n, k in GATED])
def test_gate_weights_are_distributions(name: str, key: str) -> None:
    mixer, config = make(name, key)
    x = torch.randn(6, config.d_in)
    for task in config.tasks:
        weights = mixer.gate_weights(x, task)
        assert weights.shape[0] == 6 and (weights >= 0).all()
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))
    with pytest.raises(ConfigError):
        mixer.gate_weights(x, "nope")


def test_gate_weight_shapes() -> None:
    config = CONFIGS["deep"]
    x = torch.randn(4, config.d_in)
    assert build_mixer("mmoe", config).gate_weights(x, "a").shape == (4, 3)
    assert build_mixer("ple", config).gate_weights(x, "a").shape == (4, 2, 3 + 2)


def test_ple_intermediate_shared_gate_sees_other_tasks_experts() -> None:
    # The forward for task a depends on task b's experts (as in the paper), only the gradient
    # is stopped; so changing b's experts changes a's output when there are two levels.
    torch.manual_seed(0)
    mixer = build_mixer("ple", CONFIGS["deep"]).eval()
    x = torch.randn(4, 12)
    before = mixer(x, "a")
    with torch.no_grad():
        for p in mixer.per_task["b"]["experts"].parameters():
            p.add_(1.0)
    assert not torch.allclose(before, mixer(x, "a"))


def test_unknown_mixer_and_bad_configs() -> None:
    with pytest.raises(RegistryError, match="known: mmoe, ple, shared_bottom"):
        build_mixer("nope", CONFIGS["default"])
    bad = [
        {"tasks": ()},
        {"tasks": ("a", "a")},
        {"tasks": ("a.b",)},
        {"n_experts": 0},
        {"expert_hidden": ()},
        {"dropout": 1.0},
    ]
    for override in bad:
        fields = {"d_in": 4, "d_out": 4, "tasks": ("a",)} | override
        with pytest.raises(ConfigError):
            MixerConfig(**fields)


@pytest.mark.parametrize(("name", "key"), CASES, ids=IDS)
def test_mix_all_equals_forward_per_task(name: str, key: str) -> None:
    mixer, config = make(name, key)
    mixer.eval()
    x = torch.randn(9, config.d_in)
    together = mixer.mix_all(x)
    assert list(together) == list(config.tasks)
    for task in config.tasks:
        torch.testing.assert_close(together[task], mixer(x, task), rtol=1e-5, atol=1e-6)
    last = config.tasks[-1]
    torch.testing.assert_close(mixer.mix_all(x, [last])[last], together[last])
    with pytest.raises(ConfigError, match="unknown task 'nope'"):
        mixer.mix_all(x, ["nope"])


@pytest.mark.parametrize(("name", "key"), CASES, ids=IDS)
def test_mix_all_loss_reaches_every_parameter(name: str, key: str) -> None:
    mixer, config = make(name, key)
    x = torch.randn(32, config.d_in)
    out = mixer.mix_all(x)
    sum((h * torch.randn_like(h)).sum() for h in out.values()).backward()
    assert all(nonzero_grad(p) for p in mixer.parameters())


def test_combine_is_the_gate_weighted_sum() -> None:
    weights, experts = torch.rand(5, 2, 3), torch.randn(3, 5, 4)
    expected = torch.einsum("bte,ebd->tbd", weights, experts)
    torch.testing.assert_close(combine(weights, experts), expected)
    torch.testing.assert_close(combine(weights[:, 0], experts), expected[0])
    torch.testing.assert_close(combine(weights[:, 1], list(experts)), expected[1])
