"""Benchmark: how fast the synthetic shop is generated (and ingested into the store).

Each scale runs in a fresh subprocess so that its peak memory is its own. Prints one JSON
document (and writes it to --out): config, versions, and per scale the events, seconds, peak
RSS and events per second of generation, then of ingestion into a temporary DuckDB store.

    .venv/bin/python bench/synth_speed.py --scales 1m,10m --out bench/results/synth_speed.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _fingerprint(frames: dict[str, Any]) -> str:
    """A cheap digest of the generated data (row hashes are stable within a Polars version)."""
    digest = hashlib.sha256()
    for name in sorted(frames):
        frame = frames[name]
        digest.update(f"{name}:{frame.height}:{int(frame.hash_rows().sum())}".encode())
    return digest.hexdigest()[:16]


def _ingest(shop: Any) -> dict[str, Any] | None:
    try:
        from toyguide.data.store import Store
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with Store.open(Path(tmp) / "shop.duckdb") as store:
            store.ingest_many(shop.parts(), source="synthetic")
        seconds = time.perf_counter() - start
        size_mb = (Path(tmp) / "shop.duckdb").stat().st_size / 2**20
    events = shop.frames["events"].height
    return {
        "seconds": round(seconds, 2),
        "events_per_s": round(events / seconds),
        "peak_rss_mb": round(_peak_rss_mb()),  # includes generation: same process
        "store_mb": round(size_mb, 1),
    }


def worker(scale: str, seed: int, store: bool) -> dict[str, Any]:
    """Generate one scale in this process and measure it."""
    from toyguide.data.synth import SynthConfig, generate_shop, write_truth

    config = SynthConfig.scale(scale, seed=seed)
    start = time.perf_counter()
    shop = generate_shop(config)
    seconds = time.perf_counter() - start
    peak = _peak_rss_mb()
    events = shop.frames["events"].height
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_truth(shop, tmp)
        truth_s = time.perf_counter() - t
    return {
        "scale": scale,
        "config": config.to_dict(),
        "rows": {name: frame.height for name, frame in shop.frames.items()},
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_s": round(events / seconds),
        "peak_rss_mb": round(peak),
        "write_truth_seconds": round(truth_s, 2),
        "fingerprint": _fingerprint(shop.frames),
        "ingest": _ingest(shop) if store else None,
    }


def versions() -> dict[str, str]:
    import duckdb
    import numpy
    import polars
    import pyarrow

    import toyguide

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "polars": polars.__version__,
        "pyarrow": pyarrow.__version__,
        "duckdb": duckdb.__version__,
        "toyguide": toyguide.__version__,
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1m,10m", help="comma-separated: tiny, 1m, 10m")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--no-store", action="store_true", help="skip timing store ingestion")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.seed, not args.no_store)))
        return 0
    results = []
    for scale in args.scales.split(","):
        cmd = [sys.executable, __file__, "--worker", scale, "--seed", str(args.seed)]
        cmd += ["--no-store"] if args.no_store else []
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout)
        result["subprocess_seconds"] = round(time.perf_counter() - start, 2)
        results.append(result)
        print(f"{scale}: {result['events']:,} events in {result['seconds']} s", file=sys.stderr)
    doc = {
        "benchmark": "synth_speed",
        "config": {"scales": args.scales, "seed": args.seed, "store": not args.no_store},
        "versions": versions(),
        "results": results,
    }
    text = json.dumps(doc, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
