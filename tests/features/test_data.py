from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from toyguide.config import from_dict
from toyguide.data.store import Store
from toyguide.data.synth import generate_shop
from toyguide.data.taxonomy import EVENT_KINDS, age_band_index
from toyguide.errors import ConfigError
from toyguide.features.data import FeatureConfig, TaskData
from toyguide.features.sales import calendar_features
from toyguide.features.splits import UNUSED
from toyguide.tasks import build_task_data, tasks_of


def test_item_tables_follow_the_contract(task_data: TaskData, tiny_store: Store) -> None:
    items = tiny_store.frame("items")
    t = task_data.items
    n = items.height
    assert t.n_items == n == task_data.dims()["n_items"]
    assert t.brand.shape == (n + 1,) and t.brand.dtype == torch.int64
    assert t.categories.dtype == torch.int64 and t.categories.shape[0] == n + 1
    assert t.log_price.dtype == t.price_missing.dtype == t.text.dtype == torch.float32
    assert t.text.shape == (n + 1, 8)
    assert t.brand[0] == 0 and (t.categories[0] == 0).all() and (t.text[0] == 0).all()
    priced = t.price_missing[1:] == 0
    assert abs(float(t.log_price[1:][priced].mean())) < 1e-4  # standardised on these items
    assert abs(float(t.log_price[1:][priced].std(unbiased=False)) - 1) < 1e-3


def test_state_is_json_and_rebuilds_the_same_data(
    task_data: TaskData, tiny_store: Store, fake_embedder
) -> None:
    state = json.loads(json.dumps(task_data.state()))
    assert set(state["vocabs"]) == {"items", "brands", "categories"}
    again = build_task_data(tiny_store, state=state, text_vectors=fake_embedder)
    assert again.config == task_data.config
    assert again.vocabs == task_data.vocabs
    for name in ("brand", "categories", "log_price", "price_missing", "text"):
        assert torch.equal(getattr(again.items, name), getattr(task_data.items, name))
    np.testing.assert_array_equal(again.of("attributes").split, task_data.of("attributes").split)
    with pytest.raises(ConfigError, match="format"):
        build_task_data(tiny_store, state={**state, "format": 99}, text_vectors=fake_embedder)


def test_item_age_band_is_the_band_of_the_range_midpoint(
    task_data: TaskData, tiny_store: Store
) -> None:
    items = tiny_store.frame("items").drop_nulls("age_min_months")
    rows = task_data.vocabs["items"].transform(items["item_id"])
    mids = (items["age_min_months"] + items["age_max_months"]) / 2
    expected = [age_band_index(m) for m in mids]
    assert task_data.of("attributes").labels.age_band[rows].tolist() == expected
    unlabelled = task_data.of("attributes").labels.labelled(False) == False  # noqa: E712
    assert (task_data.of("attributes").split[unlabelled] == UNUSED).all()


def test_profile_age_is_taken_at_the_last_input_event(
    task_data: TaskData, tiny_store: Store
) -> None:
    shoppers = tiny_store.frame("shoppers").drop_nulls("child_birth_date")
    prof, seqs = task_data.of("profile"), task_data.sequences
    checked = 0
    for sid, birth in shoppers.select("shopper_id", "child_birth_date").iter_rows():
        row = task_data.vocabs["shoppers"].index(sid)
        if prof.split[row] == UNUSED:
            continue
        last = seqs.ts[prof.end[row] - 1] // 86_400_000_000
        months = (int(last) - (birth - dt.date(1970, 1, 1)).days) / (365.25 / 12)
        assert prof.age_band[row] == age_band_index(max(months, 0))
        checked += 1
    assert checked > 20


def _store_without(
    tmp_path: Path, tiny_shop, *, sales: bool = True, profiles: bool = True
) -> Store:
    frames = dict(generate_shop(tiny_shop).frames)
    if not profiles:
        blank = ["child_birth_date", "child_age_months", "as_of", "child_gender", "interests"]
        frames["shoppers"] = frames["shoppers"].with_columns(
            pl.lit(None, dtype=frames["shoppers"][c].dtype).alias(c) for c in blank
        )
    names = ["items", "shoppers", "events"] + (["sales"] if sales else [])
    store = Store.open(tmp_path / "partial.duckdb")
    store.ingest_many([(n, frames[n]) for n in names], source="test")
    return store


def test_sales_on_a_store_without_sales_names_sales(
    tmp_path: Path, tiny_shop, fake_embedder
) -> None:
    with _store_without(tmp_path, tiny_shop, sales=False) as store:
        with pytest.raises(ConfigError, match=r"task 'sales' .* no sales rows"):
            build_task_data(store, text_vectors=fake_embedder)
        others = FeatureConfig(tasks=("preference", "attributes", "profile"))
        assert not build_task_data(store, others, text_vectors=fake_embedder).has("sales")


def test_profile_without_labelled_shoppers_names_profile(
    tmp_path: Path, tiny_shop, fake_embedder
) -> None:
    with (
        _store_without(tmp_path, tiny_shop, profiles=False) as store,
        pytest.raises(ConfigError, match=r"task 'profile' .* child age"),
    ):
        build_task_data(store, text_vectors=fake_embedder)


def test_config_is_checked_and_reads_from_plain_values() -> None:
    with pytest.raises(ConfigError, match="unknown task 'ranking'; known: attributes"):
        tasks_of(FeatureConfig(tasks=("ranking",)).tasks)  # names are the task registry's
    with pytest.raises(ConfigError, match="unknown target kind"):
        FeatureConfig(target_kinds=("wishlist",))
    with pytest.raises(ConfigError, match="fold"):
        FeatureConfig(fold=5, n_folds=5)
    with pytest.raises(ConfigError, match="max_len"):
        FeatureConfig(max_len=0)
    with pytest.raises(ConfigError, match=r"item_transitions .* needs features.item_neighbours"):
        FeatureConfig(item_transitions=3)  # the transitions are scored with the neighbours
    assert FeatureConfig(item_neighbours=50, item_transitions=3).item_transitions == 3
    config = from_dict(FeatureConfig, {"tasks": ["sales"], "horizon": 12})
    assert config.tasks == ("sales",) and config.batch_size("sales") == 256


def test_only_switched_on_tasks_are_built(tiny_store: Store, fake_embedder) -> None:
    data = build_task_data(tiny_store, FeatureConfig(tasks=("sales",)), text_vectors=fake_embedder)
    assert data.sequences is None and not data.has("preference") and not data.has("profile")
    assert data.of("sales").weeks.n_weeks == 20 and data.of("sales").weeks.horizon == 4
    assert int((data.of("sales").in_history[:, :] > 0).sum()) == tiny_store.counts()["sales"]


def test_calendar_flags_the_shopping_days() -> None:
    monday = dt.date(2025, 11, 24)  # Black Friday 2025 is 28 November
    weeks = np.array([(monday - dt.date(1970, 1, 1)).days + 7 * k for k in range(-2, 5)])
    flags = calendar_features(weeks)[:, 2:]  # christmas, children's day, singles' day, black friday
    assert flags[:, 2].tolist() == [1, 0, 0, 0, 0, 0, 0]  # week of 10 November
    assert flags[:, 3].tolist() == [0, 0, 1, 0, 0, 0, 0]
    assert flags[:, 0].tolist() == [0, 0, 0, 1, 1, 1, 1]  # 1 to 28 December 2025
    assert not flags[:, 1].any()


def test_funnel_runs_collapse_into_one_step(tiny_store, fake_embedder, ordered_events) -> None:
    data = build_task_data(tiny_store, FeatureConfig(max_len=400), text_vectors=fake_embedder)
    seqs = data.sequences
    shopper = np.repeat(np.arange(len(seqs.offsets) - 1), np.diff(seqs.offsets))
    rating = EVENT_KINDS.index("rating") + 1
    repeat = (shopper[1:] == shopper[:-1]) & (seqs.items[1:] == seqs.items[:-1])
    assert not (repeat & (seqs.kinds[1:] != rating) & (seqs.kinds[:-1] != rating)).any()
    # Independently: a new step starts at every change of shopper or item, and at ratings.
    e = ordered_events.with_columns(
        pl.col("kind").replace_strict({k: i + 1 for i, k in enumerate(EVENT_KINDS)}).alias("k")
    )
    starts = (
        (pl.col("shopper_id") != pl.col("shopper_id").shift())
        | (pl.col("item_id") != pl.col("item_id").shift())
        | (pl.col("k") == rating)
        | (pl.col("k").shift() == rating)
    ).fill_null(True)
    assert len(seqs.items) == e.select(starts.sum()).item()
    # The furthest funnel stage survives: as many purchase steps as runs that reach a purchase.
    runs = e.with_columns(starts.cum_sum().alias("run")).group_by("run").agg(pl.col("k").max())
    purchase = EVENT_KINDS.index("purchase") + 1
    assert (seqs.kinds == purchase).sum() == (runs["k"] == purchase).sum()


def test_unborn_children_have_no_age_band_when_asked(
    task_data: TaskData, tiny_store: Store, fake_embedder
) -> None:
    """``profile_unborn = "missing"``: a child born after the label time loses its age band
    (not 0-12m), keeps its gender; every other label is as with the default "first_band"."""
    config = FeatureConfig(max_len=400, collapse_repeats=False, profile_unborn="missing")
    missing = build_task_data(tiny_store, config, text_vectors=fake_embedder).of("profile")
    prof, seqs = task_data.of("profile"), task_data.sequences
    shoppers = tiny_store.frame("shoppers").drop_nulls("child_birth_date")
    unborn = np.zeros(len(prof.age_band), dtype=bool)
    for sid, birth in shoppers.select("shopper_id", "child_birth_date").iter_rows():
        row = task_data.vocabs["shoppers"].index(sid)
        if prof.end[row] > seqs.offsets[row]:
            last = seqs.ts[prof.end[row] - 1] // 86_400_000_000
            unborn[row] = int(last) < (birth - dt.date(1970, 1, 1)).days
    assert unborn.any()  # the tiny shop has parents shopping for a baby on the way
    assert (prof.age_band[unborn] == 0).all() and (missing.age_band[unborn] == -1).all()
    np.testing.assert_array_equal(missing.age_band[~unborn], prof.age_band[~unborn])
    np.testing.assert_array_equal(missing.gender, prof.gender)


def test_a_task_without_a_batch_size_field_takes_batch_sizes_then_its_default() -> None:
    config = FeatureConfig(batch_sizes={"same_target": 64})
    assert config.batch_size("same_target", 256) == 64
    assert config.batch_size("sequence_views", 256) == 256
    assert config.batch_size("preference", 256) == 128  # its own field wins
    with pytest.raises(ConfigError, match=r"batch_sizes\.same_target"):
        FeatureConfig(batch_sizes={"same_target": 0})
