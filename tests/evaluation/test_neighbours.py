"""Choosing the item neighbours' weight and decay: the fused ranks without a pass per pair."""

from __future__ import annotations

import numpy as np
import torch

from toyguide.evaluation.metrics import rank_of_targets
from toyguide.evaluation.neighbours import fused_ranks


def test_fused_ranks_equal_the_dense_ranking_of_every_pair() -> None:
    rng = np.random.default_rng(0)
    b, n = 16, 400
    log_probs = torch.log_softmax(torch.randn(b, n + 1), -1).numpy()
    log_probs[:, 50:60] = log_probs[:, [7]]  # ties with other toys
    targets = rng.integers(1, n + 1, size=b)
    targets[:3] = 7  # targets tied with ten other toys
    exclude = rng.integers(0, n + 1, size=(b, 12))  # 0 pads; a target may be among them
    exclude[0, 0] = targets[0]
    extra = {}
    for decay in ((1.0, 0.0), (0.5, 0.25)):  # any keys: (decay, transition weight) pairs
        e = np.where(rng.random((b, n + 1)) < 0.05, rng.random((b, n + 1)), 0.0)
        e[:, 0] = 0.0
        e[1, 50:55] = 0.5  # ties created by the boost
        extra[decay] = (e / e.max(1, keepdims=True)).astype(np.float32)
    batch = {"target_item": torch.from_numpy(targets), "exclude": torch.from_numpy(exclude)}
    weights = (0.0, 1.0, 4.0, 16.0)
    got = fused_ranks(log_probs, extra, batch, weights)
    for decay, e in extra.items():
        for w in weights:
            dense = torch.from_numpy(log_probs) + w * torch.from_numpy(e)
            expected = rank_of_targets(dense, batch["target_item"], batch["exclude"]).numpy()
            assert got[decay, w].tolist() == expected.tolist(), (decay, w)
