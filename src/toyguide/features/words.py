"""A toy's words as ids: the words of its title, brand and description and their adjacent
pairs, hashed into buckets or looked up in a vocabulary fitted on the catalogue.

Hashing needs nothing fitted, but every word of every toy shares the buckets: at 32,768
buckets the words and pairs of 10,000 toys collide so often that logistic regression on them
loses a point of top-category accuracy to the same model on exact words. The vocabulary keeps
the words and pairs that at least two toys of the catalogue use (TF-IDF's ``min_df = 2``), the
most widely used first, each with its own id; a word no two toys share cannot be learned from
anyway, and a new toy's unknown words are dropped. The vocabulary is fitted on the texts alone
(no labels), so every toy of the catalogue may shape it, as it shapes the word IDF.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import polars as pl

from toyguide.errors import ConfigError
from toyguide.features.vocab import Vocabulary

__all__ = [
    "WORD_TOKENS",
    "WordInput",
    "fit_word_vocabulary",
    "hashed_tokens",
    "word_grams",
    "word_ids",
    "word_input",
    "word_texts",
]

WORD_TOKENS = ("hashed", "vocabulary")
_WORD = re.compile(r"[^\W_]+")


class WordInput(NamedTuple):
    """How a run reads words into ids (``features.text_tokens``, ``text_buckets``,
    ``max_tokens`` and, for ``"vocabulary"``, the fitted vocabulary); buckets 0 = no words."""

    kind: str = "hashed"
    buckets: int = 0
    max_tokens: int = 128
    vocabulary: Vocabulary | None = None


def word_input(config: Any, vocabs: Mapping[str, Vocabulary]) -> WordInput:
    """The ``WordInput`` of a feature config (``text_tokens``, ``text_buckets``,
    ``max_tokens``) with the fitted ``vocabs``' "words", where it has them."""
    return WordInput(config.text_tokens, config.text_buckets, config.max_tokens,
                     vocabs.get("words"))  # fmt: skip


def word_texts(items: pl.DataFrame) -> list[str | None]:
    """Each item's title, brand and description, the text its words are read from."""
    text = pl.concat_str("title", "brand", "description", separator=" ", ignore_nulls=True)
    return items.select(text).to_series().to_list()


def word_grams(text: str | None, max_tokens: int) -> list[str]:
    """The lower-cased words of ``text`` (the first ``max_tokens``) and their adjacent pairs."""
    words = _WORD.findall((text or "").lower())[:max_tokens]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def hashed_tokens(text: str | None, buckets: int, max_tokens: int) -> list[int]:
    """:func:`word_grams` hashed (CRC-32, so the same in every process) into 1..``buckets``."""
    return [zlib.crc32(g.encode()) % buckets + 1 for g in word_grams(text, max_tokens)]


def fit_word_vocabulary(texts: Iterable[str | None], max_tokens: int, size: int) -> Vocabulary:
    """The words and pairs used by at least two of ``texts``, at most ``size`` of them (the
    ones most texts use; ties by the word), in sorted order so that ids do not depend on the
    order the texts are read in."""
    counts = Counter(g for text in texts for g in set(word_grams(text, max_tokens)))
    shared = sorted((g for g, n in counts.items() if n >= 2), key=lambda g: (-counts[g], g))
    return Vocabulary(sorted(shared[:size]))


def word_ids(text: str | None, words: WordInput) -> list[int]:
    """The ids of ``text``'s words and pairs: hashed into ``words.buckets``, or (kind
    "vocabulary") their ids in the vocabulary, words it does not hold left out; none when the
    run reads no words (buckets 0)."""
    if words.buckets <= 0:
        return []
    if words.kind == "hashed":
        return hashed_tokens(text, words.buckets, words.max_tokens)
    if words.vocabulary is None:
        raise ConfigError(
            'features.text_tokens = "vocabulary" needs the fitted word vocabulary (the '
            "features state's vocabs.words); refit the run's features"
        )
    ids = (words.vocabulary.index(g) for g in word_grams(text, words.max_tokens))
    return [i for i in ids if i > 0]
