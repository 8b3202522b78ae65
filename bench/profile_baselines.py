"""Baselines of the profile benchmark: labels and folds taken from the engine, features from the
purchases, majority / logistic regression / LightGBM, and a label-permutation test.

Every row reads the same labels and the same split codes per fold as the toyguide runs
(``build_task_data`` → ``ProfileData``; ``splits.profile_split`` for the other folds): a model is
fitted on the fold's TRAIN shoppers, its one hyper-parameter chosen on the VALIDATION shoppers
(taken from the training folds) and scored on the TEST fold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl

TARGETS = ("gender", "age_band", "age_band_prenatal")
GENDER_METRICS = ("auc", "accuracy", "macro_f1")
AGE_METRICS = ("accuracy", "macro_f1", "mae_bands")
EPOCH = np.datetime64("2012-07-01", "D")  # the trades start 2012-07-02
LOGREG_C = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


@dataclass
class Labelled:
    """The labelled shoppers (engine rows), their targets (-1 missing) and split codes per fold."""

    shopper_ids: list[str]
    label_ts: np.ndarray  # [n] datetime64[us]: the time the labels are taken at (last input event)
    targets: dict[str, np.ndarray]  # target → [n] int labels, -1 missing
    folds: list[np.ndarray]  # fold → [n] split codes (TRAIN, VALIDATION, TEST)


def engine_labels(store: Path, features: dict, n_folds: int) -> Labelled:
    """Labels and folds exactly as ``toyguide train`` builds them for ``features``.

    ``age_band_prenatal`` (baselines only) adds a "not yet born" class 0 in front of the six
    bands: the engine with ``profile_unborn = "first_band"`` labels those children 0-12m, with
    ``"missing"`` not at all, so the two builds tell them apart.
    """
    from toyguide.data.store import Store
    from toyguide.features import splits
    from toyguide.runs import run_config_from_dict, text_vectors_for
    from toyguide.tasks import build_task_data

    built = {}
    for unborn in ("missing", "first_band"):
        config = run_config_from_dict({"features": {**features, "profile_unborn": unborn}})
        with Store.open(store, read_only=True) as s:
            built[unborn] = build_task_data(
                s, config.features, text_vectors=text_vectors_for(config, store)
            )
    data, first = built["missing"], built["first_band"]
    prof = data.of("profile")
    rows = np.flatnonzero(prof.split != splits.UNUSED)
    age, age_first = prof.age_band[rows], first.of("profile").age_band[rows]
    unborn = (age < 0) & (age_first >= 0)
    prenatal = np.where(unborn, 0, np.where(age >= 0, age + 1, -1))
    labelled = prof.split != splits.UNUSED
    seed, folds = data.config.seed, []
    for fold in range(n_folds):
        codes = splits.profile_split(labelled, seed, n_folds=n_folds, fold=fold)
        folds.append(codes[rows])
    assert (folds[data.config.fold] == prof.split[rows]).all()  # the engine's own split
    ids = data.vocabs["shoppers"].lookup(rows)
    ts = data.sequences.ts[prof.end[rows] - 1].astype("datetime64[us]")
    targets = {"gender": prof.gender[rows], "age_band": age, "age_band_prenatal": prenatal}
    return Labelled(list(ids), ts, targets, folds)


def purchase_features(store: Path, labelled: Labelled) -> tuple[np.ndarray, dict[str, list[int]]]:
    """[n, F] features of each labelled shopper's purchases up to the label time, and the
    column indices of each group (``leaf``, ``root``, ``quantity``, ``date``)."""
    from toyguide.data.store import Store

    with Store.open(store, read_only=True) as s:
        events = s.query("SELECT shopper_id, item_id, ts, value FROM events")
        items = s.frame("items").select("item_id", pl.col("categories").list.first().alias("root"))
    at = pl.DataFrame({"shopper_id": labelled.shopper_ids, "label_ts": labelled.label_ts,
                       "row": np.arange(len(labelled.shopper_ids))})  # fmt: skip
    bought = (
        events.join(at, on="shopper_id")
        .filter(pl.col("ts") <= pl.col("label_ts"))
        .join(items, on="item_id", how="left")
    )
    n = len(labelled.shopper_ids)
    groups: dict[str, np.ndarray] = {
        "leaf": _bag(bought["row"], bought["item_id"], n),
        "root": _bag(bought["row"], bought["root"], n),
        "quantity": _quantity(bought, n),
        "date": _date(labelled.label_ts),
    }
    columns, start = {}, 0
    for name, block in groups.items():
        columns[name] = list(range(start, start + block.shape[1]))
        start += block.shape[1]
    return np.hstack(list(groups.values())).astype(np.float64), columns


def _bag(row: pl.Series, token: pl.Series, n: int) -> np.ndarray:
    """[n, tokens] purchase counts per token (a category id)."""
    names, codes = np.unique(token.to_numpy().astype(str), return_inverse=True)
    out = np.zeros((n, len(names)))
    np.add.at(out, (row.to_numpy(), codes), 1.0)
    return out


def _quantity(bought: pl.DataFrame, n: int) -> np.ndarray:
    units = np.zeros(n)
    trades = np.zeros(n)
    np.add.at(units, bought["row"].to_numpy(), bought["value"].to_numpy())
    np.add.at(trades, bought["row"].to_numpy(), 1.0)
    return np.stack([np.log1p(units), np.log1p(trades)], axis=1)


def _date(ts: np.ndarray) -> np.ndarray:
    """Days since the data start (in years), year, month and day of week one-hot."""
    day = ts.astype("datetime64[D]")
    years = day.astype("datetime64[Y]").astype(np.int64) + 1970
    month = day.astype("datetime64[M]").astype(np.int64) % 12
    dow = (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
    since = ((day - EPOCH).astype(np.int64) / 365.25)[:, None]
    return np.hstack([since, _one_hot(years - 2012, 4), _one_hot(month, 12), _one_hot(dow, 7)])


def _one_hot(codes: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[np.clip(codes, 0, k - 1)]


# -- models ------------------------------------------------------------------------------------
def scores(target: str, y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """The engine's metric definitions (``evaluation.metrics``) on class probabilities."""
    from toyguide.evaluation.metrics import metric_of

    if target == "gender":
        out = {"auc": metric_of("auc")(y, proba[:, 1])}
        names = ("accuracy", "macro_f1")
    else:
        out, names = {}, AGE_METRICS
    return out | {m: float(metric_of(m)(y, proba)) for m in names}


def selection_metric(target: str) -> str:
    return "auc" if target == "gender" else "accuracy"  # as the engine's profile selection


def _full_proba(model, x: np.ndarray, n_classes: int) -> np.ndarray:
    """[n, n_classes] probabilities, zero for classes the training fold did not have."""
    out = np.zeros((len(x), n_classes))
    out[:, model.classes_] = model.predict_proba(x)
    return out


def fit_majority(x_tr, y_tr, x_va, y_va, n_classes: int):
    counts = np.bincount(y_tr, minlength=n_classes)
    return _Constant(counts / counts.sum()), {}


class _Constant:
    def __init__(self, p: np.ndarray) -> None:
        self.p = p

    def proba(self, x: np.ndarray) -> np.ndarray:
        return np.tile(self.p, (len(x), 1))


class _Fitted:
    def __init__(self, model, n_classes: int, transform=None) -> None:
        self.model, self.n_classes, self.transform = model, n_classes, transform

    def proba(self, x: np.ndarray) -> np.ndarray:
        x = self.transform(x) if self.transform else x
        return _full_proba(self.model, x, self.n_classes)


def logreg(
    c: float, n_classes: int, x: np.ndarray, y: np.ndarray, class_weight: str | None = None
) -> _Fitted:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=c, max_iter=2000, class_weight=class_weight)
    return _Fitted(model.fit(scaler.transform(x), y), n_classes, scaler.transform)


def fit_logreg(
    x_tr, y_tr, x_va, y_va, n_classes: int, target: str, c_grid=LOGREG_C, class_weight=None
):
    """C chosen on the validation shoppers by the target's selection metric; ``class_weight``
    "balanced" weighs each class by the inverse of its share (what macro-F1 rewards)."""
    metric, best = selection_metric(target), None
    for c in c_grid:
        fitted = logreg(c, n_classes, x_tr, y_tr, class_weight)
        value = scores(target, y_va, fitted.proba(x_va))[metric]
        if best is None or value > best[0]:
            best = (value, c, fitted)
    return best[2], {"c": best[1]}


def fit_lightgbm(x_tr, y_tr, x_va, y_va, n_classes: int, target: str, **_):
    """Gradient-boosted trees, early-stopped on the validation shoppers' log loss."""
    import lightgbm as lgb

    model = lgb.LGBMClassifier(
        n_estimators=400, learning_rate=0.05, num_leaves=15, min_child_samples=10,
        subsample=0.8, subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0,
        random_state=0, n_jobs=1, verbose=-1,
    )  # fmt: skip
    present = np.isin(y_va, np.unique(y_tr))  # LightGBM rejects unseen eval classes
    model.fit(x_tr, y_tr, eval_X=(x_va[present],), eval_y=(y_va[present],),
              callbacks=[lgb.early_stopping(30, verbose=False)])  # fmt: skip
    return _Fitted(model, n_classes), {"best_iteration": int(model.best_iteration_ or 0)}


FITTERS = {
    "majority": lambda *a, target, **_: fit_majority(*a),
    "logreg": fit_logreg,
    "logreg-balanced": partial(fit_logreg, class_weight="balanced"),
    "lightgbm": fit_lightgbm,
}


def n_classes_of(target: str) -> int:
    from toyguide.data.taxonomy import AGE_BANDS, CHILD_GENDERS

    return {"gender": len(CHILD_GENDERS), "age_band": len(AGE_BANDS),
            "age_band_prenatal": len(AGE_BANDS) + 1}[target]  # fmt: skip


def cross_validate(
    fitter: str, target: str, x: np.ndarray, labelled: Labelled, **options
) -> list[dict[str, float]]:
    """Per fold: fit on TRAIN, select on VALIDATION, score TEST (labelled rows only);
    ``options`` go to the fitter (``c_grid`` for logreg)."""
    from toyguide.features.splits import TEST, TRAIN, VALIDATION

    y, k = labelled.targets[target], n_classes_of(target)
    per_fold = []
    for codes in labelled.folds:
        start = time.perf_counter()
        tr, va, te = ((codes == c) & (y >= 0) for c in (TRAIN, VALIDATION, TEST))
        model, chosen = FITTERS[fitter](x[tr], y[tr], x[va], y[va], k, target=target, **options)
        fold = scores(target, y[te], model.proba(x[te]))
        fold |= {"n_test": int(te.sum()), "train_seconds": round(time.perf_counter() - start, 3)}
        per_fold.append(fold | chosen)
    return per_fold
