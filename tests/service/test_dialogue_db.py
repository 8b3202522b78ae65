"""Dialogues shared by worker processes (SQLite) across two stores on one file, as two
workers have them (the contract both stores keep: test_dialogues.py)."""

from __future__ import annotations

import subprocess
import sys
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


# A separate interpreter per writer, as a worker is: the code is given inline, so the child
# does not need to import this test module (its package path depends on how pytest was run).
PUT_MANY = """
import sys
from pathlib import Path
from toyguide.service.dialogue_db import SharedDialogueStore
store = SharedDialogueStore(Path(sys.argv[1]), max_items=10_000, ttl_s=60)
for i in range(50):
    store.put(f"{sys.argv[2]}-{i}", {"worker": int(sys.argv[2]), "i": i})
store.close()
"""


def test_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite3"
    SharedDialogueStore(path, 10_000, 60).close()  # created once, as the first worker does
    workers = [
        subprocess.Popen([sys.executable, "-c", PUT_MANY, str(path), str(w)]) for w in range(2)
    ]
    for w in workers:
        assert w.wait(timeout=120) == 0
    store = SharedDialogueStore(path, 10_000, 60)
    assert len(store) == 100 and store.get("1-49") == {"worker": 1, "i": 49}


def test_a_store_reopened_with_a_smaller_bound_forgets_the_least_recently_used(
    tmp_path: Path,
) -> None:
    path = tmp_path / "d.sqlite3"
    ticks = iter(range(1_000))
    big = SharedDialogueStore(path, 10, 60, clock=lambda: float(next(ticks)))
    for i in range(10):
        big.put(f"d{i}", {"i": i})
    assert big.get("d0") == {"i": 0}  # read last: the most recently used of the ten
    big.close()
    small = SharedDialogueStore(path, 3, 60, clock=lambda: float(next(ticks)))
    small.put("new", {"i": 10})  # one turn trims seven rows at once
    assert len(small) == 3
    assert [small.get(d) is not None for d in ("new", "d0", "d9", "d8")] == [
        True, True, True, False,
    ]  # fmt: skip
    small.close()
