"""What the self-supervised sequence tasks share: two views of each sequence through the shared
shopper encoder, and their evaluator (how often a view finds its pair among the batch)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from toyguide.models.config import ModelConfig
from toyguide.models.encoders import last_state
from toyguide.models.encoders.shopper import SEQUENCE_KEYS
from toyguide.models.heads.contrastive import ContrastiveHead, ContrastiveHeadConfig

__all__ = ["SEQUENCE_KEYS", "encode", "head_config", "mask_items", "pair_metrics", "view"]


def view(batch: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """The sequence keys stored under ``prefix`` (``b_seq_items`` ...) as a plain sequence batch."""
    return {key: batch[prefix + key] for key in SEQUENCE_KEYS}


def mask_items(
    batch: dict[str, Tensor], rate: float, generator: torch.Generator | None = None
) -> dict[str, Tensor]:
    """CL4SRec's item mask: each event's item becomes the unknown item 0 with chance ``rate``
    (the event, its kind and time stay), so a view must be recognised from what is left."""
    items = batch["seq_items"]
    keep = torch.rand(items.shape, generator=generator) >= rate
    return {**batch, "seq_items": items * keep}


def encode(model: Any, batch: dict[str, Tensor]) -> Tensor:
    """The shared shopper state after each sequence's last event ``[B, D]`` (its items read
    from the step's encoded catalogue, shared with the other tasks)."""
    states = model.sequence_states(batch)  # [B, L, D]
    return last_state(states, batch["seq_mask"])


def head_config(config: ModelConfig, group_key: str = "") -> ContrastiveHeadConfig:
    return ContrastiveHeadConfig(d_model=config.d_model, group_key=group_key)


def pair_metrics(model: Any, task: str, batches: Iterable[dict]) -> dict[str, float]:
    """``pair/accuracy``: the share of views whose nearest other view in their batch is their
    pair (batches differ in size, so hits are counted batch by batch)."""
    head: ContrastiveHead = model.heads[task]
    hits = []
    for batch in batches:
        _, logits = head.logits(model.predict(task, batch), batch)  # [2B, 2B]
        n = logits.shape[0] // 2
        pair = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
        hits.append((logits.argmax(1) == pair).numpy())
    found = np.concatenate(hits) if hits else np.zeros(0, dtype=bool)
    return {"pair/accuracy": float(found.mean()) if len(found) else math.nan,
            "pair/n": float(len(found))}  # fmt: skip
