"""Every registered weighting strategy honours the contract; plus each method's own maths.

The contract tests are parametrised over ``WEIGHTINGS.names()``, so a new strategy module is
tested without new code (STYLE.md §2).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from toyguide.errors import ConfigError, RegistryError
from toyguide.training.checkpoint import read_checkpoint, write_checkpoint
from toyguide.weighting import WEIGHTINGS, WeightingStrategy, build_weighting
from toyguide.weighting.dwa import dwa_weights
from toyguide.weighting.mgda import min_norm_weights
from toyguide.weighting.pcgrad import project_conflicting

TASKS = ["a", "b", "c"]
SCALES = {"a": 1.0, "b": 3.0, "c": 0.3}  # targets on different scales, so weightings differ
NAMES = WEIGHTINGS.names()
OPTIONS = {"fixed": {"weights": {"a": 2.0, "c": 0.5}}}  # the rest run on their defaults


class TinyMTL(nn.Module):
    """A shared trunk and one linear head per task."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh())
        self.heads = nn.ModuleDict({t: nn.Linear(16, 1) for t in TASKS})

    def forward(self, x: Tensor, task: str) -> Tensor:
        return self.heads[task](self.trunk(x)).squeeze(-1)  # [B]


def problem(seed: int = 0) -> tuple[TinyMTL, dict[str, tuple[Tensor, Tensor]]]:
    """A seeded net and, per task, its own batch (tasks do not share inputs, as in toyguide)."""
    torch.manual_seed(seed)
    net = TinyMTL()
    data = {}
    for t in TASKS:
        x = torch.randn(64, 6)  # [B, 6]
        y = SCALES[t] * torch.sin(x @ torch.randn(6) + torch.randn(()))  # [B]
        data[t] = (x, y)
    return net, data


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny nets: thread start-up costs more than the maths (10x slower on a 2-core box)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def task_losses(net: TinyMTL, data: dict, tasks: list[str] = TASKS) -> dict[str, Tensor]:
    return {t: nn.functional.mse_loss(net(data[t][0], t), data[t][1]) for t in tasks}


def make(name: str) -> WeightingStrategy:
    return build_weighting(name, TASKS, **OPTIONS.get(name, {}))


def shared_of(net: TinyMTL) -> list[nn.Parameter]:
    return list(net.trunk.parameters())


def grads_of(params: list[nn.Parameter]) -> list[Tensor | None]:
    return [None if p.grad is None else p.grad.clone() for p in params]


@pytest.mark.parametrize("present", [TASKS, ["a", "c"]], ids=["all", "subset"])
@pytest.mark.parametrize("name", NAMES)
def test_backward_fills_grads_and_returns_weights(name: str, present: list[str]) -> None:
    net, data = problem()
    own = {}  # each head's gradient of its own loss alone, for the direction check
    for t in present:
        own[t] = torch.autograd.grad(task_losses(net, data, [t])[t], net.heads[t].weight)[0]
    strategy = make(name)
    weights = strategy.backward(task_losses(net, data, present), shared_of(net))
    assert sorted(weights) == sorted(present)
    assert all(isinstance(w, float) and math.isfinite(w) for w in weights.values())
    for p in shared_of(net):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    for t in TASKS:
        head = net.heads[t].weight
        if t not in present:
            assert head.grad is None or not head.grad.any(), f"absent task {t} got a gradient"
            continue
        assert head.grad is not None and torch.isfinite(head.grad).all()
        cosine = nn.functional.cosine_similarity(head.grad.flatten(), own[t].flatten(), dim=0)
        assert cosine > 0.999, f"head {t} does not follow its own task's gradient"


@pytest.mark.parametrize("name", NAMES)
def test_a_step_without_losses_changes_nothing(name: str) -> None:
    net, _ = problem()
    strategy = make(name)
    assert strategy.backward({}, shared_of(net)) == {}
    assert all(p.grad is None for p in [*net.parameters(), *strategy.parameters()])


@pytest.mark.parametrize("name", NAMES)
def test_grads_accumulate_like_a_plain_backward(name: str) -> None:
    net, data = problem()
    strategy = make(name)
    strategy.backward(task_losses(net, data, ["a", "b"]), shared_of(net))
    once = grads_of(list(net.parameters()))
    strategy.backward(task_losses(net, data, ["a", "b"]), shared_of(net))
    for first, p in zip(once, net.parameters(), strict=True):
        if first is not None:
            torch.testing.assert_close(p.grad, 2 * first)


def train(steps: int, net: TinyMTL, data: dict, strategy: WeightingStrategy) -> None:
    """Adam on net + strategy parameters; an 'epoch' is 20 steps, reported to on_epoch_end."""
    optimiser = torch.optim.Adam([*net.parameters(), *strategy.parameters()], lr=1e-2)
    epoch: dict[str, list[float]] = {t: [] for t in TASKS}
    for step in range(1, steps + 1):
        optimiser.zero_grad()
        losses = task_losses(net, data)
        strategy.backward(losses, shared_of(net))
        optimiser.step()
        for t, loss in losses.items():
            epoch[t].append(float(loss.detach()))
        if step % 20 == 0:
            strategy.on_epoch_end({t: sum(v) / len(v) for t, v in epoch.items()})
            epoch = {t: [] for t in TASKS}


@pytest.mark.parametrize("name", NAMES)
def test_training_reduces_every_task_loss(name: str) -> None:
    net, data = problem()
    with torch.no_grad():
        before = {t: float(v) for t, v in task_losses(net, data).items()}
    train(300, net, data, make(name))
    with torch.no_grad():
        after = {t: float(v) for t, v in task_losses(net, data).items()}
    for t in TASKS:
        assert after[t] < 0.5 * before[t], f"{name}: task {t} {before[t]:.4f} -> {after[t]:.4f}"


@pytest.mark.parametrize("name", NAMES)
def test_resume_from_a_checkpoint_gives_the_same_next_step(name: str, tmp_path: Path) -> None:
    net, data = problem()
    first = make(name)
    train(45, net, data, first)
    # Through the real checkpoint format: proves the state is tensors + JSON-able values.
    write_checkpoint(tmp_path, "step45", {"weighting": first.state_dict()}, {})
    parts, _ = read_checkpoint(tmp_path / "step45")
    second = make(name)
    second.load_state_dict(parts["weighting"])
    results = []
    for strategy in (first, second):
        for p in [*net.parameters(), *strategy.parameters()]:
            p.grad = None
        weights = strategy.backward(task_losses(net, data), shared_of(net))
        results.append((weights, grads_of([*net.parameters(), *strategy.parameters()])))
    assert results[0][0] == results[1][0]
    for g0, g1 in zip(results[0][1], results[1][1], strict=True):
        assert (g0 is None and g1 is None) or torch.equal(g0, g1)


def test_unknown_names_and_options_are_clear_errors() -> None:
    with pytest.raises(RegistryError, match="unknown weighting strategy 'nope'; known: dwa, equal"):
        build_weighting("nope", TASKS)
    with pytest.raises(ConfigError, match=r"unknown task\(s\) zz; tasks are: a, b, c"):
        build_weighting("fixed", TASKS, weights={"a": 1.0, "zz": 2.0})
    with pytest.raises(ConfigError, match="allowed: temperature"):
        build_weighting("dwa", TASKS, temprature=2.0)
    with pytest.raises(ConfigError, match="must be one of"):
        build_weighting("mgda", TASKS, normalisation="l3")
    net, data = problem()
    with pytest.raises(ConfigError, match="built for: a, b"):
        build_weighting("equal", ["a", "b"]).backward(task_losses(net, data), shared_of(net))
    with pytest.raises(ConfigError, match=r"is for tasks \['a', 'b', 'c'\]; this run has \['a'\]"):
        build_weighting("uncertainty", ["a"]).load_state_dict(make("uncertainty").state_dict())


def test_public_api() -> None:
    import toyguide.weighting as package

    assert package.__all__ == ["WEIGHTINGS", "WeightingStrategy", "build_weighting"]
    expected = ["dwa", "equal", "fixed", "gradnorm", "mgda", "pcgrad", "uncertainty"]
    assert set(expected) <= set(NAMES)


# --- PCGrad ---------------------------------------------------------------------------------


def test_pcgrad_cancels_exactly_opposite_gradients() -> None:
    g = torch.tensor([[1.0, -2.0, 0.5], [-1.0, 2.0, -0.5]])  # [2, P]
    assert torch.equal(project_conflicting(g, torch.Generator().manual_seed(0)), torch.zeros(3))


def test_pcgrad_projects_onto_the_normal_plane() -> None:
    g = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])  # g1·g2 = -1 < 0
    # g1 - (g1·g2/|g2|²) g2 = (0.5, 0.5); g2 - (g2·g1/|g1|²) g1 = (0, 1)
    out = project_conflicting(g, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, torch.tensor([0.5, 1.5]))
    agree = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # no conflict: the plain sum
    torch.testing.assert_close(project_conflicting(agree, torch.Generator()), agree.sum(0))


def test_gradient_methods_write_their_combination_into_shared_grads() -> None:
    net, data = problem()
    losses = task_losses(net, data, ["a", "b"])
    rows = []
    for t in ("a", "b"):
        grads = torch.autograd.grad(losses[t], shared_of(net), retain_graph=True)
        rows.append(torch.cat([x.flatten() for x in grads]))
    g = torch.stack(rows)  # [2, P]
    for name in ("mgda", "pcgrad"):
        net.zero_grad(set_to_none=True)
        weights = build_weighting(name, TASKS).backward(
            task_losses(net, data, ["a", "b"]), shared_of(net)
        )
        if name == "mgda":
            expected = weights["a"] * g[0] + weights["b"] * g[1]
        else:  # with two tasks the projection order does not matter
            expected = project_conflicting(g, torch.Generator())
        got = torch.cat([p.grad.flatten() for p in shared_of(net)])
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)


# --- MGDA -----------------------------------------------------------------------------------


def test_mgda_orthogonal_unit_gradients_get_equal_weights() -> None:
    alpha = min_norm_weights(torch.eye(2))
    torch.testing.assert_close(alpha, torch.tensor([0.5, 0.5], dtype=torch.float64))


@pytest.mark.parametrize("seed", range(6))
def test_mgda_two_tasks_match_a_brute_force_grid(seed: int) -> None:
    g = torch.randn(2, 5, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    alpha = min_norm_weights(g)
    gammas = torch.linspace(0, 1, 10_001, dtype=torch.float64)[:, None]  # [N, 1]
    grid_best = (gammas * g[0] + (1 - gammas) * g[1]).norm(dim=1).min()
    assert float((alpha @ g).norm()) <= float(grid_best) + 1e-9


@settings(max_examples=200, deadline=None)
@given(n_tasks=st.integers(2, 5), extra_dims=st.integers(0, 8), seed=st.integers(0, 2**31 - 1))
def test_mgda_finds_the_min_norm_point(n_tasks: int, extra_dims: int, seed: int) -> None:
    # P >= T as in training (P is the shared parameter count); below that the point is often
    # the origin inside the hull, where Frank-Wolfe is slower (see the degenerate test).
    gen = torch.Generator().manual_seed(seed)
    g = torch.randn(n_tasks, n_tasks + extra_dims, generator=gen, dtype=torch.float64)
    alpha = min_norm_weights(g)
    assert (alpha >= 0).all() and abs(float(alpha.sum()) - 1) < 1e-9
    u = alpha @ g  # [P]
    # The Frank-Wolfe gap u·u - min_t g_t·u bounds the error in ||u||²; 0 at the optimum.
    gap = float(u @ u) - float((g @ u).min())
    assert gap <= 1e-4 * float((g * g).sum(1).max())


def test_mgda_reaches_the_origin_when_it_is_inside_the_hull() -> None:
    g = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    alpha = min_norm_weights(g)  # Pareto-stationary: the weights 1/3 each cancel exactly
    assert float((alpha @ g).norm()) < 1e-3
    torch.testing.assert_close(
        alpha, torch.full((3,), 1 / 3, dtype=torch.float64), atol=1e-3, rtol=0
    )


def test_mgda_three_tasks_match_a_simplex_grid() -> None:
    g = torch.randn(3, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    steps = [i / 200 for i in range(201)]
    grid = torch.tensor(
        [(a, b, 1 - a - b) for a, b in itertools.product(steps, steps) if a + b <= 1]
    )
    grid_best = (grid.double() @ g).norm(dim=1).min()
    assert float((min_norm_weights(g) @ g).norm()) <= float(grid_best) + 1e-6


# --- uncertainty, DWA, GradNorm --------------------------------------------------------------


def test_uncertainty_weights_approach_inverse_loss_scale() -> None:
    x = nn.Parameter(torch.tensor(1.0))  # stands in for a network; never stepped
    strategy = build_weighting("uncertainty", ["small", "large"])
    optimiser = torch.optim.Adam(strategy.parameters(), lr=0.1)
    for _ in range(500):
        optimiser.zero_grad()
        weights = strategy.backward({"small": 0.5 * x, "large": 50.0 * x}, [x])
        optimiser.step()
    # At the optimum exp(-s_t) = 1 / L_t: weight x loss -> 1.
    assert weights["small"] * 0.5 == pytest.approx(1.0, rel=0.05)
    assert weights["large"] * 50.0 == pytest.approx(1.0, rel=0.05)


def test_dwa_hand_example_and_first_two_epochs_equal() -> None:
    net, data = problem()
    strategy = build_weighting("dwa", TASKS, temperature=2.0)
    assert strategy.backward(task_losses(net, data), shared_of(net)) == dict.fromkeys(TASKS, 1.0)
    strategy.on_epoch_end({"a": 1.0, "b": 2.0, "c": 4.0})
    assert strategy.backward(task_losses(net, data), shared_of(net)) == dict.fromkeys(TASKS, 1.0)
    strategy.on_epoch_end({"a": 0.5, "b": 2.0, "c": 6.0})  # ratios 0.5, 1, 1.5
    e = [math.exp(r / 2.0) for r in (0.5, 1.0, 1.5)]
    expected = [3 * v / sum(e) for v in e]
    weights = strategy.backward(task_losses(net, data), shared_of(net))
    assert [weights[t] for t in TASKS] == pytest.approx(expected, rel=1e-9)
    assert sum(weights.values()) == pytest.approx(3.0)
    assert dwa_weights([1.0, 1.0], [1.0, 1.0], 2.0) == pytest.approx([1.0, 1.0])


def test_gradnorm_weights_sum_to_task_count_and_shrink_a_dominant_gradient() -> None:
    net, data = problem()
    strategy = build_weighting("gradnorm", TASKS, alpha=1.5)
    optimiser = torch.optim.SGD(strategy.parameters(), lr=0.05)  # weights only: same losses
    history = []
    for _ in range(20):
        optimiser.zero_grad()
        net.zero_grad()
        history.append(strategy.backward(task_losses(net, data), shared_of(net)))
        optimiser.step()
    for weights in history:
        assert sum(weights.values()) == pytest.approx(3.0, rel=1e-6)
    # Loss ratios stay 1 (the net is not stepped), so GradNorm equalises w_t |∇L_t|: the task
    # with the largest gradient (b, on the largest scale) must lose weight, the smallest gain.
    assert history[-1]["b"] < 1.0 < history[-1]["c"]
