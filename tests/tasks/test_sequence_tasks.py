"""The auxiliary sequence tasks (the self-supervised views and pairs, the next item's
categories, the later items): each trains on a tiny store, its loss falls on a fixed batch, its
evaluator scores, the same-target pairs really share their next item, the category labels are
the next item's, and the later items are those after the next, read from preference's batch in
the same forward pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from toyguide.data.store import Store
from toyguide.errors import ConfigError
from toyguide.evaluation.protocols import evaluate_model
from toyguide.features.splits import TRAIN
from toyguide.runs import build, evaluators_of, run_config_from_dict, train_run
from toyguide.tasks.later_items import later_targets
from toyguide.tasks.next_categories import without_common_labels

TASKS = [
    "preference", "sequence_views", "same_target", "next_categories", "later_items", "co_items",
]  # fmt: skip
SMALL = {"d_model": 16, "expert_hidden": [16], "n_experts": 2, "shopper_layers": 1}
# eval batches of 50: an evaluation sees several batches of different sizes
FEATURES = {"tasks": TASKS, "eval_batch_size": 50}


@pytest.fixture(scope="module")
def built(shop_path: Path):
    config = run_config_from_dict({"features": FEATURES, "model": SMALL})
    with Store.open(shop_path, read_only=True) as store:
        return build(config, store)


@pytest.mark.parametrize(
    "task", ["sequence_views", "same_target", "next_categories", "later_items", "co_items"]
)
def test_loss_falls_over_a_few_steps_on_a_fixed_batch(built, task: str) -> None:
    _, streams, model = built
    batch = next(streams[task].batches(0))
    torch.manual_seed(0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(8):
        loss, count = model.task_loss(task, batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        if task == "next_categories":  # the scored positions whose next item has a label
            assert count == int(batch["label_ids"].any(-1).sum()) > 0
        elif task == "later_items":  # every later target of every position, once each
            assert count == int((later_targets(batch["next_items"], 4) > 0).sum()) > 0
        elif task == "co_items":  # one label set per item
            assert count == len(batch["items"]) > 0
        else:
            assert count == 2 * len(batch["seq_items"])
    assert losses[-1] < losses[0], losses


def test_same_target_pairs_share_their_next_item_and_are_two_sequences(built) -> None:
    data, streams, _ = built
    stream = streams["same_target"]
    positions = data.of("same_target")
    examples = stream.examples(TRAIN)[:64]
    batch = stream.make_batch(examples, TRAIN)
    assert torch.equal(batch["target"], torch.as_tensor(positions.target[examples]))
    seqs = data.sequences
    # the event before each prefix's end is followed by the shared target
    assert (seqs.next_target[positions.end[examples] - 1] == positions.target[examples]).all()
    assert not torch.equal(batch["seq_items"], batch["b_seq_items"])
    again = stream.make_batch(examples, TRAIN)
    assert torch.equal(again["b_seq_items"], batch["b_seq_items"])  # same batch, same pairs
    assert (positions.group_size >= 2).all()


def test_next_categories_labels_are_the_next_items_categories(built) -> None:
    data, streams, _ = built
    batch = next(streams["next_categories"].batches(0))
    n_labels = len(data.vocabs["categories"]) - 1
    table = without_common_labels(data.items.categories.numpy(), n_labels)  # inputs, less roots
    scored = batch["next_items"] > 0
    labels = batch["label_ids"][scored]  # [P, C]
    truth = table[batch["next_items"][scored].numpy()]  # [P, C']
    assert labels.shape[0] > 0 and (labels > 0).any()
    for row, want in zip(labels.tolist(), truth.tolist(), strict=True):
        assert {c for c in row if c} == {c for c in want if c}
    assert not batch["label_ids"][~scored].any()  # no label where nothing comes next


def test_later_targets_are_the_next_targets_after_the_next_one() -> None:
    next_items = torch.tensor([[5, 0, 7, 8, 0], [0, 3, 4, 0, 0]])  # 0: no target next
    later = later_targets(next_items, window=2)
    assert later[0].tolist() == [[0, 7], [7, 8], [8, 0], [0, 0], [0, 0]]
    assert later[1].tolist() == [[3, 4], [4, 0], [0, 0], [0, 0], [0, 0]]


def count_passes(*modules) -> tuple[list[int], list]:
    """A counter of forward passes per module, and the hooks to remove."""
    counts = [0] * len(modules)

    def counter(i: int):
        return lambda *_: counts.__setitem__(i, counts[i] + 1)

    return counts, [m.register_forward_hook(counter(i)) for i, m in enumerate(modules)]


def test_later_items_rides_preferences_batch_in_one_forward_pass(built) -> None:
    _, streams, model = built
    assert streams["later_items"].rides == "preference"
    batch = next(streams["preference"].batches(0))
    counts, hooks = count_passes(model.shopper_encoder)
    model.train()
    try:
        model.task_loss("preference", batch)
        model.task_loss("later_items", batch)
        assert counts == [1]  # the second task read the first one's states
        model.task_loss("later_items", dict(batch))  # another batch: its own pass
        assert counts == [2]
    finally:
        for hook in hooks:
            hook.remove()


def test_later_items_shared_head_reads_preferences_distribution(shop_path: Path) -> None:
    config = run_config_from_dict({"features": FEATURES, "model": SMALL | {"later_head": "shared"}})
    with Store.open(shop_path, read_only=True) as store:
        _, streams, model = build(config, store)
    assert not list(model.heads["later_items"].parameters())  # preference's output layer
    batch = next(streams["preference"].batches(0))
    counts, hooks = count_passes(model.shopper_encoder, model.heads["preference"])
    model.train()
    try:
        model.task_loss("preference", batch)
        _, count = model.task_loss("later_items", batch)
        assert counts == [1, 1] and count > 0  # one pass, one catalogue softmax for both
    finally:
        for hook in hooks:
            hook.remove()


def test_later_items_with_its_own_head_trains_without_preference(shop_path: Path) -> None:
    config = run_config_from_dict({"features": {"tasks": ["later_items"]}, "model": SMALL})
    with Store.open(shop_path, read_only=True) as store:
        _, streams, model = build(config, store)
    batch = next(streams["later_items"].batches(0))
    model.train()
    loss, count = model.task_loss("later_items", batch)
    loss.backward()
    assert count > 0 and model.heads["later_items"].log_scale.grad is not None
    shared = run_config_from_dict({
        "features": {"tasks": ["later_items"]}, "model": SMALL | {"later_head": "shared"},
    })  # fmt: skip
    with Store.open(shop_path, read_only=True) as store:
        _, streams, model = build(shared, store)
    with pytest.raises(ConfigError, match="switch preference on"):
        model.task_loss("later_items", next(streams["later_items"].batches(0)))


def test_co_items_labels_are_other_items_bought_by_the_same_shoppers(built) -> None:
    data, streams, _ = built
    batch = next(streams["co_items"].batches(0))
    items, co = batch["items"].numpy(), batch["co_items"].numpy()
    weights = batch["co_weights"].numpy()
    assert (co[:, 0] > 0).all() and not (co == items[:, None]).any()  # never the item itself
    assert np.allclose(weights.sum(1), 1.0) and ((weights > 0) == (co > 0)).all()
    assert (np.diff(weights, axis=1) <= 1e-7).all()  # nearest first
    seqs, ends = data.sequences, data.loo.train_end
    bought = [set(seqs.items[seqs.offsets[s] : ends[s]][seqs.is_target[seqs.offsets[s] : ends[s]]])
              for s in range(len(ends))]  # fmt: skip
    for item, others in zip(items, co, strict=True):  # a shopper bought both before validation
        for other in others[others > 0]:
            assert any(item in b and other in b for b in bought), (item, other)


def test_categories_most_items_carry_are_no_target() -> None:
    table = np.array([[0, 0], [1, 2], [1, 3], [1, 0], [2, 1]])  # id 1 on all four items
    kept = without_common_labels(table, n_labels=3)
    assert kept.tolist() == [[0, 0], [0, 2], [0, 3], [0, 0], [2, 0]]  # id 2: half, kept


def test_evaluators_report_pair_accuracy(built) -> None:
    _, streams, model = built
    evaluators = evaluators_of(model)
    metrics = evaluate_model(model, streams, "validation", evaluators)
    for task in ("sequence_views", "same_target"):
        accuracy = metrics[task]["pair/accuracy"]
        assert 0.0 <= accuracy <= 1.0 and metrics[task]["pair/n"] > 0
    assert np.isfinite(metrics["preference"]["next_item/ndcg@10"])
    hit1, hit5 = (metrics["next_categories"][f"category/{m}"] for m in ("accuracy", "hr@5"))
    assert 0.0 <= hit1 <= hit5 <= 1.0 and metrics["next_categories"]["category/n"] > 0
    later = metrics["later_items"]
    assert 0.0 <= later["later_item/ndcg@10"] <= later["later_item/hr@10"] <= 1.0
    co = metrics["co_items"]
    assert 0.0 <= co["co_item/ndcg@10"] <= co["co_item/hr@10"] <= 1.0


def test_a_run_trains_them_beside_preference(shop_path: Path, tmp_path: Path) -> None:
    config = run_config_from_dict({
        "threads": 1, "features": FEATURES, "model": SMALL,
        "train": {"epochs": 1, "steps_per_epoch": 2},
    })  # fmt: skip
    metrics = train_run(config, shop_path, tmp_path / "run")
    assert set(metrics["test"]) == set(TASKS)
