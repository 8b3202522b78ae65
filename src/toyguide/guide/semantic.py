"""Embedding fallback: leftover request phrases → taxonomy labels by sentence similarity.

Each label has a few descriptive phrases (``lexicon.LABEL_PROTOTYPES``), embedded once with
the offline all-MiniLM-L6-v2 (``features.text.TextEmbedder``). A phrase gets the label whose
closest descriptive phrase has cosine similarity of at least ``THRESHOLD``, and none below.

``THRESHOLD = 0.55`` was read off a calibration list (``tests/guide/test_semantic.py``):
topics named without a lexicon word score well above it ("spaceships and planets" 0.79 to
science_stem, "tea party set" 0.71 to pretend_play, "wild animals" 0.78, "fire trucks and
police cars" 0.61), while words that only sound toy-like stay below ("wheels" 0.53 to
outdoor_active, "soft" 0.52 to plush, "family" 0.50 to games, "colourful" 0.47). A lower cut
would label those adjectives; a higher one would lose "monster trucks" (0.57) and "soft bunny"
(0.56). Below it, paraphrases are missed ("rockets and astronauts" 0.48): a missed label still
leaves its words as keywords, while a wrong label steers the ranking. Phrases are embedded
without generic words ("toys", "set"), which pull every phrase towards whichever label
description also says "toy". Chinese phrases are not embedded: MiniLM-L6 was trained on
English and scores Chinese near noise (恐龙 "dinosaur" 0.16 to "dinosaurs"); the Chinese
lexicon covers those requests instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from toyguide.guide.lexicon import LABEL_PROTOTYPES
from toyguide.guide.request import GuideRequest

__all__ = ["THRESHOLD", "Embedder", "SemanticMatcher", "match_text"]

THRESHOLD = 0.55
_CJK = re.compile(r"[\u3400-\u9fff]")


class Embedder(Protocol):
    """Anything with ``TextEmbedder.embed``'s contract: ``[n, d]`` float vectors."""

    def embed(self, texts: list[str]) -> np.ndarray: ...


class SemanticMatcher:
    """Labels for free-text phrases; the descriptive phrases are embedded on first use."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        threshold: float = THRESHOLD,
        prototypes: Mapping[str, Sequence[str]] = LABEL_PROTOTYPES,
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.prototypes = prototypes
        self._labels: list[str] = []
        self._vectors: np.ndarray | None = None  # [n_phrases, d], unit rows

    def _prototype_vectors(self) -> tuple[list[str], np.ndarray]:
        if self._vectors is None:
            if self.embedder is None:
                from toyguide.features.text import TextEmbedder  # loads torch: only when used

                self.embedder = TextEmbedder()
            texts = [p for phrases in self.prototypes.values() for p in phrases]
            self._labels = [label for label, ps in self.prototypes.items() for _ in ps]
            self._vectors = _unit(self.embedder.embed(texts))
        return self._labels, self._vectors

    def scores(self, phrases: list[str]) -> dict[str, np.ndarray]:
        """label → ``[n]`` best cosine similarity of each phrase to that label's phrases."""
        labels, vectors = self._prototype_vectors()
        assert self.embedder is not None  # set by _prototype_vectors
        sims = _unit(self.embedder.embed(phrases)) @ vectors.T  # [n, n_prototypes]
        return {
            label: sims[:, [i for i, lab in enumerate(labels) if lab == label]].max(axis=1)
            for label in self.prototypes
        }

    def match(self, phrases: list[str]) -> list[str | None]:
        """The best label of each phrase at or above the threshold; Chinese phrases get none."""
        english = [i for i, p in enumerate(phrases) if p.strip() and not _CJK.search(p)]
        out: list[str | None] = [None] * len(phrases)
        if not english:
            return out
        scores = self.scores([phrases[i] for i in english])
        names = list(scores)
        table = np.stack([scores[n] for n in names], axis=1)  # [n, n_labels]
        for row, i in enumerate(english):
            best = int(table[row].argmax())
            if table[row, best] >= self.threshold:
                out[i] = names[best]
        return out


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, so a dot product is a cosine (fakes need not normalise)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def match_text(text: str, request: GuideRequest) -> str:
    """What the request's text is matched on: the turn plus the kept keywords (refinements like
    "cheaper" carry no content); a turn in Chinese also gets an English phrase per interest,
    since the sentence encoder (English MiniLM) reads Chinese as noise (see above)."""
    words = [text, *request.keywords]
    if _CJK.search(text):
        words += [LABEL_PROTOTYPES[label][0] for label in request.interests]
    return " ".join(words)
