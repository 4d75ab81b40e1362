"""Checks of grouped lists before they reach a listwise loss.

Defined in :doc:`/book/ranking/zero_loss` (lists of one item, tied lists)
and :doc:`/book/ranking/unscaled_features` (score gaps at the float32
limits).
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray

from companion.ranking._limits import ROUND_TO_ZERO_GAP, UNDERFLOW_GAP
from companion.ranking._lists import n_valid as _n_valid
from companion.ranking._lists import valid_mask, within_list_gaps

__all__ = ["RankingDataWarning", "check_lists"]

# Every warning of check_lists points at its caller: check_lists -> helper -> warn.
_CALLER = 3


class RankingDataWarning(UserWarning):
    """Ranking data that trains, but not the way you probably expect."""


def check_lists(y_true: ArrayLike, y_pred: Optional[ArrayLike] = None) -> None:
    """Check ranking labels (and scores) before they reach a listwise loss.

    Raises for data on which ListMLE cannot learn, and warns for data on which
    it learns less than you may think. The arguments are named as Keras names
    a loss's: labels ``y_true``, scores ``y_pred``.

    Parameters
    ----------
    y_true : array-like of shape (n_lists, list_size)
        Labels; a label below 0 marks padding.
    y_pred : array-like of shape (n_lists, list_size), optional
        The model's scores for the same lists. A trailing axis of size 1,
        ``(n_lists, list_size, 1)``, is accepted.

    Raises
    ------
    ValueError
        If `y_true` is not 2-D; if every list holds fewer than two valid items
        (one row per document: the loss is exactly 0 and nothing is learned);
        if some list has no valid item; if `y_pred` has another shape (a
        ``(batch, 1)`` prediction means the model scores one document at a
        time); if either holds NaN.

    Warns
    -----
    RankingDataWarning
        For lists with fewer than two valid items among others (they add 0 to
        the loss), lists whose valid labels are all equal (nothing to rank),
        and scores whose within-list gap reaches :data:`ROUND_TO_ZERO_GAP`
        (tensorflow-ranking rounds the loss to 0) or :data:`UNDERFLOW_GAP`
        (tensorflow-ranking's ListMLE returns -inf).

    Examples
    --------
    >>> check_lists([[2, 1, 0], [1, 0, -1]])
    >>> check_lists([[1], [0], [2]])
    Traceback (most recent call last):
        ...
    ValueError: every list holds fewer than 2 valid items (list_size is 1)...
    """
    y = _labels(y_true)
    n_valid = _check_list_sizes(y)
    _warn_tied_lists(y, n_valid)
    if y_pred is None:
        return
    scores = _scores_like(y, y_pred)
    _warn_score_gaps(y, scores)


def _labels(y_true: ArrayLike) -> NDArray[np.float64]:
    """The labels as a 2-D float array; refuses other shapes and NaN."""
    y = np.asarray(y_true, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(
            f"y_true must have shape (n_lists, list_size); got {y.shape}. "
            "Group rows by query with companion.ranking.group_lists."
        )
    if np.isnan(y).any():
        raise ValueError("y_true contains NaN; mark padded items with a negative label instead.")
    return y


def _check_list_sizes(y: NDArray[np.float64]) -> NDArray[np.intp]:
    """Valid items per list: refuses lists of one item everywhere, or empty lists."""
    n_valid = _n_valid(y)
    if (n_valid < 2).all():
        raise ValueError(
            f"every list holds fewer than 2 valid items (list_size is {y.shape[1]}), so ListMLE is "
            "exactly 0 and its gradient is 0: nothing can be learned. This is what one row per "
            "document, or grouping by the wrong key, produces. Group the rows of each query into "
            "one list with companion.ranking.group_lists(X, y, qid=qid)."
        )
    if (n_valid == 0).any():
        raise ValueError(
            f"{int((n_valid == 0).sum())} of {len(y)} lists have no valid item (all labels < 0, "
            "only padding). Drop those lists."
        )
    few = int((n_valid < 2).sum())
    if few:
        warnings.warn(
            f"{few} of {len(y)} lists hold a single valid item; they add 0 to the loss and "
            "teach nothing. Consider dropping them.",
            RankingDataWarning,
            stacklevel=_CALLER,
        )
    return n_valid


def _warn_tied_lists(y: NDArray[np.float64], n_valid: NDArray[np.intp]) -> None:
    """Warn for lists of two or more items whose valid labels are all equal."""
    masked = np.where(valid_mask(y), y, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        flat = (np.nanmax(masked, axis=1) == np.nanmin(masked, axis=1)) & (n_valid >= 2)
    if flat.any():
        warnings.warn(
            f"{int(flat.sum())} of {len(y)} lists have all valid labels equal: there is no order "
            "to learn and their loss cannot fall below log(n!).",
            RankingDataWarning,
            stacklevel=_CALLER,
        )


def _scores_like(y: NDArray[np.float64], y_pred: ArrayLike) -> NDArray[np.float64]:
    """The scores with the labels' shape (a trailing axis of 1 dropped); refuses NaN."""
    s = np.asarray(y_pred, dtype=np.float64)
    if s.ndim == 3 and s.shape[-1] == 1:
        s = s[..., 0]
    if s.shape != y.shape:
        hint = (
            " A (batch, 1) prediction means the model scores one document at a time; score "
            "whole lists: input (n_lists, list_size, n_features), output (n_lists, list_size)."
            if s.ndim == 2 and s.shape[1] == 1 else ""
        )
        raise ValueError(f"y_pred has shape {s.shape} but y_true has shape {y.shape}.{hint}")
    if np.isnan(s).any():
        raise ValueError("y_pred contains NaN: the model has diverged (see the unscaled-features chapter).")
    return s


def _warn_score_gaps(y: NDArray[np.float64], scores: NDArray[np.float64]) -> None:
    """Warn for within-list score gaps at tensorflow-ranking's float32 limits."""
    gap = float(np.max(within_list_gaps(y, scores)))
    if gap >= UNDERFLOW_GAP:
        warnings.warn(
            f"scores within a list differ by up to {gap:.3g}; at {UNDERFLOW_GAP:g} or more "
            "tensorflow-ranking's ListMLE returns -inf and NaN gradients. Scale the features, or "
            "use companion.ranking.ListMLELoss, which is exact at any gap.",
            RankingDataWarning,
            stacklevel=_CALLER,
        )
    elif gap >= ROUND_TO_ZERO_GAP:
        warnings.warn(
            f"scores within a list differ by up to {gap:.3g}; from about {ROUND_TO_ZERO_GAP:g} "
            "tensorflow-ranking's ListMLE rounds the loss of a correctly ranked pair to exactly 0, "
            "with no gradient.",
            RankingDataWarning,
            stacklevel=_CALLER,
        )
