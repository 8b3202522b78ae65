"""Attributes head: a toy's age band, gender target, functions and categories from its encoding,
and, when configured, its top-level category and price band."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from toyguide.data.taxonomy import AGE_BANDS, FUNCTIONS, GENDER_TARGETS
from toyguide.errors import ConfigError
from toyguide.models.heads.bag import LinearBag
from toyguide.models.losses import (
    LossOutput,
    masked_bce_with_logits,
    masked_cross_entropy,
    sum_losses,
)

__all__ = ["AttributesHead", "AttributesHeadConfig"]


@dataclass(frozen=True)
class AttributesHeadConfig:
    """``n_categories`` is C, the number of real categories (the vocabulary less index 0 =
    unknown): output column j is vocabulary index j + 1, as in the labels. ``n_price_bands``
    > 0 adds a price-band output, ``top_category`` a root-category output over the categories,
    ``n_token_buckets`` > 0 a word term per target over that many hashed-word buckets
    (``ModelConfig.attribute_words``); all off by default, so older checkpoints keep loading."""

    d_model: int
    n_categories: int
    n_price_bands: int = 0
    top_category: bool = False
    n_token_buckets: int = 0
    word_scale: float = 30.0
    word_idf: bool = False  # the word term weighs each word by the IDF it is given

    def __post_init__(self) -> None:
        if self.d_model < 1 or self.n_categories < 0:
            raise ConfigError(
                "attributes head: d_model must be >= 1 and n_categories >= 0 (a store may have "
                f"none), got d_model={self.d_model}, n_categories={self.n_categories}"
            )
        if self.n_token_buckets < 0:
            raise ConfigError(
                f"attributes head: n_token_buckets must be >= 0, got {self.n_token_buckets}"
            )
        if self.n_price_bands == 1 or self.n_price_bands < 0:
            raise ConfigError(
                f"attributes head: n_price_bands must be 0 (off) or >= 2, got {self.n_price_bands}"
            )


class AttributesHead(nn.Module):
    """Linear logits per target: ``age_band`` [B, 6], ``gender_target`` [B, 3], ``functions``
    [B, 15], ``categories`` [B, C]; if configured ``top_category`` [B, C] and ``price_band`` [B, P].

    A target's loss is computed only when the batch carries its labels, so one head serves a
    run with any subset of the targets switched on."""

    def __init__(self, config: AttributesHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.age_band = nn.Linear(config.d_model, len(AGE_BANDS))
        self.gender_target = nn.Linear(config.d_model, len(GENDER_TARGETS))
        self.functions = nn.Linear(config.d_model, len(FUNCTIONS))
        self.categories = nn.Linear(config.d_model, config.n_categories)
        self.top_category = (
            nn.Linear(config.d_model, config.n_categories) if config.top_category else None
        )
        self.price_band = (
            nn.Linear(config.d_model, config.n_price_bands) if config.n_price_bands else None
        )
        # the word term's targets: all but the full category path (C wide, rarely a target,
        # and the largest table by far); one bag for all of them, a single lookup per batch
        self.widths = {name: layer.out_features for name, layer in self._layers().items()
                       if name != "categories"}  # fmt: skip
        self.words = (
            LinearBag(config.n_token_buckets, sum(self.widths.values()), config.word_scale)
            if config.n_token_buckets
            else None
        )

    def _layers(self) -> dict[str, nn.Linear]:
        names = ("age_band", "gender_target", "functions", "categories", "top_category",
                 "price_band")  # fmt: skip
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def forward(
        self, h: Tensor, tokens: Tensor | None = None, idf: Tensor | None = None
    ) -> dict[str, Tensor]:
        """Logits per target of encodings ``h`` [B, D], plus the word term of the toys' hashed
        words ``tokens`` [B, L] (0 = padding) when the head has one and they are given, each
        word weighed by ``idf`` [buckets + 1] when the head weighs words so."""
        out = self._encoding_logits(h)
        if self.words is None or tokens is None:
            return out
        if self.config.word_idf and idf is None:
            raise ConfigError("attributes head: word_idf needs the catalogue's word IDF")
        weights = idf[tokens] if self.config.word_idf else None
        words = self.words(tokens, weights).split(list(self.widths.values()), dim=-1)
        return out | {name: out[name] + w for name, w in zip(self.widths, words, strict=True)}

    def _encoding_logits(self, h: Tensor) -> dict[str, Tensor]:
        out = {
            "age_band": self.age_band(h),  # [B, 6]
            "gender_target": self.gender_target(h),  # [B, 3]
            "functions": self.functions(h),  # [B, 15]
            "categories": self.categories(h),  # [B, C]: column j = vocabulary j + 1
        }
        if self.top_category is not None:
            out["top_category"] = self.top_category(h)  # [B, C]: column j = vocabulary j + 1
        if self.price_band is not None:
            out["price_band"] = self.price_band(h)  # [B, P]
        return out

    def losses(self, outputs: dict[str, Tensor], batch: dict[str, Tensor]) -> dict[str, LossOutput]:
        """Each target's masked loss (CE for the single-label targets, BCE for the multi-labels),
        for the targets whose labels the batch carries (``features.attribute_targets``)."""
        missing = [t for t in _SINGLE_LABEL if t in batch and t not in outputs]
        if missing:
            raise ConfigError(f"attributes head: labels for {missing} but no such output")
        losses = {
            t: masked_cross_entropy(outputs[t], batch[t]) for t in _SINGLE_LABEL if t in batch
        }
        if "functions" in batch:
            losses["functions"] = masked_bce_with_logits(
                outputs["functions"], batch["functions"], batch["functions_mask"]
            )
        if "categories" in batch:
            losses["categories"] = masked_bce_with_logits(
                outputs["categories"], batch["categories"], batch["categories_mask"]
            )
        if not losses:
            raise ConfigError("attributes head: the batch carries no label this head predicts")
        return losses

    def loss(self, outputs: dict[str, Tensor], batch: dict[str, Tensor]) -> LossOutput:
        """Sum of the targets' mean losses; the count is all labels used."""
        return sum_losses(self.losses(outputs, batch))


_SINGLE_LABEL = ("age_band", "gender_target", "top_category", "price_band")
