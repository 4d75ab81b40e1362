"""Measurements on lists: NDCG through scikit-learn, score spread, leak detection.

Defined in :doc:`/book/ranking/zero_loss` (NDCG, single-feature NDCG) and
:doc:`/book/ranking/uniform_scores` (score spread).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import ndcg_score

from companion.ranking._lists import valid_mask, within_list_spread

__all__ = ["mean_ndcg", "score_spread", "single_feature_ndcg"]

_GAINS = ("linear", "exponential")


def _lists(y_lists: ArrayLike, scores: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    y = np.asarray(y_lists, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 3 and s.shape[-1] == 1:
        s = s[..., 0]
    if y.ndim != 2 or s.shape != y.shape:
        raise ValueError(
            f"labels and scores must both have shape (n_lists, list_size); got {y.shape} and {s.shape}."
        )
    if np.isnan(y).any():
        raise ValueError("labels contain NaN; mark padded items with a negative label.")
    return y, s


def mean_ndcg(y_lists: ArrayLike, scores: ArrayLike, k: Optional[int] = None, *, gain: str = "linear") -> float:
    """Mean NDCG over lists, from :func:`sklearn.metrics.ndcg_score`.

    Each list is scored on its valid items only (label ``>= 0``), so padding
    neither helps nor hurts, and lists with fewer than two valid items or with
    no relevant item (every label 0) are skipped: their NDCG says nothing
    about the ranking.

    Parameters
    ----------
    y_lists : array-like of shape (n_lists, list_size)
        Graded labels; below 0 marks padding.
    scores : array-like of shape (n_lists, list_size)
        The model's scores.
    k : int, optional
        Only the top `k` positions count (NDCG@k).
    gain : {"linear", "exponential"}, default="linear"
        What an item of label ``l`` is worth. ``"linear"``: ``l``, as
        scikit-learn's ``ndcg_score`` computes it. ``"exponential"``:
        ``2**l - 1``, as tensorflow-ranking's ``NDCGMetric`` and the LETOR
        benchmarks compute it (see Notes).

    Returns
    -------
    float
        The mean NDCG, in [0, 1]; NaN scores count as the worst ranking
        (the list's NDCG is 0).

    Raises
    ------
    ValueError
        For mismatched shapes, an unknown `gain`, or when no list has two
        valid items and a relevant one.

    Notes
    -----
    Both gains use the discount ``1 / log2(1 + rank)``. The exponential gain
    rewards the top grades much more (a 4 is worth 15 times a 1, not 4
    times), so the two disagree whenever grades above 1 are misplaced (see
    the example: 0.86 against 0.797 for one swapped pair). Compare
    NDCG figures only with the same gain; the book's chapters use the linear
    default. Tied scores are averaged over their orders, as scikit-learn does
    (tensorflow-ranking breaks ties by position instead).

    Examples
    --------
    >>> mean_ndcg([[2, 1, 0]], [[0.9, 0.5, 0.1]])
    1.0
    >>> round(mean_ndcg([[2, 1, 0]], [[1.0, 2.0, 0.0]]), 3)
    0.86
    >>> round(mean_ndcg([[2, 1, 0]], [[1.0, 2.0, 0.0]], gain="exponential"), 3)
    0.797
    """
    if gain not in _GAINS:
        raise ValueError(f"gain must be 'linear' or 'exponential', got {gain!r}.")
    y, s = _lists(y_lists, scores)
    values = []
    for labels, row in zip(y, s):
        valid = valid_mask(labels)
        if valid.sum() < 2 or not (labels[valid] > 0).any():
            continue
        if not np.isfinite(row[valid]).all():
            values.append(0.0)
            continue
        relevance = labels[valid] if gain == "linear" else np.exp2(labels[valid]) - 1.0
        values.append(float(ndcg_score(relevance[None, :], row[valid][None, :], k=k)))
    if not values:
        raise ValueError("no list has two valid items and a relevant one; NDCG is undefined.")
    return float(np.mean(values))


def score_spread(y_lists: ArrayLike, scores: ArrayLike) -> float:
    """Mean within-list standard deviation of the scores of valid items.

    Zero means the model gives every item of a list the same score: ListMLE
    then sits exactly at :func:`companion.ranking.chance_level`.

    Parameters
    ----------
    y_lists : array-like of shape (n_lists, list_size)
        Labels, used for the padding mask (below 0).
    scores : array-like of shape (n_lists, list_size)
        The model's scores.

    Returns
    -------
    float
        Mean over lists with at least two valid items.

    Examples
    --------
    >>> score_spread([[1, 0, -1]], [[0.5, 0.5, 9.0]])
    0.0
    """
    y, s = _lists(y_lists, scores)
    spreads = within_list_spread(y, s)
    if np.isnan(spreads).all():
        raise ValueError("no list has two valid items.")
    return float(np.nanmean(spreads))


def single_feature_ndcg(X_lists: ArrayLike, y_lists: ArrayLike, k: Optional[int] = None) -> NDArray[np.float64]:
    """NDCG of ranking every list by one feature alone, for each feature.

    A leaked feature ranks the lists perfectly by itself (NDCG 1.0), on
    validation lists as well as training lists; an honest feature does not.
    Each feature is tried in both directions, and the better one counts.

    Parameters
    ----------
    X_lists : array-like of shape (n_lists, list_size, n_features)
        Features, as from :func:`companion.ranking.group_lists`.
    y_lists : array-like of shape (n_lists, list_size)
        Labels; below 0 marks padding.
    k : int, optional
        NDCG@k.

    Returns
    -------
    ndarray of shape (n_features,)
        The NDCG of each feature used alone as the score.
    """
    X = np.asarray(X_lists, dtype=np.float64)
    y = np.asarray(y_lists, dtype=np.float64)
    if X.ndim != 3 or X.shape[:2] != y.shape:
        raise ValueError(
            f"X_lists must have shape (n_lists, list_size, n_features) matching y_lists {y.shape}; got {X.shape}."
        )
    return np.array(
        [max(mean_ndcg(y, X[..., j], k), mean_ndcg(y, -X[..., j], k)) for j in range(X.shape[2])]
    )
