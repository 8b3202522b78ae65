"""Toy attributes from text on the amazon.co.uk toy catalogue: toyguide against TF-IDF (issue 4).

Imports ``../shared/data/amazon-uk-toy-products`` (``toyguide data import amazon-uk-products``),
holds out a seeded 20% of ALL products as "new toys" (split seed 0, the same items for every
row; ``features.attribute_split = "catalogue"``) and predicts four targets from title, brand and
description only (no price, no category path, no item id: the targets come from those):

* ``top_category``: the root of the Amazon category path, multiclass (43 roots); products without
  a path (690) are unlabelled;
* ``functions``: the toy-taxonomy functions (multi-label, 15); products whose list is null
  (mixed brand categories, no path) or empty (not a toy: party supplies, adult costumes, ...)
  are unlabelled, as the engine's ``multi_hot`` reads an empty list as "unknown";
* ``price_band``: price quartile band, the edges fitted on the training items' prices; products
  without a price are unlabelled;
* ``age_band``: the store's age band of the manufacturer's recommended age (804 products).

Of the other 80%, 10% of all products are validation (early stopping, C selection) and 70%
training. Rows: ``majority``, ``tfidf-logreg`` (scikit-learn, word 1-2-grams of title + brand +
description, one-vs-rest for functions, C picked per target on validation), ``toyguide-stl`` (the
attributes task with one target switched on, one run per target) and ``toyguide-mtl`` (all four
targets in one run); each picks its epoch by validation macro-F1 (the MTL run: the mean over
targets, ``all/macro_f1``). Multi-label predictions are thresholded at 0.5 for every row. The
toyguide rows read the frozen MiniLM sentence vector and the brand; ``toyguide-mtl-bow`` is the
MTL run with the item encoder's hashed word / word-pair input added (``features.text_buckets``,
a fastText-like bag: the exact words TF-IDF sees); ``toyguide-mtl-bow-per-target`` trains it
with each target as its own loss unit under uncertainty weighting (``weighting.per_target``), so
the 15-label functions loss is not drowned beside the 43-class top category;
``toyguide-mtl-bow-learned`` pools the hashed words with a learned weight per word
(``model.token_pooling = "learned"``) instead of their plain mean, as TF-IDF weighs them;
the ``-words`` rows add the head's linear term over the hashed words (``model.attribute_words``)
and the ``-words-idf`` rows weigh that term's words by their IDF over the catalogue
(``model.attribute_word_idf``: TF-IDF's weighting, words of one toy left out, as min_df=2);
the ``-words-vocab`` rows are the ``-words-idf`` rows with each word or pair that two or more
toys use given its own id (``features.text_tokens = "vocabulary"``) instead of a hashed bucket;
``toyguide-mtl-words-vocab-each`` is that multi-target run with ``selection.each``: each target
tested from the epoch it validated best on, as each single-target run is.
Where a variant has both, ``toyguide-chosen<suffix>`` serves each target from the all-target
or its single-target run, whichever validates better (``grouping.choose`` for targets).

    python bench/attributes.py --out bench/results/attributes.json
    python bench/attributes.py --quick            # 400 products, one seed: a smoke test
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tomli_w

import common  # bench/common.py: python puts the script's folder first on sys.path

TARGETS = ("top_category", "functions", "price_band", "age_band")
METRICS = {
    "top_category": ("accuracy", "macro_f1"),
    "functions": ("micro_f1", "macro_f1", "auc"),
    "price_band": ("accuracy", "macro_f1", "mae_bands"),
    "age_band": ("accuracy", "macro_f1", "mae_bands"),
}
HOLDOUT = (0.1, 0.2)  # validation, test shares of all products
SPLIT_SEED = 0
REUSED: list[str] = []  # runs and baselines taken from an earlier invocation's --workdir
CORE, FULL = "toy_products_10k_core_columns.csv", "toy_products_863_full_columns.csv"


TOYGUIDE_ROWS = (
    "toyguide-stl", "toyguide-mtl", "toyguide-mtl-bow", "toyguide-mtl-bow-per-target",
    "toyguide-mtl-bow-learned", "toyguide-stl-words", "toyguide-mtl-words",
    "toyguide-mtl-words-per-target", "toyguide-stl-words-idf", "toyguide-mtl-words-idf",
    "toyguide-stl-words-vocab", "toyguide-mtl-words-vocab", "toyguide-mtl-words-vocab-each",
)  # fmt: skip

STL_VARIANTS = ("", "-words", "-words-idf", "-words-vocab")  # the ones with single-target rows
# a variant whose single-target runs would be another's (selection.each changes nothing for a
# run of one target): compared with that variant's toyguide-stl row
SAME_STL = {"-words-vocab-each": "-words-vocab"}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/amazon-uk-toy-products"))
    p.add_argument("--seeds", type=int, default=3, help="training seeds of the toyguide rows")
    p.add_argument("--epochs", type=int, default=40)
    # 6 until 2026-12-06: multi-target runs stopped before the functions target had learned
    p.add_argument("--patience", type=int, default=15,
                   help="epochs without a better validation score before a run stops")  # fmt: skip
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--mixer", default="shared_bottom")
    p.add_argument(
        "--text-buckets",
        type=int,
        default=0,
        help="hashed word / word-pair input of the item encoder (0 = MiniLM only)",
    )
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--bow-buckets", type=int, default=32768,
                   help="text_buckets of the toyguide-mtl-bow row (0 = no such row)")  # fmt: skip
    p.add_argument("--rows", nargs="+", default=list(TOYGUIDE_ROWS), choices=TOYGUIDE_ROWS,
                   help="the toyguide rows to train (default: all)")  # fmt: skip
    p.add_argument("--word-scale", type=float, default=30.0,
                   help="model.attribute_word_scale of the -words rows")  # fmt: skip
    p.add_argument(
        "--selection-window",
        type=int,
        default=1,
        help="the -each rows' selection.window: each target judged on the mean of "
        "its last W validations",
    )
    p.add_argument("--c-grid", type=float, nargs="+", default=[0.3, 1.0, 3.0, 10.0, 30.0])
    p.add_argument("--sample", type=int, default=0, help="use this many products (0 = all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--text-cache", type=Path, default=Path.home() / ".cache" / "toyguide",
                   help="sentence-embedding cache shared between runs")  # fmt: skip
    p.add_argument("--workdir", type=Path, default=None, help="keep the store and runs here")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quick", action="store_true", help="400 products, one seed, 2 epochs")
    # internal: score a finished run in a fresh process (the engine may change under a long
    # benchmark; the run's own process-level code is what reads its config)
    p.add_argument("--score-run", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--store", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--scores-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.seeds, args.epochs, args.patience, args.sample = 1, 2, 2, 400
        args.c_grid, args.d_model, args.bow_buckets = [3.0], 32, 0
    return args


# -- data -------------------------------------------------------------------------------------
def sampled_source(source: Path, n: int, work: Path) -> Path:
    """A copy of the source with ``n`` products, half of them from the 863-product file (the
    only ones with ages), so a smoke test keeps every target."""
    import polars as pl

    core = pl.read_csv(source / CORE, infer_schema_length=0)
    full = pl.read_csv(source / FULL, infer_schema_length=0)
    rng = np.random.default_rng(0)
    rich = full["product_id"].to_numpy()
    rich = rich[rng.permutation(len(rich))[: n // 2]]
    rest = core.filter(~pl.col("uniq_id").is_in(full["product_id"].implode()))["uniq_id"]
    rest = rest.to_numpy()[rng.permutation(len(rest))[: n - len(rich)]]
    out = work / "source"
    out.mkdir(parents=True, exist_ok=True)
    core.filter(pl.col("uniq_id").is_in(np.concatenate([rich, rest]))).write_csv(out / CORE)
    full.filter(pl.col("product_id").is_in(rich)).write_csv(out / FULL)
    return out


def import_store(args: argparse.Namespace, work: Path) -> tuple[Path, Path]:
    source = sampled_source(args.data, args.sample, work) if args.sample else args.data
    store = work / "amazon-uk.duckdb"
    if not store.exists():
        common.toyguide("data", "import", "amazon-uk-products", "--source", str(source),
                        "--store", str(store))  # fmt: skip
    return store, source


def feature_config(targets: tuple[str, ...], batch_size: int) -> dict:
    return {
        "tasks": ["attributes"],
        "attribute_targets": list(targets),
        "attribute_split": "catalogue",
        "attribute_holdout": list(HOLDOUT),
        "attribute_split_seed": SPLIT_SEED,
        "attributes_batch_size": batch_size,
    }


def load_benchmark(store: Path, batch_size: int) -> dict:
    """Labels, split and input texts of every product, from the engine's own feature code (the
    labels every row is scored on are the ones toyguide trains on)."""
    from toyguide.data.store import Store
    from toyguide.runs import run_config_from_dict
    from toyguide.tasks import build_task_data

    config = run_config_from_dict({"features": feature_config(TARGETS, batch_size)})
    with Store.open(store, read_only=True) as s:
        items = s.frame("items")
        # labels only: the text input is not needed here, so no sentence model is loaded
        data = build_task_data(s, config.features, text_vectors=lambda t: np.zeros((len(t), 8)))
    rows = data.vocabs["items"].transform(items["item_id"])
    text = [" ".join(p for p in parts if p) for parts in
            zip(items["title"].fill_null(""), items["brand"].fill_null(""),
                items["description"].fill_null(""), strict=True)]  # fmt: skip
    texts = np.array([""] * (data.n_items + 1), dtype=object)
    texts[rows] = text
    labels = data.of("attributes").labels
    return {"labels": labels, "masks": labels.masks(), "split": data.of("attributes").split,
            "texts": texts, "n_top": len(data.vocabs["categories"]) - 1}  # fmt: skip


def rows_of(bench: dict, target: str, split: int) -> np.ndarray:
    return np.flatnonzero(bench["masks"][target] & (bench["split"] == split))


def truth(bench: dict, target: str, rows: np.ndarray) -> np.ndarray:
    return getattr(bench["labels"], target)[rows]


# -- metrics ----------------------------------------------------------------------------------
def score(target: str, y: np.ndarray, scores: np.ndarray) -> dict:
    """The target's metrics from class scores [n, K] (or label probabilities [n, 15])."""
    from sklearn.metrics import f1_score

    from toyguide.evaluation.metrics import metric_of

    if target == "functions":
        predicted = (scores > 0.5).astype(np.int64)
        return {
            "micro_f1": float(f1_score(y, predicted, average="micro", zero_division=0)),
            "macro_f1": metric_of("macro_f1")(y, predicted),
            "auc": metric_of("auc")(y, scores),
            "n": len(y),
        }
    predicted = scores.argmax(axis=1)
    out = {m: metric_of(m)(y, predicted) for m in METRICS[target]}
    return out | {"n": len(y)}


def selection_value(target: str, y: np.ndarray, scores: np.ndarray) -> float:
    """Validation macro-F1: what every row selects on."""
    return score(target, y, scores)["macro_f1"]


# -- baselines --------------------------------------------------------------------------------
def majority_row(bench: dict) -> dict:
    """The most frequent training class (functions: each label's training rate as its score,
    all below 0.5, so nothing is predicted)."""
    from toyguide.features.splits import TEST, TRAIN

    row = {}
    for target in TARGETS:
        train, test = rows_of(bench, target, TRAIN), rows_of(bench, target, TEST)
        y_train, y_test = truth(bench, target, train), truth(bench, target, test)
        if target == "functions":
            scores = np.tile(y_train.mean(axis=0), (len(test), 1))
        else:
            scores = np.zeros((len(test), int(max(y_train.max(), y_test.max())) + 1))
            scores[:, np.bincount(y_train).argmax()] = 1.0
        row[target] = score(target, y_test, scores)
    return row


def tfidf_features(bench: dict):
    """TF-IDF of title + brand + description, fitted on the training products' texts only."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from toyguide.features.splits import TRAIN

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    vectorizer.fit(bench["texts"][bench["split"] == TRAIN])
    return vectorizer.transform(bench["texts"])  # [N+1, V] sparse


def logreg(target: str, c: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    if target == "functions":
        return OneVsRestClassifier(LogisticRegression(C=c, solver="liblinear"))
    return LogisticRegression(C=c, max_iter=3000)


def class_scores(model, x, target: str, width: int) -> np.ndarray:
    """Probabilities [n, width]; a class absent from training keeps 0."""
    probs = model.predict_proba(x)
    if target == "functions":
        return probs
    out = np.zeros((x.shape[0], width))
    out[:, model.classes_] = probs
    return out


def tfidf_target(bench: dict, x, target: str, grid: list[float]) -> dict:
    from toyguide.features.splits import TEST, TRAIN, VALIDATION

    split_rows = {s: rows_of(bench, target, s) for s in (TRAIN, VALIDATION, TEST)}
    y = {s: truth(bench, target, r) for s, r in split_rows.items()}
    width = bench["n_top"] if target == "top_category" else int(max(map(np.max, y.values()))) + 1
    keep = y[TRAIN].sum(axis=0) > 0 if target == "functions" else slice(None)
    best = None
    start = time.perf_counter()
    for c in grid:
        model = logreg(target, c).fit(x[split_rows[TRAIN]], y[TRAIN][:, keep] if
                                      target == "functions" else y[TRAIN])  # fmt: skip
        val = widen(class_scores(model, x[split_rows[VALIDATION]], target, width), keep, y)
        value = selection_value(target, y[VALIDATION], val)
        if best is None or value > best[0]:
            best = (value, c, model)
    test = widen(class_scores(best[2], x[split_rows[TEST]], target, width), keep, y)
    metrics = score(target, y[TEST], test)
    return metrics | {"c": best[1], "validation_macro_f1": best[0],
                      "train_seconds": round(time.perf_counter() - start, 2)}  # fmt: skip


def widen(scores: np.ndarray, keep, y: dict) -> np.ndarray:
    """Functions never seen in training get score 0 (the classifier was fitted without them)."""
    if isinstance(keep, slice):
        return scores
    out = np.zeros((len(scores), len(keep)))
    out[:, keep] = scores
    return out


def tfidf_row(bench: dict, grid: list[float]) -> dict:
    x = tfidf_features(bench)
    return {target: tfidf_target(bench, x, target, grid) for target in TARGETS}


# -- toyguide ---------------------------------------------------------------------------------
def run_config(
    args: argparse.Namespace, targets: tuple[str, ...], seed: int, buckets: int,
    per_target: bool = False, pooling: str = "mean", words: bool = False, idf: bool = False,
    vocabulary: bool = False, each: bool = False,
) -> str:  # fmt: skip
    """``per_target``: each target its own loss unit, weighted by uncertainty (Kendall et al.),
    which scales every unit by its learned 1/σ²: the normalisation across targets.
    ``pooling``: model.token_pooling of the hashed words (mean, or learned word weights).
    ``words``: model.attribute_words, the head's linear term over the hashed words; ``idf``:
    model.attribute_word_idf, that term's words weighed by their IDF over the catalogue;
    ``vocabulary``: features.text_tokens = "vocabulary", words as ids of a fitted vocabulary;
    ``each``: selection.each, every target tested from its own best epoch."""
    features = feature_config(targets, args.batch_size)
    weighting = 'name = "uncertainty"\nper_target = true' if per_target else 'name = "equal"'
    features |= {"text_buckets": buckets, "max_tokens": args.max_tokens}
    if vocabulary:  # only then, so that earlier runs' configs stay reusable
        features["text_tokens"] = "vocabulary"
    selection = f"{targets[0]}/macro_f1" if len(targets) == 1 else "all/macro_f1"
    idf_line = "\nattribute_word_idf = true" if idf else ""  # earlier runs' configs stay reusable
    each_line = "\neach = true" if each else ""
    if each and args.selection_window != 1:  # only then, so that earlier runs stay reusable
        each_line += f"\nwindow = {args.selection_window}"
    return f"""seed = {seed}
threads = {args.threads}
text_cache = "{args.text_cache}"
{tomli_w.dumps({"features": features})}
[model]
d_model = {args.d_model}
mixer = "{args.mixer}"
dropout = {args.dropout}
use_id = false
use_categories = false
use_price = false
token_pooling = "{pooling}"
attribute_words = {str(words).lower()}
attribute_word_scale = {args.word_scale}{idf_line}
[weighting]
{weighting}
[train]
epochs = {args.epochs}
lr = {args.lr}
weight_decay = {args.weight_decay}
patience = {args.patience}
[selection]
task = "attributes"
metric = "{selection}"{each_line}
[analysis]
every_steps = 0
"""


def toyguide_scores(run: Path, store: Path) -> dict[str, np.ndarray]:
    """The best checkpoint's scores for every item row, in a fresh process."""
    out = run / "scores.npz"
    if not out.exists():
        subprocess.run([sys.executable, __file__, "--score-run", str(run), "--store", str(store),
                        "--scores-out", str(out)], check=True)  # fmt: skip
    with np.load(out) as scores:
        return dict(scores)


def write_scores(run: Path, store: Path, out: Path) -> None:
    """The best checkpoint's outputs for all item rows: softmax / sigmoid scores per target."""
    import torch

    from toyguide.config import load_toml
    from toyguide.data.store import Store
    from toyguide.runs import RunConfig, build
    from toyguide.training.checkpoint import read_checkpoint

    config = load_toml(run / "config.toml", RunConfig)
    state = json.loads((run / "features.json").read_text())
    with Store.open(store, read_only=True) as s:
        _, _, model = build(config, s, state)
    rows = torch.arange(model.dims["n_items"] + 1)
    parts = json.loads((run / "metrics.json").read_text()).get("parts", {})
    served = {t: parts.get(f"attributes/{t}", {}).get("checkpoint", "best") for t in TARGETS}
    scores = {}
    for checkpoint in sorted(set(served.values())):  # each target from its own (selection.each)
        model.load_state_dict(read_checkpoint(run / "checkpoints" / checkpoint)[0]["model"])
        model.eval()
        logits = model.predict("attributes", {"items": rows})
        for target in (t for t, c in served.items() if c == checkpoint and t in logits):
            x = logits[target]
            probs = torch.sigmoid(x) if target == "functions" else torch.softmax(x, -1)
            scores[target] = probs.numpy()
    np.savez(out, **scores)


def train_once(work: Path, store: Path, name: str, seed: int, config: str) -> dict:
    """``common.train``, or the finished run's metrics when ``--workdir`` already holds it with
    the same config (a long benchmark can be resumed)."""
    run = work / f"{name}-seed{seed}"
    toml = work / f"{name}-seed{seed}.toml"
    if (run / "metrics.json").exists() and toml.exists() and toml.read_text() == config:
        REUSED.append(run.name)
        return json.loads((run / "metrics.json").read_text()) | {"run": str(run)}
    return common.train(work, store, name, seed, config)


def toyguide_run(args, work: Path, store: Path, bench: dict, name: str, targets, seed,
                 variant: dict) -> dict:  # fmt: skip
    """Train one run and score its targets on the test products; ``variant``: run_config's
    keyword arguments (buckets, per_target, pooling, words)."""
    from toyguide.features.splits import TEST

    config = run_config(args, targets, seed, **variant)
    metrics = train_once(work, store, name, seed, config)
    test_rows = {t: rows_of(bench, t, TEST) for t in targets}
    scores = toyguide_scores(Path(metrics["run"]), store)
    out = {t: score(t, truth(bench, t, r), scores[t][r]) for t, r in test_rows.items()}
    kept = ("train_seconds", "best_epoch", "epochs_run", "peak_rss_mb")
    # each target's own epoch's with selection.each (the run merged them), else the best's
    validation = metrics.get("validation", {}).get("attributes") or validation_at_best(
        Path(metrics["run"]), metrics["best_epoch"]
    )
    parts = {p: v["epoch"] for p, v in metrics.get("parts", {}).items()}
    return out | {k: metrics[k] for k in kept} | {"validation": validation, "part_epochs": parts}


def validation_at_best(run: Path, epoch: int) -> dict[str, float]:
    """The run's validation metrics of the attributes task at its best epoch (its log)."""
    for line in (run / "log.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("epoch") == epoch and "validation" in record:
            return record["validation"]["attributes"]
    return {}


def chosen_row(stl: dict[str, list[dict]], mtl: list[dict]) -> dict:
    """Each target of each seed served by the all-target run or its single-target run,
    whichever scores its validation macro-F1 higher (a tie: all together): ``grouping.choose
    = "validation"`` applied to the targets of this one task."""
    from toyguide.grouping import serving_groups

    def scored(run: dict, targets: tuple[str, ...]) -> dict:  # as serving_groups reads a run
        return {"validation": {t: {"macro_f1": run["validation"][f"{t}/macro_f1"]}
                               for t in targets}}  # fmt: skip

    seeds = []
    for seed, together in enumerate(mtl):
        runs = [(TARGETS, scored(together, TARGETS)),
                *(((t,), scored(stl[t][seed], (t,))) for t in TARGETS)]  # fmt: skip
        chosen = serving_groups(TARGETS, runs, {t: ("macro_f1", True) for t in TARGETS})
        served = {t: "together" if g == TARGETS else "alone" for t, g in chosen.items()}
        picked = {t: (together if served[t] == "together" else stl[t][seed])[t] for t in TARGETS}
        cost = together["train_seconds"] + sum(stl[t][seed]["train_seconds"] for t in TARGETS)
        kept = {k: together[k] for k in ("best_epoch", "peak_rss_mb")}
        seeds.append(picked | kept | {"train_seconds": cost, "served_by": served})
    return summarise_runs(seeds, TARGETS) | {"served_by": [s["served_by"] for s in seeds]}


def variants(args) -> dict[str, dict]:
    """Row suffix → run_config's keyword arguments; the hashed-word rows only with buckets."""
    out: dict[str, dict] = {"": {"buckets": args.text_buckets}}
    if args.bow_buckets:
        bow = {"buckets": args.bow_buckets}
        out |= {"-bow": bow, "-bow-per-target": bow | {"per_target": True},
                "-bow-learned": bow | {"pooling": "learned"},
                "-words": bow | {"words": True},
                "-words-per-target": bow | {"words": True, "per_target": True},
                "-words-idf": bow | {"words": True, "idf": True},
                "-words-vocab": bow | {"words": True, "idf": True, "vocabulary": True},
                "-words-vocab-each": bow | {"words": True, "idf": True, "vocabulary": True,
                                            "each": True}}  # fmt: skip
    return out


def toyguide_rows(args, work: Path, store: Path, bench: dict) -> dict:
    """Per variant, a multi-target row (``toyguide-mtl<suffix>``) and — for the plain input
    and the word term — the single-target runs (``toyguide-stl<suffix>``); ``--rows`` picks."""
    rows: dict = {}
    stl_runs: dict[str, dict] = {}  # suffix → target → the single-target runs per seed
    for suffix, variant in variants(args).items():
        if f"toyguide-stl{suffix}" in args.rows and suffix in STL_VARIANTS:
            stl_runs[suffix] = {t: [toyguide_run(args, work, store, bench, f"stl{suffix}-{t}",
                                                 (t,), seed, variant)
                                    for seed in range(args.seeds)]
                                for t in TARGETS}  # fmt: skip
            rows[f"toyguide-stl{suffix}"] = summarise_stl(stl_runs[suffix])
        if f"toyguide-mtl{suffix}" in args.rows:
            mtl = [toyguide_run(args, work, store, bench, f"mtl{suffix}", TARGETS, seed, variant)
                   for seed in range(args.seeds)]  # fmt: skip
            rows[f"toyguide-mtl{suffix}"] = summarise_runs(mtl, TARGETS)
            rows[f"toyguide-mtl{suffix}"]["part_epochs"] = [r["part_epochs"] for r in mtl]
            stl = stl_runs.get(SAME_STL.get(suffix, suffix))
            if stl is not None:
                rows[f"toyguide-chosen{suffix}"] = chosen_row(stl, mtl)
        print(f"{suffix or 'plain'} rows done", file=sys.stderr)
    return rows


def summarise_runs(runs: list[dict], targets) -> dict:
    row: dict = {}
    for t in targets:
        per_seed = [r[t] for r in runs]
        row[t] = {m: common.summarise([s[m] for s in per_seed]) for m in METRICS[t]}
        row[t]["per_seed"] = per_seed
    row["train_seconds"] = [r["train_seconds"] for r in runs]
    row["best_epoch"] = [r["best_epoch"] for r in runs]
    row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return row


def summarise_stl(runs: dict[str, list[dict]]) -> dict:
    row = {t: summarise_runs(r, (t,))[t] for t, r in runs.items()}
    row["train_seconds"] = {t: [x["train_seconds"] for x in r] for t, r in runs.items()}
    row["best_epoch"] = {t: [x["best_epoch"] for x in r] for t, r in runs.items()}
    row["peak_rss_mb"] = max(x["peak_rss_mb"] for r in runs.values() for x in r)
    return row


# -- report -----------------------------------------------------------------------------------
def goal(rows: dict, row: str = "toyguide-mtl") -> dict:
    """``row``'s mean against tfidf-logreg per target and metric (mae: lower is better)."""
    out = {}
    for t in TARGETS:
        for m in METRICS[t]:
            mtl, base = rows[row][t][m]["mean"], rows["tfidf-logreg"][t][m]
            better = mtl < base if m.startswith("mae") else mtl > base
            out[f"{t}/{m}"] = {row: mtl, "tfidf-logreg": base, "better": better}
    return out | {"met": all(v["better"] for v in out.values())}


def report_goals(rows: dict, work: Path) -> dict:
    """The goal of every multi-target row trained (``goal``: toyguide-mtl's, ``goals``: each
    one's) and Δm of a multi-target row whose single-target row ran too (``delta_m``: plain
    input, ``delta_m_words``: with the head's word term)."""
    out: dict = {"goals": {r: goal(rows, r) for r in rows if r.startswith("toyguide-mtl")}}
    if "toyguide-mtl" in rows:
        out["goal"] = out["goals"]["toyguide-mtl"]
        out["relatedness"] = common.relatedness_of(work / "mtl-seed0")
    for key, mtl, stl in (
        ("delta_m", "toyguide-mtl", "toyguide-stl"),
        ("delta_m_words", "toyguide-mtl-words", "toyguide-stl-words"),
        ("delta_m_words_idf", "toyguide-mtl-words-idf", "toyguide-stl-words-idf"),
        ("delta_m_chosen", "toyguide-chosen-words", "toyguide-stl-words"),
        ("delta_m_chosen_idf", "toyguide-chosen-words-idf", "toyguide-stl-words-idf"),
        ("delta_m_words_vocab", "toyguide-mtl-words-vocab", "toyguide-stl-words-vocab"),
        ("delta_m_chosen_vocab", "toyguide-chosen-words-vocab", "toyguide-stl-words-vocab"),
        ("delta_m_vocab_each", "toyguide-mtl-words-vocab-each", "toyguide-stl-words-vocab"),
        (
            "delta_m_chosen_vocab_each",
            "toyguide-chosen-words-vocab-each",
            "toyguide-stl-words-vocab",
        ),
    ):
        if mtl in rows and stl in rows:
            out[key] = common.delta_m_of_rows(rows, DELTA_METRICS, target_metrics, mtl, stl)
    return out


def data_section(store: Path, source: Path) -> dict:
    sha = {f: hashlib.sha256((source / f).read_bytes()).hexdigest() for f in (CORE, FULL)}
    return {**common.fingerprint(store), "source": str(source), "sha256": sha}


def label_counts(bench: dict) -> dict:
    from toyguide.features.splits import SPLIT_NAMES

    return {t: {name: len(rows_of(bench, t, code)) for name, code in SPLIT_NAMES.items()}
            for t in TARGETS}  # fmt: skip


def versions() -> dict:
    import sklearn

    return common.versions() | {"scikit-learn": sklearn.__version__}


# Δm of the multi-task row against the per-target single-task rows, on the goal's metrics.
DELTA_METRICS = {
    "attributes": (
        "top_category/accuracy", "functions/macro_f1", "price_band/accuracy", "age_band/accuracy",
    )
}  # fmt: skip


def target_metrics(row: dict, task: str) -> dict:
    """``target/metric`` → the row's summary of that target's metric."""
    return {f"{t}/{m}": v for t, ms in row.items() if isinstance(ms, dict)
            for m, v in ms.items() if m != "per_seed"}  # fmt: skip


def main() -> None:
    args = parse_args()
    if args.score_run:
        write_scores(args.score_run, args.store, args.scores_out)
        return
    start = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="toyguide-attributes-"))
    work.mkdir(parents=True, exist_ok=True)
    store, source = import_store(args, work)
    bench = load_benchmark(store, args.batch_size)
    tfidf, reused = common.cached(
        work / "tfidf-logreg.json", args.c_grid, lambda: tfidf_row(bench, args.c_grid)
    )
    REUSED.extend(["tfidf-logreg.json"] if reused else [])
    rows = {"majority": majority_row(bench), "tfidf-logreg": tfidf}
    rows |= toyguide_rows(args, work, store, bench)
    report = {
        "benchmark": "attributes",
        "protocol": f"seeded hold-out of all products (split seed {SPLIT_SEED}): validation "
        f"{HOLDOUT[0]:.0%}, test {HOLDOUT[1]:.0%}; inputs title + brand + description only; "
        "selection by validation macro-F1; multi-label threshold 0.5",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "data": data_section(store, source),
        "labels": label_counts(bench),
        "rows": rows,
        **report_goals(rows, work),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "reused_from_workdir": REUSED,  # their time is in their own train_seconds, not above
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "versions": versions(),
        "workdir": str(work),
    }
    common.emit(report, args.out)


if __name__ == "__main__":
    main()
