"""Admin reloads that reach every worker process, through a marker file.

``POST /v1/admin/reload`` reaches one worker. That worker loads the folder; only when the
load succeeded does it write ``<runtime folder>/reload.json`` (the folder and a fresh token,
written to a temporary file and renamed, so a reader never sees half of it). Every worker
looks at the marker's ``stat`` once a ``check_s`` (a system call, no read while nothing
changed) and, on a token it has not applied, loads that folder itself. A folder that fails to
load is never published, so every worker stays on the old model; a worker that fails to load
a published folder logs it and stays on its model (its ``/ready`` shows which folder it
serves). A worker starting later (the supervisor replaces one that died) starts on the
marker's folder (``published_dir``). ``toyguide serve`` removes a marker left by an earlier run.

Per process, one lock covers "reload then publish" and "read the marker then reload", so a
worker never installs an older marker's folder over a newer one; between processes the last
rename wins and every worker converges on it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from toyguide.errors import ToyGuideError
from toyguide.service.holder import GuideHolder

__all__ = ["MARKER", "ReloadSync", "clear_marker", "read_marker"]

log = logging.getLogger("toyguide.service")

MARKER = "reload.json"


def read_marker(folder: Path) -> dict[str, str] | None:
    """The marker's ``{"token", "model_dir"}``, or None when there is none (or it is not one
    this module wrote: a worker keeps its model rather than guess)."""
    try:
        found = json.loads((folder / MARKER).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.error("ignoring the reload marker %s: %s", folder / MARKER, exc)
        return None
    if not isinstance(found, dict) or not {"token", "model_dir"} <= set(found):
        log.error("ignoring the reload marker %s: not a marker", folder / MARKER)
        return None
    return found


def clear_marker(folder: Path) -> None:
    (folder / MARKER).unlink(missing_ok=True)


class ReloadSync:
    """One worker's side of the marker: publish its reloads, follow the others'."""

    def __init__(self, holder: GuideHolder, folder: Path, check_s: float) -> None:
        self.holder, self.folder, self.check_s = holder, Path(folder), check_s
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = self._stat()  # before the read: a later write shows
        marker = read_marker(self.folder)
        self._applied = marker["token"] if marker else None
        # The folder last published: a worker starting after a reload loads it, not the
        # configured one (read once, with the token, so the two always agree).
        self.published_dir = Path(marker["model_dir"]) if marker else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reload(self, model_dir: Path | None) -> dict[str, Any]:
        """This worker's reload, published to the others once it succeeded."""
        with self._lock:
            info = self.holder.reload(model_dir)
            self._applied = self._publish(self.holder.model_dir)
            return info

    def check(self) -> bool:
        """Apply a marker written by another worker since the last check; True if it did."""
        if self._stat() == self._seen:
            return False
        with self._lock:
            self._seen = self._stat()
            marker = read_marker(self.folder)
            if marker is None or marker["token"] == self._applied:
                return False
            self._applied = marker["token"]  # tried once: a failure is not retried each second
            try:
                self.holder.reload(Path(marker["model_dir"]))
            except ToyGuideError as exc:
                log.error("following a reload to %s failed, serving on %s: %s",
                          marker["model_dir"], self.holder.model_dir, exc)  # fmt: skip
                return False
            log.info("followed another worker's reload to %s", marker["model_dir"])
            return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="toyguide-reload-sync",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _watch(self) -> None:
        while not self._stop.wait(self.check_s):
            try:
                self.check()
            except Exception:  # a bug here must not end the watching
                log.exception("checking the reload marker failed")

    def _publish(self, model_dir: Path) -> str:
        token = secrets.token_hex(8)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{MARKER}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"token": token, "model_dir": str(model_dir)}))
        os.replace(tmp, self.folder / MARKER)
        self._seen = self._stat()
        return token

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.folder / MARKER)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns
