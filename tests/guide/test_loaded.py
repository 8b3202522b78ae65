"""Reading a serving folder's indexes: every row's score of a query, in place or by search."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

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
    _, best = top_k(index, query, 5)  # row 0 is padding: top_k skips it
    assert list(best) == [r for r in np.argsort(-scores) if r][:5]


def test_row_scores_read_the_index_in_place_without_changing_it() -> None:
    vectors = _vectors()
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    row_scores(index, vectors[0])
    np.testing.assert_array_equal(index.reconstruct_n(0, index.ntotal), vectors)
