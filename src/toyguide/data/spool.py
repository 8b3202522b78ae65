"""An append-only spool of accepted events, for when the store is open read-only.

Under ``toyguide serve --workers N`` (N > 1) every worker opens the store read-only (DuckDB
allows many reading processes or one writing process), so ``POST /v1/events`` cannot write
it. A worker validates each batch against the store instead (types, kinds, known shoppers
and items: ``Store.check``), appends it as one JSON line to its own file in
``<store>.spool/`` and fsyncs before answering, so an acknowledged batch survives a crash.
One writer ingests the spool later (``ingest_spool``: ``toyguide serve`` at its start and
stop, or ``toyguide data ingest-spool``).

Exactly once: the ingester claims each file by renaming it to a unique ``.claimed`` name (a
writer that finds its file renamed starts a new one), takes the file's lock (an append in
progress finishes first), ingests all its lines in one transaction whose ``_ingest_log`` row
names the claimed file, and deletes the file only after the commit. A claimed file already
named in the log was committed by an ingester that stopped before deleting it: it is deleted,
not ingested again. A file with a bad line is not ingested at all (the error names the file
and line) and stays claimed until it is fixed or removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from toyguide.data.readers import LINE
from toyguide.data.schema import table
from toyguide.data.store import Store
from toyguide.errors import DataValidationError, Problem

__all__ = ["SpoolReport", "SpoolWriter", "ingest_spool", "spool_dir"]

_EVENTS = table("events")
# A line holds strings and numbers, as a file would: the store parses and checks them again.
_RAW = {c.name: pl.Float64 if c.kind == "float" else pl.String for c in _EVENTS.columns}
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.6f"  # the store's timestamps are naive UTC


def spool_dir(store_path: Path) -> Path:
    """The spool folder of the store at ``store_path``: ``<store>.spool`` beside it."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".spool")


class SpoolWriter:
    """One process's spool file (``events-<pid>-<random>.jsonl``: a new process never appends
    to a file an earlier one may have left with a torn last line); thread-safe."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / f"events-{os.getpid()}-{secrets.token_hex(4)}.jsonl"
        self._lock = threading.Lock()

    def append(self, events: pl.DataFrame) -> None:
        """Append ``events`` (rows as ``Store.check`` returns them) as one line, durably."""
        rows = events.with_columns(pl.col("ts").dt.strftime(_TS_FORMAT)).to_dicts()
        line = json.dumps({"events": rows}, ensure_ascii=False, separators=(",", ":")) + "\n"
        data = line.encode()
        with self._lock:
            while True:  # once more when an ingester claimed the file between open and lock
                fd = self._open()
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    if _same_file(fd, self.path):
                        _write_all(fd, data)
                        os.fsync(fd)
                        return
                finally:
                    os.close(fd)  # releases the lock

    def _open(self) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        try:
            fd = os.open(self.path, flags | os.O_EXCL, 0o644)
        except FileExistsError:
            return os.open(self.path, flags, 0o644)
        _fsync_dir(self.folder)  # a new file's name must survive a crash as well as its lines
        return fd


@dataclass
class SpoolReport:
    """What one ``ingest_spool`` did."""

    files: int = 0  # spool files ingested (or found already ingested) and deleted
    batches: int = 0  # accepted batches (lines) read
    rows: int = 0  # events stored (an event repeated in a later batch counts once)
    inserted: int = 0
    replaced: int = 0
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # a report per file not ingested

    def failure_message(self, folder: Path) -> str:
        return (
            f"{len(self.failed)} spool file(s) in {folder} were not ingested and stay there as "
            ".claimed files (nothing of them was stored): fix or delete the line named, then "
            "run `toyguide data ingest-spool` again. "
            f"{self.files} other file(s) were ingested ({self.rows} events).\n"
            + "\n".join(self.failed)
        )


def ingest_spool(store: Store, folder: Path | None = None) -> SpoolReport:
    """Ingest every spool file of ``store`` (default folder: ``spool_dir(store.path)``), each
    in one transaction. A file with a bad line stays claimed and is reported in ``failed``
    (the others are ingested all the same)."""
    folder = spool_dir(store.path) if folder is None else Path(folder)
    report = SpoolReport()
    if not folder.is_dir():
        return report
    for path in sorted(folder.glob("*.jsonl")):
        _claim(path)
    # Oldest last append first, so that an event a client sent again through another worker
    # is most likely left as it was sent last.
    claimed = sorted(folder.glob("*.claimed"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    for path in claimed:
        try:
            _ingest_file(store, path, report)
        except DataValidationError as exc:
            report.failed.append(exc.report())
    return report


def _claim(path: Path) -> Path:
    claimed = path.with_name(f"{path.stem}.{secrets.token_hex(4)}.claimed")
    path.rename(claimed)
    _fsync_dir(path.parent)
    return claimed


def _ingest_file(store: Store, path: Path, report: SpoolReport) -> None:
    with path.open("rb") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # an append that opened the file before the claim ends
        if _already_ingested(store, path):
            report.notes.append(f"{path}: committed before, now deleted")
        else:
            frame, batches = _read(path, f.read(), report)
            if frame.height:
                done = store.ingest("events", frame, source=str(path))
                report.rows += done.rows
                report.inserted += done.inserted
                report.replaced += done.replaced
            report.batches += batches
        path.unlink()  # only after the commit: a crash before this is caught by the log
    _fsync_dir(path.parent)
    report.files += 1


def _already_ingested(store: Store, path: Path) -> bool:
    # The claimed name is unique (a random part), so the end of the logged path identifies it
    # even when the folder was moved since.
    found = store.query("SELECT count(*) AS n FROM _ingest_log WHERE suffix(source, ?)",
                        ["/" + path.name])  # fmt: skip
    return bool(found["n"][0])


def _read(path: Path, data: bytes, report: SpoolReport) -> tuple[pl.DataFrame, int]:
    """Every batch of the file as one frame (``__line__`` = the file's line), an event repeated
    in a later batch kept once, as that batch left it; a bad line raises naming it."""
    lines = data.split(b"\n")
    if lines[-1]:  # no newline at the end: a write cut by a crash, never acknowledged
        report.notes.append(f"{path}:{len(lines)}: an unfinished last line was skipped")
    frames = [_batch(path, number, raw) for number, raw in enumerate(lines[:-1], 1)]
    if not frames:
        return pl.DataFrame(schema={**_RAW, LINE: pl.Int64}), 0
    frame = pl.concat(frames).unique(subset=list(_EVENTS.key), keep="last", maintain_order=True)
    return frame, len(frames)


def _batch(path: Path, number: int, raw: bytes) -> pl.DataFrame:
    def bad(field: str | None, reason: str) -> DataValidationError:
        return DataValidationError([Problem(str(path), number, field, reason)])

    try:
        events = json.loads(raw)["events"]
    except (ValueError, TypeError, KeyError):
        raise bad(None, 'not a JSON object with an "events" list') from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise bad("events", "must be a list of objects")
    for event in events:
        unknown = set(event) - set(_RAW)
        if unknown:
            raise bad(sorted(unknown)[0], f"unknown field; events allow {', '.join(_RAW)}")
    try:
        frame = pl.DataFrame(events, schema=_RAW, strict=True)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise bad(None, f"a value of the wrong type: {exc}") from None
    return frame.with_columns(pl.lit(number, dtype=pl.Int64).alias(LINE))


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some file systems cannot sync a folder
            os.fsync(fd)
    finally:
        os.close(fd)
