"""The CLI through a real subprocess: exit codes, messages, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def toyguide(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "toyguide", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_ingest_then_stats(tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    (tmp_path / "i.csv").write_text("item_id,price\nA,1\nB,2\n")
    ok = toyguide("ingest", "items", str(tmp_path / "i.csv"), "--store", store)
    assert ok.returncode == 0, ok.stderr
    assert "2 new" in ok.stdout
    stats = toyguide("store", "stats", "--store", store, "--json")
    counts = json.loads(stats.stdout)
    assert {k: counts[k] for k in ("items", "shoppers", "events", "sales")} == {
        "items": 2,
        "shoppers": 0,
        "events": 0,
        "sales": 0,
    }


def test_bad_file_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "i.csv").write_text("item_id,price\nA,1\nB,cheap\n")
    bad = toyguide("ingest", "items", str(tmp_path / "i.csv"), "--store", str(tmp_path / "s.db"))
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert "i.csv:3: field 'price': expected a finite number, got 'cheap'" in bad.stderr


def test_unknown_table_and_missing_store_are_clear(tmp_path: Path) -> None:
    bad = toyguide("ingest", "toys", "x.csv", "--store", str(tmp_path / "s.db"))
    assert bad.returncode == 1 and "unknown table 'toys'; known: items" in bad.stderr
    missing = toyguide("store", "stats", "--store", str(tmp_path / "none.db"), "--json")
    assert missing.returncode == 1 and "no store there" in missing.stderr


def test_not_a_store_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("hello")
    out = toyguide("store", "stats", "--store", str(junk))
    assert out.returncode == 1 and "cannot open as a toyguide store" in out.stderr


def test_guide_parse_prints_the_slot_json() -> None:
    out = toyguide(
        "guide", "parse", "不要毛绒玩具，给外孙女买拼图，一百块以内", "--json", "--no-semantic"
    )
    assert out.returncode == 0, out.stderr
    slots = json.loads(out.stdout)
    assert slots["gender"] == "girl" and slots["exclude"] == ["plush"]
    assert slots["interests"] == ["puzzles"] and slots["budget"]["max"] == 100.0
    assert slots["budget"]["currency"] == "CNY"
