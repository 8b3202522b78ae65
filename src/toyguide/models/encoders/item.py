"""The shared item encoder: id, brand, categories, price and frozen text → one vector per toy.

Used by the preference, attributes and sales tasks (DESIGN.md §2). Items are 1..N; index 0 is
padding / unknown and always encodes to zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.config import ITEM_PARTS, ModelConfig

__all__ = ["ItemDims", "ItemEncoder", "ItemTablesLike", "inverse_document_frequency"]

_TABLES = ("brand", "categories", "log_price", "price_missing", "text")
_BAG_MODE = {"mean": "mean", "learned": "sum"}  # learned: weights sum to 1 per toy


class ItemTablesLike(Protocol):
    """What the encoder reads from ``features``' ``ItemTables`` (row 0 = padding item)."""

    brand: Tensor  # Long [N+1], 0 = unknown
    categories: Tensor  # Long [N+1, C_max], 0 = pad
    log_price: Tensor  # Float [N+1], standardised, 0 when missing
    price_missing: Tensor  # Float [N+1]
    text: Tensor  # Float [N+1, text_dim], zeros when no text


@dataclass(frozen=True)
class ItemDims:
    """The catalogue's sizes (from ``TaskData.dims()``); widths and switches are ModelConfig's.

    ``n_token_buckets`` > 0: a bag of hashed words and word pairs of the toy's text, each bucket
    an embedding averaged (fastText-like): the exact words (brand names, "jigsaw", "1:72") that
    a frozen sentence vector blurs. 0 = off; the size is the features' text_buckets.
    """

    n_items: int
    n_brands: int
    n_categories: int
    text_dim: int
    n_token_buckets: int = 0


class ItemEncoder(nn.Module):
    """Concatenated feature embeddings → LayerNorm → MLP; the tables are frozen buffers.

    The id embedding starts at zero, so an id never seen in training stays exactly at the
    "id dropped" input that ``id_dropout`` trained the model to handle.
    """

    def __init__(self, config: ModelConfig, dims: ItemDims) -> None:
        super().__init__()
        self.config, self.dims = config, dims
        c, n, d = config, dims, config.d_model
        self.id_emb = nn.Embedding(n.n_items + 1, d, padding_idx=0) if c.use_id else None
        if self.id_emb is not None:
            nn.init.zeros_(self.id_emb.weight)
        self.brand_emb = nn.Embedding(n.n_brands + 1, d, padding_idx=0) if c.use_brand else None
        # a bag, not Embedding + mean: no [M, C, D] tensor per step (categories are ragged)
        self.cat_emb = (
            nn.EmbeddingBag(n.n_categories + 1, d, mode="mean", padding_idx=0)
            if c.use_categories
            else None
        )
        self.price_mlp = (
            nn.Sequential(nn.Linear(2, d), nn.GELU(), nn.Linear(d, d)) if c.use_price else None
        )
        self.text_proj = nn.Linear(n.text_dim, d) if c.use_text else None
        self.token_emb = (
            nn.EmbeddingBag(n.n_token_buckets + 1, d, mode=_BAG_MODE[c.token_pooling],
                            padding_idx=0)
            if n.n_token_buckets > 0
            else None
        )  # fmt: skip
        # one learned score per word bucket
        self.token_score = (
            nn.Embedding(n.n_token_buckets + 1, 1, padding_idx=0)
            if self.token_emb is not None and c.token_pooling == "learned"
            else None
        )
        if self.token_score is not None:
            nn.init.zeros_(self.token_score.weight)  # all alike: the pooling starts as the mean
        n_parts = sum(getattr(c, f"use_{part}") for part in ITEM_PARTS)
        n_parts += self.token_emb is not None
        self.mlp = nn.Sequential(
            nn.LayerNorm(n_parts * d),
            nn.Linear(n_parts * d, d),
            nn.GELU(),
            nn.Dropout(c.dropout),
            nn.Linear(d, d),
        )
        # Catalogue data, not weights: non-persistent so the state dict holds learned
        # parameters only and a refreshed catalogue does not invalidate a checkpoint.
        for name in (*_TABLES, "tokens", "token_idf"):
            self.register_buffer(name, None, persistent=False)

    def set_tables(self, tables: ItemTablesLike) -> None:
        """Attach the catalogue tables (copied to this module's device, never trained)."""
        n = self.dims.n_items + 1
        for name in _TABLES:
            value = getattr(tables, name)
            if value.shape[0] != n:
                raise ConfigError(
                    f"item table '{name}' has {value.shape[0]} rows; n_items="
                    f"{self.dims.n_items} needs {n} (row 0 = padding)"
                )
        if tables.text.shape[1] != self.dims.text_dim:
            raise ConfigError(
                f"item table 'text' has width {tables.text.shape[1]}; text_dim={self.dims.text_dim}"
            )
        device = self.mlp[1].weight.device
        for name in _TABLES:
            setattr(self, name, getattr(tables, name).detach().to(device))
        if self.token_emb is not None:
            self.tokens = self._token_table(tables).detach().to(device)
            # over the whole catalogue's texts (no labels): what a shop knows of its toys
            self.token_idf = inverse_document_frequency(self.tokens, self.dims.n_token_buckets)

    def _token_table(self, tables: ItemTablesLike) -> Tensor:
        tokens = getattr(tables, "tokens", None)
        if tokens is None or tokens.shape[0] != self.dims.n_items + 1:
            raise ConfigError(
                f"n_token_buckets={self.dims.n_token_buckets} needs an item table 'tokens' "
                f"with {self.dims.n_items + 1} rows (features.text_buckets > 0)"
            )
        if int(tokens.max()) > self.dims.n_token_buckets:
            raise ConfigError(
                f"item table 'tokens' holds bucket {int(tokens.max())}; "
                f"n_token_buckets={self.dims.n_token_buckets}"
            )
        return tokens

    def forward(self, items: Tensor) -> Tensor:
        """Item indices ``[*]`` → ``[*, D]``; index 0 gives zeros."""
        if self.text is None:
            raise ConfigError("item encoder has no tables; call set_tables(tables) first")
        flat = items.reshape(-1)  # [M]
        out = self.encode_features(
            brand=self.brand[flat],
            categories=self.categories[flat],
            log_price=self.log_price[flat],
            price_missing=self.price_missing[flat],
            text=self.text[flat],
            ids=flat,
            tokens=None if self.tokens is None else self.tokens[flat],
        )  # [M, D]
        out = out * (flat != 0).unsqueeze(-1).to(out.dtype)
        return out.reshape(*items.shape, -1)

    def all_items(self) -> Tensor:
        """The whole catalogue ``[N+1, D]`` for full-catalogue scoring (row 0 = zeros); the
        tables are read whole, not gathered row by row."""
        if self.text is None:
            raise ConfigError("item encoder has no tables; call set_tables(tables) first")
        ids = torch.arange(self.dims.n_items + 1, device=self.mlp[1].weight.device)
        out = self.encode_features(self.brand, self.categories, self.log_price,
                                   self.price_missing, self.text, ids, self.tokens)  # fmt: skip
        return out.index_fill(0, ids[:1], 0.0)  # the padding item

    def encode_features(
        self,
        brand: Tensor,
        categories: Tensor,
        log_price: Tensor,
        price_missing: Tensor,
        text: Tensor,
        ids: Tensor | None = None,
        tokens: Tensor | None = None,
    ) -> Tensor:
        """Encode ``M`` items from raw features ``[M]``, ``[M, C]``, ``[M]``, ``[M]``, ``[M, T]``.

        ``ids=None`` encodes toys outside the tables (a new toy being evaluated) from their
        features alone, the same input the model sees when the id is dropped.
        """
        parts = []
        if self.id_emb is not None:
            parts.append(self._id_part(ids, brand.shape[0], text.dtype))
        if self.brand_emb is not None:
            parts.append(self.brand_emb(brand))  # [M, D]
        if self.cat_emb is not None:
            parts.append(self._category_mean(categories))
        if self.price_mlp is not None:
            parts.append(self.price_mlp(torch.stack([log_price, price_missing], dim=-1)))
        if self.text_proj is not None:
            parts.append(self.text_proj(text))  # [M, D]
        if self.token_emb is not None:
            parts.append(self._token_bag(tokens, text))  # [M, D]
        return self.mlp(torch.cat(parts, dim=-1))  # [M, D]

    def _token_bag(self, tokens: Tensor | None, text: Tensor) -> Tensor:
        """Mean embedding of the hashed tokens ``[M, L]`` (0 = pad; no token gives zeros); a
        toy given without tokens (``None``) is encoded as one without text words."""
        assert self.token_emb is not None
        if tokens is None:
            return text.new_zeros(text.shape[0], self.config.d_model)
        if self.token_score is None:
            return self.token_emb(tokens)  # [M, D]
        # [M, L] weights, a softmax over each toy's words; a toy without words gets none
        scores = self.token_score(tokens).squeeze(-1).masked_fill(tokens == 0, float("-inf"))
        weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
        return self.token_emb(tokens, per_sample_weights=weights)  # [M, D]

    def _id_part(self, ids: Tensor | None, m: int, dtype: torch.dtype) -> Tensor:
        assert self.id_emb is not None
        if ids is None:
            return torch.zeros(
                m, self.config.d_model, dtype=dtype, device=self.id_emb.weight.device
            )
        emb = self.id_emb(ids)  # [M, D]
        p = self.config.id_dropout
        if self.training and p > 0:
            # Not rescaled by 1/(1-p): at serving a dropped id must look exactly like this.
            keep = torch.rand(ids.shape, device=ids.device) >= p  # [M]
            emb = emb * keep.unsqueeze(-1).to(emb.dtype)
        return emb

    def _category_mean(self, categories: Tensor) -> Tensor:
        """Mean of the item's category embeddings ``[M, C]`` → ``[M, D]``; padding (0) is
        left out of the mean, and an item without categories gives zeros."""
        assert self.cat_emb is not None
        return self.cat_emb(categories)


def inverse_document_frequency(ids: Tensor, n_ids: int, min_count: int = 2) -> Tensor:
    """``[n_ids + 1]`` smoothed IDF of each id over the rows of ``ids`` [N, L] (0 = padding),
    as scikit-learn's TfidfVectorizer computes it: ln((1 + N) / (1 + df)) + 1; 0 for an id in
    fewer than ``min_count`` rows (its min_df: a word of one toy tells nothing of another)."""
    ordered = ids.sort(dim=-1).values
    first = torch.ones_like(ordered, dtype=torch.bool)
    first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]  # each id once per row
    df = torch.bincount(ordered[first & (ordered > 0)], minlength=n_ids + 1).to(torch.float32)
    idf = torch.log((1.0 + ids.shape[0]) / (1.0 + df)) + 1.0
    idf[df < min_count] = 0.0
    idf[0] = 0.0
    return idf
