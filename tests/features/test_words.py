"""features/words.py: a toy's words as hashed or vocabulary ids."""

from __future__ import annotations

import pytest

from toyguide.errors import ConfigError
from toyguide.features.data import FeatureConfig
from toyguide.features.words import WordInput, fit_word_vocabulary, word_grams, word_ids

TEXTS = ["LEGO Star Wars set", "Lego star fighter", "Wooden jigsaw 1000 pieces", "lego"]


def test_word_grams_are_the_first_words_and_their_pairs() -> None:
    assert word_grams("LEGO Star-Wars", 128) == ["lego", "star", "wars", "lego star",
                                                  "star wars"]  # fmt: skip
    assert word_grams("a b c", 2) == ["a", "b", "a b"] and word_grams(None, 5) == []


def test_the_vocabulary_keeps_the_grams_two_texts_share_most_shared_first() -> None:
    vocab = fit_word_vocabulary(TEXTS, 128, size=100)
    # "lego" is in three texts, "star" and "lego star" in two; a word of one toy is not kept
    assert set(vocab.tokens) == {"lego", "star", "lego star"}
    assert list(vocab.tokens) == sorted(vocab.tokens)  # ids independent of the text order
    assert fit_word_vocabulary(TEXTS[::-1], 128, size=100) == vocab
    assert fit_word_vocabulary(TEXTS, 128, size=1).tokens == ("lego",)  # the most shared


def test_vocabulary_ids_drop_unknown_words_and_hashed_ids_keep_them() -> None:
    vocab = fit_word_vocabulary(TEXTS, 128, size=100)
    ids = word_ids("Lego star cruiser", WordInput("vocabulary", 100, 128, vocab))
    assert vocab.lookup(ids) == ["lego", "star", "lego star"]
    assert word_ids("cruiser", WordInput("vocabulary", 100, 128, vocab)) == []
    hashed = word_ids("Lego star cruiser", WordInput("hashed", 100, 128))
    assert len(hashed) == 5 and all(1 <= i <= 100 for i in hashed)
    with pytest.raises(ConfigError, match="vocabulary"):
        word_ids("lego", WordInput("vocabulary", 100, 128))


def test_an_unknown_word_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="text_tokens"):
        FeatureConfig(tasks=("attributes",), text_tokens="bpe")  # type: ignore[arg-type]
