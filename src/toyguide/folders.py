"""Artifact folders written whole or not at all: checkpoints and the serving model folder.

A folder is filled under a temporary name, its checksums written last, and only then swapped in
for the old one, so a run killed at any moment, or a disk that fills up, leaves the previous
folder intact and readable.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from safetensors import SafetensorError

from toyguide.checksums import file_sha256
from toyguide.errors import CheckpointError

__all__ = ["CHECKSUMS", "write_folder"]

CHECKSUMS = "checksums.json"
# what a full disk or a file-size limit raises: the OS, and safetensors in its own type
_WRITE_ERRORS = (OSError, SafetensorError)


def write_folder(final: Path, fill: Callable[[Path], None], what: str) -> Path:
    """Run ``fill(tmp)`` on an empty temporary folder beside ``final``, checksum its files and
    swap it in for ``final``. On a write error (disk full, file-size limit) the temporary
    folder is removed, ``final`` is left as it was and a :class:`CheckpointError` says why."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp, old = final.with_name(f".{final.name}.tmp"), final.with_name(f".{final.name}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        fill(tmp)
        sums = {p.name: file_sha256(p) for p in sorted(tmp.iterdir())}
        (tmp / CHECKSUMS).write_text(json.dumps(sums, indent=1))
    except _WRITE_ERRORS as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        kept = f"; the previous {final} is unchanged" if final.exists() else ""
        raise CheckpointError(f"could not write {what} {final}: {exc}{kept}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap_in(tmp, final, old)
    return final


def _swap_in(tmp: Path, final: Path, old: Path) -> None:
    # Renames only (no copying, so no new space needed): the old folder steps aside, the new
    # one takes its name, then the old one goes. A directory cannot be replaced in one rename.
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
