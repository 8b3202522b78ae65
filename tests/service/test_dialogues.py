"""The dialogue stores' contract — bounded, least recently used first out, forgotten after the
TTL — for the in-memory one (one process) and the shared SQLite one (several workers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from toyguide.guide.dialogue import Dialogue
from toyguide.guide.request import MAX_KEYWORDS
from toyguide.service.dialogue_db import SharedDialogueStore
from toyguide.service.dialogues import DialogueStore


def made_up_words(n: int) -> list[str]:
    """``n`` distinct words the parser knows nothing of, so each becomes a keyword."""
    return ["".join("bcdfghjklm"[int(d)] for d in f"{i:03d}") + "ox" for i in range(n)]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Ticking(Clock):
    """A clock that moves on a little at every reading, as a real one does."""

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Any]:
    """``new_store(max_items, ttl_s, clock=None)``: a store of the kind under test."""

    def make(max_items: int, ttl_s: float, clock: Callable[[], float] | None = None) -> Any:
        if request.param == "memory":
            return DialogueStore(max_items, ttl_s, **({"clock": clock} if clock else {}))
        return SharedDialogueStore(
            tmp_path / "d.sqlite3", max_items, ttl_s, clock=clock or Ticking()
        )

    return make


def test_least_recently_used_goes_first(new_store: Callable[..., Any]) -> None:
    store = new_store(max_items=2, ttl_s=100)
    store.put("a", {"n": 1})
    store.put("b", {"n": 2})
    assert store.get("a") == {"n": 1}  # a is now the most recent
    store.put("c", {"n": 3})
    assert store.get("b") is None and store.get("a") and store.get("c") and len(store) == 2


def test_dialogues_expire_after_their_last_turn(new_store: Callable[..., Any]) -> None:
    clock = Clock()
    store = new_store(max_items=10, ttl_s=60, clock=clock)
    store.put("a", {})
    clock.now = 50
    assert store.get("a") == {}  # a read does not extend it; a turn (put) does
    store.put("a", {"turns": 2})
    clock.now = 100
    assert store.get("a") == {"turns": 2}
    clock.now = 200
    store.put("b", {})  # expired entries are dropped on the next write
    assert len(store) == 1 and store.get("a") is None


def test_ids_are_unguessable_and_distinct() -> None:
    ids = {DialogueStore.new_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) >= 24 for i in ids)


def test_saved_dialogues_can_always_be_rebuilt(new_store: Callable[..., Any]) -> None:
    dialogue = Dialogue()
    dialogue.say(" ".join(made_up_words(90)) + " " + "z" * 150)
    store = new_store(max_items=1, ttl_s=60)
    store.put("a", dialogue.to_dict())
    rebuilt = Dialogue.from_dict(store.get("a"))
    assert len(rebuilt.request.keywords) == MAX_KEYWORDS
    assert rebuilt.request.keywords[-1] == made_up_words(90)[-1]  # the latest are kept
