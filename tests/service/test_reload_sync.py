"""The reload marker between workers: follow a published folder once, never a refused one,
and converge on the last one published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from toyguide.errors import CheckpointError
from toyguide.service.reload_sync import MARKER, ReloadSync


class Holder:
    """The part of ``GuideHolder`` the marker uses: a folder served and ``reload``."""

    def __init__(self) -> None:
        self.model_dir, self.loads = Path("first"), 0

    def reload(self, model_dir: Path | None = None) -> dict[str, Any]:
        target = self.model_dir if model_dir is None else Path(model_dir)
        if target.name == "bad":
            raise CheckpointError(f"{target}: checksum mismatch")
        self.model_dir, self.loads = target, self.loads + 1
        return {"folder": str(target)}


def workers(folder: Path, n: int = 2) -> list[tuple[Holder, ReloadSync]]:
    holders = [Holder() for _ in range(n)]
    return [(h, ReloadSync(h, folder, check_s=0.01)) for h in holders]  # type: ignore[arg-type]


def test_a_published_reload_is_followed_once(tmp_path: Path) -> None:
    (_, a_sync), (b, b_sync) = workers(tmp_path)
    assert a_sync.reload(Path("second")) == {"folder": "second"}
    assert not a_sync.check()  # its own marker
    assert b_sync.check() and b.model_dir == Path("second") and b.loads == 1
    assert not b_sync.check() and b.loads == 1
    [(_, late)] = workers(tmp_path, 1)  # a worker started after the reload
    assert late.published_dir == Path("second") and not late.check()


def test_a_refused_folder_is_never_published(tmp_path: Path) -> None:
    (a, a_sync), (b, b_sync) = workers(tmp_path)
    a_sync.reload(Path("second"))
    b_sync.check()
    with pytest.raises(CheckpointError):
        a_sync.reload(Path("bad"))
    assert not b_sync.check() and (a.model_dir, b.model_dir) == (Path("second"), Path("second"))


def test_a_published_folder_a_worker_cannot_load_is_tried_once(tmp_path: Path, caplog) -> None:
    (_, a_sync), (b, b_sync) = workers(tmp_path)
    a_sync._publish(Path("bad"))  # loaded by a worker, unreadable by this one
    assert not b_sync.check() and b.model_dir == Path("first")
    assert "following a reload to bad failed, serving on first" in caplog.text
    assert not b_sync.check() and b.loads == 0


def test_the_last_reload_published_wins(tmp_path: Path) -> None:
    (a, a_sync), (b, b_sync) = workers(tmp_path)
    a_sync.reload(Path("x"))
    b_sync.reload(Path("y"))  # b has not looked at a's marker yet
    assert a_sync.check() and a.model_dir == Path("y")
    assert not b_sync.check() and b.model_dir == Path("y")


def test_a_marker_not_written_by_a_worker_is_ignored(tmp_path: Path, caplog) -> None:
    ((_, b_sync),) = workers(tmp_path, 1)
    (tmp_path / MARKER).write_text('{"model_dir": "elsewhere"}')
    assert not b_sync.check() and "not a marker" in caplog.text
