"""``bench/preference_step.py --quick``: step timings and a profile that adds up."""

from __future__ import annotations

import pytest


# times real steps on the full Amazon Toys data: `make test-all`
@pytest.mark.slow
@pytest.mark.shared_data
def test_quick_run_times_steps_and_profiles_one(run_bench, shared_dataset) -> None:
    report = run_bench("preference_step.py", "--data", str(shared_dataset("amazon-toys-5core")),
                       "--threads", "1")  # fmt: skip
    row = report["rows"]["length_buckets"]
    assert 0 < row["seconds_per_step"] < 30
    assert 1 <= row["mean_batch_width"] <= 50  # a batch is as wide as its longest sequence
    # an epoch is every training shopper once: 19,412 of them in batches of the config's 128
    assert row["seconds_per_epoch"] == pytest.approx(row["seconds_per_step"] * 152, rel=0.01)
    profile = report["profile_ms_per_step"]
    assert profile["matmul"] > 0 and sum(profile.values()) >= 0.5 * 1000 * row["seconds_per_step"]
    assert report["data"]["stats"]["items"] == 11_924
