"""NumPy references for ListMLE: the exact loss, its chance level and its floor.

Defined in :doc:`/book/ranking/uniform_scores` (chance level and floor) and
:doc:`/book/ranking/unscaled_features` (the exact loss and the epsilon formula).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from companion.ranking._lists import n_valid as _n_valid
from companion.ranking._lists import valid_mask

__all__ = ["plackett_luce_nll", "chance_level", "loss_floor", "epsilon_listmle"]


def _one_list(labels: ArrayLike, scores: ArrayLike, caller: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or y.ndim != 1 or s.shape != y.shape:
        raise ValueError(
            "labels and scores must be 1-D arrays of the same length (one list); "
            f"got shapes {y.shape} and {s.shape}."
        )
    if np.isnan(s).any() or np.isnan(y).any():
        raise ValueError("labels and scores must not contain NaN.")
    valid = valid_mask(y)
    fractional = valid & (y != np.round(y))
    if fractional.any():
        i = int(np.argmax(fractional))
        raise ValueError(
            f"labels must be whole-number relevance grades (a negative label marks padding); "
            f"got {y[i]:g} at position {i}. The order is {caller}(labels, scores), as everywhere "
            "in companion.ranking: were the scores passed first?"
        )
    # Sort valid items by label, best first; equal labels keep their input order.
    order = np.argsort(-y[valid], kind="stable")
    return s[valid][order], y[valid][order]


def plackett_luce_nll(labels: ArrayLike, scores: ArrayLike) -> float:
    """Exact ListMLE loss of one list, in float64: the reference for the tests.

    The Plackett-Luce negative log-likelihood of the ranking given by the
    labels (best first) under the scores,
    ``sum_i [log(sum_{j >= i} exp(s_j)) - s_i]``, computed as
    ``sum_i softplus(log(sum_{j > i} exp(s_j)) - s_i)`` with a stable
    log-sum-exp, so it is exact at any score gap, to relative precision.

    Parameters
    ----------
    labels : array-like of shape (list_size,)
        Relevance labels, whole numbers; items with a label below 0 are
        padding and are ignored. Equal labels keep their input order (see
        Notes).
    scores : array-like of shape (list_size,)
        Predicted scores.

    Returns
    -------
    float
        The loss, ``>= 0``; ``0.0`` for a list with fewer than two valid items.

    Raises
    ------
    ValueError
        If the arrays are not 1-D of equal length, contain NaN, or a label
        that is not padding is not a whole number.

    Notes
    -----
    **Argument order.** Labels come first, as in :func:`mean_ndcg`,
    :func:`companion.ranking.listmle_per_list` and Keras losses
    (``y_true, y_pred``). Earlier versions of this function took
    ``(scores, labels)``. A call in the old order almost always passes
    real-valued scores as labels, which are refused (graded labels are whole
    numbers); only scores that happen to be whole numbers slip through.


    Items with equal labels are ranked in their input order. The loss of the
    other orders of a tie group differs unless their scores are equal too;
    :class:`companion.ranking.ListMLELoss` breaks ties at random, as
    tensorflow-ranking does.

    Examples
    --------
    Identical scores give log(n!), not zero:

    >>> round(plackett_luce_nll([2, 1, 0], [0.1, 0.1, 0.1]), 4)
    1.7918
    >>> plackett_luce_nll([1], [0.3])
    0.0
    """
    s, _ = _one_list(labels, scores, "plackett_luce_nll")
    if s.size < 2:
        return 0.0
    # rest[i] = log(sum_{j > i} exp(s_j)); each term is softplus(rest[i] - s[i]),
    # which keeps its relative precision however small it is.
    rest = np.append(np.logaddexp.accumulate(s[::-1])[::-1][1:], -np.inf)
    return float(np.sum(np.logaddexp(0.0, rest - s)))


def epsilon_listmle(labels: ArrayLike, scores: ArrayLike, epsilon: float = 1e-10) -> float:
    """ListMLE of one list with an epsilon inside the log, in float32.

    The formula keras-rs 0.4 uses (the Keras 3 successor of
    tensorflow-ranking): ``sum_i [log(sum_{j >= i} exp(s_j - max) + eps) -
    (s_i - max)]``. The epsilon keeps the log finite, but once a tail sum falls
    below about ``eps`` the loss is wrong. Used by the book to compare
    formulas; do not train with it.

    Parameters
    ----------
    labels, scores : array-like of shape (list_size,)
        As in :func:`plackett_luce_nll` (labels first).
    epsilon : float, default=1e-10
        The constant added inside the log.

    Returns
    -------
    float
        The loss as that formula computes it in float32.

    Raises
    ------
    ValueError
        As :func:`plackett_luce_nll`.

    Examples
    --------
    >>> round(epsilon_listmle([1, 0], [40.0, 0.0]), 2)  # exact: 4.2e-18
    16.97
    """
    s64, _ = _one_list(labels, scores, "epsilon_listmle")
    if s64.size < 2:
        return 0.0
    s = (s64 - s64.max()).astype(np.float32)
    tails = np.cumsum(np.exp(s)[::-1], dtype=np.float32)[::-1]
    return float(np.sum(np.log(tails + np.float32(epsilon)) - s, dtype=np.float32))


def _labels_2d(labels: ArrayLike) -> NDArray[np.float64]:
    y = np.asarray(labels, dtype=np.float64)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2:
        raise ValueError(f"labels must have shape (n_lists, list_size); got {y.shape}.")
    if np.isnan(y).any():
        raise ValueError("labels must not contain NaN.")
    return y


def chance_level(labels: ArrayLike) -> float:
    """ListMLE loss of uniform scores: the mean of log(n!) over lists.

    When a model gives every item of a list the same score, each of the n!
    orders of the n valid items is equally likely, so the loss is log(n!),
    whatever the labels. This is the plateau a model with uniform scores sits
    on, and the "chance" line of the book's loss plots.

    Parameters
    ----------
    labels : array-like of shape (n_lists, list_size) or (list_size,)
        Labels; items with a label below 0 are padding.

    Returns
    -------
    float
        ``mean over lists of log(n_valid!)``.

    Examples
    --------
    >>> round(chance_level([[2, 1, 0], [1, 0, -1]]), 4)  # (log 6 + log 2) / 2
    1.2425
    """
    y = _labels_2d(labels)
    return float(np.mean(gammaln(_n_valid(y) + 1.0)))


def loss_floor(labels: ArrayLike) -> float:
    """Lowest ListMLE loss reachable when ties are broken at random.

    With graded labels, a list with ``m`` items of equal label is scored
    against one of their ``m!`` orders, drawn at random at every step. The
    best a model can do is give the tied items equal scores, which costs
    ``log(m!)`` per tie group. This is the floor; it is 0 for tie-free labels
    (full orderings).

    Parameters
    ----------
    labels : array-like of shape (n_lists, list_size) or (list_size,)
        Labels; items with a label below 0 are padding.

    Returns
    -------
    float
        ``mean over lists of sum over groups of equal labels of log(m!)``.

    Notes
    -----
    ``(loss - floor) / (chance - floor)`` measures progress on a scale that can
    be compared across data sets: 1 at uniform scores, 0 at the floor.

    Examples
    --------
    >>> round(loss_floor([[2, 1, 1, 0, 0, 0]]), 4)  # log 2! + log 3!
    2.4849
    >>> loss_floor([[3, 2, 1, 0]])
    0.0
    """
    y = _labels_2d(labels)
    total = 0.0
    for row in y:
        _, counts = np.unique(row[valid_mask(row)], return_counts=True)
        total += float(np.sum(gammaln(counts + 1.0)))
    return total / y.shape[0]
