"""``bench/serving_recall.py --quick``: the serving path is measured against the full ranking."""

from __future__ import annotations

import pytest


# trains and ranks the full Amazon Toys catalogue twice: `make test-all`
@pytest.mark.slow
@pytest.mark.shared_data
def test_quick_run_compares_served_and_exact_rankings(run_bench, shared_dataset) -> None:
    report = run_bench("serving_recall.py", "--data", str(shared_dataset("amazon-toys-5core")))
    exact, served = report["rows"]["exact"], report["rows"]["served"]
    assert report["test_users"] == 19_412
    assert 0.0 <= served["hr@10"] <= exact["hr@10"] <= 1.0  # candidates can only lose hits
    # the index holds the logits as inner products: the candidates are the exact top items
    assert report["index_dim"] == 65
    assert report["candidate_recall_of_exact_top10"] > 0.99
    assert report["served_over_exact_hr@10"] > 0.99
