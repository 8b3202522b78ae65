"""A linear term over a bag of ids beside a head's encoding: logistic regression on the bag.

An attributes head reads a toy's hashed words this way, a profile head a shopper's items: the
exact ids that decide a label (a brand, "jigsaw", the nappies bought for a newborn) reach the
logits without passing the shared encoder's bottleneck.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["LinearBag"]


class LinearBag(nn.EmbeddingBag):
    """``ids`` [B, L] (0 = padding) → [B, width]: Σ weights of the row's ids / √(its id count),
    as logistic regression reads an L2-normalised bag, times ``scale``. Adam moves a weight by
    about the learning rate per step, and an id's weight steps only in its own rows' batches:
    the scale lets the rare deciding ids reach their size within the epochs a shared encoder
    trains for. The weights start at zero, so the term starts as the head without it.

    A subclass of ``nn.EmbeddingBag`` (not a wrapper) so that its one parameter keeps the name
    ``<attribute>.weight`` that checkpoints hold."""

    def __init__(self, n_ids: int, width: int, scale: float) -> None:
        super().__init__(n_ids + 1, width, mode="sum", padding_idx=0)
        self.scale = scale
        nn.init.zeros_(self.weight)

    def forward(self, ids: Tensor, weights: Tensor | None = None) -> Tensor:  # type: ignore[override]
        """``weights`` [B, L]: each id's weight in the bag (an IDF, say) before the L2
        normalisation; None: every id 1."""
        present = (ids > 0).to(self.weight.dtype)
        if weights is not None:
            present = present * weights
        norm = present.square().sum(-1, keepdim=True).clamp(min=1.0).sqrt()
        return self.scale * super().forward(ids, per_sample_weights=present / norm)
