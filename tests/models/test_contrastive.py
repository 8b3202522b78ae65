"""InfoNCE with false-negative masking, on hand-made batches."""

from __future__ import annotations

import math

import torch

from toyguide.models.heads.contrastive import ContrastiveHead, ContrastiveHeadConfig
from toyguide.models.losses import info_nce


def test_pairs_are_the_positives_and_every_other_view_a_negative() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss, logits = info_nce(a, a.clone(), temperature=1.0)
    assert logits.shape == (4, 4) and torch.isinf(logits.diagonal()).all()
    # anchor 0: its pair (row 2) at cos 1, the two orthogonal views at cos 0
    expected = -math.log(math.e / (math.e + 2))
    assert math.isclose(float(loss.loss), expected, rel_tol=1e-6) and loss.count == 4
    assert logits.argmax(1).tolist() == [2, 3, 0, 1]


def test_same_group_rows_are_not_negatives_but_the_pair_stays() -> None:
    # rows 0 and 1 share a next item: without the mask row 1's views are negatives of row 0
    a = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    b = torch.tensor([[0.8, 0.2], [1.0, 0.0], [0.1, 0.9]])
    groups = torch.tensor([7, 7, 3])
    plain, _ = info_nce(a, b, 0.5)
    masked, logits = info_nce(a, b, 0.5, groups)
    assert float(masked.loss) < float(plain.loss)
    blocked = torch.isinf(logits)
    assert blocked[0, 1] and blocked[0, 4] and not blocked[0, 3]  # group-mates out, pair in
    assert not blocked[0, 2] and not blocked[0, 5]  # the other group stays a negative
    assert not blocked[1, 4] and blocked[1, 3]  # row 1's pair is b[1] (column 4), not b[0]


def test_the_head_splits_its_input_into_the_two_views() -> None:
    torch.manual_seed(0)
    head = ContrastiveHead(ContrastiveHeadConfig(d_model=4, group_key="target"))
    z = head(torch.randn(6, 4))
    out = head.loss(z, {"target": torch.tensor([1, 2, 3])})
    assert out.count == 6 and torch.isfinite(out.loss)
