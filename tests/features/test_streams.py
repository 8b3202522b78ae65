from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
import torch

from toyguide.data.store import Store
from toyguide.data.taxonomy import EVENT_KINDS
from toyguide.errors import ConfigError
from toyguide.features.data import FeatureConfig, TaskData
from toyguide.features.splits import TEST, TRAIN, VALIDATION
from toyguide.tasks import build_task_data, make_streams

L = 400  # the task_data fixture's max_len
F = 15
SEQ = {"seq_items": torch.int64, "seq_kinds": torch.int64, "seq_gaps": torch.int64,
       "seq_mask": torch.bool}  # fmt: skip
CONTRACT = {
    "preference": {**SEQ, "next_items": torch.int64},
    "profile": {**SEQ, "age_band": torch.int64, "gender": torch.int64,
                "interests": torch.float32, "interests_mask": torch.bool},
    "attributes": {"items": torch.int64, "age_band": torch.int64, "gender_target": torch.int64,
                   "functions": torch.float32, "functions_mask": torch.bool},
    "sales": {"items": torch.int64, "history": torch.float32, "calendar": torch.float32,
              "summary": torch.float32, "scale": torch.float32, "target": torch.float32, "target_mask": torch.bool},
}  # fmt: skip
SHAPES = {
    "seq_items": (L,), "seq_kinds": (L,), "seq_gaps": (L,), "seq_mask": (L,), "next_items": (L,),
    "age_band": (), "gender": (), "interests": (F,), "interests_mask": (), "items": (),
    "gender_target": (), "functions": (F,), "functions_mask": (), "history": (8, 5),
    "calendar": (4, 6), "summary": (8,), "scale": (), "target": (4,), "target_mask": (4,),
}  # fmt: skip


@pytest.fixture(scope="module")
def streams(task_data: TaskData):
    return make_streams(task_data)


def _all(stream, epoch: int = 0) -> list[dict[str, torch.Tensor]]:
    return list(stream.batches(epoch))


@pytest.mark.parametrize("task", list(CONTRACT))
def test_training_batches_have_exactly_the_contract_keys(streams, task: str) -> None:
    batches = _all(streams[task])
    assert len(batches) == len(streams[task]) > 0
    for batch in batches:
        assert {k: v.dtype for k, v in batch.items()} == CONTRACT[task]
        size = len(batch["items"] if "items" in batch else batch["seq_items"])
        assert size <= streams[task].batch_size
        width = batch["seq_mask"].shape[1] if "seq_mask" in batch else 0
        for key, value in batch.items():
            # a sequence batch is as wide as its longest sequence (at most max_len)
            shape = (width,) if SHAPES[key] == (L,) else SHAPES[key]
            assert tuple(value.shape) == (size, *shape), key
            assert torch.isfinite(value.float()).all()
        if width:
            assert 1 <= width <= L and batch["seq_mask"].any(0)[0]  # no all-padding column


@pytest.mark.parametrize("task", list(CONTRACT))
def test_same_seed_and_epoch_give_identical_batches(
    streams, task: str, tiny_store: Store, fake_embedder, task_data: TaskData
) -> None:
    fresh = make_streams(build_task_data(tiny_store, task_data.config, text_vectors=fake_embedder))[
        task
    ]
    for a, b in zip(_all(streams[task], 3), _all(fresh, 3), strict=True):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    def key(batch: dict[str, torch.Tensor]) -> torch.Tensor:  # the item, or the latest event's
        return batch["items"] if "items" in batch else batch["seq_items"][:, -1]

    order = [torch.cat([key(b) for b in _all(streams[task], e)]) for e in (3, 4)]
    assert not torch.equal(order[0], order[1])


def _target_events(ordered: pl.DataFrame) -> pl.DataFrame:
    """Per shopper, the items of its target-kind events in time order (raw, independent)."""
    return (
        ordered.with_row_index("position")
        .filter(pl.col("kind").is_in(["click", "cart", "purchase"]))
        .group_by("shopper_id", maintain_order=True)
        .agg(pl.col("item_id"), pl.col("position"))
        .filter(pl.col("item_id").list.len() >= 3)
    )


def test_leave_one_out_targets_are_the_true_last_events(
    streams, task_data: TaskData, ordered_events: pl.DataFrame
) -> None:
    raw = _target_events(ordered_events)
    vocab = task_data.vocabs["items"]
    assert (
        task_data.vocabs["shoppers"].lookup(task_data.of("preference").eval_shoppers)
        == raw["shopper_id"].to_list()
    )
    for split, k in (("test", -1), ("validation", -2)):
        targets = [t for b in streams["preference"].eval_batches(split) for t in b["target_item"]]
        expected = raw.select(pl.col("item_id").list.get(k)).to_series().to_list()
        assert vocab.lookup(int(t) for t in targets) == expected


def test_training_sequences_are_the_events_before_the_validation_target(
    streams, task_data: TaskData, ordered_events: pl.DataFrame
) -> None:
    held = dict(
        _target_events(ordered_events)
        .select("shopper_id", pl.col("position").list.get(-2))
        .iter_rows()
    )
    per_shopper = ordered_events.with_row_index("position").partition_by("shopper_id", as_dict=True)
    vocab, stream = task_data.vocabs["items"], streams["preference"]
    rows = task_data.of("preference").train_shoppers[:60]
    batch = stream.make_batch(rows, TRAIN)
    for b, sid in enumerate(task_data.vocabs["shoppers"].lookup(rows)):
        events = per_shopper[(sid,)]
        events = events.filter(pl.col("position") < held.get(sid, len(ordered_events)))
        mask = batch["seq_mask"][b]
        assert vocab.lookup(batch["seq_items"][b][mask].tolist()) == events["item_id"].to_list()
        kinds = [EVENT_KINDS[k - 1] for k in batch["seq_kinds"][b][mask].tolist()]
        assert kinds == events["kind"].to_list()
        wanted = [
            item if kind in ("click", "cart", "purchase") else None
            for item, kind in zip(events["item_id"][1:], events["kind"][1:], strict=True)
        ] + [None]  # the event after the last training one is held out (or there is none)
        assert vocab.lookup(batch["next_items"][b][mask].tolist()) == wanted
        width = batch["seq_mask"].shape[1]
        assert not batch["seq_mask"][b][: width - len(events)].any()  # right-aligned


def test_no_held_out_attribute_label_reaches_training(streams, task_data: TaskData) -> None:
    split = task_data.of("attributes").split
    seen = torch.cat([b["items"] for b in _all(streams["attributes"])]).numpy()
    assert sorted(seen.tolist()) == np.flatnonzero(split == TRAIN).tolist()
    held = set(np.flatnonzero((split == VALIDATION) | (split == TEST)).tolist())
    assert held and not held & set(seen.tolist())
    for name in ("validation", "test"):
        got = torch.cat([b["items"] for b in streams["attributes"].eval_batches(name)])
        assert set(got.tolist()) <= held
    # held-out items stay inputs: their text and price are in the item tables
    some = sorted(held)[:3]
    assert (task_data.items.text[some].abs().sum(1) > 0).all()


def test_categories_are_targets_only_when_asked(tiny_store: Store, fake_embedder) -> None:
    data = build_task_data(
        tiny_store, FeatureConfig(predict_categories=True), text_vectors=fake_embedder
    )
    batch = next(make_streams(data)["attributes"].batches(0))
    n_categories = data.dims()["n_categories"]
    assert batch["categories"].shape == (len(batch["items"]), n_categories)
    assert batch["categories_mask"].dtype == torch.bool and batch["categories_mask"].any()
    assert (data.items.categories == 0).all()  # a target is not also an input


def test_sales_targets_are_the_stored_units(
    streams, task_data: TaskData, tiny_store: Store
) -> None:
    sales = tiny_store.frame("sales")
    units = {(i, w): u for i, w, u in sales.select("item_id", "week", "units").iter_rows()}
    first_monday, stream = sales["week"].min(), streams["sales"]
    for split, limit in ((TRAIN, 12), (VALIDATION, 16), (TEST, 20)):
        items, origins = stream.pairs(split)
        batch = stream.make_batch(np.arange(len(items)), split)
        names = task_data.vocabs["items"].lookup(batch["items"].tolist())
        checked = 0
        for row, (item, origin) in enumerate(zip(names, origins.tolist(), strict=True)):
            for h in range(4):
                week = first_monday + dt.timedelta(weeks=origin + h)
                if batch["target_mask"][row, h]:
                    assert origin + h < limit  # no target reaches into a later split's weeks
                    assert float(batch["target"][row, h]) == units[(item, week)]
                    checked += 1
                else:
                    assert float(batch["target"][row, h]) == 0.0
                    assert origin + h >= limit or (item, week) not in units
        assert checked > 0


def test_exclusions_hold_training_items_but_not_the_target(
    streams, task_data: TaskData, ordered_events: pl.DataFrame
) -> None:
    raw = _target_events(ordered_events)
    vocab = task_data.vocabs["items"]
    for split, k in (("validation", 2), ("test", 1)):
        rows = [r for b in streams["preference"].eval_batches(split) for r in zip(
            b["target_item"].tolist(), b["exclude"].tolist(), strict=True)]  # fmt: skip
        for (target, exclude), items in zip(rows, raw["item_id"], strict=True):
            history = set(items[:-k])  # training items (+ the validation item at test time)
            got = {i for i in vocab.lookup(exclude) if i is not None}
            assert got == history - {items[-k]}
            assert vocab.lookup([target])[0] not in got


def test_profile_inputs_exclude_held_out_preference_events(streams, task_data: TaskData) -> None:
    prof, loo = task_data.of("profile"), task_data.of("preference").loo
    np.testing.assert_array_equal(prof.end, loo.train_end)
    batch = next(streams["profile"].eval_batches("test"))
    assert (batch["age_band"] >= -1).all() and (batch["age_band"] < 6).all()
    assert batch["interests"][~batch["interests_mask"]].sum() == 0


def test_eval_batches_reject_training_split(streams) -> None:
    with pytest.raises(ConfigError, match="validation"):
        next(streams["sales"].eval_batches("train"))


@pytest.mark.parametrize("task", ["preference", "attributes", "sales", "profile"])
def test_two_ranks_share_out_the_epoch_batches(streams, task: str) -> None:
    stream = streams[task]
    whole = [_batch_key(b) for b in stream.batches(3)]
    ranks = [[_batch_key(b) for b in stream.batches(3, shard=(r, 2))] for r in range(2)]
    if len(whole) >= 2:  # each batch on exactly one rank, in the epoch's order
        assert ranks[0] == whole[0::2] and ranks[1] == whole[1::2]
    else:  # fewer batches than ranks: each rank still gets one, or it would wait forever
        assert ranks == [whole, whole]


def test_a_stream_shorter_than_the_world_gives_every_rank_a_batch(streams) -> None:
    stream = streams["profile"]
    n = len(list(stream.batches(0)))
    for rank in range(n + 2):
        assert len(list(stream.batches(0, shard=(rank, n + 2)))) == 1


def _batch_key(batch: dict[str, torch.Tensor]) -> tuple:
    """A batch's identity: its first tensor's values (rows are examples in order)."""
    first = next(iter(batch.values()))
    return tuple(first.reshape(-1).tolist())


def test_a_sales_refit_trains_on_the_validation_and_test_weeks_too(task_data: TaskData) -> None:
    from toyguide.tasks.sales import SalesStream

    stream = SalesStream(task_data)
    weeks = task_data.of("sales").weeks

    def last_target_week() -> int:
        batch = stream.make_batch(stream._train, TRAIN)
        origins = stream.pairs(TRAIN)[1][stream._train]
        observed = batch["target_mask"].numpy()
        return int((origins[:, None] + np.arange(observed.shape[1]))[observed].max())

    before, n_before = last_target_week(), len(stream._train)
    assert before < weeks.target_end(TRAIN)
    stream.through_the_end()
    assert last_target_week() == weeks.n_weeks - 1 and len(stream._train) > n_before
    # validation and test batches are unchanged
    fresh = SalesStream(task_data)
    for split in ("validation", "test"):
        for a, b in zip(stream.eval_batches(split), fresh.eval_batches(split), strict=True):
            assert all(torch.equal(a[k], b[k]) for k in a)
