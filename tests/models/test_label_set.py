"""The label-set head: its loss is a softmax CE against the set as a uniform distribution."""

from __future__ import annotations

import math

import pytest
import torch

from toyguide.errors import ConfigError
from toyguide.models.heads.label_set import LabelSetHead, LabelSetHeadConfig, label_set_targets


def test_targets_are_the_multi_hot_of_the_ids_without_padding() -> None:
    hot = label_set_targets(torch.tensor([[2, 4, 0], [0, 0, 0], [1, 1, 3]]), 4)
    assert hot.tolist() == [[0, 1, 0, 1], [0, 0, 0, 0], [1, 0, 1, 0]]


def test_loss_is_log_n_at_chance_and_falls_toward_the_set() -> None:
    head = LabelSetHead(LabelSetHeadConfig(d_model=3, n_labels=5))
    ids = torch.tensor([[1, 3], [0, 0], [5, 0]])  # the middle row has no label: left out
    flat = head.loss(torch.zeros(3, 5), {"label_ids": ids})
    assert flat.count == 2 and float(flat.loss) == pytest.approx(math.log(5))
    logits = torch.full((3, 5), -5.0)
    logits[0, [0, 2]] = 5.0  # all mass on row 0's set, split evenly
    logits[2, 4] = 5.0
    sharp = head.loss(logits, {"label_ids": ids})
    assert float(sharp.loss) == pytest.approx(math.log(2) / 2, abs=1e-3)
    empty = head.loss(torch.zeros(1, 5), {"label_ids": torch.zeros(1, 2, dtype=torch.long)})
    assert empty.count == 0 and float(empty.loss) == 0.0


def test_config_refuses_no_labels() -> None:
    with pytest.raises(ConfigError, match="n_labels"):
        LabelSetHeadConfig(d_model=4, n_labels=0)
