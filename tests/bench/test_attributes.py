"""bench/attributes.py --quick: every row scores every target on the held-out products."""

from __future__ import annotations

import pytest

# toyguide-chosen: each target from the all-target or its single-target run (validation)
ROWS = ("majority", "tfidf-logreg", "toyguide-stl", "toyguide-mtl", "toyguide-chosen")
METRICS = {
    "top_category": ("accuracy", "macro_f1"),
    "functions": ("micro_f1", "macro_f1", "auc"),
    "price_band": ("accuracy", "macro_f1", "mae_bands"),
    "age_band": ("accuracy", "macro_f1", "mae_bands"),
}


def value(row: dict, target: str, metric: str) -> float:
    got = row[target][metric]
    return got["mean"] if isinstance(got, dict) else got  # toyguide rows: mean over seeds


# trains every row of the benchmark on the real data (30-50 s): `make test-all`
@pytest.mark.slow
@pytest.mark.shared_data
def test_quick_run_reports_every_row_and_target(run_bench, shared_dataset) -> None:
    folder = shared_dataset("amazon-uk-toy-products")
    report = run_bench("attributes.py", "--data", str(folder), timeout=600)
    assert report["benchmark"] == "attributes"
    assert set(report["rows"]) == set(ROWS)
    for name in ROWS:
        for target, metrics in METRICS.items():
            for metric in metrics:
                v = value(report["rows"][name], target, metric)
                assert v is not None, (name, target, metric)
                if metric == "mae_bands":
                    assert 0.0 <= v <= 5.0, (name, target, v)
                else:
                    assert 0.0 <= v <= 1.0, (name, target, metric, v)
    # every row is scored on the same held-out products
    labels = report["labels"]
    for target in METRICS:
        assert labels[target]["test"] > 0 and labels[target]["train"] > 0
        assert report["rows"]["majority"][target]["n"] == labels[target]["test"]
        assert report["rows"]["tfidf-logreg"][target]["n"] == labels[target]["test"]
    # robust even in a smoke run: TF-IDF beats guessing the largest root category
    tfidf, majority = report["rows"]["tfidf-logreg"], report["rows"]["majority"]
    assert tfidf["top_category"]["accuracy"] > majority["top_category"]["accuracy"]
    assert isinstance(report["goal"]["met"], bool)
