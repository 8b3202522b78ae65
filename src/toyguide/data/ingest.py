"""Bring files and public datasets into a store (the entry points of the CLI's data commands)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from toyguide.data.readers import read_raw
from toyguide.data.store import IngestReport, Store

__all__ = ["ImportSummary", "import_dataset", "ingest_file"]

# Tables in foreign-key order: what is referenced comes first.
_ORDER = ("items", "shoppers", "events", "sales")


def ingest_file(store: Store, table_name: str, path: Path) -> IngestReport:
    """Validate one CSV/JSONL/Parquet file as rows of ``table_name`` and upsert it whole."""
    raw = read_raw(Path(path))
    return store.ingest(table_name, raw, source=str(path))


@dataclass
class ImportSummary:
    dataset: str
    reports: list[IngestReport]
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def import_dataset(store: Store, name: str, source: Path) -> ImportSummary:
    """Run the adapter ``name`` on the folder ``source`` and store its tables in one transaction."""
    from toyguide.data.adapters import ADAPTERS

    adapter = ADAPTERS.get(name)
    start = time.perf_counter()
    result = adapter(Path(source))
    parts = [(t, result.frames[t]) for t in _ORDER if t in result.frames]
    reports = store.ingest_many(parts, source=f"{name}:{source}")
    store.set_meta(f"dataset:{name}", {"notes": result.notes, "counts": result.counts})
    return ImportSummary(name, reports, result.counts, result.notes, time.perf_counter() - start)
