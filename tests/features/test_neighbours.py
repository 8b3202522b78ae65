from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import sparse

from toyguide.errors import ConfigError
from toyguide.features.neighbours import (
    ItemNeighbours,
    fit_neighbours,
    fit_transitions,
    history_matrix,
)
from toyguide.features.sequences import EventSequences


def sequences(histories: list[list[int]]) -> EventSequences:
    """Shopper rows 0 (empty) and 1.. with the given item rows, every event a target."""
    items = np.array([i for h in histories for i in h], dtype=np.int64)
    offsets = np.concatenate([[0, 0], np.cumsum([len(h) for h in histories])]).astype(np.int64)
    n = len(items)
    return EventSequences(
        offsets=offsets, items=items, kinds=np.full(n, 4), gaps=np.zeros(n, dtype=np.int64),
        ts=np.arange(n), is_target=np.ones(n, dtype=bool),
        next_target=np.zeros(n, dtype=np.int64),
    )  # fmt: skip


def test_toys_bought_together_are_neighbours_and_scores_are_row_normalised() -> None:
    # toys 1 and 2 go together, 3 and 4 go together; toy 5 only alone
    seqs = sequences([[1, 2], [1, 2], [2, 1], [3, 4], [4, 3], [5]])
    ends = seqs.offsets[1:]
    neighbours = fit_neighbours(seqs, ends, n_items=5, k=3)
    scores = neighbours.scores(np.array([[0, 1], [0, 3], [0, 0]]))
    assert scores.shape == (3, 6)
    others = scores.copy()
    others[0, 1] = others[1, 3] = 0.0  # a toy is its own nearest neighbour (ranking drops it)
    assert others[0].argmax() == 2 and others[1].argmax() == 4
    assert scores[0, 4] == scores[0, 5] == 0.0 and scores[0].max() == pytest.approx(1.0)
    assert np.all(scores[2] == 0)  # no events, no neighbours
    assert scores.max() <= 1.0 and scores.min() >= 0.0


def test_neighbours_see_only_the_events_before_each_end() -> None:
    seqs = sequences([[1, 2], [3, 4]])
    cut = np.array([0, 1, 4])  # row 1 keeps item 1 only; row 2 keeps both
    neighbours = fit_neighbours(seqs, cut, n_items=4, k=3)
    assert neighbours.scores(np.array([[1]]))[0, 2] == 0.0  # 1 → 2 was after the end
    assert neighbours.scores(np.array([[3]]))[0, 4] > 0.0


def test_the_weight_adds_scores_to_log_probabilities() -> None:
    similarity = sparse.csr_matrix(np.array([[0, 0, 0], [0, 0, 2.0], [0, 1.0, 0]]))
    log_probs = torch.log_softmax(torch.zeros(1, 3), -1)
    items = torch.tensor([[1]])
    assert torch.equal(ItemNeighbours(similarity, 0.0).add_to(log_probs, items), log_probs)
    added = ItemNeighbours(similarity, 3.0).add_to(log_probs, items)
    assert torch.allclose(added - log_probs, torch.tensor([[0.0, 0.0, 3.0]]))


def test_saved_neighbours_load_the_same(tmp_path: Path) -> None:
    m = sparse.random(7, 7, density=0.3, format="csr", dtype=np.float32, random_state=0)
    ItemNeighbours(m, 12.0, 5, 0.7).save(tmp_path / "n.safetensors")
    back = ItemNeighbours.load(tmp_path / "n.safetensors")
    assert (back.weight, back.k, back.decay) == (12.0, 5, pytest.approx(0.7))
    assert (back.similarity != m).nnz == 0


def test_saved_transitions_load_the_same_and_older_files_have_none(tmp_path: Path) -> None:
    m = sparse.random(7, 7, density=0.3, format="csr", dtype=np.float32, random_state=0)
    t = sparse.random(7, 7, density=0.2, format="csr", dtype=np.float32, random_state=1)
    ItemNeighbours(m, 12.0, 5, 0.7, t, 3, 0.5).save(tmp_path / "t.safetensors")
    back = ItemNeighbours.load(tmp_path / "t.safetensors")
    assert (back.window, back.transition_weight) == (3, 0.5)
    assert back.transitions is not None and (back.transitions != t).nnz == 0
    ItemNeighbours(m, 12.0, 5, 0.7).save(tmp_path / "n.safetensors")
    plain = ItemNeighbours.load(tmp_path / "n.safetensors")
    assert (plain.transitions, plain.window, plain.transition_weight) == (None, 0, 0.0)


def test_transitions_count_later_toys_by_their_distance_within_a_shopper() -> None:
    seqs = sequences([[1, 2, 3, 4], [2, 1]])
    ends = np.array([0, 4, 6])
    t = fit_transitions(seqs, ends, n_items=4, window=2).toarray()
    assert t[1, 2] == 1.0 and t[1, 3] == 0.5 and t[1, 4] == 0.0  # 4 is 3 purchases after 1
    assert t[2, 1] == 1.0 and t[2, 3] == 1.0 and t[2, 4] == 0.5
    assert t[4].sum() == 0.0  # nothing after the last toy; no pair across shoppers
    cut = fit_transitions(seqs, np.array([0, 2, 6]), n_items=4, window=2).toarray()
    assert cut[2, 3] == 0.0 and cut[1, 2] == 1.0  # 3 came after the end of row 1
    with pytest.raises(ConfigError, match="item_transitions"):
        fit_transitions(seqs, ends, n_items=4, window=0)


def test_transition_scores_are_directed_and_added_with_their_weight() -> None:
    # bought together both ways, but 2 always after 1 and 4 always after 3
    seqs = sequences([[1, 2], [1, 2], [3, 4], [3, 4], [2, 5]])
    neighbours = fit_neighbours(seqs, seqs.offsets[1:], n_items=5, k=4, window=1)
    by_similarity, by_transitions = neighbours.sources(np.array([[0, 1], [0, 2]]))
    assert by_transitions is not None
    assert by_transitions[0].argmax() == 2 and by_transitions[0, 1] == 0.0
    assert by_transitions[1, 1] == 0.0 and by_transitions[1, 5] == 1.0  # 2 → 5, not 2 → 1
    assert by_similarity[1, 1] > 0  # the similarity is symmetric
    items = np.array([[0, 1], [0, 2]])
    assert np.array_equal(neighbours.scores(items), by_similarity)  # weight 0: unchanged
    mixed = neighbours.with_weight(1.0, transition_weight=0.5).scores(items)
    assert mixed == pytest.approx(by_similarity + 0.5 * by_transitions)
    with pytest.raises(ConfigError, match="transitions"):
        ItemNeighbours(neighbours.similarity).with_weight(1.0, transition_weight=0.5)


def test_history_counts_repeats_and_skips_padding() -> None:
    m = history_matrix(np.array([[0, 2, 2, 3]]), 5).toarray()
    assert m.tolist() == [[0, 0, 2, 1, 0]]


def test_a_decayed_history_weighs_each_toy_by_the_events_after_it() -> None:
    items = np.array([[0, 2, 3, 2], [0, 0, 4, 1]])  # oldest first, padding on the left
    m = history_matrix(items, 5, decay=0.5).toarray()
    # row 0: the latest 2 counts 1, the 3 before it 0.5, the first 2 0.25 (with the latest: 1.25)
    assert m.tolist() == [[0, 0, 1.25, 0.5, 0], [0, 1.0, 0, 0, 0.5]]
    similarity = sparse.csr_matrix(np.eye(5, dtype=np.float32))
    scores = ItemNeighbours(similarity, 1.0, 1, decay=0.5).scores(items)
    assert scores[0] == pytest.approx([0, 0, 1.0, 0.4, 0])  # divided by the row's largest


def test_fitting_without_neighbours_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="item_neighbours"):
        fit_neighbours(sequences([[1, 2]]), np.array([0, 2]), n_items=2, k=0)
