"""Guide dialogues between turns: a bounded in-memory LRU with a time to live.

A dialogue is kept as ``Dialogue.to_dict()`` (plain JSON, no model inside), so a reload does
not disturb the conversations in progress; each turn rebuilds it against the guide of the
moment. Keys are ``secrets.token_urlsafe`` ids, unguessable, so one shopper cannot continue
another's dialogue. Two turns sent at once on one dialogue: the later write wins.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from toyguide.guide.request import MAX_KEYWORD_CHARS, MAX_KEYWORDS

__all__ = ["DialogueStore"]

ID_BYTES = 18  # 24 URL-safe characters


class DialogueStore:
    """``max_items`` dialogues at most (the least recently used go first), each forgotten
    ``ttl_s`` seconds after its last turn."""

    def __init__(
        self, max_items: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_items, self.ttl_s, self._clock = max_items, ttl_s, clock
        self._items: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(ID_BYTES)

    def get(self, dialogue_id: str) -> dict[str, Any] | None:
        """The saved dialogue, or None when unknown or expired."""
        now = self._clock()
        with self._lock:
            found = self._items.get(dialogue_id)
            if found is None:
                return None
            if now - found[0] > self.ttl_s:
                del self._items[dialogue_id]
                return None
            self._items.move_to_end(dialogue_id)
            return found[1]

    def put(self, dialogue_id: str, dialogue: dict[str, Any]) -> dict[str, Any]:
        """Keep ``dialogue`` (made ``restorable``) and return what was kept."""
        kept = restorable(dialogue)
        now = self._clock()
        with self._lock:
            self._items[dialogue_id] = (now, kept)
            self._items.move_to_end(dialogue_id)
            while self._items:  # expired first (the oldest are at the front), then over-size
                oldest_id, (touched, _) = next(iter(self._items.items()))
                if len(self._items) <= self.max_items and now - touched <= self.ttl_s:
                    break
                del self._items[oldest_id]
        return kept

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def restorable(dialogue: dict[str, Any]) -> dict[str, Any]:
    """The dialogue with its keywords within ``GuideRequest.from_dict``'s bounds (the latest
    ``MAX_KEYWORDS``, none over ``MAX_KEYWORD_CHARS``), so the next turn can rebuild it.

    ``Dialogue.say`` keeps every keyword of every turn, so one long turn can exceed the bounds
    its own ``from_dict`` enforces; without this the next turn would be refused.
    """
    request = dialogue.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("keywords"), list):
        return dialogue
    keywords = [k for k in request["keywords"] if len(k) <= MAX_KEYWORD_CHARS][-MAX_KEYWORDS:]
    return {**dialogue, "request": {**request, "keywords": keywords}}
