"""The guide's CLI commands through a real subprocess: JSON output and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys


def toyguide(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "toyguide", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def test_guide_ask_json(private_copy) -> None:
    out = toyguide("guide", "ask", "a jigsaw puzzle for a 6 year old under $30", "--model",
                   str(private_copy.run), "--store", str(private_copy.store), "--k", "3",
                   "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert set(body) == {"picks", "shopper_id", "request", "dialogue_id", "notes", "relax"}
    assert body["request"]["budget"]["max"] == 30.0 and body["request"]["age_months"]["min"] == 72
    assert 0 < len(body["picks"]) <= 3
    assert all(p["item"]["price"] <= 30.0 for p in body["picks"])


def test_forecast_json_and_an_unknown_item(private_copy) -> None:
    where = ["--model", str(private_copy.model), "--store", str(private_copy.store)]
    out = toyguide("forecast", "--item", private_copy.item, *where, "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["item_id"] == private_copy.item and len(body["p50"]) == len(body["weeks"]) == 8
    bad = toyguide("forecast", "--item", "no-such-toy", *where)
    assert bad.returncode == 1 and "unknown item 'no-such-toy'" in bad.stderr
    assert "Traceback" not in bad.stderr
