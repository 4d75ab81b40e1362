"""List logic shared by the whole package: which items are real, and how far apart their scores are.

Defined in :doc:`/book/ranking/zero_loss` (padding: a label below 0 marks a
padded item) and :doc:`/book/ranking/uniform_scores` (within-list spread).
Every function of :mod:`companion.ranking` and :mod:`companion.diagnose` that
masks padding, measures a within-list gap or a score spread calls these.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["valid_mask", "n_valid", "within_list_gaps", "within_list_spread"]


def valid_mask(labels: ArrayLike) -> NDArray[np.bool_]:
    """Which items are real: a label of 0 or more (below 0 marks padding).

    Examples
    --------
    >>> valid_mask([[2, 0, -1]]).tolist()
    [[True, True, False]]
    """
    return np.asarray(labels) >= 0


def n_valid(labels: ArrayLike) -> NDArray[np.intp]:
    """Number of real (non-padded) items in each list (along the last axis).

    Examples
    --------
    >>> n_valid([[2, 0, -1], [1, 0, 0]]).tolist()
    [2, 3]
    """
    counts: NDArray[np.intp] = valid_mask(labels).sum(axis=-1)
    return counts


def _full(valid: NDArray[np.bool_]) -> bool:
    """Whether every list is full: no padding, and two items or more."""
    return bool(valid.ndim >= 1 and valid.shape[-1] >= 2 and valid.all())


def _scores(labels: ArrayLike, scores: ArrayLike) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    valid = valid_mask(labels)
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == valid.ndim + 1 and s.shape[-1] == 1:
        s = s[..., 0]
    if s.shape != valid.shape:
        raise ValueError(f"labels and scores must have the same shape; got {valid.shape} and {s.shape}.")
    return valid, s


def within_list_gaps(labels: ArrayLike, scores: ArrayLike) -> NDArray[np.float64]:
    """Largest minus smallest score among the real items of each list.

    The gap decides ListMLE's float32 failures: from :data:`ROUND_TO_ZERO_GAP`
    tensorflow-ranking rounds a correct pair's loss to 0, from
    :data:`UNDERFLOW_GAP` it returns -inf.

    Parameters
    ----------
    labels : array-like of shape (n_lists, list_size)
        Labels; below 0 marks padding.
    scores : array-like of shape (n_lists, list_size)
        Scores (a trailing axis of size 1 is dropped).

    Returns
    -------
    ndarray of shape (n_lists,)
        The gap of each list; 0 for a list with fewer than two real items.

    Examples
    --------
    >>> labels = [[2, 1, -1], [1, -1, -1]]
    >>> scores = [[3.0, 1.0, 99.0], [5.0, 0.0, 0.0]]
    >>> within_list_gaps(labels, scores).tolist()
    [2.0, 0.0]
    """
    valid, s = _scores(labels, scores)
    if _full(valid):  # the masks would select every item: the same numbers, without them
        with np.errstate(invalid="ignore"):
            full_gaps: NDArray[np.float64] = s.max(axis=-1) - s.min(axis=-1)
        return full_gaps
    return _masked_gaps(valid, s)


def _masked_gaps(valid: NDArray[np.bool_], s: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore"):
        hi = np.where(valid, s, -np.inf).max(axis=-1)
        lo = np.where(valid, s, np.inf).min(axis=-1)
        gaps: NDArray[np.float64] = np.where(valid.sum(axis=-1) >= 2, hi - lo, 0.0)
        return gaps


def within_list_spread(labels: ArrayLike, scores: ArrayLike) -> NDArray[np.float64]:
    """Standard deviation of the scores of the real items of each list.

    Returns
    -------
    ndarray of shape (n_lists,)
        The spread of each list; NaN for a list with fewer than two real items.

    Examples
    --------
    >>> labels = [[1, 0, -1], [1, -1, -1]]
    >>> scores = [[0.0, 2.0, 9.0], [1.0, 0.0, 0.0]]
    >>> within_list_spread(labels, scores).tolist()
    [1.0, nan]
    """
    valid, s = _scores(labels, scores)
    if _full(valid):  # the masks would select every item: the same numbers, without them
        n = s.shape[-1]
        with np.errstate(invalid="ignore"):
            full_means = s.sum(axis=-1) / n
            spread: NDArray[np.float64] = np.sqrt(((s - full_means[..., None]) ** 2).sum(axis=-1) / n)
        return spread
    return _masked_spread(valid, s)


def _masked_spread(valid: NDArray[np.bool_], s: NDArray[np.float64]) -> NDArray[np.float64]:
    counts = valid.sum(axis=-1)
    safe = np.maximum(counts, 1)
    with np.errstate(invalid="ignore"):
        means = np.where(valid, s, 0.0).sum(axis=-1) / safe
        variances = np.where(valid, (s - means[..., None]) ** 2, 0.0).sum(axis=-1) / safe
    out: NDArray[Any] = np.sqrt(variances)
    spread: NDArray[np.float64] = np.where(counts >= 2, out, np.nan)
    return spread
