"""``bench/mtl_summary.py --quick``: Δm and relatedness per mixer × weighting cell."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest


# a minute of training every mixer x weighting cell: `make test-all`
@pytest.mark.slow
def test_quick_sweep_reports_delta_m_and_relatedness_per_cell(run_bench, tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    other = {"benchmark": "other", "delta_m": {"delta_m": 1.5, "tasks": {"a": 1.5}},
             "delta_m_grouped": {"delta_m": 0.0, "tasks": {"a": 0.0}},
             "rows": {"toyguide-grouped": {"runs": [{"served_by": {"a": ["a"], "b": ["b"]}}]}}}  # fmt: skip
    (results / "other.json").write_text(json.dumps(other))
    report = run_bench("mtl_summary.py", "--results", str(results))
    cells = report["sweep"]["cells"]
    assert set(cells) == {"mmoe/equal", "mmoe/pcgrad"}
    for cell in cells.values():
        assert math.isfinite(cell["delta_m"])
        assert set(cell["tasks"]) == {"preference", "attributes", "sales", "profile"}
        cosine = cell["relatedness"]["matrices"]["gradient_cosine"]
        n = len(cosine["names"])
        assert n == 4 and all(len(row) == n for row in cosine["values"])
        assert all(-1.0 <= v <= 1.0 for row in cosine["values"] for v in row if v is not None)
    assert report["rows"]["toyguide-mtl/mmoe/equal"]["delta_m"] == cells["mmoe/equal"]["delta_m"]
    assert report["datasets"]["other"]["delta_m"]["delta_m"] == 1.5
    assert report["datasets"]["other"]["delta_m_grouped"]["delta_m"] == 0.0
    served = report["datasets"]["other"]["served_by"]
    assert served == {"toyguide-grouped": [{"a": ["a"], "b": ["b"]}], "toyguide-chosen": []}
