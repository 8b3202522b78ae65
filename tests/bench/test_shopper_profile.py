"""``bench/shopper_profile.py --quick``: every row and metric of the profile benchmark, in sane ranges,
on the same folds, with the permutation test and its verdict per target."""

from __future__ import annotations

import pytest

GENDER = ("auc", "accuracy", "macro_f1")
AGE = ("accuracy", "macro_f1", "mae_bands")
BASELINES = ("majority", "logreg", "lightgbm", "logreg-category")
TOYGUIDE = ("toyguide-stl", "toyguide-mtl", "toyguide-grouped", "toyguide-chosen")


def _mean(value):
    return value["mean"] if isinstance(value, dict) else value


# trains every row of the benchmark on the real data (30-50 s): `make test-all`
@pytest.mark.slow
@pytest.mark.shared_data
def test_quick_run_reports_every_row_target_and_metric(run_bench, shared_dataset) -> None:
    report = run_bench("shopper_profile.py", "--data", str(shared_dataset("tianchi-mum-baby")))
    rows, data = report["rows"], report["data"]
    assert set(BASELINES + TOYGUIDE) <= rows.keys()
    for name in BASELINES + TOYGUIDE:
        targets = ["gender", "age_band"] + (["age_band_prenatal"] if name in BASELINES else [])
        for target in targets:
            for metric in GENDER if target == "gender" else AGE:
                value = _mean(rows[name][target][metric])
                upper = 5.0 if metric == "mae_bands" else 1.0
                assert value is not None and 0.0 <= value <= upper, (name, target, metric)
    # baselines run all five folds, over the same labelled shoppers as the engine's split
    assert len(rows["logreg"]["gender"]["per_fold"]) == 5
    assert sum(data["test_fold_sizes"]) == data["labelled_shoppers"]
    assert 900 <= data["labelled_shoppers"] <= 953
    assert rows["majority"]["gender"]["auc"]["mean"] == pytest.approx(0.5)
    # the auxiliary tasks report their own metrics
    aux = rows["toyguide-mtl"]["aux"]
    assert {"preference", "sales"} <= aux.keys()
    assert _mean(aux["sales"]["units/wape"]) >= 0.0
    for target in ("gender", "age_band", "age_band_prenatal"):
        test = report["permutation_test"][target]
        for model in ("logreg", "lightgbm"):
            assert 0.0 < test[model][test["primary_metric"]]["p_value"] <= 1.0
        assert isinstance(report["signal"][target]["signal"], bool)
    # the grouping rows serve every task from one of their groups (the suggested row trains
    # each task once; the chosen row also together and alone, and serves from the best)
    tasks = sorted(aux.keys() | {"profile"})
    for name in ("toyguide-grouped", "toyguide-chosen"):
        for run in rows[name]["runs"]:
            assert sorted(run["served_by"]) == tasks
            assert all(task in run["served_by"][task] for task in tasks)
    for run in rows["toyguide-grouped"]["runs"]:
        assert sorted(t for group in run["groups"] for t in group) == tasks
    for key in ("delta_m_grouped", "delta_m_chosen"):
        assert report[key]["tasks"].keys() == {"profile"}
