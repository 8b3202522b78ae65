"""``bench/amazon_toys.py --quick``: the report's rows and metrics, in sane ranges."""

from __future__ import annotations

import pytest

METRICS = [f"{m}@{k}" for m in ("hr", "ndcg") for k in (5, 10, 20)]
# --quick trains the single-task and multi-task rows (each auxiliary task's own smoke test is
# in tests/tasks; a quick row per task cost ~35 s each of the default test run)
MEASURED = ["most-popular", "item-knn", "als", "item-knn-recency", "toyguide-stl", "toyguide-mtl"]


@pytest.mark.shared_data
def test_quick_run_reports_its_rows_under_the_protocol(run_bench, shared_dataset, tmp_path) -> None:
    png = tmp_path / "curves.png"
    # 600 s: alone it takes well under half of that, but a busy machine doubles it
    report = run_bench("amazon_toys.py", "--data", str(shared_dataset("amazon-toys-5core")),
                       "--plot", str(png), timeout=600)  # fmt: skip
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in MEASURED[4:]:  # one curve per seed, a point per epoch, seconds rising
        (points,) = report["curves"][name]
        assert points and all(0.0 <= v <= 1.0 for _, v in points)
        assert [t for t, _ in points] == sorted(t for t, _ in points)
    rows = report["rows"]
    assert set(MEASURED) <= rows.keys()
    assert {"published-sasrec", "published-icsrec"} <= rows.keys()
    for name in MEASURED:
        for metric in METRICS:
            value = rows[name][metric]
            value = value["mean"] if isinstance(value, dict) else value
            assert 0.0 <= value <= 1.0, (name, metric, value)
    # HR@k cannot fall as k grows, and NDCG@k <= HR@k (each hit counts at most 1)
    knn = rows["item-knn"]
    assert knn["hr@5"] <= knn["hr@10"] <= knn["hr@20"]
    assert knn["ndcg@10"] <= knn["hr@10"]
    # co-occurrence alone beats popularity on this data by far, even in quick mode
    assert knn["ndcg@10"] > 2 * rows["most-popular"]["ndcg@10"]
    assert report["data"]["stats"]["items"] == 11_924
    assert set(report["delta_m"]["tasks"]) == {"preference"}
    stl = rows["toyguide-stl"]  # neighbours on: the model's own metrics kept beside
    assert stl["neighbour_weight"][0] >= 0 and 0 < stl["neighbour_decay"][0] <= 1
    assert 0 <= stl["without_neighbours"]["ndcg@10"]["mean"] <= 1
