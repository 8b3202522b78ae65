from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.config import ModelConfig
from toyguide.models.encoders import (
    ItemDims,
    ItemEncoder,
    SalesDims,
    SalesEncoder,
    SequenceDims,
    ShopperEncoder,
    last_state,
)
from toyguide.models.encoders.shopper import length_groups

N_ITEMS, N_BRANDS, N_CATS, C_MAX, D, L = 30, 4, 6, 3, 16, 8


@dataclass
class Tables:
    brand: Tensor
    categories: Tensor
    log_price: Tensor
    price_missing: Tensor
    text: Tensor


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors gain nothing from threads, and on a busy 2-core machine OpenMP's waits made
    the 150-step training test take 45 s instead of 0.2 s."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_tables(n: int = N_ITEMS, seed: int = 0) -> Tables:
    g = torch.Generator().manual_seed(seed)
    brand = torch.randint(1, N_BRANDS + 1, (n + 1,), generator=g)
    centroids = torch.randn(N_BRANDS + 1, 384, generator=g)  # a brand's toys read alike
    tables = Tables(
        brand=brand,
        categories=torch.randint(0, N_CATS + 1, (n + 1, C_MAX), generator=g),
        log_price=torch.randn(n + 1, generator=g),
        price_missing=(torch.rand(n + 1, generator=g) < 0.2).float(),
        text=centroids[brand] + torch.randn(n + 1, 384, generator=g),
    )
    for t in (tables.brand, tables.categories, tables.log_price, tables.price_missing, tables.text):
        t[0] = 0  # row 0 = padding item
    return tables


def item_encoder(seed: int = 0, **overrides) -> ItemEncoder:
    torch.manual_seed(seed)
    encoder = ItemEncoder(
        ModelConfig(d_model=D, **overrides), ItemDims(N_ITEMS, N_BRANDS, N_CATS, 384)
    )
    encoder.set_tables(make_tables())
    return encoder


def shopper_batch(b: int = 4, seed: int = 0) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([L, 3, 1, 0])[:b]  # full, partial, one event, no events
    mask = torch.arange(L).unsqueeze(0) >= (L - lengths).unsqueeze(1)  # right-aligned
    return {
        "seq_items": torch.randint(1, N_ITEMS + 1, (b, L), generator=g) * mask,
        "seq_kinds": torch.randint(1, 6, (b, L), generator=g) * mask,
        "seq_gaps": torch.randint(0, 16, (b, L), generator=g) * mask,
        "seq_mask": mask,
    }


def shopper_encoder(seed: int = 0) -> ShopperEncoder:
    torch.manual_seed(seed)
    return ShopperEncoder(ModelConfig(d_model=D), SequenceDims(max_len=L))


def test_item_shapes_and_padding_row_is_zero() -> None:
    enc = item_encoder().eval()
    assert enc(torch.tensor([[1, 2, 0], [3, 0, 0]])).shape == (2, 3, D)
    everything = enc.all_items()
    assert everything.shape == (N_ITEMS + 1, D)
    assert torch.all(everything[0] == 0)
    assert torch.all(everything[1:].norm(dim=-1) > 0)


def test_item_encoder_needs_tables_of_its_size() -> None:
    enc = ItemEncoder(ModelConfig(d_model=D), ItemDims(N_ITEMS, N_BRANDS, N_CATS, 384))
    with pytest.raises(ConfigError, match="set_tables"):
        enc(torch.tensor([1]))
    with pytest.raises(ConfigError, match="rows"):
        enc.set_tables(make_tables(n=N_ITEMS + 5))
    off = dict.fromkeys(("use_id", "use_brand", "use_categories", "use_price", "use_text"), False)
    with pytest.raises(ConfigError, match="at least one"):
        ModelConfig(**off)  # the switches are the model config's, checked where they are set


def test_tables_are_frozen_and_not_in_the_state_dict() -> None:
    enc = item_encoder()
    trainable = {name for name, _ in enc.named_parameters()}
    assert not trainable & {"brand", "categories", "log_price", "price_missing", "text"}
    assert "text" not in enc.state_dict()


def test_eval_mode_is_deterministic() -> None:
    items, shopper = item_encoder(), shopper_encoder()
    items.eval(), shopper.eval()
    batch = shopper_batch()
    assert torch.equal(shopper(batch, items), shopper(batch, items))
    assert torch.equal(items.all_items(), items.all_items())


def test_shopper_shapes_last_state_and_padding() -> None:
    items, shopper = item_encoder().eval(), shopper_encoder().eval()
    batch = shopper_batch()
    states = shopper(batch, items)
    assert states.shape == (4, L, D)
    assert torch.isfinite(states).all()
    assert torch.all(states[~batch["seq_mask"]] == 0)
    last = last_state(states, batch["seq_mask"])
    assert last.shape == (4, D)
    assert torch.equal(last[:3], states[:3, -1])  # right-aligned: the last column
    assert torch.all(last[3] == 0)  # no events


def test_all_padding_rows_are_finite_in_training_too() -> None:
    items, shopper = item_encoder().train(), shopper_encoder().train()
    batch = shopper_batch()
    empty = {k: torch.zeros_like(v) for k, v in batch.items()}
    for b in (batch, empty):
        states = shopper(b, items)
        assert torch.isfinite(states).all()
        states.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in shopper.parameters() if p.grad is not None)


def test_causal_a_later_event_does_not_change_earlier_states() -> None:
    items, shopper = item_encoder().eval(), shopper_encoder().eval()
    batch = shopper_batch()
    before = shopper(batch, items)
    changed = {k: v.clone() for k, v in batch.items()}
    changed["seq_items"][0, 5] = changed["seq_items"][0, 5] % N_ITEMS + 1
    changed["seq_kinds"][0, 5] = changed["seq_kinds"][0, 5] % 5 + 1
    after = shopper(changed, items)
    torch.testing.assert_close(after[0, :5], before[0, :5], rtol=0, atol=1e-6)
    assert not torch.allclose(after[0, 5:], before[0, 5:])
    torch.testing.assert_close(after[1:], before[1:], rtol=0, atol=1e-6)


def test_gradients_reach_the_item_encoder_through_the_shopper_encoder() -> None:
    items, shopper = item_encoder(), shopper_encoder()
    batch = shopper_batch()
    last_state(shopper(batch, items), batch["seq_mask"]).pow(2).sum().backward()
    for name, p in items.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert shopper.pos_emb.weight.grad.abs().sum() > 0


def test_sequence_longer_than_max_len_is_an_error() -> None:
    items, shopper = item_encoder(), shopper_encoder()
    batch = {k: torch.cat([v, v], dim=1) for k, v in shopper_batch().items()}
    with pytest.raises(ConfigError, match="max_len"):
        shopper(batch, items)


def test_new_item_is_described_by_its_features() -> None:
    """Train on items 1..20 with id dropout; items 21..30 are never seen.

    Labels follow the brand. The unseen items' id rows stay at zero (the "dropped" input) and
    they are classified from brand/text alone.
    """
    enc = item_encoder(id_dropout=0.5, dropout=0.0)
    head = nn.Linear(D, N_BRANDS + 1)
    opt = torch.optim.Adam([*enc.parameters(), *head.parameters()], lr=1e-2)
    seen, unseen = torch.arange(1, 21), torch.arange(21, N_ITEMS + 1)
    for _ in range(150):
        loss = nn.functional.cross_entropy(head(enc(seen)), enc.brand[seen])
        opt.zero_grad()
        loss.backward()
        opt.step()
    enc.eval()
    assert torch.all(enc.id_emb.weight[unseen] == 0)
    vectors = enc(unseen)
    assert torch.all(vectors.norm(dim=-1) > 0)
    from_features = enc.encode_features(
        enc.brand[unseen],
        enc.categories[unseen],
        enc.log_price[unseen],
        enc.price_missing[unseen],
        enc.text[unseen],
        ids=None,
    )
    torch.testing.assert_close(vectors, from_features)
    accuracy = (head(vectors).argmax(-1) == enc.brand[unseen]).float().mean()
    assert accuracy >= 0.9


def test_id_dropout_only_in_training() -> None:
    enc = item_encoder(id_dropout=1.0)
    enc.id_emb.weight.data.normal_()
    enc.train()
    enc.mlp[3].p = 0.0  # isolate id dropout from the MLP's dropout
    no_id = enc.encode_features(
        enc.brand[1:], enc.categories[1:], enc.log_price[1:], enc.price_missing[1:], enc.text[1:]
    )
    torch.testing.assert_close(enc(torch.arange(1, N_ITEMS + 1)), no_id)
    enc.eval()
    assert not torch.allclose(enc(torch.arange(1, N_ITEMS + 1)), no_id)


def test_sales_encoder_shapes_and_checks() -> None:
    dims = SalesDims(history_weeks=12, horizon=4, n_history_features=4, n_calendar_features=6,
                     n_summary_features=3)  # fmt: skip
    enc = SalesEncoder(ModelConfig(d_model=D), dims)
    item_repr = torch.randn(5, D, requires_grad=True)
    summary = torch.randn(5, 3, requires_grad=True)
    out = enc(item_repr, torch.randn(5, 12, 4), torch.randn(5, 4, 6), summary)
    assert out.shape == (5, D)
    out.sum().backward()
    assert item_repr.grad.abs().sum() > 0 and summary.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match="K=12"):
        enc(item_repr, torch.randn(5, 6, 8), torch.randn(5, 4, 6), summary)
    with pytest.raises(ConfigError, match="Fs=3"):
        enc(item_repr, torch.randn(5, 12, 4), torch.randn(5, 4, 6), torch.randn(5, 2))


def test_length_groups_cover_every_row_once_each_as_wide_as_its_longest() -> None:
    lengths = torch.tensor([1, 2, 3, 4, 5, 8, 9, 50, 0, 7] * 4)
    groups = length_groups(lengths, min_rows=8)
    rows = torch.cat([r for r, _ in groups])
    assert sorted(rows.tolist()) == list(range(len(lengths)))
    for r, width in groups:
        assert width == max(1, int(lengths[r].max()))
    assert all(len(r) >= 8 for r, _ in groups[:-1])  # only the longest group may be small
    assert len(groups) >= 2 and sum(len(r) * w for r, w in groups) < len(lengths) * 50


def test_length_buckets_give_the_states_of_one_padded_pass() -> None:
    torch.manual_seed(3)
    b, length = 40, 12
    lengths = torch.randint(0, length + 1, (b,))
    lengths[0] = length
    mask = torch.arange(length).unsqueeze(0) >= (length - lengths).unsqueeze(1)
    batch = {
        "seq_items": torch.randint(1, N_ITEMS + 1, (b, length)) * mask,
        "seq_kinds": torch.randint(1, 6, (b, length)) * mask,
        "seq_gaps": torch.randint(0, 16, (b, length)) * mask,
        "seq_mask": mask,
    }
    items = item_encoder().eval()
    states = {}
    for buckets in (True, False):
        torch.manual_seed(0)
        config = ModelConfig(d_model=D, length_buckets=buckets)
        encoder = ShopperEncoder(config, SequenceDims(max_len=length)).eval()
        states[buckets] = encoder(batch, items)
    assert torch.allclose(states[True], states[False], atol=1e-5)
    assert torch.all(states[True][~mask] == 0)


@pytest.mark.parametrize("positions", ["first", "latest"])
def test_positions_from_the_first_event_make_a_state_its_prefix_state(positions: str) -> None:
    """Counted from the first event, the state after event k of a sequence is the last state
    of the sequence cut after k: training positions look like the one served from. Counted
    from the latest, they differ (a position then tells how many events follow)."""
    torch.manual_seed(5)
    length = 6
    batch = {
        "seq_items": torch.randint(1, N_ITEMS + 1, (1, length)),
        "seq_kinds": torch.randint(1, 6, (1, length)),
        "seq_gaps": torch.randint(0, 16, (1, length)),
        "seq_mask": torch.ones(1, length, dtype=torch.bool),
    }
    cut = 3  # the prefix of 3 events, right-aligned in the same width
    prefix = {key: torch.roll(value, length - cut, dims=1) for key, value in batch.items()}
    prefix["seq_mask"][:, : length - cut] = False
    for key in ("seq_items", "seq_kinds", "seq_gaps"):
        prefix[key] = prefix[key] * prefix["seq_mask"]
    encoder = ShopperEncoder(ModelConfig(d_model=D, positions=positions),
                             SequenceDims(max_len=length)).eval()  # fmt: skip
    items = item_encoder().eval()
    inside = encoder(batch, items)[0, cut - 1]
    served = last_state(encoder(prefix, items), prefix["seq_mask"])[0]
    assert torch.allclose(inside, served, atol=1e-5) == (positions == "first")


def test_an_unknown_position_count_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="positions"):
        ModelConfig(positions="middle")


def test_learned_token_pooling_starts_as_the_mean_and_learns_word_weights() -> None:
    dims = ItemDims(n_items=5, n_brands=2, n_categories=2, text_dim=4, n_token_buckets=10)
    mean = ItemEncoder(ModelConfig(d_model=8), dims)
    learned = ItemEncoder(ModelConfig(d_model=8, token_pooling="learned"), dims)
    learned.token_emb.load_state_dict(mean.token_emb.state_dict())
    tokens = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 0], [4, 4, 0, 0]])
    text = torch.zeros(3, 4)
    assert torch.allclose(learned._token_bag(tokens, text), mean._token_bag(tokens, text))
    with torch.no_grad():
        learned.token_score.weight[2] = 50.0  # word 2 decides: the toy becomes that word
    pooled = learned._token_bag(tokens, text)
    assert torch.allclose(pooled[0], learned.token_emb.weight[2], atol=1e-5)
    assert torch.equal(pooled[1], torch.zeros(8))  # no words, no vector (and no NaN)
    scores = learned._token_bag(tokens, text).sum()
    scores.backward()
    assert learned.token_score.weight.grad is not None  # the weights are trained


def test_an_unknown_token_pooling_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="token_pooling"):
        ModelConfig(token_pooling="max")


@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_a_word_scale_that_is_not_positive_is_a_config_error(scale: float) -> None:
    with pytest.raises(ConfigError, match="attribute_word_scale"):
        ModelConfig(attribute_word_scale=scale)
