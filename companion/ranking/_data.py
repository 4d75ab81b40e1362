"""Learning-to-rank data: grouping rows into lists, checks, synthetic data, a loader.

Defined in :doc:`/book/ranking/zero_loss` (grouping and checks) and
:doc:`/book/ranking/unscaled_features` (feature scales).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, Optional, Sequence, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from companion._repro import perturbed
from companion.ranking._limits import ROUND_TO_ZERO_GAP, UNDERFLOW_GAP
from companion.ranking._lists import n_valid as _n_valid
from companion.ranking._lists import valid_mask, within_list_gaps

__all__ = [
    "RankingData",
    "RankingDataWarning",
    "ListIndex",
    "group_lists",
    "check_lists",
    "make_ranking_data",
    "load_svmlight_ranking",
    "load_svmlight_rankings",
    "PADDED_BYTES_LIMIT",
]

#: Default `max_bytes` of :func:`group_lists`: padded arrays larger than 1 GB
#: are refused. Every list is padded to the longest query, so one query of
#: 199,000 documents among 2,000 short ones already needs 4.8 GB; pass a
#: `list_size` (longer queries are truncated) or ``max_bytes=None``.
PADDED_BYTES_LIMIT = 1_000_000_000


class RankingDataWarning(UserWarning):
    """Ranking data that trains, but not the way you probably expect."""


class RankingData(NamedTuple):
    """Rows of a learning-to-rank data set, one row per (query, document).

    Attributes
    ----------
    qid : ndarray of shape (n_rows,)
        Query id of each row.
    X : ndarray of shape (n_rows, n_features)
        Features.
    y : ndarray of shape (n_rows,)
        Graded relevance labels (``0`` to ``4``), or a full order (``n-1`` for
        the best document of a query down to ``0``) when made with
        ``labels="order"``.
    utility : ndarray of shape (n_rows,)
        The hidden ground truth: the utility that the labels grade.
    feature_names : list of str
        A name for each column of `X`.
    """

    qid: NDArray[np.int64]
    X: NDArray[np.float64]
    y: NDArray[np.float64]
    utility: NDArray[np.float64]
    feature_names: list[str]


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
    >>> qid, X, y = [7, 7, 3, 7], [[1.0], [2.0], [3.0], [4.0]], [2, 0, 1, 1]
    >>> X_l, y_l, index = group_lists(qid, X, y, return_index=True)
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


@overload
def group_lists(
    qid: ArrayLike, X: ArrayLike, y: ArrayLike, *, list_size: Optional[int] = ..., pad_label: float = ...,
    max_bytes: Optional[float] = ..., return_index: Literal[False] = ...,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]: ...


@overload
def group_lists(
    qid: ArrayLike, X: ArrayLike, y: ArrayLike, *, list_size: Optional[int] = ..., pad_label: float = ...,
    max_bytes: Optional[float] = ..., return_index: Literal[True],
) -> tuple[NDArray[np.float32], NDArray[np.float32], ListIndex]: ...


def group_lists(
    qid: ArrayLike,
    X: ArrayLike,
    y: ArrayLike,
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
    qid : array-like of shape (n_rows,)
        Query id of each row: numbers or strings, none missing. Rows of one
        query need not be adjacent; within a query, rows keep their input
        order.
    X : array-like of shape (n_rows, n_features)
        Features.
    y : array-like of shape (n_rows,)
        Relevance labels, ``>= 0``.
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
    >>> qid, X, y = [7, 7, 3, 7], [[1.0], [2.0], [3.0], [4.0]], [2, 0, 1, 1]
    >>> X_l, y_l = group_lists(qid, X, y)
    >>> y_l
    array([[ 2.,  0.,  1.],
           [ 1., -1., -1.]], dtype=float32)
    >>> X_l.shape
    (2, 3, 1)
    """
    q = np.asarray(qid)
    Xa = np.asarray(X, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if q.ndim != 1 or ya.ndim != 1:
        raise ValueError(f"qid and y must be 1-D, one entry per row; got shapes {q.shape} and {ya.shape}.")
    if Xa.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_rows, n_features); got shape {Xa.shape}. "
            "For a single feature use X.reshape(-1, 1)."
        )
    if not (len(q) == len(Xa) == len(ya)):
        raise ValueError(
            f"qid, X and y must have one entry per row; got lengths {len(q)}, {len(Xa)} and {len(ya)}."
        )
    if len(q) == 0:
        raise ValueError("no rows to group: qid, X and y are empty.")
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
    if pad_label >= 0:
        raise ValueError(f"pad_label must be negative (padding), got {pad_label}.")
    if list_size is not None:
        if isinstance(list_size, (bool, np.bool_)) or not isinstance(list_size, (int, np.integer)):
            raise ValueError(
                f"list_size must be a whole number (an int) of items per list, got {list_size!r}."
            )
        if list_size < 2:
            raise ValueError(
                f"list_size must be at least 2, got {list_size}: a ranking loss needs at least two "
                "documents per list to compare."
            )

    try:
        uniq, first, inverse = np.unique(q, return_index=True, return_inverse=True)
    except TypeError as exc:
        kinds = sorted({type(v).__name__ for v in q})
        raise ValueError(
            f"query ids must be of one comparable type (all numbers or all strings); got {', '.join(kinds)}. "
            "Convert them, for example with qid.astype(str)."
        ) from exc
    # Number the queries by first appearance, then sort rows stably by that number.
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
    size = int(counts.max()) if list_size is None else int(list_size)
    n_bytes = 4.0 * len(uniq) * size * (Xa.shape[1] + 1)
    if max_bytes is not None and n_bytes > max_bytes:
        suggestion = max(2, int(np.ceil(np.percentile(counts, 99))))
        raise ValueError(
            f"padding {len(uniq)} lists to {size} items would build arrays of {n_bytes / 1e9:.3g} GB "
            f"(float32 X_lists and y_lists), above max_bytes={max_bytes:.3g}: the largest query has "
            f"{int(counts.max())} documents, the median one {int(np.median(counts))}. Pass "
            f"list_size={suggestion} (99% of the queries fit; longer ones are truncated), split the "
            "longest queries, or pass max_bytes=None to build the arrays anyway."
        )
    keep = position < size
    dropped = int((~keep).sum())
    if dropped:
        warnings.warn(
            f"list_size={size} truncates {int((counts > size).sum())} queries; "
            f"{dropped} documents are dropped.",
            RankingDataWarning,
            stacklevel=2,
        )
    X_lists = np.zeros((len(uniq), size, Xa.shape[1]), dtype=np.float32)
    y_lists = np.full((len(uniq), size), pad_label, dtype=np.float32)
    rows = order[keep]
    X_lists[group[keep], position[keep]] = Xa[rows]
    y_lists[group[keep], position[keep]] = ya[rows]
    if not return_index:
        return X_lists, y_lists
    row_of = np.full((len(uniq), size), -1, dtype=np.int64)
    row_of[group[keep], position[keep]] = rows
    return X_lists, y_lists, ListIndex(uniq[by_appearance], row_of, len(q))


def check_lists(y_true: ArrayLike, y_pred: Optional[ArrayLike] = None) -> None:
    """Check ranking labels (and scores) before they reach a listwise loss.

    Raises for data on which ListMLE cannot learn, and warns for data on which
    it learns less than you may think.

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
    y = np.asarray(y_true, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(
            f"y_true must have shape (n_lists, list_size); got {y.shape}. "
            "Group rows by query with companion.ranking.group_lists."
        )
    if np.isnan(y).any():
        raise ValueError("y_true contains NaN; mark padded items with a negative label instead.")
    n_valid = _n_valid(y)
    if (n_valid < 2).all():
        raise ValueError(
            f"every list holds fewer than 2 valid items (list_size is {y.shape[1]}), so ListMLE is "
            "exactly 0 and its gradient is 0: nothing can be learned. This is what one row per "
            "document, or grouping by the wrong key, produces. Group the rows of each query into "
            "one list with companion.ranking.group_lists(qid, X, y)."
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
            stacklevel=2,
        )
    masked = np.where(valid_mask(y), y, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        flat = (np.nanmax(masked, axis=1) == np.nanmin(masked, axis=1)) & (n_valid >= 2)
    if flat.any():
        warnings.warn(
            f"{int(flat.sum())} of {len(y)} lists have all valid labels equal: there is no order "
            "to learn and their loss cannot fall below log(n!).",
            RankingDataWarning,
            stacklevel=2,
        )
    if y_pred is None:
        return
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
    gap = float(np.max(within_list_gaps(y, s)))
    if gap >= UNDERFLOW_GAP:
        warnings.warn(
            f"scores within a list differ by up to {gap:.3g}; at {UNDERFLOW_GAP:g} or more "
            "tensorflow-ranking's ListMLE returns -inf and NaN gradients. Scale the features, or "
            "use companion.ranking.ListMLELoss, which is exact at any gap.",
            RankingDataWarning,
            stacklevel=2,
        )
    elif gap >= ROUND_TO_ZERO_GAP:
        warnings.warn(
            f"scores within a list differ by up to {gap:.3g}; from about {ROUND_TO_ZERO_GAP:g} "
            "tensorflow-ranking's ListMLE rounds the loss of a correctly ranked pair to exactly 0, "
            "with no gradient.",
            RankingDataWarning,
            stacklevel=2,
        )


def make_ranking_data(
    n_queries: int = 200,
    *,
    list_size: Union[int, tuple[int, int]] = (5, 15),
    n_features: int = 6,
    noise: float = 0.5,
    labels: str = "graded",
    feature_scales: Optional[Sequence[float]] = None,
    query_features: int = 0,
    leak: bool = False,
    random_state: Optional[int] = None,
) -> RankingData:
    """A synthetic learning-to-rank data set with known ground truth.

    Each document has standard-normal features; its hidden utility is a fixed
    linear function of them plus Gaussian noise. Labels grade the utility.
    Since the truth is known, "correct" has a meaning: the best possible
    ranking is the one by utility.

    Parameters
    ----------
    n_queries : int, default=200
        Number of queries (lists).
    list_size : int or (int, int), default=(5, 15)
        Documents per query: a fixed number, or a range ``(low, high)``
        (inclusive) from which each query draws its own.
    n_features : int, default=6
        Document features that carry signal (at least 1).
    noise : float, default=0.5
        Standard deviation of the utility noise (the part no feature explains).
    labels : {"graded", "order"}, default="graded"
        ``"graded"``: 0 to 4, by fixed utility thresholds, so a query has
        ties. ``"order"``: the full order within each query, ``n-1`` for the
        best document down to 0; no ties.
    feature_scales : sequence of float, optional
        Multiply column ``j`` by ``feature_scales[j]`` and shift it to be
        positive, to mimic raw counts and prices. Length `n_features`.
    query_features : int, default=0
        Extra columns that are constant within a query (for example a query
        length or a user's age): they carry no information about the order
        of a query's documents.
    leak : bool, default=False
        Append a column that reveals the label (the label plus small noise):
        a leaked target.
    random_state : int, optional
        Seed; the same seed gives the same data.

    Returns
    -------
    RankingData
        ``(qid, X, y, utility, feature_names)``, one row per document.

    Raises
    ------
    ValueError
        For sizes below their minimum, an unknown `labels`, or
        `feature_scales` of the wrong length or not positive.

    Examples
    --------
    >>> data = make_ranking_data(3, list_size=4, random_state=0)
    >>> data.X.shape, data.y.shape
    ((12, 6), (12,))
    """
    if n_queries < 1:
        raise ValueError(f"n_queries must be at least 1, got {n_queries}.")
    if n_features < 1:
        raise ValueError(f"n_features must be at least 1, got {n_features}.")
    low, high = (list_size, list_size) if isinstance(list_size, int) else list_size
    if low < 1 or high < low:
        raise ValueError(f"list_size must be >= 1 (or a range low <= high); got {list_size}.")
    if labels not in ("graded", "order"):
        raise ValueError(f"labels must be 'graded' or 'order', got {labels!r}.")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}.")
    rng = np.random.default_rng(random_state)
    sizes = rng.integers(low, high + 1, size=n_queries)
    qid = np.repeat(np.arange(n_queries, dtype=np.int64), sizes)
    n = int(sizes.sum())
    X = rng.normal(size=(n, n_features))
    weights = np.linspace(1.0, 0.2, n_features) * rng.choice([-1.0, 1.0], size=n_features)
    utility = X @ weights / np.linalg.norm(weights) + noise * rng.normal(size=n)
    if labels == "graded":
        # Fixed thresholds on the utility's scale: most documents are poor, few excellent.
        sd = float(np.sqrt(1.0 + noise**2))
        y = np.digitize(utility, sd * np.array([0.0, 0.8, 1.4, 2.0])).astype(np.float64)
    else:
        y = np.empty(n)
        start = 0
        for size in sizes:
            block = utility[start:start + size]
            y[start:start + size] = np.argsort(np.argsort(block))
            start += size
    names = [f"f{j}" for j in range(n_features)]
    if feature_scales is not None:
        scales = np.asarray(feature_scales, dtype=np.float64)
        if scales.shape != (n_features,) or (scales <= 0).any():
            raise ValueError(
                f"feature_scales needs {n_features} positive numbers, one per feature; got {feature_scales!r}."
            )
        X = X * scales + 4.0 * scales  # mostly positive, like counts or prices
    columns = [perturbed(X, precision=np.float32)]  # the chaos pass's nudge; else X itself
    if query_features:
        per_query = perturbed(rng.normal(size=(n_queries, query_features)), precision=np.float32)
        columns.append(per_query[qid])
        names += [f"q{j}" for j in range(query_features)]
    if leak:
        columns.append((y + 0.1 * rng.random(n))[:, None])
        names.append("leak")
    return RankingData(qid, np.hstack(columns), y, utility, names)


ZeroBased = Union[bool, Literal["auto"]]
Ranking = tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]


def load_svmlight_ranking(
    path: Union[str, Path],
    *,
    n_features: Optional[int] = None,
    zero_based: ZeroBased = "auto",
) -> Ranking:
    """Load a LETOR / MSLR-WEB file (SVMlight format with ``qid:``).

    Lines look like ``2 qid:10 1:0.03 2:0.5 ... # comment``. Pass the result
    to :func:`group_lists` to get lists for a listwise loss, so every chapter
    of Part I runs on MSLR-WEB10K or your own data. To load a training file
    with its validation and test files, use :func:`load_svmlight_rankings`,
    which gives them the same columns.

    Parameters
    ----------
    path : str or Path
        The file (for MSLR-WEB10K, ``Fold1/train.txt`` and its siblings).
    n_features : int, optional
        Number of features, so that train, validation and test files agree
        even when the last features are all zero in one of them (MSLR-WEB10K
        has 136).
    zero_based : bool or "auto", default="auto"
        Whether the feature indices start at 0 (``True``: index ``k`` is
        column ``k``) or at 1 (``False``: index ``k`` is column ``k - 1``, as
        in LETOR and MSLR-WEB files). ``"auto"``, as in scikit-learn's
        :func:`~sklearn.datasets.load_svmlight_file`: zero-based if index 0
        occurs in the file, else one-based. A zero-based file whose first
        feature is zero on every line (scikit-learn's
        :func:`~sklearn.datasets.dump_svmlight_file` writes no zeros) then
        loads shifted by one column: say which it is, or load the files of
        one data set together.

    Returns
    -------
    qid : ndarray of shape (n_rows,)
    X : ndarray of shape (n_rows, n_features), dense float64
    y : ndarray of shape (n_rows,)

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file has no ``qid:`` field, or a line without one, or a line
        that cannot be read (a label, query id or ``index:value`` pair that is
        not a number, a feature index beyond `n_features`, index 0 with
        ``zero_based=False``); the message names the line.

    Warns
    -----
    RankingDataWarning
        When a line gives the same feature index twice: the last value on the
        line wins, as if the pairs were assignments read from left to right.
        The warning names the first such line.

    Notes
    -----
    scikit-learn's fast parser (:func:`sklearn.datasets.load_svmlight_file`)
    reads well-formed files. It refuses feature indices that are unsorted or
    repeated within a line, which real LETOR files have, and names no line
    when it fails; such files are read again line by line, which is slower
    but accepts unsorted indices, resolves repeated ones as above, and names
    the line of any error.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    ...     _ = f.write("2 qid:1 2:0.5 1:0.1\\n0 qid:1 1:0.3\\n")
    >>> qid, X, y = load_svmlight_ranking(f.name)
    >>> X
    array([[0.1, 0.5],
           [0.3, 0. ]])
    >>> os.remove(f.name)
    """
    return load_svmlight_rankings([path], n_features=n_features, zero_based=zero_based)[0]


def load_svmlight_rankings(
    paths: Sequence[Union[str, Path]],
    *,
    n_features: Optional[int] = None,
    zero_based: ZeroBased = "auto",
) -> list[Ranking]:
    """Load the files of one data set together (train, validation, test), so that their columns agree.

    Each file is read as by :func:`load_svmlight_ranking`, but the files
    share one indexing and one width: with ``zero_based="auto"`` they are
    zero-based if index 0 occurs in any of them, and every ``X`` has as many
    columns as the widest file (or `n_features`). Loaded one by one, a file
    in which the first or the last features happen to be all zero would
    come out narrower, or shifted by a column, against the others.

    Parameters
    ----------
    paths : sequence of str or Path
        The files, for example ``["Fold1/train.txt", "Fold1/vali.txt",
        "Fold1/test.txt"]``.
    n_features : int, optional
        Number of features of every file.
    zero_based : bool or "auto", default="auto"
        As in :func:`load_svmlight_ranking`, decided once for all the files.

    Returns
    -------
    list of (qid, X, y)
        One tuple per file, in the order of `paths`, as
        :func:`load_svmlight_ranking` returns them.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_svmlight_ranking`; also for an empty `paths`.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> train = os.path.join(folder, "train.txt")
    >>> test = os.path.join(folder, "test.txt")
    >>> _ = open(train, "w").write("1 qid:1 0:0.2 1:0.5\\n0 qid:1 0:0.1\\n")
    >>> # zero-based too, but with no index 0 in it:
    >>> _ = open(test, "w").write("1 qid:2 1:0.7\\n")
    >>> loaded = load_svmlight_rankings([train, test])
    >>> (_, X_train, _), (_, X_test, _) = loaded
    >>> X_test
    array([[0. , 0.7]])
    >>> import shutil; shutil.rmtree(folder)
    """
    from sklearn.datasets import load_svmlight_files

    if zero_based not in (True, False, "auto") or not isinstance(zero_based, (bool, str)):
        raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}.")
    files = [Path(path) for path in paths]
    if not files:
        raise ValueError("load_svmlight_rankings needs at least one file.")
    for p in files:
        if not p.is_file():
            raise FileNotFoundError(f"no such ranking file: {p}")
    try:
        loaded = load_svmlight_files([str(p) for p in files], n_features=n_features, query_id=True,
                                     zero_based=zero_based)
    except ValueError:
        return _parse_svmlight(files, n_features, zero_based)
    out: list[Ranking] = []
    for k in range(len(files)):
        X, y, qid = loaded[3 * k], loaded[3 * k + 1], loaded[3 * k + 2]
        if len(qid) != len(y):
            return _parse_svmlight(files, n_features, zero_based)
        out.append((qid.astype(np.int64), np.asarray(X.todense()), y.astype(np.float64)))
    return out


@dataclass
class _Parsed:
    """One file read line by line: labels, query ids and the (row, index, value) triples."""

    path: Path
    labels: NDArray[np.float64]
    qids: NDArray[np.int64]
    lines: NDArray[np.int64]
    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    values: NDArray[np.float64]


def _parse_svmlight(files: Sequence[Path], n_features: Optional[int], zero_based: ZeroBased) -> list[Ranking]:
    """Line-by-line SVMlight reader: unsorted and repeated indices, errors with line numbers."""
    parsed = [_read_svmlight(p) for p in files]
    if zero_based == "auto":
        zero_based = any(len(f.cols) and f.cols.min() == 0 for f in parsed)  # as scikit-learn decides
    offset = 0 if zero_based else 1
    for f in parsed:
        if offset and len(f.cols) and f.cols.min() == 0:
            first = int(np.argmax(f.cols == 0))
            raise ValueError(
                f"{f.path}, line {f.lines[int(f.rows[first])]}: feature index 0 in a file read as one-based "
                "(zero_based=False). Pass zero_based=True if its indices start at 0."
            )
    width = max((int(f.cols.max()) + 1 - offset for f in parsed if len(f.cols)), default=0)
    if n_features is not None:
        for f in parsed:
            beyond = f.cols - offset >= n_features
            if beyond.any():
                first = int(np.argmax(beyond))
                raise ValueError(
                    f"{f.path}, line {f.lines[int(f.rows[first])]}: feature index {int(f.cols[first])} is beyond "
                    f"n_features={n_features}."
                )
        width = n_features
    out: list[Ranking] = []
    for f in parsed:
        X = np.zeros((len(f.qids), width))
        X[f.rows, f.cols - offset] = f.values  # (row, col) pairs are unique
        out.append((f.qids, X, f.labels))
    return out


def _read_svmlight(p: Path) -> _Parsed:
    """Read one file line by line, checking every line; the indices are kept as written."""
    from array import array

    labels = array("d")
    qids = array("q")
    lines = array("q")  # the file line of each row, for error messages
    row_of, col_of, value_of = array("q"), array("q"), array("d")
    no_qid: list[int] = []
    repeated: list[int] = []
    with p.open() as handle:
        for number, raw in enumerate(handle, start=1):
            tokens = raw.split("#", 1)[0].split()
            if not tokens:
                continue
            where = f"{p}, line {number}"
            try:
                labels.append(float(tokens[0]))
            except ValueError:
                raise ValueError(f"{where}: the label {tokens[0]!r} is not a number.") from None
            values: dict[int, float] = {}
            qid: Optional[int] = None
            for token in tokens[1:]:
                key, sep, value = token.partition(":")
                if not sep:
                    raise ValueError(f"{where}: {token!r} is not an index:value pair.")
                if key == "qid":
                    try:
                        qid = int(value)
                    except ValueError:
                        raise ValueError(f"{where}: {token!r} is not a whole-number query id.") from None
                    continue
                try:
                    index, number_value = int(key), float(value)
                except ValueError:
                    raise ValueError(f"{where}: {token!r} is not a feature index:value pair.") from None
                if index < 0:
                    raise ValueError(f"{where}: feature index {index} is negative.")
                if index in values and (not repeated or repeated[-1] != number):
                    repeated.append(number)
                values[index] = number_value  # a repeated index: the last value wins
            if qid is None:
                no_qid.append(number)
                qid = -1
            row = len(qids)
            qids.append(qid)
            lines.append(number)
            row_of.extend([row] * len(values))
            col_of.extend(values.keys())
            value_of.extend(values.values())
    if not qids:
        raise ValueError(f"{p} holds no data lines.")
    if len(no_qid) == len(qids):
        raise ValueError(f"{p} has no 'qid:' fields; a ranking file needs the query id of every row.")
    if no_qid:
        raise ValueError(
            f"{p}, line {no_qid[0]} has no 'qid:' field ({len(no_qid)} of {len(qids)} data lines have none); "
            "a ranking file needs the query id of every row."
        )
    if repeated:
        warnings.warn(
            f"{p}, line {repeated[0]} (and {len(repeated) - 1} other lines) repeats a feature index; "
            "the last value on the line is used.",
            RankingDataWarning,
            stacklevel=4,
        )

    def as_array(values: Any, dtype: Any) -> Any:
        return np.frombuffer(values, dtype=dtype).copy() if len(values) else np.zeros(0, dtype=dtype)

    return _Parsed(p, as_array(labels, np.float64), as_array(qids, np.int64), as_array(lines, np.int64),
                   as_array(row_of, np.int64), as_array(col_of, np.int64), as_array(value_of, np.float64))
