"""Bring files and public datasets into a store (the entry points of the CLI's data commands)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from toyguide.data.readers import read_raw
from toyguide.data.store import IngestReport, Store
from toyguide.errors import DataValidationError, Problem

if TYPE_CHECKING:
    from toyguide.data.adapters import Adapter, AdapterResult
    from toyguide.data.synth import SynthConfig

__all__ = [
    "ImportSummary",
    "build_synthetic_store",
    "import_dataset",
    "ingest_file",
    "truth_dir_for",
]

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
    result = _adapted(adapter, name, Path(source))
    parts = [(t, result.frames[t]) for t in _ORDER if t in result.frames]
    reports = store.ingest_many(parts, source=f"{name}:{source}")
    store.set_meta(f"dataset:{name}", {"notes": result.notes, "counts": result.counts})
    return ImportSummary(name, reports, result.counts, result.notes, time.perf_counter() - start)


def _adapted(adapter: Adapter, name: str, source: Path) -> AdapterResult:
    """The adapter's result; when ``source`` is no folder at all, its report says so first,
    above the adapter's own (which names the first file it expected there)."""
    try:
        return adapter(source)
    except DataValidationError as exc:
        if source.is_dir():
            raise
        missing = Problem(str(source), None, None, f"no such folder (the {name} dataset's folder)")
        raise DataValidationError([missing, *exc.problems], exc.total + 1) from None


def truth_dir_for(store_path: Path) -> Path:
    """Where the synthetic shop's hidden truth lives: beside the store, ``<name>.truth/``."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.stem + ".truth")


def build_synthetic_store(store: Store, config: SynthConfig) -> dict:
    """Generate the synthetic shop, store it in one transaction and write its truth beside it.

    Returns the shop's summary plus what the store now holds.
    """
    from toyguide.data.synth import generate_shop, synth_summary, write_truth

    start = time.perf_counter()
    shop = generate_shop(config)
    generated = time.perf_counter()
    parts = [(t, shop.frames[t]) for t in _ORDER]
    store.ingest_many(parts, source=f"synthetic:seed={config.seed}")
    stored = time.perf_counter()
    truth = truth_dir_for(store.path)
    write_truth(shop, truth)
    store.set_meta("synthetic", {"config": config.to_dict(), "truth": str(truth)})
    summary = synth_summary(shop)
    summary["truth_dir"] = str(truth)
    summary["seconds"] = {
        "generate": round(generated - start, 2),
        "validate_and_store": round(stored - generated, 2),
        "write_truth": round(time.perf_counter() - stored, 2),
    }
    return summary
