"""The dialogue store: bounded, least recently used first out, forgotten after the TTL."""

from __future__ import annotations

from toyguide.guide.dialogue import Dialogue
from toyguide.guide.request import MAX_KEYWORDS
from toyguide.service.dialogues import DialogueStore


def made_up_words(n: int) -> list[str]:
    """``n`` distinct words the parser knows nothing of, so each becomes a keyword."""
    return ["".join("bcdfghjklm"[int(d)] for d in f"{i:03d}") + "ox" for i in range(n)]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_least_recently_used_goes_first() -> None:
    store = DialogueStore(max_items=2, ttl_s=100)
    store.put("a", {"n": 1})
    store.put("b", {"n": 2})
    assert store.get("a") == {"n": 1}  # a is now the most recent
    store.put("c", {"n": 3})
    assert store.get("b") is None and store.get("a") and store.get("c") and len(store) == 2


def test_dialogues_expire_after_their_last_turn() -> None:
    clock = Clock()
    store = DialogueStore(max_items=10, ttl_s=60, clock=clock)
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


def test_saved_dialogues_can_always_be_rebuilt() -> None:
    dialogue = Dialogue()
    dialogue.say(" ".join(made_up_words(90)) + " " + "z" * 150)
    store = DialogueStore(max_items=1, ttl_s=60)
    store.put("a", dialogue.to_dict())
    rebuilt = Dialogue.from_dict(store.get("a"))
    assert len(rebuilt.request.keywords) == MAX_KEYWORDS
    assert rebuilt.request.keywords[-1] == made_up_words(90)[-1]  # the latest are kept
