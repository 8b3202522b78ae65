from __future__ import annotations

import json
from pathlib import Path

import pytest

from toyguide.checksums import file_sha256
from toyguide.folders import CHECKSUMS, write_folder


def writer(text: str):
    def fill(folder: Path) -> None:
        (folder / "a.txt").write_text(text)

    return fill


def test_a_new_folder_replaces_the_old_one_whole(tmp_path: Path) -> None:
    final = tmp_path / "model"
    write_folder(final, writer("old"), "model folder")
    (final / "stale.txt").write_text("from the old folder")
    write_folder(final, writer("new"), "model folder")
    assert sorted(p.name for p in final.iterdir()) == ["a.txt", CHECKSUMS]
    assert (final / "a.txt").read_text() == "new"
    sums = json.loads((final / CHECKSUMS).read_text())
    assert sums == {"a.txt": file_sha256(final / "a.txt")}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no .tmp or .old left


def test_a_failing_fill_leaves_the_old_folder_and_no_temporary_one(tmp_path: Path) -> None:
    final = tmp_path / "model"
    write_folder(final, writer("old"), "model folder")

    def broken(folder: Path) -> None:
        (folder / "a.txt").write_text("half")
        raise ValueError("not a write error")

    with pytest.raises(ValueError, match="not a write error"):
        write_folder(final, broken, "model folder")
    assert (final / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
