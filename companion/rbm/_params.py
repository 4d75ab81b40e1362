"""Parameters and data of any fitted RBM, in float64: shared by the likelihood estimators.

Defined in :doc:`/book/rbm/monitoring`. Works on :class:`companion.rbm.RBM`
and on scikit-learn's ``BernoulliRBM`` (duck-typed: ``components_``,
``intercept_hidden_``, ``intercept_visible_`` and, optionally, ``visible``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from companion.rbm._estimator import RANGE_TOLERANCE

__all__: list[str] = []

Array = NDArray[np.float64]


class Params(NamedTuple):
    """Weights (hidden x visible), visible and hidden biases in float64, and the visible units."""

    W: Array
    b: Array
    c: Array
    visible: str


def softplus(x: Array) -> Array:
    """log(1 + exp(x)), stable, about 30 times faster than ``np.logaddexp(0, x)`` in float64."""
    out: Array = np.exp(-np.abs(x))
    np.log1p(out, out=out)
    out += np.maximum(x, 0.0)
    return out


def rbm_params(rbm: Any) -> Params:
    """Read a fitted RBM's parameters; clear errors for anything else."""
    missing = [name for name in ("components_", "intercept_hidden_", "intercept_visible_") if not hasattr(rbm, name)]
    if missing:
        raise ValueError(
            f"expected a fitted RBM (companion.rbm.RBM or sklearn.neural_network.BernoulliRBM); "
            f"{type(rbm).__name__} has no {', '.join(missing)}. Call fit() first."
        )
    W = np.asarray(rbm.components_, dtype=np.float64)
    b = np.asarray(rbm.intercept_visible_, dtype=np.float64)
    c = np.asarray(rbm.intercept_hidden_, dtype=np.float64)
    visible = getattr(rbm, "visible", "bernoulli")
    if W.ndim != 2 or b.shape != (W.shape[1],) or c.shape != (W.shape[0],):
        raise ValueError(
            f"inconsistent RBM parameters: components_ {W.shape}, intercept_visible_ {b.shape}, "
            f"intercept_hidden_ {c.shape}; expected (n_hidden, n_visible), (n_visible,), (n_hidden,)."
        )
    if visible not in ("bernoulli", "gaussian"):
        raise ValueError(f"visible units must be 'bernoulli' or 'gaussian', got {visible!r}.")
    if not (np.isfinite(W).all() and np.isfinite(b).all() and np.isfinite(c).all()):
        raise ValueError("the RBM's parameters contain NaN or infinity; its likelihood is undefined.")
    return Params(W, b, c, visible)


def rbm_data(p: Params, X: ArrayLike, tolerance: float = RANGE_TOLERANCE) -> Array:
    """`X` as a dense float64 array that fits the RBM, checked like the estimator checks it.

    Unlike :meth:`RBM.transform`, values outside [0, 1] beyond rounding noise
    are an error, not clipped: their likelihood under Bernoulli units is not
    defined, and that of the clipped rows would be a different number.
    """
    V = X.toarray() if sparse.issparse(X) else X  # type: ignore[union-attr]
    V = np.asarray(V, dtype=np.float64)
    if V.ndim != 2 or V.shape[1] != p.W.shape[1]:
        raise ValueError(
            f"X must be 2-D with {p.W.shape[1]} columns (the RBM's visible units), got shape {V.shape}."
        )
    if not np.isfinite(V).all():
        raise ValueError("X contains NaN or infinity.")
    if p.visible == "bernoulli" and V.size:
        lo, hi = float(V.min()), float(V.max())
        if lo < -tolerance or hi > 1.0 + tolerance:
            raise ValueError(
                f"Bernoulli visible units need data in [0, 1], but X ranges from {lo:.10g} to {hi:.10g}; "
                "the likelihood of such rows is undefined. Scale X as the model's training data was scaled "
                "(held-out rows: MinMaxScaler(clip=True) fitted on the training rows)."
            )
        V = np.clip(V, 0.0, 1.0)
    return V


def free_energy(p: Params, V: Array) -> Array:
    """F(v) of each row, in float64 (``p(v) = exp(-F(v)) / Z``)."""
    hidden = softplus(V @ p.W.T + p.c).sum(axis=1)
    if p.visible == "bernoulli":
        out: Array = -(V @ p.b) - hidden
    else:
        out = 0.5 * np.sum((V - p.b) ** 2, axis=1) - hidden
    return out
