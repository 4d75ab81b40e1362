"""One scale rule, read by :meth:`companion.rbm.RBM.fit` and by the doctor.

Defined in :doc:`/book/rbm/unscaled_data` (RBM units) and
:doc:`/book/generic_failures` (any Keras network). Each kind of input unit
accepts data on one scale; a feature outside it is *unscaled*:

- ``"bernoulli"``: RBM visible units that take values in [0, 1]. Values
  within :data:`RANGE_TOLERANCE` of [0, 1] are rounding noise
  (``MinMaxScaler`` returns ``1.0000000000000002`` on many data sets), not
  unscaled data.
- ``"gaussian"``: RBM visible units of unit variance. A feature is unscaled
  when its mean is further than :data:`GAUSSIAN_SCALE_LIMIT` from 0, or its
  standard deviation is more than that many times larger or smaller than 1
  (constant features carry nothing and are exempt).
- ``"network"``: the inputs of a neural network (a ranking scorer or any
  Keras model). A feature is unscaled when its typical magnitude
  ``sqrt(mean**2 + std**2)`` exceeds :data:`NETWORK_SCALE_LIMIT`.

This module imports nothing from the rest of the package, so the RBM and the
doctor can both read it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["RANGE_TOLERANCE", "GAUSSIAN_SCALE_LIMIT", "NETWORK_SCALE_LIMIT", "UNITS", "unscaled_mask"]

#: Values this close outside [0, 1] are rounding noise, not unscaled data
#: (float32 rounding is about 6e-8; MinMaxScaler overshoots by 2e-16).
RANGE_TOLERANCE = 1e-6
#: Gaussian units: a mean further than this from 0, or a standard deviation
#: more than this factor away from 1, is not standardised. Loose on purpose,
#: so that a fold of standardised data never trips it; raw wine (proline:
#: mean about 750, standard deviation about 310) does.
GAUSSIAN_SCALE_LIMIT = 3.0
#: Network inputs: a typical magnitude sqrt(mean^2 + std^2) above this is
#: unscaled. A fresh network turns inputs of size s into outputs of order s;
#: from about 10 the first updates push scores (or ranking gaps) out of the
#: range where the loss still has a useful gradient
#: (:doc:`/book/ranking/unscaled_features`).
NETWORK_SCALE_LIMIT = 10.0
#: The kinds of input units the rule knows.
UNITS = ("bernoulli", "gaussian", "network")


def unscaled_mask(units: str, *, low: Any = None, high: Any = None, mean: Any = None,
                  std: Any = None) -> NDArray[np.bool_]:
    """Which features are unscaled for `units`, from per-feature statistics.

    Parameters
    ----------
    units : {"bernoulli", "gaussian", "network"}
        The units that read the data.
    low, high : array-like, optional
        Per-feature minimum and maximum (``"bernoulli"``).
    mean, std : array-like, optional
        Per-feature mean and standard deviation (``"gaussian"``, ``"network"``).

    Returns
    -------
    ndarray of bool
        True where a feature is unscaled.

    Raises
    ------
    ValueError
        For unknown `units`, or when the statistics that `units` needs are missing.

    Examples
    --------
    >>> unscaled_mask("bernoulli", low=[0.0, 0.0], high=[1.0000000000000002, 16.0]).tolist()
    [False, True]
    >>> unscaled_mask("gaussian", mean=[2.0, 750.0], std=[1.0, 310.0]).tolist()
    [False, True]
    """
    if units not in UNITS:
        raise ValueError(f"units must be one of {', '.join(map(repr, UNITS))}; got {units!r}.")
    if units == "bernoulli":
        if low is None or high is None:
            raise ValueError("the 'bernoulli' rule needs low and high (each feature's minimum and maximum).")
        lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        return np.asarray((lo < -RANGE_TOLERANCE) | (hi > 1.0 + RANGE_TOLERANCE))
    if mean is None or std is None:
        raise ValueError(f"the {units!r} rule needs mean and std (each feature's mean and standard deviation).")
    m, s = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if units == "gaussian":
        limit = GAUSSIAN_SCALE_LIMIT
        return np.asarray(((np.abs(m) > limit) | (s > limit) | (s < 1.0 / limit)) & (s > 0))
    return np.asarray(np.sqrt(m**2 + s**2) > NETWORK_SCALE_LIMIT)
