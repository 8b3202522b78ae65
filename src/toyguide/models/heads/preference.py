"""Preference head: next-item logits over the catalogue, with sampled softmax for large ones."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.losses import LossOutput, catalogue_cross_entropy

__all__ = ["PreferenceHead", "PreferenceHeadConfig"]


@dataclass(frozen=True)
class PreferenceHeadConfig:
    """``normalize`` scores by cosine instead of dot product; ``item_bias`` adds ``<w, e_i>``."""

    d_model: int
    init_temperature: float = 1.0
    max_scale: float = 100.0  # cap on 1 / temperature, as in CLIP, against runaway logits
    normalize: bool = False
    item_bias: bool = True

    def __post_init__(self) -> None:
        if self.d_model < 1:
            raise ConfigError(f"preference head: d_model must be >= 1, got {self.d_model}")
        if self.init_temperature <= 0 or self.max_scale <= 0:
            raise ConfigError("preference head: init_temperature and max_scale must be > 0")


class PreferenceHead(nn.Module):
    """Logit of item ``i`` for shopper state ``h``: ``s · <h, e_i> + <w, e_i>``; item 0 is -inf.

    ``s`` = 1 / temperature is learned in log space. The bias is computed from the item's
    embedding, not looked up per id: a scalar would cancel in the softmax, and an id table
    would know nothing of new toys.
    """

    def __init__(self, config: PreferenceHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.log_scale = nn.Parameter(torch.tensor(-math.log(config.init_temperature)))
        self.bias = nn.Linear(config.d_model, 1, bias=False) if config.item_bias else None

    def forward(self, h: Tensor, item_emb: Tensor) -> Tensor:
        """``h`` [..., D] against ``item_emb`` [N+1, D] → logits [..., N+1], padding at -inf."""
        h, item_emb = self._prepare(h, item_emb)
        # One fused matmul-plus-bias over the [P, N+1] logits, the scale applied to the [P, D]
        # states and the padding item's -inf put in its bias: on a large catalogue every extra
        # elementwise pass over the logits (scale, add, fill) costs as much as the matmul.
        bias = self._bias(item_emb)
        if not torch.is_tensor(bias):
            bias = item_emb.new_zeros(item_emb.shape[0])
        padding = torch.zeros(1, dtype=torch.long, device=item_emb.device)
        bias = bias.index_fill(0, padding, float("-inf"))  # [N+1]
        flat = h.reshape(-1, h.shape[-1]) * self.scale()  # [M, D]
        logits = torch.addmm(bias.unsqueeze(0), flat, item_emb.T)  # [M, N+1]
        return logits.reshape(*h.shape[:-1], item_emb.shape[0])

    def retrieval_vectors(self, item_emb: Tensor) -> Tensor:
        """Items ``[N+1, D]`` → ``[N+1, D+1]`` vectors whose inner product with
        :meth:`retrieval_query` is the logit, bias included: an exact inner-product index over
        them returns the head's own top items (the padding row is not -inf here; skip row 0)."""
        _, item_emb = self._prepare(item_emb[:1], item_emb)
        bias = self._bias(item_emb)
        if not torch.is_tensor(bias):
            bias = item_emb.new_zeros(item_emb.shape[0])
        return torch.cat([item_emb, bias.unsqueeze(-1)], dim=-1)

    def retrieval_query(self, h: Tensor) -> Tensor:
        """Shopper states ``[B, D]`` → ``[B, D+1]`` queries for :meth:`retrieval_vectors`."""
        h, _ = self._prepare(h, h[:1])
        return torch.cat([h * self.scale(), h.new_ones(*h.shape[:-1], 1)], dim=-1)

    def sampled_logits(
        self,
        h: Tensor,
        item_emb: Tensor,
        positives: Tensor,
        n_negatives: int,
        sampling_probs: Tensor,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Sampled-softmax logits [B, 1 + n_negatives]; column 0 is the positive.

        ``n_negatives`` items are drawn (with replacement, shared by the batch) from
        ``sampling_probs`` [N+1] (Q; any scale, the padding item is never drawn). logQ
        correction (Yi et al., RecSys 2019): each negative's logit is lowered by log(K·Q(j)),
        so the negatives' exp-sum is an unbiased estimate of the partition function over the
        rest of the catalogue; the positive keeps its exact logit, so the CE converges to the
        full-softmax CE as K grows. A negative equal to the row's positive is set to -inf.
        Train with :func:`toyguide.models.losses.sampled_softmax_cross_entropy`.
        """
        padding = torch.zeros(1, dtype=torch.long, device=sampling_probs.device)
        q = sampling_probs.index_fill(0, padding, 0.0)  # [N+1]
        q = q / q.sum()
        negatives = torch.multinomial(q, n_negatives, replacement=True, generator=generator)  # [K]
        h, item_emb = self._prepare(h, item_emb)
        pos_emb = item_emb[positives]  # [B, D]
        pos = self.scale() * (h * pos_emb).sum(-1) + self._bias(pos_emb)  # [B]
        neg_emb = item_emb[negatives]  # [K, D]
        neg = self.scale() * (h @ neg_emb.T) + self._bias(neg_emb)  # [B, K]
        neg = neg - torch.log(n_negatives * q[negatives]).to(neg.dtype)
        hits = negatives.unsqueeze(0) == positives.unsqueeze(1)  # [B, K]
        neg = neg.masked_fill(hits, float("-inf"))
        return torch.cat([pos.unsqueeze(1), neg], dim=1)  # [B, 1 + K]

    def loss(self, logits: Tensor, batch: dict[str, Tensor]) -> LossOutput:
        """Catalogue CE against ``batch["next_items"]`` (0 = no target), which must hold one
        target per row of ``logits`` (the caller picks the positions it scored)."""
        targets = batch["next_items"]
        if targets.numel() != logits[..., 0].numel():
            raise ValueError(
                f"next_items {tuple(targets.shape)} does not match logits {tuple(logits.shape)}"
            )
        return catalogue_cross_entropy(logits, targets.reshape(logits.shape[:-1]))

    def scale(self) -> Tensor:
        return self.log_scale.exp().clamp(max=self.config.max_scale)

    def _prepare(self, h: Tensor, item_emb: Tensor) -> tuple[Tensor, Tensor]:
        if self.config.normalize:
            return F.normalize(h, dim=-1), F.normalize(item_emb, dim=-1)
        return h, item_emb

    def _bias(self, item_emb: Tensor) -> Tensor | float:
        return self.bias(item_emb).squeeze(-1) if self.bias is not None else 0.0  # [..., N]
