"""Label-set head: logits over L labels, trained to put its mass on a set of labels.

For targets that are a set of ids rather than one class (the categories of the next item): the
loss is cross-entropy against the set as a uniform distribution, ``-mean_j∈set log p_j``, so it
is on the scale of a one-label softmax (log L at chance) whatever L is, where a per-label
binary cross-entropy over a thousand mostly-absent labels would be near zero from the start.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.losses import LossOutput

__all__ = ["LabelSetHead", "LabelSetHeadConfig", "label_set_targets"]


@dataclass(frozen=True)
class LabelSetHeadConfig:
    """``n_labels`` real labels: output column j is label id j + 1 (id 0 = padding)."""

    d_model: int
    n_labels: int

    def __post_init__(self) -> None:
        if self.d_model < 1 or self.n_labels < 1:
            raise ConfigError(
                f"label-set head: d_model and n_labels must be >= 1, got {self.d_model}, "
                f"{self.n_labels}"
            )


class LabelSetHead(nn.Module):
    """``[P, D]`` → logits ``[P, L]``; ``loss`` reads ``batch["label_ids"]`` ``[P, C]`` (0 pad)."""

    def __init__(self, config: LabelSetHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.out = nn.Linear(config.d_model, config.n_labels)

    def forward(self, h: Tensor) -> Tensor:
        return self.out(h)  # [P, L]

    def loss(self, logits: Tensor, batch: dict[str, Tensor]) -> LossOutput:
        """Mean over the rows with at least one label of the CE against their label set."""
        target = label_set_targets(batch["label_ids"], self.config.n_labels)  # [P, L]
        size = target.sum(-1)  # [P]
        keep = size > 0
        count = int(keep.sum())
        if count == 0:
            return LossOutput(logits.sum() * 0.0, 0)
        log_p = torch.log_softmax(logits[keep], dim=-1)  # [P', L]
        loss = -(target[keep] * log_p).sum(-1) / size[keep]  # [P']
        return LossOutput(loss.mean(), count)


def label_set_targets(label_ids: Tensor, n_labels: int) -> Tensor:
    """Multi-hot ``[P, L]`` of the ids ``[P, C]`` (0 = padding; id j → column j - 1)."""
    hot = torch.zeros(label_ids.shape[0], n_labels + 1, dtype=torch.float32,
                      device=label_ids.device)  # fmt: skip
    hot.scatter_(1, label_ids, 1.0)
    return hot[:, 1:]
