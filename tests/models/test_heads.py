"""Heads and their masked losses: shapes, masks, padding and the sampled softmax."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.config import ModelConfig
from toyguide.models.encoders.item import inverse_document_frequency
from toyguide.models.heads.attributes import AttributesHead, AttributesHeadConfig
from toyguide.models.heads.bag import LinearBag
from toyguide.models.heads.label_set import LabelSetHead, LabelSetHeadConfig
from toyguide.models.heads.preference import PreferenceHead, PreferenceHeadConfig
from toyguide.models.heads.profile import ProfileHead, ProfileHeadConfig
from toyguide.models.heads.sales import (
    MEAN,
    OUTPUTS,
    QUANTILES,
    SalesHead,
    SalesHeadConfig,
    monotone_quantiles,
)
from toyguide.models.losses import (
    catalogue_cross_entropy,
    masked_bce_with_logits,
    masked_cross_entropy,
    pinball_loss,
    poisson_deviance_loss,
    sampled_softmax_cross_entropy,
)

B, D, N, C, H = 9, 6, 30, 5, 4
Batch = dict[str, Tensor]


@dataclass
class Case:
    """A head, its forward inputs (``h`` first), a partly labelled batch, the keys of its
    (values, row mask) pairs, and the names of its -1-for-missing class labels."""

    head: nn.Module
    inputs: list[Tensor]
    batch: Batch
    masked: dict[str, str]
    class_labels: tuple[str, ...] = ()


def labelled() -> Tensor:
    return torch.arange(B) % 3 != 0  # two rows in three carry the label


def classes(n: int) -> Tensor:
    return torch.where(labelled(), torch.randint(0, n, (B,)), -1)


def multilabel(n: int) -> Tensor:
    return (torch.rand(B, n) < 0.3).float()


def preference_case() -> Case:
    head = PreferenceHead(PreferenceHeadConfig(D))
    targets = torch.where(labelled(), torch.randint(1, N + 1, (B,)), 0)
    return Case(head, [torch.randn(B, D), torch.randn(N + 1, D)], {"next_items": targets}, {})


def label_set_case() -> Case:
    head = LabelSetHead(LabelSetHeadConfig(D, C))
    ids = torch.randint(0, C + 1, (B, 3)) * labelled().unsqueeze(1)  # unlabelled rows: all 0
    ids[labelled(), 0] = torch.randint(1, C + 1, (int(labelled().sum()),))
    return Case(head, [torch.randn(B, D)], {"label_ids": ids}, {})


def attributes_case() -> Case:
    batch = {
        "age_band": classes(6),
        "gender_target": classes(3),
        "functions": multilabel(15),
        "functions_mask": labelled(),
        "categories": multilabel(C),
        "categories_mask": labelled().roll(1),
    }
    masked = {"functions": "functions_mask", "categories": "categories_mask"}
    head = AttributesHead(AttributesHeadConfig(D, C))
    return Case(head, [torch.randn(B, D)], batch, masked, ("age_band", "gender_target"))


def profile_case() -> Case:
    batch = {
        "age_band": classes(6),
        "gender": classes(2),
        "interests": multilabel(15),
        "interests_mask": labelled(),
    }
    head = ProfileHead(ProfileHeadConfig(D))
    return Case(
        head, [torch.randn(B, D)], batch, {"interests": "interests_mask"}, ("age_band", "gender")
    )


def sales_case() -> Case:
    batch = {
        "target": torch.poisson(torch.full((B, H), 3.0)),
        "target_mask": torch.rand(B, H) < 0.6,
        "scale": 1 + torch.rand(B) * 4,
    }
    head = SalesHead(SalesHeadConfig(D, H))
    return Case(head, [torch.randn(B, D)], batch, {"target": "target_mask"})


CASES: dict[str, Callable[[], Case]] = {
    "preference": preference_case,
    "attributes": attributes_case,
    "profile": profile_case,
    "sales": sales_case,
    "label_set": label_set_case,
}


def make(name: str) -> Case:
    torch.manual_seed(0)
    case = CASES[name]()
    case.inputs[0].requires_grad_(True)
    return case


def loss_and_grads(case: Case, batch: Batch) -> tuple[Tensor, int, list[Tensor]]:
    case.head.zero_grad(set_to_none=True)
    case.inputs[0].grad = None
    loss, count = case.head.loss(case.head(*case.inputs), batch)
    loss.backward()
    params = [*case.head.parameters(), case.inputs[0]]
    return loss.detach(), count, [torch.zeros_like(p) if p.grad is None else p.grad for p in params]


def scrambled(case: Case) -> Batch:
    """Masked-out rows of every masked target turned to NaN; labelled rows kept."""
    out = dict(case.batch)
    for key, mask_key in case.masked.items():
        mask = out[mask_key]
        keep = mask.view(*mask.shape, *[1] * (out[key].dim() - mask.dim()))
        out[key] = torch.where(keep, out[key], float("nan"))
    return out


def unlabelled(case: Case) -> Batch:
    out = dict(case.batch)
    for mask_key in case.masked.values():
        out[mask_key] = torch.zeros_like(out[mask_key])
    for key in case.class_labels:
        out[key] = torch.full_like(out[key], -1)
    for key in ("next_items", "label_ids"):  # 0 = no target
        if key in out:
            out[key] = torch.zeros_like(out[key])
    return out


def test_every_built_in_head_with_labels_has_a_case() -> None:
    """Each built-in task's head is covered here, by class; the contrastive head has no labels
    to mask (its pairs are made, not labelled) and is tested in test_contrastive.py."""
    from toyguide.models.heads.contrastive import ContrastiveHead
    from toyguide.tasks import TASKS

    built_in = {type(TASKS.get(name)).__module__: TASKS.get(name) for name in TASKS.names()}
    heads = {task.head_class for module, task in built_in.items()
             if module.startswith("toyguide.tasks.")} - {ContrastiveHead}  # fmt: skip
    assert heads == {type(make(name).head) for name in CASES}


@pytest.mark.parametrize("name", sorted(CASES))
def test_masked_out_labels_change_neither_loss_nor_gradient(name: str) -> None:
    case = make(name)
    loss, count, grads = loss_and_grads(case, case.batch)
    loss2, count2, grads2 = loss_and_grads(case, scrambled(case))
    assert count == count2 > 0 and torch.isfinite(loss) and loss > 0
    torch.testing.assert_close(loss, loss2, rtol=0, atol=0)
    for g, g2 in zip(grads, grads2, strict=True):
        torch.testing.assert_close(g, g2, rtol=0, atol=0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_all_masked_batch_gives_zero_loss_and_finite_zero_grads(name: str) -> None:
    case = make(name)
    loss, count, grads = loss_and_grads(case, unlabelled(case))
    assert count == 0 and loss.item() == 0.0
    assert all(torch.isfinite(g).all() and (g == 0).all() for g in grads)


def test_output_shapes() -> None:
    h = torch.randn(B, D)
    pref = make("preference")
    assert pref.head(*pref.inputs).shape == (B, N + 1)
    assert pref.head(torch.randn(2, 3, D), pref.inputs[1]).shape == (2, 3, N + 1)
    shapes = {k: v.shape for k, v in make("attributes").head(h).items()}
    assert shapes == {
        "age_band": (B, 6),
        "gender_target": (B, 3),
        "functions": (B, 15),
        "categories": (B, C),
    }
    shapes = {k: v.shape for k, v in make("profile").head(h).items()}
    assert shapes == {"age_band": (B, 6), "gender": (B, 2), "interests": (B, 15)}
    assert make("sales").head(h).shape == (B, H, len(OUTPUTS))


def test_category_outputs_line_up_with_label_columns() -> None:
    """Label column j (vocabulary j + 1) is scored against output column j, the first included."""
    head = AttributesHead(AttributesHeadConfig(D, C))
    labels = multilabel(C)
    out = head(torch.randn(B, D))["categories"]
    batch = {"categories": labels, "categories_mask": torch.ones(B, dtype=torch.bool)}
    loss = head.losses({"categories": out}, batch)["categories"].loss
    assert out.shape == (B, C)
    assert torch.isclose(loss, F.binary_cross_entropy_with_logits(out, labels))


def test_the_word_term_starts_at_zero_and_learns_the_word_that_decides_a_label() -> None:
    torch.manual_seed(0)
    plain = AttributesHead(AttributesHeadConfig(D, C, n_price_bands=4))
    worded = AttributesHead(AttributesHeadConfig(D, C, n_price_bands=4, n_token_buckets=50))
    worded.load_state_dict(plain.state_dict(), strict=False)
    h = torch.randn(B, D)
    tokens = torch.randint(1, 51, (B, 5))
    tokens[:, -1] = 0  # padding
    for name, out in worded(h, tokens).items():  # zero word weights: the head without words
        assert torch.allclose(out, plain(h)[name]), name
    assert "categories" not in worded.widths  # the full category path has no word term
    # the age band is decided by one word, the encodings are noise: only the words can learn it
    tokens[:, 0] = torch.randint(1, 7, (B,))
    batch = {"age_band": tokens[:, 0] - 1}
    optim = torch.optim.Adam(worded.words.parameters(), lr=0.5)
    first = None
    for _ in range(30):
        loss = worded.losses(worded(torch.randn(B, D), tokens), batch)["age_band"].loss
        first = first if first is not None else float(loss)
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert float(loss) < 0.5 * first
    predicted = worded(torch.zeros(B, D), tokens)["age_band"].argmax(-1)
    assert (predicted == batch["age_band"]).float().mean() > 0.9


def test_idf_weights_the_word_term_as_tfidf_weighs_a_bag() -> None:
    bag = LinearBag(n_ids=4, width=1, scale=1.0)
    with torch.no_grad():
        bag.weight[:, 0] = torch.tensor([0.0, 1.0, 10.0, 100.0, 1000.0])
    ids = torch.tensor([[1, 2, 0], [3, 3, 4]])
    plain = bag(ids)[:, 0]  # each word 1, the row L2-normalised by the count
    assert torch.allclose(plain, torch.tensor([11 / 2**0.5, 1200 / 3**0.5]))
    idf = torch.tensor([0.0, 2.0, 1.0, 0.0, 1.0])  # id 3 weighs nothing
    weighted = bag(ids, idf[ids])[:, 0]
    assert torch.allclose(weighted, torch.tensor([(2 + 10) / 5**0.5, 1000.0]))


def test_inverse_document_frequency_counts_each_row_once_and_drops_rare_ids() -> None:
    ids = torch.tensor([[1, 1, 2, 0], [1, 3, 0, 0], [1, 2, 2, 4]])
    idf = inverse_document_frequency(ids, n_ids=5)
    # as sklearn's smooth IDF: ln((1 + 3) / (1 + df)) + 1; df: id 1 in 3 rows, 2 in 2
    assert idf[1] == pytest.approx(math.log(4 / 4) + 1) and idf[2] == pytest.approx(
        math.log(4 / 3) + 1
    )
    assert idf[0] == 0 and idf[3] == 0 and idf[4] == 0 and idf[5] == 0  # padding, df < 2, unseen


def test_a_head_that_weighs_words_by_idf_needs_it() -> None:
    head = AttributesHead(AttributesHeadConfig(D, C, n_token_buckets=50, word_idf=True))
    tokens = torch.randint(1, 51, (B, 5))
    with pytest.raises(ConfigError, match="IDF"):
        head(torch.randn(B, D), tokens)
    assert head(torch.randn(B, D), tokens, torch.ones(51))["age_band"].shape == (B, 6)
    with pytest.raises(ConfigError, match="attribute_words"):
        ModelConfig(attribute_word_idf=True)


def test_the_item_term_starts_at_zero_and_learns_the_item_that_decides_a_profile() -> None:
    torch.manual_seed(0)
    plain = ProfileHead(ProfileHeadConfig(D))
    itemed = ProfileHead(ProfileHeadConfig(D, n_items=40))
    itemed.load_state_dict(plain.state_dict(), strict=False)
    h = torch.randn(B, D)
    items = torch.randint(1, 41, (B, 6))
    items[:, :2] = 0  # left padding, as shopper sequences are right-aligned
    for name, out in itemed(h, items).items():  # zero item weights: the head without items
        assert torch.allclose(out, plain(h)[name]), name
    assert itemed(h)["age_band"].shape == (B, 6)  # no items given: the encoding alone
    # the child's age band is decided by one bought item; the states are noise
    items[:, -1] = torch.randint(1, 7, (B,))
    batch = {"age_band": items[:, -1] - 1, "gender": torch.full((B,), -1),
             "interests": torch.zeros(B, 15), "interests_mask": torch.zeros(B, dtype=torch.bool)}  # fmt: skip
    optim = torch.optim.Adam(itemed.items.parameters(), lr=0.5)
    first = None
    for _ in range(30):
        loss = itemed.losses(itemed(torch.randn(B, D), items), batch)["age_band"].loss
        first = first if first is not None else float(loss)
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert float(loss) < 0.5 * first
    predicted = itemed(torch.zeros(B, D), items)["age_band"].argmax(-1)
    assert (predicted == batch["age_band"]).float().mean() > 0.9


def test_a_store_without_categories_builds_the_head() -> None:
    head = AttributesHead(AttributesHeadConfig(D, 0))
    assert head(torch.randn(B, D))["categories"].shape == (B, 0)


def test_padding_item_is_never_predicted() -> None:
    case = make("preference")
    h, item_emb = case.inputs
    item_emb = item_emb.clone()
    item_emb[0] = h.detach().sum(0) * 100  # padding row that would win every row
    logits = case.head(h, item_emb)
    assert (logits[:, 0] == float("-inf")).all() and (logits.argmax(-1) != 0).all()
    assert (torch.softmax(logits, -1)[:, 0] == 0).all()
    probs = torch.ones(N + 1)
    probs[0] = 1e6  # the padding item is never drawn, whatever Q says
    sampled = case.head.sampled_logits(h, item_emb, case.batch["next_items"], 500, probs)
    assert not torch.isnan(sampled).any() and not (sampled == float("inf")).any()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=3, max_size=30).filter(
        lambda v: len(v) % 3 == 0
    )
)
def test_quantiles_are_non_negative_and_non_crossing(raw: list[float]) -> None:
    q = monotone_quantiles(torch.tensor(raw).view(-1, 3))
    assert torch.isfinite(q).all() and (q >= 0).all()
    assert (q[:, 0] <= q[:, 1]).all() and (q[:, 1] <= q[:, 2]).all()


def test_sales_head_quantiles_are_ordered_and_scale_back_to_units() -> None:
    case = make("sales")
    pred = case.head(torch.randn(64, D) * 10)
    assert (pred >= 0).all() and (pred[..., :MEAN].diff(dim=-1) >= 0).all()
    units = case.head.to_units(pred, torch.full((64,), 3.0))
    torch.testing.assert_close(units, pred[..., :MEAN] * 3)
    mean = case.head.mean_units(pred, torch.full((64,), 3.0))
    torch.testing.assert_close(mean, pred[..., MEAN] * 3)


def test_sales_mean_learns_the_expected_units_where_the_median_is_zero() -> None:
    """Intermittent demand (0 in 70% of weeks, else 10): P50 → 0 but the mean → 3."""
    torch.manual_seed(0)
    head = SalesHead(SalesHeadConfig(D, H))
    h = torch.ones(256, D)
    batch = {
        "target": (torch.rand(256, H) < 0.3).float() * 10,
        "target_mask": torch.ones(256, H, dtype=torch.bool),
        "scale": torch.ones(256),
    }
    optimiser = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(400):
        optimiser.zero_grad()
        head.loss(head(h), batch).loss.backward()
        optimiser.step()
    pred = head(h).detach()
    expected = batch["target"].mean()
    assert abs(pred[..., MEAN].mean() - expected) < 0.3
    assert pred[..., 1].mean() < 0.5


def test_conformal_offsets_make_a_too_narrow_interval_cover_80_percent_of_new_weeks() -> None:
    """Held-out weeks around a too-narrow P10–P90: the fitted offset widens it to cover ~80 %
    of fresh weeks from the same distribution, per horizon step, and the order P10 <= P50 <=
    P90 (and P10 >= 0) holds."""
    torch.manual_seed(0)
    head = SalesHead(SalesHeadConfig(D, H))
    spread = torch.tensor([1.0, 2.0, 3.0, 4.0])  # each step its own noise

    def weeks(n: int) -> tuple[Tensor, Tensor]:
        pred = torch.zeros(n, H, 4)
        pred[..., :MEAN] = torch.tensor([4.9, 5.0, 5.1])  # scaled P10, P50, P90
        return pred, 5 + torch.randn(n, H) * spread

    pred, target = weeks(4000)
    before = ((target >= pred[..., 0]) & (target <= pred[..., 2])).float().mean()
    mask = torch.ones(4000, H, dtype=torch.bool)
    mask[:, -1] = False  # a step without held-out weeks keeps offset 0
    fitted = head.calibrate(pred, target, mask)
    assert fitted["weeks"] == [4000, 4000, 4000, 0] and head.interval_offset[-1] == 0
    torch.testing.assert_close(head.interval_offset[:3], 1.2816 * spread[:3] - 0.1, atol=0.12,
                               rtol=0)  # fmt: skip
    fresh, truth = weeks(4000)
    q = head.to_units(fresh, torch.ones(4000))
    covered = ((truth >= q[..., 0]) & (truth <= q[..., 2])).float().mean(0)
    assert before < 0.1 and all(abs(c - 0.8) < 0.03 for c in covered[:3].tolist())
    assert (q[..., 0] >= 0).all() and (q.diff(dim=-1) >= 0).all()
    # a too-wide interval is narrowed, never past the median
    head.calibrate(fresh, torch.full((4000, H), 5.0), torch.ones(4000, H, dtype=torch.bool))
    assert (head.interval_offset < 0).all()
    q = head.to_units(fresh, torch.ones(4000))
    torch.testing.assert_close(q[..., 0], q[..., 1])
    torch.testing.assert_close(q[..., 2], q[..., 1])


def test_scale_weighted_sales_losses_are_the_losses_in_units() -> None:
    """Pinball and Poisson deviance are homogeneous of degree 1, so weighting the scaled losses
    by ``scale`` gives the losses in units divided by the mean scale."""
    torch.manual_seed(0)
    scale = 1 + torch.rand(B, 1) * 9
    units = torch.poisson(torch.full((B, H), 4.0)) * scale
    mask = torch.rand(B, H) < 0.7
    q, mean = torch.rand(B, H, 3).sort(-1).values * 5, torch.rand(B, H) * 5 + 0.1
    weight = scale.expand(B, H)
    norm = weight[mask].mean()
    weighted = pinball_loss(q, units / scale, mask, QUANTILES, weight).loss
    in_units = pinball_loss(q * scale[..., None], units, mask, QUANTILES).loss
    torch.testing.assert_close(weighted, in_units / norm)
    weighted = poisson_deviance_loss(mean, units / scale, mask, weight).loss
    in_units = poisson_deviance_loss(mean * scale, units, mask).loss
    torch.testing.assert_close(weighted, in_units / norm)


def test_the_run_config_switches_the_sales_loss_weighting() -> None:
    from toyguide.models.config import ModelConfig
    from toyguide.tasks import get_task

    sales = get_task("sales")
    assert sales.head_config({"horizon": H}, ModelConfig()).weight_by_scale
    off = sales.head_config({"horizon": H}, ModelConfig(sales_weight_by_scale=False))
    assert not off.weight_by_scale and off.horizon == H


def test_poisson_deviance_by_hand() -> None:
    mean, target = torch.tensor([2.0, 1.0, 5.0]), torch.tensor([4.0, 0.0, float("nan")])
    mask = torch.tensor([True, True, False])
    loss, count = poisson_deviance_loss(mean, target, mask)
    by_hand = (2 * (4 * math.log(4 / 2) - (4 - 2)) + 2 * (0 - (0 - 1))) / 2
    assert count == 2 and loss.item() == pytest.approx(by_hand)


def test_sampled_softmax_with_logq_approaches_the_full_softmax() -> None:
    torch.manual_seed(0)
    head = PreferenceHead(PreferenceHeadConfig(D))
    item_emb, h = torch.randn(N + 1, D), torch.randn(64, D, requires_grad=True)
    positives = torch.randint(1, N + 1, (64,))
    probs = torch.rand(N + 1) ** 3 + 0.01  # skewed, like popularity
    full = catalogue_cross_entropy(head(h, item_emb), positives).loss
    (full_grad,) = torch.autograd.grad(full, h)
    errors = []
    for k in (10, 100, 1000, 20000):
        errs = []
        for seed in range(3):
            gen = torch.Generator().manual_seed(seed)
            logits = head.sampled_logits(h, item_emb, positives, k, probs, gen)
            loss = sampled_softmax_cross_entropy(logits, positives).loss
            errs.append(abs(loss.item() - full.item()))
        errors.append(sum(errs) / len(errs))
    assert errors == sorted(errors, reverse=True), errors
    assert errors[-1] < 0.01 * full.item(), errors
    (grad,) = torch.autograd.grad(loss, h)
    assert F.cosine_similarity(grad.flatten(), full_grad.flatten(), dim=0) > 0.99


def test_sampled_softmax_masks_accidental_hits() -> None:
    head = make("preference").head
    h, item_emb = torch.randn(3, D), torch.randn(N + 1, D)
    positives = torch.tensor([1, 2, 0])
    probs = torch.zeros(N + 1)
    probs[1] = 1.0  # every negative is item 1
    logits = head.sampled_logits(h, item_emb, positives, 4, probs)
    assert (logits[0, 1:] == float("-inf")).all() and torch.isfinite(logits[1]).all()
    out = sampled_softmax_cross_entropy(logits, positives)
    assert out.count == 2 and torch.isfinite(out.loss)


def test_masked_cross_entropy_matches_torch_on_the_labelled_rows() -> None:
    logits = torch.randn(6, 4, requires_grad=True)
    labels = torch.tensor([0, -1, 3, -1, 1, 2])
    out = masked_cross_entropy(logits, labels)
    keep = labels >= 0
    expected = F.cross_entropy(logits[keep], labels[keep])
    assert out.count == 4
    torch.testing.assert_close(out.loss, expected)
    out.loss.backward()
    assert (logits.grad[~keep] == 0).all()


def test_catalogue_cross_entropy_treats_zero_as_no_target() -> None:
    logits = torch.randn(2, 3, N + 1).index_fill(-1, torch.tensor([0]), float("-inf"))
    targets = torch.tensor([[0, 4, 7], [0, 0, 30]])
    out = catalogue_cross_entropy(logits, targets)
    keep = targets > 0
    assert out.count == 3
    torch.testing.assert_close(out.loss, F.cross_entropy(logits[keep], targets[keep]))


def test_masked_bce_matches_torch_on_the_labelled_rows() -> None:
    logits, targets = torch.randn(5, 3), (torch.rand(5, 3) > 0.5).float()
    mask = torch.tensor([True, False, True, True, False])
    out = masked_bce_with_logits(logits, targets, mask)
    expected = F.binary_cross_entropy_with_logits(logits[mask], targets[mask])
    assert out.count == 3
    torch.testing.assert_close(out.loss, expected)


def test_pinball_loss_by_hand() -> None:
    pred = torch.tensor([[[8.0, 10.0, 12.0], [0.0, 0.0, 0.0]]])  # [1, 2, 3]
    target = torch.tensor([[10.0, float("nan")]])
    mask = torch.tensor([[True, False]])
    out = pinball_loss(pred, target, mask, QUANTILES)
    # 0.1 · 2 (P10 two below) + 0 (P50 exact) + 0.1 · 2 (P90 two above), over 3 quantiles
    assert out.count == 1
    torch.testing.assert_close(out.loss, torch.tensor(0.4 / 3))


def test_preference_loss_checks_target_shape() -> None:
    case = make("preference")
    logits = case.head(*case.inputs)
    with pytest.raises(ValueError, match="next_items"):
        case.head.loss(logits, {"next_items": torch.ones(B, 2, dtype=torch.long)})


def test_bad_head_configs() -> None:
    for make_config in (
        lambda: PreferenceHeadConfig(0),
        lambda: PreferenceHeadConfig(4, init_temperature=0.0),
        lambda: AttributesHeadConfig(4, -1),
        lambda: ProfileHeadConfig(0),
        lambda: ProfileHeadConfig(4, n_items=-1),
        lambda: SalesHeadConfig(4, 0),
    ):
        with pytest.raises(ConfigError):
            make_config()


def test_attributes_head_optional_targets_train_only_when_labelled() -> None:
    head = AttributesHead(AttributesHeadConfig(D, C, n_price_bands=4, top_category=True))
    out = head(torch.randn(B, D))
    assert out["price_band"].shape == (B, 4) and out["top_category"].shape == (B, C)
    batch = {"price_band": torch.where(labelled(), torch.randint(0, 4, (B,)), -1)}
    assert set(head.losses(out, batch)) == {"price_band"}  # only the targets the batch carries
    plain = AttributesHead(AttributesHeadConfig(D, C))
    assert "price_band" not in plain(torch.randn(B, D))  # off by default: old weights still load
    with pytest.raises(ConfigError, match="no such output"):
        plain.losses(plain(torch.randn(B, D)), batch)
    with pytest.raises(ConfigError, match="n_price_bands"):
        AttributesHeadConfig(D, C, n_price_bands=1)


@pytest.mark.parametrize("normalize", [False, True])
def test_retrieval_inner_product_is_the_logit(normalize: bool) -> None:
    torch.manual_seed(0)
    head = PreferenceHead(PreferenceHeadConfig(D, init_temperature=0.3, normalize=normalize))
    h, items = torch.randn(B, D), torch.randn(N + 1, D)
    logits = head(h, items)
    inner = head.retrieval_query(h) @ head.retrieval_vectors(items).T  # [B, N+1]
    torch.testing.assert_close(inner[:, 1:], logits[:, 1:], rtol=1e-5, atol=1e-5)
