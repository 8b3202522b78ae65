"""Does a profile target carry signal? A label-permutation test of the profile baselines, and
the small facts the profile report states beside its rows.

For a model with its hyper-parameters fixed (logreg: the C chosen most often in its
cross-validation; LightGBM: early stopping on the validation shoppers, as in its row), the
cross-validated score on the true labels is compared with the scores after permuting the
target's labels over its labelled shoppers (the folds stay as they are); the p-value is
``(1 + #{permuted >= observed}) / (1 + n)`` (``<=`` for MAE), as in
``sklearn.model_selection.permutation_test_score``.
"""

from __future__ import annotations

import resource
from collections import Counter
from pathlib import Path

import numpy as np

import profile_baselines as pb

LOWER_IS_BETTER = {"mae_bands"}
PRIMARY = {"gender": "auc", "age_band": "macro_f1", "age_band_prenatal": "macro_f1"}
ALPHA = 0.05
MODELS = ("logreg", "lightgbm")
LIGHTGBM_MAX = 100  # LightGBM permutations are ~20x dearer than logistic ones


def _fixed_fitter(model: str, row: dict, target: str):
    if model == "logreg":
        c = Counter(f["c"] for f in row[target]["per_fold"]).most_common(1)[0][0]
        return (lambda x_tr, y_tr, x_va, y_va, k: pb.logreg(c, k, x_tr, y_tr)), {"c": c}
    fit = pb.fit_lightgbm
    return (lambda x_tr, y_tr, x_va, y_va, k: fit(x_tr, y_tr, x_va, y_va, k, target)[0]), {}


def cv_scores(fitter, target: str, x: np.ndarray, y: np.ndarray, folds) -> dict[str, float]:
    """Mean over folds of the target's metrics for labels ``y`` (-1 = unlabelled)."""
    from toyguide.features.splits import TEST, TRAIN, VALIDATION

    per_fold = []
    for codes in folds:
        tr, va, te = ((codes == c) & (y >= 0) for c in (TRAIN, VALIDATION, TEST))
        model = fitter(x[tr], y[tr], x[va], y[va], pb.n_classes_of(target))
        per_fold.append(pb.scores(target, y[te], model.proba(x[te])))
    return {m: float(np.mean([f[m] for f in per_fold])) for m in per_fold[0]}


def permutation_test(
    model: str, row: dict, target: str, x: np.ndarray, labelled: pb.Labelled, n: int
) -> dict:
    fitter, fixed = _fixed_fitter(model, row, target)
    y = labelled.targets[target]
    observed = cv_scores(fitter, target, x, y, labelled.folds)
    rng = np.random.default_rng([0, len(target)])
    known = np.flatnonzero(y >= 0)
    null: dict[str, list[float]] = {m: [] for m in observed}
    for _ in range(n):
        permuted = y.copy()
        permuted[known] = y[known][rng.permutation(len(known))]
        for m, v in cv_scores(fitter, target, x, permuted, labelled.folds).items():
            null[m].append(v)
    out = {"model": model, "n_permutations": n, **fixed}
    for m, v in observed.items():
        values = np.array(null[m])
        worse = values <= v if m in LOWER_IS_BETTER else values >= v
        out[m] = {"observed": v, "null_mean": float(values.mean()),
                  "null_std": float(values.std()),
                  "p_value": float((1 + worse.sum()) / (1 + n))}  # fmt: skip
    return out


def permutation_tests(rows: dict, x: np.ndarray, labelled: pb.Labelled, n: int) -> dict:
    """``{target: {model: test}}`` with every feature; the primary metric is PRIMARY[target]."""
    out: dict = {}
    for target in pb.TARGETS:
        out[target] = {"primary_metric": PRIMARY[target]}
        for model in MODELS:
            count = n if model == "logreg" else min(n, LIGHTGBM_MAX)
            out[target][model] = permutation_test(model, rows[model], target, x, labelled, count)
    return out


def verdict(permutation: dict) -> dict:
    """Per target: signal when either baseline beats its permutations at ALPHA on the primary
    metric (two models tested: Bonferroni, each at ALPHA / 2)."""
    out = {}
    for target, tests in permutation.items():
        metric = tests["primary_metric"]
        p = {m: tests[m][metric]["p_value"] for m in MODELS}
        has = min(p.values()) < ALPHA / len(MODELS)
        out[target] = {
            "metric": metric,
            "p_values": p,
            "signal": bool(has),
            "statement": (
                f"{target}: the purchases carry signal ({metric} beats label permutations, "
                f"p = {min(p.values()):.3g})"
                if has
                else f"{target}: no signal found in this data ({metric} of logreg and LightGBM "
                f"within the permuted-label distribution, p = {p['logreg']:.3g} / "
                f"{p['lightgbm']:.3g})"
            ),
        }
    return out


# -- facts for the report -------------------------------------------------------------------
def class_counts(y: np.ndarray) -> dict[str, int]:
    counts = np.bincount(y + 1)
    return {("unlabelled" if i == 0 else str(i - 1)): int(c) for i, c in enumerate(counts)}


def aux_task_sizes(store: Path, features: dict) -> dict:
    """How much the auxiliary tasks have to learn from on the category store."""
    from toyguide.data.store import Store
    from toyguide.runs import run_config_from_dict, text_vectors_for
    from toyguide.tasks import build_task_data

    config = run_config_from_dict({"features": features})
    with Store.open(store, read_only=True) as s:
        data = build_task_data(s, config.features, text_vectors=text_vectors_for(config, store))
    pref, sales = data.of("preference"), data.of("sales")
    return {
        "preference_training_shoppers": len(pref.train_shoppers),
        "preference_next_category_targets": int((data.sequences.next_target > 0).sum()),
        "preference_held_out_shoppers": len(pref.eval_shoppers),
        "sales_categories": int((sales.first_week < sales.weeks.n_weeks).sum()),
        "sales_weeks": int(sales.weeks.n_weeks),
        "sales_units_total": float(sales.units.sum()),
    }


def peer_versions() -> dict:
    import lightgbm
    import sklearn

    return {"scikit-learn": sklearn.__version__, "lightgbm": lightgbm.__version__}


def peak_rss_mb(rows: dict) -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    runs = {k: r["peak_rss_mb"] for k, r in rows.items() if "peak_rss_mb" in r}
    return {"baselines": round(own, 1), **runs}
