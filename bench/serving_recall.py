"""Does the guide serve what was measured? The serving path against the full ranking (issue 10).

The guide answers a known shopper from the FAISS index of the run's serving folder: the
``CANDIDATES`` best items by inner product (and, with item neighbours, each shopper's best
neighbour items), then the exact scores over them (the shopper's seen items left out). On
the Amazon Toys test users (leave-one-out, the same batches the benchmark ranks), this script
compares that path with the full ranking over every item: HR@10 / NDCG@10 of both, their
ratio, and the candidate stage's recall (the share of test targets, and of the full ranking's
top 10, that are among the candidates).

    python bench/serving_recall.py --run RUN --store STORE --out bench/results/serving_recall.json
    python bench/serving_recall.py --quick     # imports the data, trains a few steps: a smoke test
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tomllib
from pathlib import Path

import common  # bench/common.py: python puts the script's folder first on sys.path

REPO = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, default=None, help="a trained run folder (RUN/model)")
    p.add_argument("--store", type=Path, default=None, help="the store the run was trained on")
    p.add_argument("--data", type=Path, default=Path("../shared/data/amazon-toys-5core"))
    p.add_argument("--candidates", type=int, default=None, help="default: the guide's")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if not args.quick and (args.run is None or args.store is None):
        p.error("--run and --store are required (or --quick)")
    return args


def quick_run(work: Path, data: Path) -> tuple[Path, Path]:
    """Import the Toys files and train the benchmark config for a few steps."""
    import tomli_w

    store = work / "toys.duckdb"
    common.toyguide("data", "import", "amazon-toys", "--source", str(data), "--store", str(store))
    config = tomllib.loads((REPO / "configs" / "amazon_toys.toml").read_text())
    config["features"] |= {"tasks": ["preference"]}
    config.pop("weighting", None)
    config["threads"] = 1
    config["train"] |= {"epochs": 1, "steps_per_epoch": 5, "max_minutes": 0.0}
    common.train(work, store, "quick", 0, tomli_w.dumps(config))
    return work / "quick-seed0", store


def measure(run: Path, store_path: Path, candidates: int) -> dict:
    import numpy as np
    import torch

    from toyguide.data.store import Store
    from toyguide.evaluation.protocols import ranking_metrics, target_ranks
    from toyguide.guide.loaded import load_model_folder, neighbour_candidates, retrieval_queries

    with Store.open(store_path, read_only=True) as store:
        loaded = load_model_folder(run, store)
    model, index = loaded.model, loaded.items_index
    if model.neighbours is not None:
        # the folder's neighbours saw every event, test targets included: refit on what the
        # test may see (through the validation event), as the run's own test did
        from toyguide.evaluation.neighbours import refit_neighbours

        model.neighbours = refit_neighbours(loaded.data, "test", model.neighbours.choice())
    vectors = model.item_vectors()
    exact, served, in_candidates, top10_kept = [], [], [], []
    with torch.no_grad():
        for batch in loaded.streams["preference"].eval_batches("test"):
            h = model.shopper_vector(batch)  # [B, D]
            log_probs = torch.log_softmax(model.next_item_scores(h, vectors), -1).numpy()
            # with item neighbours: their weighted scores added, their best items a second
            # candidate source (the guide's path); without, the model's log-probabilities
            fused, paired = neighbour_candidates(loaded, batch["seq_items"], log_probs,
                                                 candidates)  # fmt: skip
            scores = torch.from_numpy(fused)  # [B, N+1]
            # one more: row 0, the padding item, may come back
            _, rows = index.search(retrieval_queries(loaded, h), candidates + 1)
            rows = np.concatenate([rows, paired], axis=1)
            kept = torch.full_like(scores, float("-inf"))
            picked = torch.as_tensor(rows).clamp(min=0)
            kept.scatter_(1, picked, scores.gather(1, picked))
            kept[:, 0] = float("-inf")
            exact.append(target_ranks(scores, batch))
            served.append(target_ranks(kept, batch))
            target = batch["target_item"].numpy()
            in_candidates.append((rows == target[:, None]).any(1))
            top10_kept.append(_top10_kept(scores, kept, batch))
    ranks = {"exact": np.concatenate(exact), "served": np.concatenate(served)}
    metrics = {name: {m: ranking_metrics("next_item", r)[f"next_item/{m}"]
                      for m in ("hr@10", "ndcg@10")} for name, r in ranks.items()}  # fmt: skip
    ratio = metrics["served"]["hr@10"] / max(metrics["exact"]["hr@10"], 1e-12)
    return {
        "rows": metrics,
        "served_over_exact_hr@10": ratio,
        "candidate_recall_of_targets": float(np.concatenate(in_candidates).mean()),
        "candidate_recall_of_exact_top10": float(np.mean(np.concatenate(top10_kept))),
        "candidates": candidates,
        "neighbour_weight": None if model.neighbours is None else model.neighbours.weight,
        "test_users": len(ranks["exact"]),
        "index_dim": int(index.d),
    }


def _top10_kept(scores, kept, batch) -> list[float]:  # type: ignore[no-untyped-def]
    """Per row, the share of the full ranking's top 10 (seen items out) the candidates keep."""
    import torch

    full = scores.clone()
    full.scatter_(1, batch["exclude"], float("-inf"))
    full[:, 0] = float("-inf")
    top = full.topk(10, dim=1).indices  # [B, 10]
    return torch.isfinite(kept.gather(1, top)).float().mean(1).tolist()


def main() -> None:
    args = parse_args()
    import torch

    from toyguide.guide.recommend import CANDIDATES

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run, store = (quick_run(Path(tmp), args.data) if args.quick
                      else (args.run, args.store))  # fmt: skip
        report = measure(run, store, args.candidates or CANDIDATES)
        report |= {"benchmark": "serving_recall", "run": str(run),
                   "data": common.fingerprint(store)}  # fmt: skip
    report |= {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "wall_seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": common.peak_rss_mb(),
        "versions": common.versions("faiss-cpu"),
    }
    common.emit(report, args.out)


if __name__ == "__main__":
    main()
