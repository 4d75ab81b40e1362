"""Synthetic learning-to-rank data with a known ground truth.

Defined in :doc:`/book/ranking/zero_loss` (the data every Part I chapter
trains on) and :doc:`/book/ranking/unscaled_features` (feature scales).
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Union

import numpy as np
from numpy.typing import NDArray

from companion._repro import perturbed

__all__ = ["RankingData", "make_ranking_data"]


class RankingData(NamedTuple):
    """Rows of a learning-to-rank data set, one row per (query, document).

    Read the fields by name (``data.X``, ``data.y``, ``data.qid``): the
    tuple's order, ``qid`` first, predates the package's argument order
    ``(X, y, qid)`` and is kept, since a reordered tuple would unpack into
    the wrong names without an error.

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
        ``(qid, X, y, utility, feature_names)``, one row per document; read
        the fields by name.

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
    low, high = _check_options(n_queries, n_features, list_size, labels, noise)
    rng = np.random.default_rng(random_state)
    sizes = rng.integers(low, high + 1, size=n_queries)
    qid = np.repeat(np.arange(n_queries, dtype=np.int64), sizes)
    n = int(sizes.sum())
    X = rng.normal(size=(n, n_features))
    weights = np.linspace(1.0, 0.2, n_features) * rng.choice([-1.0, 1.0], size=n_features)
    utility = X @ weights / np.linalg.norm(weights) + noise * rng.normal(size=n)
    y = _graded(utility, noise) if labels == "graded" else _order(utility, sizes)
    names = [f"f{j}" for j in range(n_features)]
    if feature_scales is not None:
        X = _rescaled(X, feature_scales)
    columns = [perturbed(X, precision=np.float32)]  # the chaos pass's nudge; else X itself
    if query_features:
        per_query = perturbed(rng.normal(size=(n_queries, query_features)), precision=np.float32)
        columns.append(per_query[qid])
        names += [f"q{j}" for j in range(query_features)]
    if leak:
        columns.append((y + 0.1 * rng.random(n))[:, None])
        names.append("leak")
    return RankingData(qid, np.hstack(columns), y, utility, names)


def _check_options(n_queries: int, n_features: int, list_size: Union[int, tuple[int, int]], labels: str,
                   noise: float) -> tuple[int, int]:
    """Refuse sizes below their minimum and unknown options; the range of list sizes."""
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
    return low, high


def _graded(utility: NDArray[np.float64], noise: float) -> NDArray[np.float64]:
    """Grades 0 to 4 by fixed thresholds on the utility's scale: most documents poor, few excellent."""
    sd = float(np.sqrt(1.0 + noise**2))
    return np.digitize(utility, sd * np.array([0.0, 0.8, 1.4, 2.0])).astype(np.float64)


def _order(utility: NDArray[np.float64], sizes: NDArray[np.int64]) -> NDArray[np.float64]:
    """The full order within each query: n-1 for the best document down to 0."""
    y = np.empty(len(utility))
    start = 0
    for size in sizes:
        block = utility[start:start + size]
        y[start:start + size] = np.argsort(np.argsort(block))
        start += size
    return y


def _rescaled(X: NDArray[np.float64], feature_scales: Sequence[float]) -> NDArray[np.float64]:
    """Column j times feature_scales[j], shifted to be mostly positive, like counts or prices."""
    n_features = X.shape[1]
    scales = np.asarray(feature_scales, dtype=np.float64)
    if scales.shape != (n_features,) or (scales <= 0).any():
        raise ValueError(
            f"feature_scales needs {n_features} positive numbers, one per feature; got {feature_scales!r}."
        )
    return X * scales + 4.0 * scales
