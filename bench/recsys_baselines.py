"""Non-sequential recommendation baselines on the engine's own leave-one-out split.

Every baseline turns a shopper's history into scores over all items and is ranked exactly like
toyguide: on the preference stream's evaluation batches (same shoppers, targets and excluded
items), with :func:`toyguide.evaluation.metrics.rank_of_targets` (ties count against the
target). Hyper-parameters are chosen on the validation targets with the model fitted on the
training events only; the chosen model is then refitted on training + validation events (the
validation item is an input at test time for the sequential models too) and scored on test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse
from threadpoolctl import threadpool_limits

from toyguide.evaluation.metrics import hit_ratio, ndcg, rank_of_targets
from toyguide.evaluation.neighbours import (
    NEIGHBOUR_DECAYS,
    TRANSITION_WEIGHTS,
    split_ends,
    split_neighbours,
)
from toyguide.features.data import TaskData
from toyguide.features.neighbours import shopper_items
from toyguide.features.splits import split_code
from toyguide.tasks import make_streams

KS = (5, 10, 20)
# (shopper rows [B], their evaluation batch) -> scores [B, N+1]
Scorer = Callable[[np.ndarray, dict], np.ndarray]


@dataclass(frozen=True)
class Histories:
    """Shopper × item count matrices (rows = shopper rows, columns = item rows, column 0 unused)."""

    train: sparse.csr_matrix  # target events before each shopper's validation event
    train_and_validation: sparse.csr_matrix  # plus the validation event: the test-time input


def histories(data: TaskData) -> Histories:
    """The events the validation and the test may see, as the item neighbours are fitted."""
    seqs, n_items = data.sequences, data.n_items
    return Histories(*(shopper_items(seqs, split_ends(data, split), n_items)
                       for split in ("validation", "test")))  # fmt: skip


def evaluate(data: TaskData, split: str, scorer: Scorer) -> dict[str, float]:
    """HR/NDCG@5/10/20 of ``scorer`` on the preference stream's ``split`` batches."""
    stream = make_streams(data)["preference"]
    shoppers = stream.examples(split_code(split))
    ranks, start = [], 0
    for batch in stream.eval_batches(split):
        rows = shoppers[start : start + len(batch["target_item"])]
        start += len(rows)
        scores = torch.tensor(np.asarray(scorer(rows, batch), dtype=np.float32))  # a copy
        scores[:, 0] = float("-inf")
        ranks.append(rank_of_targets(scores, batch["target_item"], batch["exclude"]))
    r = torch.cat(ranks).numpy()
    return {f"hr@{k}": hit_ratio(r, k) for k in KS} | {f"ndcg@{k}": ndcg(r, k) for k in KS}


def popularity_scorer(history: sparse.csr_matrix) -> Scorer:
    counts = np.asarray(history.sum(axis=0)).ravel()
    return lambda rows, _: np.broadcast_to(counts, (len(rows), len(counts)))


def item_knn_scorer(
    fit_on: sparse.csr_matrix, inputs: sparse.csr_matrix, kind: str, k: int, threads: int
) -> Scorer:
    """implicit's item-item neighbourhood model (cosine or BM25-weighted), ``k`` neighbours."""
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    cls = {"cosine": CosineRecommender, "bm25": BM25Recommender}[kind]
    model = cls(K=k, num_threads=threads)
    model.fit(fit_on, show_progress=False)
    similarity = model.similarity.tocsr()
    return lambda rows, _: (inputs[rows] @ similarity).toarray()


def als_scorer(
    fit_on: sparse.csr_matrix, factors: int, regularization: float, alpha: float,
    seed: int, threads: int,
) -> Scorer:  # fmt: skip
    """implicit's ALS (Hu, Koren & Volinsky 2008); users' rows are their fitted factors."""
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(
        factors=factors, regularization=regularization, alpha=alpha, iterations=15,
        random_state=seed, num_threads=threads,
    )  # fmt: skip
    with threadpool_limits(1, "blas"):  # implicit parallelises itself; nested BLAS threads thrash
        model.fit(fit_on, show_progress=False)
    users, items = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return lambda rows, _: users[rows] @ items.T


def select_and_test(
    data: TaskData, grid: Iterable[dict], build: Callable[[Histories, str, dict], Scorer]
) -> dict:
    """Pick the grid point with the best validation NDCG@10, refit and report its test metrics.

    ``build(histories, split, params)`` returns the scorer for ``split``: fitted on training
    events for validation, on training + validation events for test.
    """
    start = time.perf_counter()
    h = histories(data)
    tried = [(params, evaluate(data, "validation", build(h, "validation", params)))
             for params in grid]  # fmt: skip
    best, validation = max(tried, key=lambda pv: pv[1]["ndcg@10"])
    row = evaluate(data, "test", build(h, "test", best))
    row |= {"params": best, "validation_ndcg@10": validation["ndcg@10"],
            "grid": [{**p, "validation_ndcg@10": v["ndcg@10"]} for p, v in tried]}  # fmt: skip
    row["train_seconds"] = round(time.perf_counter() - start, 2)
    return row


def most_popular(data: TaskData) -> dict:
    """Training popularity (validation events included at test time, as every other row)."""
    return select_and_test(
        data, [{}], lambda h, split, _: popularity_scorer(
            h.train if split == "validation" else h.train_and_validation)
    )  # fmt: skip


def item_knn(data: TaskData, threads: int, quick: bool) -> dict:
    grid = [{"kind": kind, "k": k} for kind in ("cosine", "bm25") for k in (50, 200)]

    def build(h: Histories, split: str, p: dict) -> Scorer:
        m = h.train if split == "validation" else h.train_and_validation
        return item_knn_scorer(m, m, p["kind"], p["k"], threads)

    return select_and_test(data, grid[:1] if quick else grid, build)


def item_knn_recency(data: TaskData, k: int, threads: int, quick: bool, window: int = 0) -> dict:
    """The item neighbours the preference task adds to its model (BM25, ``k`` per toy), alone:
    each shopper's toys in the window the model reads, weighed by recency (decay^(events
    after it)), the decay chosen on validation (1: item-kNN's equal weights). With ``window``
    > 0 also the toys bought within ``window`` purchases after the shopper's (sequential
    rules), their weight beside the neighbours' chosen with the decay."""
    fitted = {split: split_neighbours(data, split, k, 1.0, threads, window=window)
              for split in ("validation", "test")}  # fmt: skip
    mixes = TRANSITION_WEIGHTS[1:] if window else (0.0,)
    grid = [{"k": k, "decay": d, "window": window, "transition_weight": t}
            for d in NEIGHBOUR_DECAYS for t in mixes]  # fmt: skip

    def build(_: Histories, split: str, p: dict) -> Scorer:
        neighbours = fitted[split].with_weight(1.0, p["decay"], p["transition_weight"])
        return lambda rows, batch: neighbours.scores(batch["seq_items"].numpy())

    return select_and_test(data, grid[:2] if quick else grid, build)


def als(data: TaskData, seed: int, threads: int, quick: bool) -> dict:
    # A first sweep (factors 64/128 × regularization 0.01/0.1 × alpha 1/10) on validation:
    # 128 factors and alpha 10 won, regularization made no difference; this grid goes on from it.
    grid = [
        {"factors": f, "regularization": 0.1, "alpha": a} for f in (128, 256) for a in (10.0, 40.0)
    ]

    def build(h: Histories, split: str, p: dict) -> Scorer:
        m = h.train if split == "validation" else h.train_and_validation
        return als_scorer(m, p["factors"], p["regularization"], p["alpha"], seed, threads)

    quick_grid = [{"factors": 16, "regularization": 0.1, "alpha": 10.0}]
    return select_and_test(data, quick_grid if quick else grid, build)
