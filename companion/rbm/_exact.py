"""Exact log-likelihood of a small RBM, through its partition function.

Defined in :doc:`/book/rbm/monitoring`: the ground truth that reconstruction
error and pseudo-likelihood only approximate.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp

from companion.rbm._params import free_energy, rbm_data, rbm_params, softplus

__all__ = ["exact_log_likelihood", "log_partition", "MAX_EXACT_HIDDEN"]

#: Enumerating 2**20 hidden states takes about a second; beyond that it grows
#: out of reach quickly (2**30 is a thousand times more).
MAX_EXACT_HIDDEN = 20
_CHUNK = 1 << 14


def _hidden_states(n: int) -> Iterator[NDArray[np.float64]]:
    """All 2**n binary vectors, in chunks of at most _CHUNK rows."""
    bits = np.arange(n)
    for start in range(0, 1 << n, _CHUNK):
        idx = np.arange(start, min(start + _CHUNK, 1 << n))
        yield ((idx[:, None] >> bits) & 1).astype(np.float64)


def log_partition(rbm: Any) -> float:
    """log Z of a fitted RBM, summed exactly over all hidden states (float64).

    For Bernoulli visible units,
    ``log Z = logsumexp_h [c.h + sum_i softplus(b_i + (W^T h)_i)]``; for
    Gaussian units with unit variance,
    ``log Z = d/2 log(2 pi) + logsumexp_h [c.h + |b + W^T h|^2 / 2 - |b|^2 / 2]``.

    Parameters
    ----------
    rbm : RBM or sklearn.neural_network.BernoulliRBM
        A fitted :class:`companion.rbm.RBM` or scikit-learn ``BernoulliRBM``
        (any object with ``components_``, ``intercept_hidden_`` and
        ``intercept_visible_``) with at most :data:`MAX_EXACT_HIDDEN` hidden
        units.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the RBM has more than :data:`MAX_EXACT_HIDDEN` hidden units, or is
        not fitted.
    """
    W, b, c, visible = rbm_params(rbm)
    n_hidden = W.shape[0]
    if n_hidden > MAX_EXACT_HIDDEN:
        raise ValueError(
            f"the exact likelihood sums over 2**n_components hidden states; {n_hidden} hidden units "
            f"means 2**{n_hidden} states, too many. Use at most {MAX_EXACT_HIDDEN} hidden units, or "
            "estimate it with companion.rbm.ais_log_partition (annealed importance sampling)."
        )
    parts = []
    for h in _hidden_states(n_hidden):
        a = h @ W + b  # (states, d)
        if visible == "bernoulli":
            parts.append(logsumexp(h @ c + softplus(a).sum(axis=1)))
        else:
            parts.append(logsumexp(h @ c + 0.5 * np.sum(a * a, axis=1) - 0.5 * b @ b))
    log_z = float(logsumexp(parts))
    if visible == "gaussian":
        log_z += 0.5 * W.shape[1] * np.log(2 * np.pi)
    return log_z


def exact_log_likelihood(rbm: Any, X: ArrayLike) -> float:
    """Mean exact log-likelihood ``log p(v)`` of the rows of `X` under a small RBM.

    ``log p(v) = -F(v) - log Z``, with the free energy F in float64 and
    :func:`log_partition` summed over all ``2**n_components`` hidden states.
    Reconstruction error and pseudo-likelihood are proxies; this is the
    quantity training maximises, so the book uses it to check them.

    Parameters
    ----------
    rbm : RBM or sklearn.neural_network.BernoulliRBM
        A fitted RBM with at most :data:`MAX_EXACT_HIDDEN` hidden units
        (scikit-learn's ``BernoulliRBM`` works too).
    X : array-like or scipy sparse matrix of shape (n_samples, n_features)
        Data, scaled as for training (Bernoulli units: in [0, 1], up to
        rounding noise of 1e-6). For Gaussian units the result is a log
        density (nats), not a log probability.

    Returns
    -------
    float
        Mean over rows, in nats.

    Raises
    ------
    ValueError
        If the RBM is too large to enumerate, or `X` does not fit it (wrong
        number of columns, NaN, or outside [0, 1] for Bernoulli units).

    Examples
    --------
    >>> import numpy as np
    >>> from companion.rbm import RBM, exact_log_likelihood
    >>> X = (np.random.default_rng(0).random((50, 6)) > 0.5).astype(float)
    >>> rbm = RBM(n_components=3, n_iter=1, random_state=0).fit(X)
    >>> bool(-6 * np.log(2) - 1 < exact_log_likelihood(rbm, X) < 0)
    True
    """
    params = rbm_params(rbm)
    V = rbm_data(params, X)
    log_z = log_partition(rbm)
    return float(np.mean(-free_energy(params, V) - log_z))
