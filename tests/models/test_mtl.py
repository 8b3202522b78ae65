"""The multi-task model's inference API answers what the task plug-ins answer, and a task's own
modules keep their names and their side of the shared/task parameter split."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from toyguide.data.store import Store
from toyguide.errors import ConfigError
from toyguide.runs import build, run_config_from_dict

SMALL = {"d_model": 16, "expert_hidden": [16], "n_experts": 2, "shopper_layers": 1}


def _built(shop_path: Path, tasks: list[str]):
    config = run_config_from_dict({"features": {"tasks": tasks}, "model": SMALL})
    with Store.open(shop_path, read_only=True) as store:
        _, streams, model = build(config, store)
    return streams, model.eval()


@pytest.fixture(scope="module")
def four(shop_path: Path):
    return _built(shop_path, ["preference", "attributes", "sales", "profile"])


def test_inference_methods_match_the_tasks_eval_outputs(four) -> None:
    streams, model = four
    batch = next(streams["preference"].eval_batches("test"))
    state = model.shopper_vector(batch)
    assert state.shape == (len(batch["seq_mask"]), 16)
    vectors = model.item_vectors()
    assert vectors.shape == (model.dims["n_items"] + 1, 16)
    torch.testing.assert_close(
        model.next_item_scores(state, vectors), model.predict("preference", batch)
    )
    items = next(streams["attributes"].eval_batches("test"))
    by_api = model.attribute_outputs(model.encode_items(items["items"]))
    for target, logits in model.predict("attributes", items).items():
        torch.testing.assert_close(by_api[target], logits)
    sales = next(streams["sales"].eval_batches("test"))
    forecast = model.sales_outputs(sales)
    torch.testing.assert_close(forecast["quantiles"], model.predict("sales", sales))
    assert forecast["mean"].shape == sales["target"].shape and (forecast["mean"] >= 0).all()
    shoppers = next(streams["profile"].eval_batches("test"))
    assert set(model.profile_outputs(shoppers)) == {"age_band", "gender", "interests"}


def test_own_modules_keep_their_state_dict_names_and_are_the_tasks_parameters(four) -> None:
    _, model = four
    keys = model.state_dict()
    assert "item_tower.weight" in keys and any(k.startswith("sales_encoder.") for k in keys)
    sales_own = {id(p) for p in model.sales_encoder.parameters()}
    assert sales_own <= {id(p) for p in model.task_parameters("sales")}
    assert not sales_own & {id(p) for p in model.shared_parameters()}
    assert not sales_own & {id(p) for p in model.task_parameters("preference")}


def test_a_model_without_a_task_says_so(shop_path: Path) -> None:
    _, model = _built(shop_path, ["attributes"])
    assert model.shopper_encoder is None and not hasattr(model, "sales_encoder")
    with pytest.raises(ConfigError, match="trained without the 'sales' task"):
        model.sales_forecast(torch.zeros(1, 16), {"scale": torch.ones(1)})
    with pytest.raises(ConfigError, match="trained without the 'preference' task"):
        model.item_vectors()


def test_the_catalogue_is_encoded_once_per_step_and_renewed_by_an_optimiser_step(four) -> None:
    _, model = four
    model.train()
    try:
        first = model.encoded_catalogue()
        assert model.encoded_catalogue() is first  # the step's other tasks share it
        optimiser = torch.optim.SGD(model.item_encoder.parameters(), lr=0.1)
        first.sum().backward()
        optimiser.step()
        renewed = model.encoded_catalogue()
        assert renewed is not first and not torch.equal(renewed, first)
        with torch.no_grad():
            assert model.encoded_catalogue() is not renewed  # no graph: never the cached one
    finally:
        model.eval()
    assert model.encoded_catalogue() is not model.encoded_catalogue()


def test_the_profile_item_term_is_the_profile_tasks_own_and_reaches_its_predictions(
    shop_path: Path,
) -> None:
    config = run_config_from_dict(
        {"features": {"tasks": ["profile"]}, "model": SMALL | {"profile_items": True}}
    )
    with Store.open(shop_path, read_only=True) as store:
        _, streams, model = build(config, store)
    term = model.heads["profile"].items
    assert term.weight.shape[0] == model.dims["n_items"] + 1
    assert id(term.weight) in {id(p) for p in model.task_parameters("profile")}
    batch = next(streams["profile"].batches(0))
    before = model.predict("profile", batch)["age_band"]
    loss, _ = model.task_loss("profile", batch)
    loss.backward()
    assert term.weight.grad is not None and term.weight.grad.abs().sum() > 0
    with torch.no_grad():
        term.weight.add_(0.1 * torch.randn_like(term.weight))
    assert not torch.allclose(model.predict("profile", batch)["age_band"], before)
