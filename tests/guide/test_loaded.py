"""Reading a serving folder: its indexes (every row's score of a query, in place or by search)
and the models that serve each task or target."""

from __future__ import annotations

import faiss
import numpy as np
import pytest
import torch

from toyguide.guide.loaded import row_scores, top_k


def _vectors(n: int = 500, d: int = 16) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, d)).astype(np.float32)


@pytest.mark.parametrize("kind", ["flat_ip", "id_map"])
def test_row_scores_are_every_rows_inner_product(kind: str) -> None:
    vectors = _vectors()
    flat = faiss.IndexFlatIP(vectors.shape[1])
    if kind == "flat_ip":
        index = flat
        index.add(vectors)
    else:  # another kind of index: answered by a search over every row
        index = faiss.IndexIDMap(flat)
        index.add_with_ids(vectors, np.arange(len(vectors)))
    query = vectors[3] * 0.5 + vectors[7]
    scores = row_scores(index, query)
    assert scores.shape == (len(vectors),)
    np.testing.assert_allclose(scores, vectors @ query, rtol=1e-5, atol=1e-4)
    rows = np.array([400, 3, 17])
    np.testing.assert_allclose(row_scores(index, query, rows), scores[rows], rtol=1e-6)
    most = np.arange(1, len(vectors), 2)  # over a third of the rows: every row scored, then picked
    np.testing.assert_allclose(row_scores(index, query, most), scores[most], rtol=1e-6)
    _, best = top_k(index, query, 5)  # row 0 is padding: top_k skips it
    assert list(best) == [r for r in np.argsort(-scores) if r][:5]


def test_row_scores_read_the_index_in_place_without_changing_it() -> None:
    vectors = _vectors()
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    row_scores(index, vectors[0])
    np.testing.assert_array_equal(index.reconstruct_n(0, index.ntotal), vectors)


def test_a_target_with_its_own_weights_is_served_from_them(trained, tmp_path) -> None:
    """A folder whose functions target has weights of its own (``selection.each``): new-toy
    evaluation reads functions from them and every other target from the folder's model."""
    import copy
    import shutil

    from toyguide.data.store import Store
    from toyguide.evaluation.export import export_model_folder
    from toyguide.guide.engine import Guide
    from toyguide.guide.loaded import load_model_folder

    run, store = trained
    shutil.copytree(run, tmp_path / "run")
    with Store.open(store, read_only=True) as s:
        loaded = load_model_folder(run, s)
    blank = copy.deepcopy(loaded.model)  # functions logits 0 for every toy: probability 0.5
    head = blank.heads["attributes"].functions
    torch.nn.init.zeros_(head.weight), torch.nn.init.zeros_(head.bias)
    info = loaded.info
    export_model_folder(loaded.model, loaded.data, loaded.config, tmp_path / "run",
                        info["metrics"], info["data"], {"attributes/functions": blank})  # fmt: skip
    toy = {"title": "Dinosaur jigsaw puzzle, 100 pieces", "price": 12.0}
    plain, parted = (Guide.load(r, store, semantic=False) for r in (run, tmp_path / "run"))
    try:
        before, after = plain.evaluate_toy(**toy), parted.evaluate_toy(**toy)
        assert parted.loaded.model_for("attributes") is parted.loaded.model
    finally:
        plain.close(), parted.close()
    assert {p.probability for p in after.functions} == {0.5}
    assert {p.probability for p in before.functions} != {0.5}
    assert after.age_band == before.age_band and after.gender_target == before.gender_target
