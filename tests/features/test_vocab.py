from __future__ import annotations

import json

import polars as pl
import pytest

from toyguide.errors import ToyGuideError
from toyguide.features.vocab import PAD, Vocabulary


def test_fit_sorts_and_reserves_zero() -> None:
    v = Vocabulary.fit(["lego", "brio", None, "lego", "apex"])
    assert v.tokens == ("apex", "brio", "lego")
    assert len(v) == 4  # the padding row counts
    assert v.transform(["apex", "lego"]).tolist() == [1, 3]
    assert v.index("brio") == 2 and PAD == 0


def test_unknown_and_missing_map_to_zero() -> None:
    v = Vocabulary.fit(["a", "b"])
    assert v.transform(pl.Series(["b", "zzz", None])).tolist() == [2, 0, 0]
    assert v.index(None) == 0 and v.index("zzz") == 0
    assert Vocabulary([]).transform(["a"]).tolist() == [0]


def test_json_round_trip_keeps_every_index() -> None:
    v = Vocabulary.fit(["Toys & Games", "益智玩具", "STEM & Science"])
    text = v.to_json()
    json.loads(text)  # plain JSON, no pickle
    back = Vocabulary.from_json(text)
    assert back == v
    assert back.transform(list(v.tokens)).tolist() == [1, 2, 3]
    assert back.lookup([0, 1]) == [None, v.tokens[0]]


def test_order_of_rows_does_not_change_ids() -> None:
    assert Vocabulary.fit(["c", "a", "b"]) == Vocabulary.fit(["b", "c", "a"])


def test_bad_stored_vocabulary_is_a_clear_error() -> None:
    with pytest.raises(ToyGuideError, match="tokens"):
        Vocabulary.from_dict({"words": ["a"]})
    with pytest.raises(ToyGuideError, match="unique"):
        Vocabulary(["a", "a"])
