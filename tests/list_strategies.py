"""Hypothesis strategies for ranking lists, shared by the loss tests of every stack."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


@st.composite
def tie_free_lists(draw: st.DrawFn, max_gap: float = 1e4, max_lists: int = 4,
                   pad_to: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A batch of lists with distinct labels per list, padding (-1), and scores up to `max_gap` apart.

    With `pad_to`, the batch is embedded in that one shape (extra lists and items
    are padding), so that a jit-compiling backend (JAX) compiles each op once.
    """
    n_lists = draw(st.integers(1, max_lists))
    size = draw(st.integers(2, 8))
    labels = np.full((n_lists, size), -1.0)
    for row in labels:
        n_valid = draw(st.integers(0, size))
        slots = draw(st.permutations(range(size)))[:n_valid]
        row[list(slots)] = draw(st.permutations(range(n_valid))) if n_valid else []
    scale = draw(st.sampled_from([1e-3, 1.0, 10.0, 100.0, max_gap]))
    scores = np.array(draw(st.lists(st.floats(-1, 1), min_size=n_lists * size, max_size=n_lists * size)))
    scores = (scores * scale / 2).reshape(n_lists, size).astype(np.float32)
    if pad_to is None:
        return labels, scores
    full_labels, full_scores = np.full(pad_to, -1.0), np.zeros(pad_to, np.float32)
    full_labels[:n_lists, :size], full_scores[:n_lists, :size] = labels, scores
    return full_labels, full_scores
