"""Dialogues shared by worker processes (SQLite): the in-memory store's contract, across
two stores on one file as two workers have them."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from toyguide.guide.dialogue import Dialogue
from toyguide.guide.request import MAX_KEYWORDS
from toyguide.service.dialogue_db import SharedDialogueStore

from .test_dialogues import Clock, made_up_words


class Ticking(Clock):
    """A clock that moves on a little at every reading, as a real one does."""

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


def test_a_dialogue_put_by_one_worker_is_read_and_continued_by_another(tmp_path: Path) -> None:
    path = tmp_path / "dialogues.sqlite3"
    first, second = SharedDialogueStore(path, 10, 60), SharedDialogueStore(path, 10, 60)
    first.put("a", {"turns": 1, "request": {"keywords": ["dino"]}})
    assert second.get("a") == {"turns": 1, "request": {"keywords": ["dino"]}}
    second.put("a", {"turns": 2})
    assert first.get("a") == {"turns": 2} and len(first) == len(second) == 1
    first.close()
    second.close()


def test_least_recently_used_goes_first(tmp_path: Path) -> None:
    store = SharedDialogueStore(tmp_path / "d.sqlite3", max_items=2, ttl_s=100, clock=Ticking())
    store.put("a", {"n": 1})
    store.put("b", {"n": 2})
    assert store.get("a") == {"n": 1}  # a is now the most recent
    store.put("c", {"n": 3})
    assert store.get("b") is None and store.get("a") and store.get("c") and len(store) == 2


def test_dialogues_expire_after_their_last_turn(tmp_path: Path) -> None:
    clock = Clock()
    store = SharedDialogueStore(tmp_path / "d.sqlite3", max_items=10, ttl_s=60, clock=clock)
    store.put("a", {})
    clock.now = 50
    assert store.get("a") == {}  # a read does not extend it; a turn (put) does
    store.put("a", {"turns": 2})
    clock.now = 100
    assert store.get("a") == {"turns": 2}
    clock.now = 200
    store.put("b", {})  # expired entries are dropped on the next write
    assert len(store) == 1 and store.get("a") is None


def test_saved_dialogues_can_always_be_rebuilt(tmp_path: Path) -> None:
    dialogue = Dialogue()
    dialogue.say(" ".join(made_up_words(90)) + " " + "z" * 150)
    store = SharedDialogueStore(tmp_path / "d.sqlite3", max_items=1, ttl_s=60)
    store.put("a", dialogue.to_dict())
    rebuilt = Dialogue.from_dict(store.get("a"))
    assert len(rebuilt.request.keywords) == MAX_KEYWORDS


def _put_many(path: str, worker: int) -> None:
    store = SharedDialogueStore(Path(path), max_items=10_000, ttl_s=60)
    for i in range(50):
        store.put(f"{worker}-{i}", {"worker": worker, "i": i})
    store.close()


def test_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite3"
    SharedDialogueStore(path, 10_000, 60).close()  # created once, as the first worker does
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_put_many, args=(str(path), w)) for w in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    store = SharedDialogueStore(path, 10_000, 60)
    assert len(store) == 100 and store.get("1-49") == {"worker": 1, "i": 49}
