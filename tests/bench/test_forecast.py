"""``bench/forecast.py --quick``: every row scored under the one backtest, metrics in range."""

from __future__ import annotations

import pytest

BASELINES = ["naive", "moving_average", "autoets", "croston_optimized", "tsb", "adida", "imapa",
             "lightgbm"]  # fmt: skip
TOYGUIDE = ["toyguide-stl", "toyguide-mtl", "toyguide-grouped", "toyguide-chosen"]
WITH_QUANTILES = ["naive", "autoets", "lightgbm", *TOYGUIDE]
SECTION_METRICS = ["wape", "mase", "bias", "pinball", "coverage_80", "coverage_80_nonzero",
                   "wape_by_horizon", "n_cells"]  # fmt: skip


def value(entry):
    """A baseline's number, or the mean over seeds of a toyguide row's."""
    return entry["mean"] if isinstance(entry, dict) and "mean" in entry else entry


# trains every row of the benchmark on the real data (30-50 s): `make test-all`
@pytest.mark.slow
@pytest.mark.shared_data
def test_quick_run_scores_every_row_on_the_same_cells(run_bench, shared_dataset) -> None:
    report = run_bench("forecast.py", "--data", str(shared_dataset("uci-online-retail")))
    rows, data = report["rows"], report["data"]
    assert set(BASELINES + TOYGUIDE) <= rows.keys()
    assert data["dropped_partial_week"] == "2011-12-05"  # the data ends on a Friday
    for name in BASELINES + TOYGUIDE:
        row = rows[name]
        assert value(row["train_seconds"]) >= 0
        for section in (row, row["new_products"]):
            assert set(SECTION_METRICS) <= section.keys(), name
            assert value(section["n_cells"]) == (
                data["cells"] if section is row else data["new_product_cells"]
            )
            assert 0 < value(section["wape"]) < 5, (name, section["wape"])
            assert -1 <= value(section["bias"]) < 10, (name, section["bias"])
            assert {"1", "2", "3", "4"} == section["wape_by_horizon"].keys()
        coverage = value(row["coverage_80"])
        assert coverage is None or 0 <= coverage <= 1
        assert (value(row["pinball"]) is not None) == (name in WITH_QUANTILES), name
    for name in TOYGUIDE:  # the mean is the point forecast; the median is reported beside it
        assert 0 < value(rows[name]["wape_p50"]) < 5
        assert len(rows[name]["wape"]["per_seed"]) == 1
    goal = report["goal"]
    assert goal["target_wape"] == pytest.approx(0.9 * goal["best_baseline_wape"])
    assert goal["best_baseline"] in BASELINES
    # the grouping rows: each task of the mtl row served by one group holding it
    tasks = sorted(report["config"]["mtl_tasks"])
    for name in ("toyguide-grouped", "toyguide-chosen"):
        (served,) = rows[name]["served_by"]  # one seed
        assert sorted(served) == tasks and all(t in served[t] for t in tasks)
    for key in ("delta_m_grouped", "delta_m_chosen"):
        assert report[key]["tasks"].keys() == {"sales"}
