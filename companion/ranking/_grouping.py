"""Grouping rows into lists, one list per query, and the way back to rows.

Defined in :doc:`/book/ranking/zero_loss`: a listwise loss needs the
documents of one query side by side.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Optional, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from companion.ranking._checks import RankingDataWarning
from companion.ranking._lists import valid_mask

__all__ = ["ListIndex", "group_lists", "PADDED_BYTES_LIMIT"]

#: Default `max_bytes` of :func:`group_lists`: padded arrays larger than 1 GB
#: are refused. Every list is padded to the longest query, so one query of
#: 199,000 documents among 2,000 short ones already needs 4.8 GB; pass a
#: `list_size` (longer queries are truncated) or ``max_bytes=None``.
PADDED_BYTES_LIMIT = 1_000_000_000

# Warnings of group_lists point at its caller: group_lists -> helper -> warn.
_CALLER = 3


@dataclass(frozen=True)
class ListIndex:
    """Where the items of grouped lists came from: the way back to rows.

    Returned by ``group_lists(..., return_index=True)``, so that scores a
    model gives to lists can be written out next to the input rows.

    Attributes
    ----------
    qids : ndarray of shape (n_lists,)
        The query id of each list, in the order of the lists.
    rows : ndarray of shape (n_lists, list_size), int64
        The input row of each item; ``-1`` for padding.
    n_rows : int
        Number of input rows.

    Examples
    --------
    >>> X, y = [[1.0], [2.0], [3.0], [4.0]], [2, 0, 1, 1]
    >>> X_l, y_l, index = group_lists(X, y, qid=[7, 7, 3, 7], return_index=True)
    >>> index.qids
    array([7, 3])
    >>> index.ungroup(X_l[..., 0] * 10)  # a score per input row, in order
    array([10., 20., 30., 40.])
    """

    qids: NDArray[Any]
    rows: NDArray[np.int64]
    n_rows: int

    def ungroup(self, scores: ArrayLike) -> NDArray[np.float64]:
        """Scores of the lists, back in the order of the input rows.

        Parameters
        ----------
        scores : array-like of shape (n_lists, list_size) or (n_lists, list_size, 1)
            One score per item, as a model returns them for the grouped lists.

        Returns
        -------
        ndarray of shape (n_rows,)
            The score of each input row; NaN for rows that were dropped
            because their query was longer than `list_size`.

        Raises
        ------
        ValueError
            If `scores` does not have the shape of the grouped lists.
        """
        s = np.asarray(scores, dtype=np.float64)
        if s.ndim == 3 and s.shape[-1] == 1:
            s = s[..., 0]
        if s.shape != self.rows.shape:
            raise ValueError(
                f"scores have shape {s.shape}, but the grouped lists have shape {self.rows.shape}: "
                "pass the model's scores for the lists that group_lists returned, in the same order."
            )
        out = np.full(self.n_rows, np.nan)
        filled = valid_mask(self.rows)
        out[self.rows[filled]] = s[filled]
        return out


class _Blocks(NamedTuple):
    """Rows sorted into queries: where each kept row goes in the padded lists."""

    qids: NDArray[Any]  # query ids in order of first appearance
    order: NDArray[np.intp]  # input rows, query by query (stable)
    group: NDArray[np.int64]  # the list of each row of `order`
    position: NDArray[np.int64]  # its place in that list
    counts: NDArray[np.int64]  # documents per query


@overload
def group_lists(
    X: ArrayLike, y: ArrayLike, qid: ArrayLike, *, list_size: Optional[int] = ..., pad_label: float = ...,
    max_bytes: Optional[float] = ..., return_index: Literal[False] = ...,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]: ...


@overload
def group_lists(
    X: ArrayLike, y: ArrayLike, qid: ArrayLike, *, list_size: Optional[int] = ..., pad_label: float = ...,
    max_bytes: Optional[float] = ..., return_index: Literal[True],
) -> tuple[NDArray[np.float32], NDArray[np.float32], ListIndex]: ...


def group_lists(
    X: ArrayLike,
    y: ArrayLike,
    qid: ArrayLike,
    *,
    list_size: Optional[int] = None,
    pad_label: float = -1.0,
    max_bytes: Optional[float] = PADDED_BYTES_LIMIT,
    return_index: bool = False,
) -> Union[tuple[NDArray[np.float32], NDArray[np.float32]],
           tuple[NDArray[np.float32], NDArray[np.float32], ListIndex]]:
    """Group rows into lists, one list per query, padded to a common size.

    A listwise loss compares the documents *of one query* with each other, so
    its input must be ``[n_lists, list_size]``. Feeding it one row per
    document instead makes every list one item long, and ListMLE is then
    exactly 0 (:doc:`/book/ranking/zero_loss`).

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        Features.
    y : array-like of shape (n_rows,)
        Relevance labels, ``>= 0``.
    qid : array-like of shape (n_rows,)
        Query id of each row: numbers or strings, none missing. Rows of one
        query need not be adjacent; within a query, rows keep their input
        order. The order ``(X, y, qid)`` is scikit-learn's
        (``load_svmlight_file(..., query_id=True)``); the old order
        ``group_lists(qid, X, y)`` is recognised (a 1-D first argument and a
        2-D second), still works, and issues a ``DeprecationWarning``.
    list_size : int, optional
        Items per list, a whole number ``>= 2``. Longer queries are truncated
        (a warning says how many items were dropped); shorter ones padded.
        Defaults to the size of the largest query.
    pad_label : float, default=-1.0
        The label of padded items. It must be negative: losses and metrics
        treat items with a label below 0 as padding.
    max_bytes : float or None, default=PADDED_BYTES_LIMIT
        Refuse to build padded arrays larger than this (1 GB by default):
        one very long query pads every other list to its length. ``None``
        builds them whatever their size.
    return_index : bool, default=False
        Also return a :class:`ListIndex`: the query id of each list and the
        input row of each item, with :meth:`ListIndex.ungroup` to put scores
        back in row order.

    Returns
    -------
    X_lists : ndarray of shape (n_lists, list_size, n_features), float32
        Features; padded items are zeros.
    y_lists : ndarray of shape (n_lists, list_size), float32
        Labels; padded items hold `pad_label`. Lists are in order of first
        appearance of their query.
    index : ListIndex
        Only with ``return_index=True``.

    Raises
    ------
    ValueError
        For mismatched lengths, a `X` that is not 2-D, NaN or infinite values,
        negative labels, a `pad_label` that is not negative, a `list_size`
        that is not a whole number of at least 2, missing query ids (NaN or
        None: the message names the rows), query ids of mixed types, query
        ids that each occur once (a document or row id passed as `qid`), or
        padded arrays above `max_bytes`.

    Examples
    --------
    >>> X, y = [[1.0], [2.0], [3.0], [4.0]], [2, 0, 1, 1]
    >>> X_l, y_l = group_lists(X, y, qid=[7, 7, 3, 7])
    >>> y_l
    array([[ 2.,  0.,  1.],
           [ 1., -1., -1.]], dtype=float32)
    >>> X_l.shape
    (2, 3, 1)
    """
    Xa, ya, q = _rows(X, y, qid)
    _check_options(pad_label, list_size)
    blocks = _query_blocks(q)
    size = _padded_size(blocks.counts, list_size, Xa.shape[1], max_bytes)
    keep = blocks.position < size
    _warn_truncated(blocks.counts, size, int((~keep).sum()))
    lists, item = blocks.group[keep], blocks.position[keep]
    rows = blocks.order[keep]
    X_lists = np.zeros((len(blocks.qids), size, Xa.shape[1]), dtype=np.float32)
    y_lists = np.full((len(blocks.qids), size), pad_label, dtype=np.float32)
    X_lists[lists, item] = Xa[rows]
    y_lists[lists, item] = ya[rows]
    if not return_index:
        return X_lists, y_lists
    row_of = np.full((len(blocks.qids), size), -1, dtype=np.int64)
    row_of[lists, item] = rows
    return X_lists, y_lists, ListIndex(blocks.qids, row_of, len(q))


def _rows(X: ArrayLike, y: ArrayLike, qid: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[Any]]:
    """The rows as arrays (X, y, qid), in the convention's order; every check of a row."""
    first, second = np.asarray(X), np.asarray(y)
    if first.ndim == 1 and second.ndim == 2:  # group_lists(qid, X, y): the order before the convention
        warnings.warn(
            "group_lists(qid, X, y) is deprecated; call group_lists(X, y, qid=qid). The arguments "
            "now come in scikit-learn's order (features, labels, query ids); the old order is "
            "recognised (a 1-D first argument with a 2-D second) until the next release.",
            DeprecationWarning,
            stacklevel=_CALLER,
        )
        first, second, qid = second, np.asarray(qid), first
    q = np.asarray(qid)
    Xa = np.asarray(first, dtype=np.float64)
    ya = np.asarray(second, dtype=np.float64)
    _check_shapes(Xa, ya, q)
    _check_values(Xa, ya, q)
    return Xa, ya, q


def _check_shapes(Xa: NDArray[np.float64], ya: NDArray[np.float64], q: NDArray[Any]) -> None:
    if q.ndim != 1 or ya.ndim != 1:
        raise ValueError(f"qid and y must be 1-D, one entry per row; got shapes {q.shape} and {ya.shape}.")
    if Xa.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_rows, n_features); got shape {Xa.shape}. "
            "For a single feature use X.reshape(-1, 1)."
        )
    if not (len(q) == len(Xa) == len(ya)):
        raise ValueError(
            f"X, y and qid must have one entry per row; got lengths {len(Xa)}, {len(ya)} and {len(q)}."
        )
    if len(q) == 0:
        raise ValueError("no rows to group: X, y and qid are empty.")


def _check_values(Xa: NDArray[np.float64], ya: NDArray[np.float64], q: NDArray[Any]) -> None:
    missing, kind = _missing_qid_rows(q)
    if len(missing):
        shown = ", ".join(str(int(i)) for i in missing[:10]) + (", ..." if len(missing) > 10 else "")
        raise ValueError(
            f"query id is missing ({kind}) in {len(missing)} rows: {shown}. Rows without a query cannot "
            "be put in a list: drop them, or fill in their query id."
        )
    if not np.isfinite(Xa).all():
        bad = np.argwhere(~np.isfinite(Xa))[0]
        raise ValueError(
            f"X contains NaN or infinity (first at row {bad[0]}, column {bad[1]}); "
            "impute or drop those rows before grouping."
        )
    if not np.isfinite(ya).all():
        raise ValueError("y contains NaN or infinity; every row needs a relevance label.")
    if (ya < 0).any():
        raise ValueError(
            f"y has negative labels (min {ya.min():g}); negative labels mean padding to "
            "ranking losses. Shift the labels so that the least relevant grade is 0."
        )


def _check_options(pad_label: float, list_size: Optional[int]) -> None:
    if pad_label >= 0:
        raise ValueError(f"pad_label must be negative (padding), got {pad_label}.")
    if list_size is None:
        return
    if isinstance(list_size, (bool, np.bool_)) or not isinstance(list_size, (int, np.integer)):
        raise ValueError(
            f"list_size must be a whole number (an int) of items per list, got {list_size!r}."
        )
    if list_size < 2:
        raise ValueError(
            f"list_size must be at least 2, got {list_size}: a ranking loss needs at least two "
            "documents per list to compare."
        )


def _missing_qid_rows(q: NDArray[Any]) -> tuple[NDArray[np.intp], str]:
    """Rows whose query id is missing (NaN, or None in an object array)."""
    if q.dtype.kind == "f":
        return np.flatnonzero(np.isnan(q)), "NaN"
    if q.dtype.kind == "O":
        none = np.array([v is None for v in q], dtype=bool)
        if none.any():
            return np.flatnonzero(none), "None"
        nan = np.array([isinstance(v, float) and v != v for v in q], dtype=bool)
        return np.flatnonzero(nan), "NaN"
    return np.flatnonzero(np.zeros(len(q), dtype=bool)), ""


def _query_blocks(q: NDArray[Any]) -> _Blocks:
    """Number the queries by first appearance, then sort the rows stably by that number."""
    try:
        uniq, first, inverse = np.unique(q, return_index=True, return_inverse=True)
    except TypeError as exc:
        kinds = sorted({type(v).__name__ for v in q})
        raise ValueError(
            f"query ids must be of one comparable type (all numbers or all strings); got {', '.join(kinds)}. "
            "Convert them, for example with qid.astype(str)."
        ) from exc
    by_appearance = np.argsort(first, kind="stable")
    rank_of = np.empty(len(uniq), dtype=np.int64)
    rank_of[by_appearance] = np.arange(len(uniq))
    group = rank_of[inverse.reshape(-1)]
    order = np.argsort(group, kind="stable")
    group = group[order]
    counts = np.bincount(group, minlength=len(uniq))
    position = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    if counts.max() == 1:
        raise ValueError(
            f"every one of the {len(uniq)} query ids occurs once, so every list would hold a "
            "single document and ListMLE would be exactly 0. qid is probably a document or row "
            "id: pass the id of the query each row belongs to."
        )
    return _Blocks(uniq[by_appearance], order, group, position, counts)


def _padded_size(counts: NDArray[np.int64], list_size: Optional[int], n_features: int,
                 max_bytes: Optional[float]) -> int:
    """Items per list; refuses padded arrays above `max_bytes`, suggesting a `list_size`."""
    size = int(counts.max()) if list_size is None else int(list_size)
    n_bytes = 4.0 * len(counts) * size * (n_features + 1)
    if max_bytes is not None and n_bytes > max_bytes:
        suggestion = max(2, int(np.ceil(np.percentile(counts, 99))))
        raise ValueError(
            f"padding {len(counts)} lists to {size} items would build arrays of {n_bytes / 1e9:.3g} GB "
            f"(float32 X_lists and y_lists), above max_bytes={max_bytes:.3g}: the largest query has "
            f"{int(counts.max())} documents, the median one {int(np.median(counts))}. Pass "
            f"list_size={suggestion} (99% of the queries fit; longer ones are truncated), split the "
            "longest queries, or pass max_bytes=None to build the arrays anyway."
        )
    return size


def _warn_truncated(counts: NDArray[np.int64], size: int, dropped: int) -> None:
    if dropped:
        warnings.warn(
            f"list_size={size} truncates {int((counts > size).sum())} queries; "
            f"{dropped} documents are dropped.",
            RankingDataWarning,
            stacklevel=_CALLER,
        )
