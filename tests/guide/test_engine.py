"""The Guide on a small real model trained on the synthetic shop."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from toyguide.errors import CheckpointError, DataValidationError, NotFoundError
from toyguide.guide import parse
from toyguide.guide.engine import Guide


def test_tampered_model_folder_is_refused(trained: tuple[Path, Path], tmp_path: Path) -> None:
    run, store = trained
    copy = tmp_path / "model"
    shutil.copytree(run / "model", copy)
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (copy / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        Guide.load(copy, store)


def test_known_shopper_gets_distinct_in_stock_picks_with_reasons(guide: Guide) -> None:
    shopper = guide.data.vocabs["shoppers"].tokens[10]
    result = guide.recommend(shopper, k=6)
    ids = [p.item.item_id for p in result.picks]
    assert len(ids) == 6 == len(set(ids))
    assert all(p.reasons and "similar recent toys" in p.reasons[0] for p in result.picks)
    assert all((p.item.stock_on_hand or 1) > 0 for p in result.picks)


def test_an_answer_as_a_dict_is_the_dataclasses_one(guide: Guide) -> None:
    import dataclasses

    result = guide.recommend(None, parse("for a 6 year old, under $20"), k=5, text="blocks")
    plain = result.to_dict()
    assert plain == dataclasses.asdict(result) and plain["picks"]
    plain["picks"][0]["reasons"].append("changed")  # a copy: the answer itself is untouched
    assert "changed" not in result.picks[0].reasons


def test_request_filters_hold(guide: Guide) -> None:
    request = parse("for a 6 year old, under $20, no plush")
    result = guide.recommend(None, request, k=10, text="for a 6 year old")
    assert result.picks and all(p.fits for p in result.picks)
    c = guide.catalogue
    for pick in result.picks:
        row = c.ids.index(pick.item.item_id)
        assert pick.item.price is not None and pick.item.price <= 20  # an unknown price: no fit
        assert "plush" not in pick.item.functions and not c.functions[row, 4]
        assert c.age_min[row] <= 83 and c.age_max[row] >= 72  # stated or predicted, never unknown


def test_interests_pull_matching_toys_up(guide: Guide) -> None:
    plain = guide.recommend(None, parse("a present"), k=10, text="a present")
    wanted = guide.recommend(None, parse("loves vehicles"), k=10, text="a present")

    def count(r):
        return sum("vehicles" in p.item.functions for p in r.picks)

    assert count(wanted) > count(plain)


def test_dialogue_cheaper_lowers_prices(guide: Guide) -> None:
    first, dialogue = guide.ask("a toy for a 4 year old boy under $60")
    second, _ = guide.ask("cheaper", dialogue)
    assert second.request["budget"]["max"] < min(p.item.price for p in first.picks)
    cheapest = min(q.item.price for q in first.picks)
    assert all(p.item.price < cheapest for p in second.picks if p.fits)
    # no toy that cheap for the child: the nearest picks are marked, and the budget named
    assert all(p.fits for p in second.picks) or ["budget"] in second.relax


def test_no_fit_offers_nearest_picks_and_names_the_rule(guide: Guide) -> None:
    answer, _ = guide.ask("a toy for a 4 year old, at least $100000")
    assert answer.relax == [["budget"]] and answer.picks
    assert all(not p.fits and p.breaks == ["budget"] for p in answer.picks)
    assert any("relax the budget" in note for note in answer.notes)


def test_unknown_ids_are_not_found(guide: Guide) -> None:
    with pytest.raises(NotFoundError, match="unknown item 'nope'"):
        guide.item("nope")
    with pytest.raises(NotFoundError, match="unknown shopper"):
        guide.recommend("nobody")


def test_forecast_weeks_and_quantiles(guide: Guide) -> None:
    item = guide.data.vocabs["items"].tokens[0]
    f = guide.forecast(item)
    assert len(f.weeks) == len(f.p50) == 8
    assert all(0 <= a <= b <= c for a, b, c in zip(f.p10, f.p50, f.p90, strict=True))
    weeks = [dt.date.fromisoformat(w) for w in f.weeks]
    assert all(w.weekday() == 0 for w in weeks) and weeks[0] > dt.date.fromisoformat(
        f.history_weeks[-1]
    )
    plan = guide.plan_inventory(item, lead_time_weeks=2, service_level=0.9, stock_on_hand=5)
    assert plan.reorder_point >= 0 and plan.order_quantity >= 0


def test_new_toy_evaluation(guide: Guide) -> None:
    e = guide.evaluate_toy("Dino Explorer T-Rex Figure Set", "Dinosaur figures", price=14.99)
    assert abs(sum(p.probability for p in e.age_band) - 1) < 1e-3
    assert len(e.similar) == 10 and len(e.first_weeks_demand["p50"]) == 8
    assert e.price_percentile is not None and 0 <= e.price_percentile <= 100
    pricing = e.pricing
    assert pricing is not None and pricing.similar and pricing.horizon_weeks == 8
    assert pricing.suggested_low <= pricing.suggested_median <= pricing.suggested_high
    assert all(0 <= p.p10 <= p.p50 <= p.p90 for p in pricing.curve)
    assert pricing.price_response in ("falls", "rises", "flat", "non_monotone")


def test_the_pricing_curve_is_the_demand_forecast_at_each_price(guide: Guide) -> None:
    """The curve runs the same model path as the first weeks' demand, batched over prices:
    at the given price it matches the single-price forecast summed over the weeks."""
    e = guide.evaluate_toy("Wooden train set", "A train with tracks", price=20.0)
    assert e.pricing is not None and len(e.pricing.curve) >= 2
    calls = []
    forecast = guide.model.sales_forecast

    def counting(items, *args):
        calls.append(items.shape[0])
        return forecast(items, *args)

    guide.model.sales_forecast = counting
    try:
        again = guide.evaluate_toy("Wooden train set", "A train with tracks", price=20.0)
    finally:
        del guide.model.sales_forecast
    assert calls == [1, len(again.pricing.curve)]  # the demand, then every price at once
    grid = [p.price for p in again.pricing.curve]
    at = guide.evaluate_toy("Wooden train set", "A train with tracks", price=grid[3])
    assert sum(at.first_weeks_demand["mean"]) == pytest.approx(again.pricing.curve[3].mean, 1e-3)


def test_profile_and_events(guide: Guide) -> None:
    shopper = guide.data.vocabs["shoppers"].tokens[3]
    profile = guide.profile(shopper)
    assert abs(sum(p.probability for p in profile.gender) - 1) < 1e-3
    assert profile.n_events > 0 and profile.segment.count("·") == 2
    item = guide.data.vocabs["items"].tokens[0]
    event = pl.DataFrame({"shopper_id": [shopper], "item_id": [item], "kind": ["view"],
                          "ts": [dt.datetime(2026, 11, 1, 12)]})  # fmt: skip
    assert guide.record_events(event).inserted == 1
    with pytest.raises(DataValidationError, match="not a known items"):
        guide.record_events(event.with_columns(pl.lit("ghost").alias("item_id")))


def test_unlabelled_items_get_predicted_ages(guide: Guide) -> None:
    c = guide.catalogue
    assert c.predicted_age is not None and c.predicted_age.any()
    rows = np.flatnonzero(c.predicted_age)
    assert not np.isnan(c.age_min[rows]).any()


def test_a_model_trained_without_prices_encodes_a_new_toy_without_one(
    guide: Guide, monkeypatch: pytest.MonkeyPatch
) -> None:
    """price_band as a target (or a store without prices) leaves every catalogue price
    missing in training; a new toy's price must then be missing too, and no curve drawn."""
    import dataclasses

    import torch

    from toyguide.guide.new_toy import NewToy, encode_new_toy, price_is_input

    toy = NewToy(guide.embedder.embed(["wooden train"]), None, "wooden train")
    with torch.no_grad():
        cheap, dear = encode_new_toy(guide.loaded, toy, [5.0, 50.0])
    assert price_is_input(guide.loaded) and not torch.allclose(cheap, dear)
    no_price = dataclasses.replace(guide.model.config, use_price=False)
    monkeypatch.setattr(guide.model, "config", no_price)
    with torch.no_grad():
        cheap, dear, none = encode_new_toy(guide.loaded, toy, [5.0, 50.0, None])
    assert not price_is_input(guide.loaded)
    assert torch.equal(cheap, dear) and torch.equal(cheap, none)
    pricing = guide.evaluate_toy("Wooden train", price=5.0).pricing
    assert pricing.price_response == "no_price_input" and pricing.curve == []


def test_item_neighbours_join_the_candidates_and_lift_their_toys(guide: Guide) -> None:
    from scipy import sparse

    from toyguide.features.neighbours import ItemNeighbours
    from toyguide.guide.loaded import neighbour_candidates, shopper_state

    shopper = guide.data.vocabs["shoppers"].tokens[10]
    row = guide._shopper_row(shopper)
    seen = set(shopper_state(guide.loaded, row)["seq_items"][0].tolist())
    base, _ = guide._preference_scores(row)
    # the in-stock toy the model alone ranks lowest, made every toy's only neighbour
    low = next(int(i) for i in np.argsort(base) if i > 0 and int(i) not in seen
               and guide.catalogue.in_stock[i])  # fmt: skip
    n = guide.data.n_items + 1
    rows, cols = np.r_[np.arange(n), np.arange(n)], np.r_[np.full(n, low), np.arange(n)]
    similarity = sparse.csr_matrix((np.ones(2 * n), (rows, cols)), shape=(n, n))  # and itself
    guide.model.neighbours = ItemNeighbours(similarity, 100.0, 1)
    try:
        fused, _ = guide._preference_scores(row)
        state = shopper_state(guide.loaded, row)
        _, paired = neighbour_candidates(guide.loaded, state["seq_items"], base[None, :], 5)
        picks = guide.recommend(shopper, k=3).picks
    finally:
        guide.model.neighbours = None
    assert paired[0].tolist() == [low]  # a second candidate source: the one toy with a score
    assert fused[low] == pytest.approx(base[low] + 100.0)
    mine = sorted(seen - {0})
    assert np.allclose(fused[mine], base[mine])  # no push to buy one's own toys again
    assert picks[0].item.item_id == guide.catalogue.ids[low]
