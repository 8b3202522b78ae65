"""The shared shopper encoder: a causal transformer over a shopper's event sequence.

SASRec (Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018), with event-kind
and time-gap embeddings added to each event. Used by the preference and profile tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.config import ModelConfig
from toyguide.models.encoders.item import ItemEncoder

__all__ = ["SEQUENCE_KEYS", "SequenceDims", "ShopperEncoder", "last_state", "length_groups"]

SEQUENCE_KEYS = ("seq_items", "seq_kinds", "seq_gaps", "seq_mask")


@dataclass(frozen=True)
class SequenceDims:
    """The event sequences' sizes (from ``TaskData.dims()``); widths are ModelConfig's."""

    max_len: int
    n_kinds: int = 6  # 0 = pad, 1..5 = view, click, cart, purchase, rating
    n_gap_buckets: int = 16


class ShopperEncoder(nn.Module):
    """Events → causal transformer states ``[B, L, D]``, one per position (zeros at padding).

    Sequences are right-aligned, so positions are counted back from the latest event: position
    0 is always "most recent", whatever the batch's L.
    """

    def __init__(self, config: ModelConfig, dims: SequenceDims) -> None:
        super().__init__()
        if config.d_model % config.shopper_heads != 0:
            raise ConfigError(
                f"shopper encoder: d_model={config.d_model} must divide by "
                f"shopper_heads={config.shopper_heads}"
            )
        self.config, self.dims = config, dims
        d = config.d_model
        self.kind_emb = nn.Embedding(dims.n_kinds, d, padding_idx=0)
        self.gap_emb = nn.Embedding(dims.n_gap_buckets, d)
        self.pos_emb = nn.Embedding(dims.max_len, d)
        self.dropout = nn.Dropout(config.shopper_dropout)
        layer = nn.TransformerEncoderLayer(
            d,
            config.shopper_heads,
            dim_feedforward=4 * d,
            dropout=config.shopper_dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        # norm_first leaves the last layer's output un-normalised: the final LayerNorm does it.
        self.transformer = nn.TransformerEncoder(
            layer, config.shopper_layers, norm=nn.LayerNorm(d), enable_nested_tensor=False
        )

    def forward(
        self, batch: dict[str, Tensor], item_encoder: ItemEncoder | Callable[[Tensor], Tensor]
    ) -> Tensor:
        """``seq_items``, ``seq_kinds``, ``seq_gaps``, ``seq_mask`` ``[B, L]`` → ``[B, L, D]``;
        ``item_encoder`` embeds item rows (the encoder, or a lookup in a catalogue encoded
        once for the step)."""
        mask = batch["seq_mask"]
        groups = length_groups(mask.sum(1)) if self.config.length_buckets else []
        if len(groups) < 2:
            return self._encode(batch, item_encoder)
        length = mask.shape[1]
        parts, order = [], []
        for rows, width in groups:  # right-aligned: a group's events are its last columns
            group = {key: batch[key][rows, length - width :] for key in SEQUENCE_KEYS}
            states = self._encode(group, item_encoder)  # [b, width, D]
            parts.append(F.pad(states, (0, 0, length - width, 0)))  # [b, L, D], zeros before
            order.append(rows)
        inverse = torch.argsort(torch.cat(order))
        return torch.cat(parts)[inverse]  # [B, L, D], rows back in the batch's order

    def _encode(
        self, batch: dict[str, Tensor], item_encoder: ItemEncoder | Callable[[Tensor], Tensor]
    ) -> Tensor:
        items, mask = batch["seq_items"], batch["seq_mask"]
        length = items.shape[1]
        if length > self.dims.max_len:
            raise ConfigError(f"sequence length {length} exceeds max_len={self.dims.max_len}")
        x = (
            item_encoder(items)  # [B, L, D]; zeros at padding
            + self.kind_emb(batch["seq_kinds"])
            + self.gap_emb(batch["seq_gaps"])
            + self.pos_emb(self._positions(mask))  # [L, D] or [B, L, D]
        )
        x = self.transformer(self.dropout(x), mask=self._attention_mask(mask))  # [B, L, D]
        return x * mask.unsqueeze(-1).to(x.dtype)

    def _positions(self, mask: Tensor) -> Tensor:
        """Position ids: ``[L]`` counted back from the latest event (right-aligned rows share
        them), or ``[B, L]`` counted from each row's oldest event (0 at padding too)."""
        if self.config.positions == "first":
            return (mask.long().cumsum(1) - 1).clamp(min=0)  # [B, L]
        length = mask.shape[1]
        return torch.arange(length - 1, -1, -1, device=mask.device)  # [L], latest = 0

    def _attention_mask(self, mask: Tensor) -> Tensor:
        """Bool ``[B * heads, L, L]``, True = may not attend: future events and padding keys.

        Every position may attend to itself. Without that, a padding query (or a row of only
        padding) sees no key at all; whether that gives NaN depends on the attention kernel
        (MultiheadAttention's explicit-softmax path does), and a NaN at padding would leak into
        real positions in the next layer through 0 * NaN.
        """
        length = mask.shape[1]
        future = torch.triu(
            torch.ones(length, length, dtype=torch.bool, device=mask.device), diagonal=1
        )  # [L, L]
        blocked = future.unsqueeze(0) | ~mask.unsqueeze(1)  # [B, L, L]
        blocked = blocked & ~torch.eye(length, dtype=torch.bool, device=mask.device)
        return blocked.repeat_interleave(self.config.shopper_heads, dim=0)  # [B * heads, L, L]


def length_groups(lengths: Tensor, min_rows: int = 16) -> list[tuple[Tensor, int]]:
    """Rows ``[b]`` and padded width of each group of similar sequence ``lengths`` ``[B]``.

    Groups are powers of two (1, 2, 3-4, 5-8, ...), a group of fewer than ``min_rows`` rows
    merged into the next longer one (a transformer pass has a fixed cost too).
    """
    clipped = lengths.clamp(min=1)
    bucket = torch.ceil(torch.log2(clipped.double())).long()  # [B]
    kept: list[tuple[Tensor, int]] = []
    carry = lengths.new_zeros(0)
    for b in torch.unique(bucket).tolist():
        rows = torch.cat([carry, torch.nonzero(bucket == b).squeeze(1)])
        if len(rows) < min_rows and b != int(bucket.max()):
            carry = rows
            continue
        kept.append((rows, int(clipped[rows].max())))
        carry = lengths.new_zeros(0)
    return kept


def last_state(states: Tensor, mask: Tensor) -> Tensor:
    """The state at each row's last real event: ``[B, L, D]``, ``[B, L]`` → ``[B, D]``.

    A row without events gives zeros.
    """
    length = mask.shape[1]
    order = torch.arange(1, length + 1, device=mask.device)  # [L]
    last = (mask.long() * order).max(dim=1).values  # [B], 0 when no events
    index = (last - 1).clamp(min=0)  # [B]
    picked = states[torch.arange(states.shape[0], device=states.device), index]  # [B, D]
    return picked * (last > 0).unsqueeze(-1).to(states.dtype)
