"""Guide dialogues shared by worker processes: an SQLite file in WAL mode.

With ``--workers N`` (N > 1) the next turn of a dialogue may reach another worker than the
last, so the dialogues live in ``<runtime folder>/dialogues.sqlite3`` rather than in one
process's memory; it keeps ``DialogueStore``'s contract (the same methods, a time to live
counted from the last turn, at most ``max_items`` kept, the least recently used going first).
SQLite (stdlib) because a dialogue is one small JSON row read and written once a turn; WAL
lets readers go on while one process writes, and ``busy_timeout`` makes a writer wait for
another rather than fail. Times are wall-clock seconds, the one clock processes share.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from toyguide.service.dialogues import DialogueStore, restorable

__all__ = ["SharedDialogueStore"]

BUSY_TIMEOUT_MS = 5_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS dialogues (
    id TEXT PRIMARY KEY,
    turned_at REAL NOT NULL,  -- the last turn: the time to live counts from it
    used_at REAL NOT NULL,    -- the last read or turn: the least recently used go first
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dialogues_turned ON dialogues (turned_at);
CREATE INDEX IF NOT EXISTS dialogues_used ON dialogues (used_at);
"""

# The rows past max_items, from the least recently used end of its index: a count and the few
# rows to go. Skipping max_items rows from the other end stepped through all of them on every
# turn (0.35 ms a turn at 10,000 dialogues, growing with max_items, the write lock held).
_FORGET_LEAST_RECENTLY_USED = """
DELETE FROM dialogues WHERE id IN (
    SELECT id FROM dialogues ORDER BY used_at
    LIMIT max(0, (SELECT count(*) FROM dialogues) - ?)
)
"""


class SharedDialogueStore:
    """``DialogueStore`` over an SQLite file that several processes open at once."""

    new_id = staticmethod(DialogueStore.new_id)

    def __init__(
        self, path: Path, max_items: int, ttl_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.path, self.max_items, self.ttl_s, self._clock = Path(path), max_items, ttl_s, clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection per process, used under a lock: a turn's row is tiny, so threads
        # waiting for it cost less than a connection each.
        self._con = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            check_same_thread=False,
        )  # fmt: skip
        self._lock = threading.Lock()
        with self._lock:
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA synchronous=NORMAL")  # a lost dialogue is only a restart
            self._con.executescript(_SCHEMA)

    def get(self, dialogue_id: str) -> dict[str, Any] | None:
        """The saved dialogue, or None when unknown or expired."""
        now = self._clock()
        with self._lock:
            row = self._con.execute(
                "SELECT turned_at, body FROM dialogues WHERE id = ?", [dialogue_id]
            ).fetchone()
            if row is None:
                return None
            if now - row[0] > self.ttl_s:
                self._con.execute("DELETE FROM dialogues WHERE id = ?", [dialogue_id])
                return None
            self._con.execute("UPDATE dialogues SET used_at = ? WHERE id = ?", [now, dialogue_id])
        return json.loads(row[1])

    def put(self, dialogue_id: str, dialogue: dict[str, Any]) -> dict[str, Any]:
        """Keep ``dialogue`` (made ``restorable``) and return what was kept; the expired and
        then the least recently used past ``max_items`` are forgotten."""
        kept = restorable(dialogue)
        body = json.dumps(kept, ensure_ascii=False)
        now = self._clock()
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")  # one writer at a time across processes
            try:
                self._con.execute(
                    "INSERT OR REPLACE INTO dialogues VALUES (?, ?, ?, ?)",
                    [dialogue_id, now, now, body],
                )
                self._con.execute("DELETE FROM dialogues WHERE turned_at < ?", [now - self.ttl_s])
                self._con.execute(_FORGET_LEAST_RECENTLY_USED, [self.max_items])
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
        return kept

    def __len__(self) -> int:
        with self._lock:
            return int(self._con.execute("SELECT count(*) FROM dialogues").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._con.close()
