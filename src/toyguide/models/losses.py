"""Masked losses for partial labels: each returns the loss and how many labels it used.

A batch may carry none of a target's labels; the loss is then an exact 0 that is still part of
the graph (zero gradient, never NaN), and the count of 0 lets the trainer skip the task. Masked
entries are replaced before any arithmetic, so NaN or junk in them changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "LossOutput",
    "catalogue_cross_entropy",
    "info_nce",
    "masked_bce_with_logits",
    "masked_cross_entropy",
    "pinball_loss",
    "poisson_deviance_loss",
    "sampled_softmax_cross_entropy",
    "sum_losses",
]


class LossOutput(NamedTuple):
    """A scalar loss (mean over the labels used) and the number of labels it used."""

    loss: Tensor
    count: int


def masked_cross_entropy(logits: Tensor, labels: Tensor, ignore_index: int = -1) -> LossOutput:
    """Mean softmax CE of ``logits`` [..., K] against ``labels`` [...] over labels != ignore."""
    flat_logits = logits.reshape(-1, logits.shape[-1])  # [M, K]
    flat_labels = labels.reshape(-1)  # [M]
    count = int((flat_labels != ignore_index).sum())
    # "sum" then divide: reduction="mean" is NaN when every label is ignored.
    total = F.cross_entropy(flat_logits, flat_labels, ignore_index=ignore_index, reduction="sum")
    return LossOutput(total / max(count, 1), count)


def catalogue_cross_entropy(logits: Tensor, targets: Tensor) -> LossOutput:
    """Full-softmax CE over the catalogue: ``logits`` [..., N+1], ``targets`` [...] item ids,
    0 = no target (index 0 is the padding item, never a label)."""
    return masked_cross_entropy(logits, targets, ignore_index=0)


def sampled_softmax_cross_entropy(logits: Tensor, positives: Tensor) -> LossOutput:
    """CE of sampled logits [B, 1+K] (column 0 = the positive) for rows whose positive is > 0."""
    labels = torch.where(positives > 0, 0, -1)  # [B]
    return masked_cross_entropy(logits, labels)


def masked_bce_with_logits(logits: Tensor, targets: Tensor, mask: Tensor) -> LossOutput:
    """Mean BCE-with-logits over the rows where ``mask`` [B] is true; ``targets`` [B, F] in [0, 1].

    The count is the number of labelled rows; the mean is over their B_lab × F entries.
    """
    rows = mask.bool().unsqueeze(-1).expand_as(logits)  # [B, F]
    clean = torch.where(rows, targets, torch.zeros_like(targets))
    per_entry = F.binary_cross_entropy_with_logits(logits, clean.to(logits.dtype), reduction="none")
    total = torch.where(rows, per_entry, torch.zeros_like(per_entry)).sum()
    count = int(mask.sum())
    return LossOutput(total / max(count * logits.shape[-1], 1), count)


def pinball_loss(
    predictions: Tensor,
    targets: Tensor,
    mask: Tensor,
    quantiles: Sequence[float],
    weight: Tensor | None = None,
) -> LossOutput:
    """Mean pinball (quantile) loss of ``predictions`` [..., Q] against ``targets`` [...] where
    ``mask`` [...] is true, averaged over the Q quantiles; the count is the labelled entries.

    ``weight`` [...] (>= 0) makes it the weighted mean over the labelled entries."""
    q = predictions.new_tensor(list(quantiles))  # [Q]
    clean = torch.where(mask, targets, torch.zeros_like(targets)).unsqueeze(-1)  # [..., 1]
    diff = clean - predictions  # [..., Q]; > 0 when the prediction is too low
    per_entry = torch.maximum(q * diff, (q - 1) * diff).mean(-1)  # [...]
    return _masked_mean(per_entry, mask, weight)


def poisson_deviance_loss(
    mean: Tensor, targets: Tensor, mask: Tensor, weight: Tensor | None = None
) -> LossOutput:
    """Mean Poisson deviance 2·(y·log(y/μ) − (y − μ)) of ``mean`` μ [...] (> 0) against
    ``targets`` y [...] (>= 0) where ``mask`` [...] is true; the count is the labelled entries.

    The deviance is minimised by the conditional mean for any non-negative target (not only
    counts), so it also fits units divided by a scale; it is 0 for a perfect forecast.
    ``weight`` [...] (>= 0) makes it the weighted mean over the labelled entries.
    """
    clean = torch.where(mask, targets, torch.zeros_like(targets)).clamp(min=0)
    mu = torch.where(mask, mean, torch.ones_like(mean)).clamp(min=1e-8)
    # y·log(y/μ) is 0 at y = 0 (its limit); xlogy gives that without a NaN
    per_entry = 2 * (torch.special.xlogy(clean, clean) - clean * torch.log(mu) - (clean - mu))
    return _masked_mean(per_entry, mask, weight)


def _masked_mean(per_entry: Tensor, mask: Tensor, weight: Tensor | None) -> LossOutput:
    """(Weighted) mean of ``per_entry`` over ``mask``; an exact 0 when nothing is labelled."""
    count = int(mask.sum())
    w = mask.to(per_entry.dtype)
    if weight is not None:
        w = torch.where(mask, weight.to(per_entry.dtype), torch.zeros_like(w))
    total = torch.where(mask, per_entry * w, torch.zeros_like(per_entry)).sum()
    norm = w.sum() if weight is not None else per_entry.new_tensor(float(count))
    return LossOutput(total / norm.clamp(min=1e-12) if count else total * 0.0, count)


def sum_losses(parts: dict[str, LossOutput]) -> LossOutput:
    """A task's loss from its targets' losses: the sum of their means, and all labels used.

    Summing means (not pooling labels) keeps a target with few labels from being drowned out.
    """
    outputs = list(parts.values())
    total = torch.stack([o.loss for o in outputs]).sum()
    return LossOutput(total, sum(o.count for o in outputs))


def info_nce(
    a: Tensor, b: Tensor, temperature: float, groups: Tensor | None = None
) -> tuple[LossOutput, Tensor]:
    """NT-Xent (SimCLR; CL4SRec and DuoRec for sequences): row i of ``a`` [B, D] and row i of
    ``b`` [B, D] are a positive pair; every other row of both is a negative, by cosine over
    ``temperature``. ``groups`` [B] marks false negatives: rows of one group (DuoRec: sequences
    with the same next item) are not pushed apart, only the pair itself is pulled together.

    Returns the mean CE over the 2B anchors and their logits ``[2B, 2B]`` (blocked = -inf),
    whose row-wise argmax says whether each anchor found its pair.
    """
    n = a.shape[0]
    z = F.normalize(torch.cat([a, b]), dim=-1)  # [2B, D]
    logits = z @ z.T / temperature  # [2B, 2B]
    rows = torch.arange(2 * n, device=z.device)
    pair = (rows + n) % (2 * n)  # [2B]
    blocked = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    if groups is not None:
        both = torch.cat([groups, groups])  # [2B]
        blocked = blocked | (both[:, None] == both[None, :])
        blocked[rows, pair] = False
    logits = logits.masked_fill(blocked, float("-inf"))
    return LossOutput(F.cross_entropy(logits, pair), 2 * n), logits
