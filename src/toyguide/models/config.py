"""The model's hyper-parameters: one frozen dataclass read by every part of the model."""

from __future__ import annotations

from dataclasses import dataclass

from toyguide.errors import ConfigError

__all__ = ["ITEM_PARTS", "POSITIONS", "TOKEN_POOLINGS", "ModelConfig"]

ITEM_PARTS = ("id", "brand", "categories", "price", "text")
"""The item encoder's switchable inputs, each ``use_<part>`` in :class:`ModelConfig`."""

TOKEN_POOLINGS = ("mean", "learned")
POSITIONS = ("latest", "first")


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the whole model, the one place that sets them: every encoder,
    mixer and head reads its width (``d_model``), switches and dropouts from here; sizes of
    the data come from ``TaskData.dims()``.

    ``id_dropout``: the chance, per item occurrence in training, that the id embedding is
    zeroed, so the model learns to describe a toy from its features, all a new toy has.

    ``token_pooling``: how the hashed words of a toy's text (``features.text_buckets``) are
    pooled: ``"mean"`` (every word alike) or ``"learned"`` (a learned weight per word, softmax
    over the toy's words: the words that decide a label, "jigsaw" or a brand, can outweigh the
    filler, as TF-IDF weights them; starts as the mean).

    ``attribute_words``: the attributes head adds, to each target's logits, a linear term over
    the toy's hashed words (a learned weight per word and label, averaged over the toy's
    words: logistic regression on the bag of words, beside the shared encoding), so the exact
    words that decide a label ("jigsaw", a brand, "0-3 months") reach it without passing the
    encoder's bottleneck; needs ``features.text_buckets > 0`` (ignored without).
    ``attribute_word_scale`` multiplies that term: its weights learn this much faster than
    the rest (see ``heads/bag.py``). ``attribute_word_idf`` weighs each word by its inverse
    document frequency over the catalogue before the normalisation (TF-IDF's weighting; words
    of a single toy weigh 0), instead of 1 each.

    ``profile_items``: the profile head adds, to each target's logits, a linear term over the
    items of the shopper's events (a learned weight per item and label: logistic regression on
    the bag of items, beside the shopper encoder's state), times ``profile_item_scale``.

    ``length_buckets``: the shopper encoder runs a batch's sequences in groups of similar
    length, each padded only to its own longest (the same states, less padding: most shoppers
    are short and one long one would pad the whole batch to ``max_len``).

    ``positions``: how the shopper encoder counts an event's position: ``"latest"`` (0 = the
    most recent event of the sequence, SASRec's left-padded convention) or ``"first"`` (0 =
    the oldest event in the window). With ``"latest"``, a training position inside a sequence
    carries how many events follow it, and the position every prediction is served from (0)
    is trained once per sequence; with ``"first"`` a state depends on its own past only, the
    same in training and at serving.
    """

    d_model: int = 64
    mixer: str = "mmoe"
    n_experts: int = 4
    n_task_experts: int = 1
    expert_hidden: tuple[int, ...] = (128,)
    mixer_layers: int = 1
    dropout: float = 0.1
    use_id: bool = True
    use_brand: bool = True
    use_categories: bool = True
    use_price: bool = True
    use_text: bool = True
    id_dropout: float = 0.1
    shopper_layers: int = 2
    shopper_heads: int = 2
    shopper_dropout: float = 0.2
    length_buckets: bool = True
    positions: str = "latest"
    token_pooling: str = "mean"
    attribute_words: bool = False
    attribute_word_scale: float = 30.0
    attribute_word_idf: bool = False
    profile_items: bool = False
    profile_item_scale: float = 30.0
    full_softmax_max_items: int = 200_000  # larger catalogues train with sampled softmax
    n_negatives: int = 2048
    # the later_items task (tasks/later_items.py): the events after the next one whose items it
    # predicts, and its output layer: "own" a head of its own (one more softmax per step),
    # "shared" preference's own distribution (no extra softmax; on Amazon Toys it blurred the
    # next-item ranking, so it is not the default)
    later_window: int = 4
    later_head: str = "own"
    # Sales loss weighted by each example's recent level (SalesHeadConfig.weight_by_scale).
    # Off, a toy's launch weeks (no history: level 1) weigh as much as a best-seller's weeks,
    # which is what teaches the new-toy forecast its level and its price response.
    sales_weight_by_scale: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "expert_hidden", tuple(self.expert_hidden))
        if self.d_model < 1:
            raise ConfigError(f"model.d_model must be >= 1, got {self.d_model}")
        if not any(getattr(self, f"use_{part}") for part in ITEM_PARTS):
            raise ConfigError("item encoder: enable at least one of id, brand, categories, ...")
        if self.token_pooling not in TOKEN_POOLINGS:
            raise ConfigError(
                f"model.token_pooling must be one of {', '.join(TOKEN_POOLINGS)}, "
                f"got {self.token_pooling!r}"
            )
        if self.positions not in POSITIONS:
            raise ConfigError(
                f"model.positions must be one of {', '.join(POSITIONS)}, got {self.positions!r}"
            )
        if self.later_window < 1 or self.later_head not in ("shared", "own"):
            raise ConfigError(
                "model.later_window must be >= 1 and model.later_head 'shared' or 'own', got "
                f"{self.later_window} and {self.later_head!r}"
            )
        if self.attribute_word_idf and not self.attribute_words:
            raise ConfigError("model.attribute_word_idf weighs the word term: set attribute_words")
        for name in ("attribute_word_scale", "profile_item_scale"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"model.{name} must be > 0, got {getattr(self, name)}")
        for name in ("dropout", "id_dropout", "shopper_dropout"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"model.{name} must be in [0, 1], got {getattr(self, name)}")
