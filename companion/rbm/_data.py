"""Data and the downstream check shared by the RBM chapters.

Defined in :doc:`/book/rbm/learning_rate`.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

__all__ = ["load_split", "feature_accuracy"]

Split = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]


def load_split(
    name: str = "digits",
    *,
    scaling: Optional[str] = "minmax",
    test_size: float = 0.3,
    random_state: int = 0,
) -> Split:
    """A scikit-learn toy data set, split and scaled the way the book does it.

    The scaler is fitted on the training rows only, so no statistic of the
    test rows leaks into training. Nothing is downloaded: both data sets ship
    with scikit-learn.

    Parameters
    ----------
    name : {"digits", "wine"}, default="digits"
        ``"digits"``: 1797 images of 8x8 pixels, values 0 to 16.
        ``"wine"``: 178 wines, 13 features on scales from about 0.1 (hue) to
        about 1700 (proline).
    scaling : {"minmax", "standard", None}, default="minmax"
        ``"minmax"`` maps each feature's training range to [0, 1] (test values
        are clipped into it), for Bernoulli visible units; ``"standard"``
        gives zero mean and unit variance, for Gaussian visible units; None
        keeps the raw values.
    test_size : float, default=0.3
        Fraction of rows held out for testing (stratified by class).
    random_state : int, default=0
        Seed of the split.

    Returns
    -------
    X_train, X_test : ndarray of shape (n, n_features)
    y_train, y_test : ndarray of shape (n,)

    Raises
    ------
    ValueError
        For an unknown `name` or `scaling`.

    Examples
    --------
    >>> X_train, X_test, y_train, y_test = load_split("digits")
    >>> X_train.shape, float(X_train.min()), float(X_train.max())
    ((1257, 64), 0.0, 1.0)
    """
    from sklearn.datasets import load_digits, load_wine

    loaders = {"digits": load_digits, "wine": load_wine}
    if name not in loaders:
        raise ValueError(f"name must be one of {sorted(loaders)}, got {name!r}.")
    X, y = loaders[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=y)
    if scaling == "minmax":
        scaler: Any = MinMaxScaler(clip=True).fit(X_train)
    elif scaling == "standard":
        scaler = StandardScaler().fit(X_train)
    elif scaling is None:
        return X_train, X_test, y_train, y_test
    else:
        raise ValueError(f"scaling must be 'minmax', 'standard' or None, got {scaling!r}.")
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def feature_accuracy(
    model: Any,
    X_train: ArrayLike,
    X_test: ArrayLike,
    y_train: ArrayLike,
    y_test: ArrayLike,
) -> float:
    """Test accuracy of a logistic regression trained on a model's features.

    The downstream check of an unsupervised model: if its features
    (``model.transform``) are useless, a linear classifier on them scores
    chance. The classifier is scikit-learn's L2-regularised logistic regression
    (``C=1``), a strictly convex problem, solved by Newton-CG to a tolerance of
    ``1e-8``: converged, so a low score is the features' fault (see the sidebar
    on ``tol=1`` in :doc:`/book/rbm/learning_rate`), and the same on every CPU.
    With the default L-BFGS tolerance (``1e-4``) the solver stops at a point
    that depends on the BLAS kernel, and test accuracies on 256 RBM features
    moved in the third digit between OpenBLAS kernels.

    Parameters
    ----------
    model : transformer
        A fitted object with ``transform`` (an RBM, a PCA, ...).
    X_train, X_test, y_train, y_test : array-like
        The split, scaled as the model expects, in the order
        :func:`load_split` and ``train_test_split`` return it, so
        ``feature_accuracy(model, *split)`` works.

    Returns
    -------
    float
        Accuracy on the test rows; chance is 1 / n_classes.
    """
    F_train, F_test = model.transform(X_train), model.transform(X_test)
    if not (np.isfinite(F_train).all() and np.isfinite(F_test).all()):
        return float("nan")
    classifier = LogisticRegression(solver="newton-cg", tol=1e-8, max_iter=1000)
    classifier.fit(F_train, y_train)
    return float(classifier.score(F_test, y_test))
