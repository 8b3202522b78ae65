"""The optional attribute targets (top category, price band), their switch and the catalogue
hold-out that keeps the same test items whichever targets are on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toyguide.data.store import Store
from toyguide.errors import ConfigError
from toyguide.features.data import FeatureConfig, TaskData
from toyguide.features.splits import TEST, TRAIN, UNUSED, VALIDATION, holdout_catalogue
from toyguide.tasks import build_task_data, make_streams, tasks_of


def build(store: Store, embed, **features) -> TaskData:
    config = FeatureConfig(tasks=("attributes",), **features)
    return build_task_data(store, config, text_vectors=embed)


def test_top_category_is_the_root_of_the_category_path(tiny_store: Store, fake_embedder) -> None:
    data = build(tiny_store, fake_embedder, attribute_targets=("top_category",))
    items = tiny_store.frame("items")
    rows = data.vocabs["items"].transform(items["item_id"])
    roots = items["categories"].list.first().to_list()
    labels = data.of("attributes").labels.top_category
    tokens = data.vocabs["categories"].tokens
    assert (labels >= 0).any()
    for row, root in zip(rows, roots, strict=True):
        assert (labels[row] == -1) if root is None else tokens[labels[row]] == root
    assert (data.items.categories == 0).all()  # the target is not also an input
    batch = next(make_streams(data)["attributes"].batches(0))
    assert set(batch) == {"items", "top_category"}  # only the switched-on target's labels


def test_price_bands_are_fitted_on_training_items_only(tiny_store: Store, fake_embedder) -> None:
    data = build(tiny_store, fake_embedder, attribute_targets=("price_band",), price_bands=4)
    labels, split = data.of("attributes").labels, data.of("attributes").split
    train = (split == TRAIN) & ~np.isnan(labels.price)
    counts = np.bincount(labels.price_band[train], minlength=4)
    assert counts.min() >= train.sum() // 4 - 2  # quartiles of the training prices
    assert ((labels.price_band >= 0) == ~np.isnan(labels.price)).all()
    assert (data.items.price_missing == 1).all()  # the price is not also an input
    assert data.dims()["n_price_bands"] == 4


def test_catalogue_holdout_is_the_same_items_whatever_is_labelled() -> None:
    rng = np.random.default_rng(0)
    some, other = rng.random(1001) < 0.3, rng.random(1001) < 0.8
    some[0] = other[0] = False
    a, b = holdout_catalogue(some, 5, (0.1, 0.2)), holdout_catalogue(other, 5, (0.1, 0.2))
    both = some & other
    assert np.array_equal(a[both], b[both])
    assert (a[~some] == UNUSED).all() and a[0] == UNUSED
    assert abs((b[other] == TEST).mean() - 0.2) < 0.05
    assert abs((b[other] == VALIDATION).mean() - 0.1) < 0.05


def test_split_seed_fixes_the_split_across_run_seeds(tiny_store: Store, fake_embedder) -> None:
    runs = [build(tiny_store, fake_embedder, seed=s, attribute_split="catalogue",
                  attribute_split_seed=0) for s in (1, 2)]  # fmt: skip
    assert np.array_equal(runs[0].of("attributes").split, runs[1].of("attributes").split)


def test_unknown_attribute_target_is_refused() -> None:
    with pytest.raises(ConfigError, match="known: age_band"):
        FeatureConfig(attribute_targets=("colour",))
    with pytest.raises(ConfigError, match="attribute_holdout"):
        FeatureConfig(attribute_holdout=(0.5, 0.6))


def test_model_trains_on_the_new_targets(tiny_store: Store, fake_embedder) -> None:
    from toyguide.models.mtl import ModelConfig, MultiTaskModel

    targets = ("top_category", "price_band", "functions")
    data = build(tiny_store, fake_embedder, attribute_targets=targets)
    model = MultiTaskModel(
        ModelConfig(d_model=16), data.dims(), tasks_of(["attributes"]), data.items
    )
    batch = next(make_streams(data)["attributes"].batches(0))
    loss, count = model.task_loss("attributes", batch)
    assert torch.isfinite(loss) and count > 0
    out = model.predict("attributes", batch)
    assert out["price_band"].shape == (len(batch["items"]), 4)
    assert out["top_category"].shape == (len(batch["items"]), data.dims()["n_categories"])


def test_hashed_tokens_are_words_and_word_pairs_in_fixed_buckets() -> None:
    from toyguide.features.words import hashed_tokens

    tokens = hashed_tokens("LEGO Star-Wars set", 1000, 128)
    assert len(tokens) == 4 + 3  # lego, star, wars, set and three pairs
    assert tokens == hashed_tokens("lego star wars SET", 1000, 128)  # same in every process
    assert all(1 <= t <= 1000 for t in tokens) and hashed_tokens(None, 1000, 128) == []
    assert len(hashed_tokens("a b c d", 1000, 2)) == 3  # only the first max_tokens words


def test_text_bucket_input_reaches_the_item_encoder(tiny_store: Store, fake_embedder) -> None:
    from toyguide.models.mtl import ModelConfig, MultiTaskModel

    data = build(tiny_store, fake_embedder, text_buckets=512, max_tokens=16)
    assert data.items.tokens.shape[0] == data.n_items + 1 and data.items.tokens.max() <= 512
    assert (data.items.tokens[0] == 0).all() and (data.items.tokens[1:] > 0).any(1).all()
    model = MultiTaskModel(
        ModelConfig(d_model=16), data.dims(), tasks_of(["attributes"]), data.items
    )
    batch = next(make_streams(data)["attributes"].batches(0))
    loss, _ = model.task_loss("attributes", batch)
    loss.backward()
    assert model.item_encoder.token_emb.weight.grad.abs().sum() > 0
    enc, t = model.item_encoder, data.items
    new = enc.encode_features(t.brand[:2], t.categories[:2], t.log_price[:2],
                              t.price_missing[:2], t.text[:2])  # fmt: skip
    assert new.shape == (2, 16)  # a new toy given without tokens is still encoded


def test_the_attributes_word_term_reads_each_batch_toys_words(tiny_store: Store, fake_embedder):
    from toyguide.models.mtl import ModelConfig, MultiTaskModel

    data = build(tiny_store, fake_embedder, text_buckets=512, max_tokens=16)
    model = MultiTaskModel(ModelConfig(d_model=16, attribute_words=True), data.dims(),
                           tasks_of(["attributes"]), data.items)  # fmt: skip
    head = model.heads["attributes"]
    assert head.words is not None and head.words.num_embeddings == 513
    batch = next(make_streams(data)["attributes"].batches(0))
    loss, _ = model.task_loss("attributes", batch)
    loss.backward()
    rows = head.words.weight.grad.abs().sum(1).nonzero().flatten()
    # exactly the buckets of the batch's toys get gradient
    assert set(rows.tolist()) == set(data.items.tokens[batch["items"]].unique().tolist()) - {0}
    model.eval()
    with torch.no_grad():  # predict, and the guide's catalogue outputs, add the same term
        head.words.weight.normal_()
        items = batch["items"]
        predicted = model.predict("attributes", batch)["age_band"]
        guide = model.attribute_outputs(model.encode_items(items), data.items.tokens[items])
        without = model.attribute_outputs(model.encode_items(items))
    assert torch.allclose(predicted, guide["age_band"])
    assert not torch.allclose(predicted, without["age_band"])


def test_vocabulary_word_ids_are_stored_with_the_features_and_read_back(
    tiny_store: Store, fake_embedder
) -> None:
    data = build(tiny_store, fake_embedder, text_buckets=512, max_tokens=16,
                 text_tokens="vocabulary")  # fmt: skip
    words = data.vocabs["words"]
    assert 0 < len(words) - 1 <= 512 and data.items.tokens.max() <= len(words) - 1
    # every id in the table is a word or pair that two or more toys of the catalogue use
    used = data.items.tokens[data.items.tokens > 0].unique()
    per_toy = (data.items.tokens.unsqueeze(-1) == used).any(1).sum(0)
    assert (per_toy >= 2).all()
    again = TaskData.from_state(tiny_store, data.state(), text_vectors=fake_embedder,
                                tasks=tasks_of(["attributes"]))  # fmt: skip
    assert again.vocabs["words"] == words
    assert torch.equal(again.items.tokens, data.items.tokens)


def test_a_new_toy_reads_its_words_as_the_catalogue_toys_were_read(
    tiny_store: Store, fake_embedder
) -> None:
    from types import SimpleNamespace

    from toyguide.features.words import word_texts
    from toyguide.guide.new_toy import NewToy, new_toy_tokens

    items = tiny_store.frame("items")
    for kind in ("hashed", "vocabulary"):
        data = build(tiny_store, fake_embedder, text_buckets=512, max_tokens=16, text_tokens=kind)
        loaded = SimpleNamespace(config=SimpleNamespace(features=data.config), data=data)
        row = int(data.vocabs["items"].transform(items["item_id"][:1])[0])
        toy = NewToy(np.zeros((1, 8)), None, word_texts(items[:1])[0])
        ids = new_toy_tokens(loaded, toy)[0]  # type: ignore[arg-type]
        stored = data.items.tokens[row]
        assert torch.equal(ids, stored[stored > 0]), kind
