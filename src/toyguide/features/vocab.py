"""String → index vocabularies, stored as JSON in checkpoints (never pickled).

Index 0 is reserved: it pads sequences and stands for every value the vocabulary has not seen
(and for missing values), so a model built on a fitted vocabulary accepts any input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import polars as pl

from toyguide.errors import ToyGuideError

__all__ = ["PAD", "Vocabulary"]

PAD = 0
"""The padding / unknown index of every vocabulary."""


class Vocabulary:
    """An ordered set of tokens; token ``tokens[i]`` has index ``i + 1``.

    >>> v = Vocabulary.fit(["lego", "brio", None, "lego"])
    >>> v.tokens, v.transform(["brio", "duplo"]).tolist()
    (('brio', 'lego'), [1, 0])
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        self.tokens: tuple[str, ...] = tuple(tokens)
        self._index = {t: i + 1 for i, t in enumerate(self.tokens)}
        if len(self._index) != len(self.tokens):
            raise ToyGuideError("vocabulary tokens must be unique")

    @classmethod
    def fit(cls, values: Iterable[str | None] | pl.Series) -> Vocabulary:
        """The sorted distinct non-missing values: sorting makes the ids independent of the
        order in which rows happen to be read."""
        series = (
            values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.String)
        )
        return cls(series.drop_nulls().unique().sort().to_list())

    def __len__(self) -> int:
        """Size of an embedding table over this vocabulary, the padding row included."""
        return len(self.tokens) + 1

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and other.tokens == self.tokens

    def __hash__(self) -> int:
        return hash(self.tokens)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.tokens)} tokens)"

    def index(self, token: str | None) -> int:
        """The index of one token, 0 when unknown or missing."""
        return self._index.get(token, PAD) if token is not None else PAD

    def transform(self, values: Iterable[str | None] | pl.Series) -> np.ndarray:
        """Int64 indices of ``values``; unknown and missing values map to 0.

        Vectorised through Polars, so a million event ids take well under a second.
        """
        series = (
            values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.String)
        )
        if not self.tokens:
            return np.zeros(len(series), dtype=np.int64)
        mapping = pl.DataFrame(
            {"token": list(self.tokens), "index": np.arange(1, len(self.tokens) + 1)},
            schema={"token": pl.String, "index": pl.Int64},
        )
        frame = pl.DataFrame({"token": series.cast(pl.String)})
        joined = frame.join(mapping, on="token", how="left", maintain_order="left")
        return joined["index"].fill_null(PAD).to_numpy().astype(np.int64, copy=False)

    def lookup(self, indices: Iterable[int]) -> list[str | None]:
        """Tokens of ``indices``; 0 gives ``None``."""
        return [self.tokens[i - 1] if i > 0 else None for i in indices]

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise ToyGuideError("a vocabulary is stored as {'tokens': [...]}")
        return cls(data["tokens"])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        return cls.from_dict(json.loads(text))
