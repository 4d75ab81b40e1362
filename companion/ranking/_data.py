"""Learning-to-rank data: grouping rows into lists, checks, synthetic data, a loader.

Defined in :doc:`/book/ranking/zero_loss` (grouping and checks) and
:doc:`/book/ranking/unscaled_features` (feature scales).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import NamedTuple, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "RankingData",
    "RankingDataWarning",
    "group_lists",
    "check_lists",
    "make_ranking_data",
    "load_svmlight_ranking",
    "ZERO_LOSS_GAP",
    "OVERFLOW_GAP",
]

#: From this score gap on, float32 rounds ``1 + exp(-gap)`` to 1 (``24 ln 2`` is
#: 16.6), so tensorflow-ranking's ListMLE gives a correctly ranked pair a loss of
#: exactly 0.0 and no gradient. (:class:`ListMLELoss` keeps the tiny value until
#: float32 itself underflows, near a gap of 88.)
ZERO_LOSS_GAP = 17.0
#: exp(-88.7) is the smallest normal float32: past this gap tensorflow-ranking's
#: ``log(sum(exp(s - max)))`` takes the log of 0 and returns -inf (NaN gradients).
OVERFLOW_GAP = 88.0


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


def group_lists(
    qid: ArrayLike,
    X: ArrayLike,
    y: ArrayLike,
    *,
    list_size: Optional[int] = None,
    pad_label: float = -1.0,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Group rows into lists, one list per query, padded to a common size.

    A listwise loss compares the documents *of one query* with each other, so
    its input must be ``[n_lists, list_size]``. Feeding it one row per
    document instead makes every list one item long, and ListMLE is then
    exactly 0 (:doc:`/book/ranking/zero_loss`).

    Parameters
    ----------
    qid : array-like of shape (n_rows,)
        Query id of each row. Rows of one query need not be adjacent; within a
        query, rows keep their input order.
    X : array-like of shape (n_rows, n_features)
        Features.
    y : array-like of shape (n_rows,)
        Relevance labels, ``>= 0``.
    list_size : int, optional
        Items per list. Longer queries are truncated (a warning says how
        many items were dropped); shorter ones padded. Defaults to the size of
        the largest query.
    pad_label : float, default=-1.0
        The label of padded items. It must be negative: losses and metrics
        treat items with a label below 0 as padding.

    Returns
    -------
    X_lists : ndarray of shape (n_lists, list_size, n_features), float32
        Features; padded items are zeros.
    y_lists : ndarray of shape (n_lists, list_size), float32
        Labels; padded items hold `pad_label`. Lists are in order of first
        appearance of their query.

    Raises
    ------
    ValueError
        For mismatched lengths, a `X` that is not 2-D, NaN or infinite values,
        negative labels, a `pad_label` that is not negative, a `list_size`
        below 2, or query ids that each occur once (a document or row id
        passed as `qid`).

    Examples
    --------
    >>> X_l, y_l = group_lists([7, 7, 3, 7], [[1.0], [2.0], [3.0], [4.0]], [2, 0, 1, 1])
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
    if list_size is not None and list_size < 2:
        raise ValueError(
            f"list_size must be at least 2, got {list_size}: a ranking loss needs at least two "
            "documents per list to compare."
        )

    uniq, first, inverse = np.unique(q, return_index=True, return_inverse=True)
    # Number the queries by first appearance, then sort rows stably by that number.
    rank_of = np.empty(len(uniq), dtype=np.int64)
    rank_of[np.argsort(first, kind="stable")] = np.arange(len(uniq))
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
    return X_lists, y_lists


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
        and scores whose within-list gap reaches :data:`ZERO_LOSS_GAP`
        (tensorflow-ranking rounds the loss to 0) or :data:`OVERFLOW_GAP`
        (tensorflow-ranking's ListMLE returns -inf).

    Examples
    --------
    >>> check_lists([[2, 1, 0], [1, 0, -1]])
    >>> check_lists([[1], [0], [2]])
    Traceback (most recent call last):
        ...
    ValueError: every list holds fewer than 2 valid items (list_size is 1)...group_lists(qid, X, y).
    """
    y = np.asarray(y_true, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(
            f"y_true must have shape (n_lists, list_size); got {y.shape}. "
            "Group rows by query with companion.ranking.group_lists."
        )
    if np.isnan(y).any():
        raise ValueError("y_true contains NaN; mark padded items with a negative label instead.")
    n_valid = (y >= 0).sum(axis=1)
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
    masked = np.where(y >= 0, y, np.nan)
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
    valid = y >= 0
    hi = np.where(valid, s, -np.inf).max(axis=1)
    lo = np.where(valid, s, np.inf).min(axis=1)
    gap = float(np.max(np.where(n_valid >= 2, hi - lo, 0.0)))
    if gap >= OVERFLOW_GAP:
        warnings.warn(
            f"scores within a list differ by up to {gap:.3g}; at {OVERFLOW_GAP:g} or more "
            "tensorflow-ranking's ListMLE returns -inf and NaN gradients. Scale the features, or "
            "use companion.ranking.ListMLELoss, which is exact at any gap.",
            RankingDataWarning,
            stacklevel=2,
        )
    elif gap >= ZERO_LOSS_GAP:
        warnings.warn(
            f"scores within a list differ by up to {gap:.3g}; from about {ZERO_LOSS_GAP:g} "
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
    columns = [X]
    if query_features:
        per_query = rng.normal(size=(n_queries, query_features))
        columns.append(per_query[qid])
        names += [f"q{j}" for j in range(query_features)]
    if leak:
        columns.append((y + 0.1 * rng.random(n))[:, None])
        names.append("leak")
    return RankingData(qid, np.hstack(columns), y, utility, names)


def load_svmlight_ranking(
    path: Union[str, Path],
    *,
    n_features: Optional[int] = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Load a LETOR / MSLR-WEB file (SVMlight format with ``qid:``).

    Lines look like ``2 qid:10 1:0.03 2:0.5 ... # comment``. Pass the result
    to :func:`group_lists` to get lists for a listwise loss, so every chapter
    of Part I runs on MSLR-WEB10K or your own data.

    Parameters
    ----------
    path : str or Path
        The file (for MSLR-WEB10K, ``Fold1/train.txt`` and its siblings).
    n_features : int, optional
        Number of features, so that train, validation and test files agree
        even when the last features are all zero in one of them (MSLR-WEB10K
        has 136).

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
        If the file has no ``qid:`` field.
    """
    from sklearn.datasets import load_svmlight_file

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such ranking file: {p}")
    X, y, qid = load_svmlight_file(str(p), n_features=n_features, query_id=True)
    if len(qid) != len(y):
        raise ValueError(f"{p} has no 'qid:' fields; a ranking file needs the query id of every row.")
    return qid.astype(np.int64), np.asarray(X.todense()), y.astype(np.float64)
