"""Dialogues shared by worker processes (SQLite) across two stores on one file, as two
workers have them (the contract both stores keep: test_dialogues.py)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from toyguide.service.dialogue_db import SharedDialogueStore


def test_a_dialogue_put_by_one_worker_is_read_and_continued_by_another(tmp_path: Path) -> None:
    path = tmp_path / "dialogues.sqlite3"
    first, second = SharedDialogueStore(path, 10, 60), SharedDialogueStore(path, 10, 60)
    first.put("a", {"turns": 1, "request": {"keywords": ["dino"]}})
    assert second.get("a") == {"turns": 1, "request": {"keywords": ["dino"]}}
    second.put("a", {"turns": 2})
    assert first.get("a") == {"turns": 2} and len(first) == len(second) == 1
    first.close()
    second.close()


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
