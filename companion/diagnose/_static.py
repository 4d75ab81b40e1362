"""Diagnoses that need no training loop: input scales and a fitted RBM's history.

Defined in :doc:`/book/doctor`.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray

import warnings

from companion.diagnose._findings import DiagnosisWarning, Finding

__all__ = [
    "diagnose_inputs",
    "diagnose_rbm",
    "GAUSSIAN_MEAN_LIMIT",
    "GAUSSIAN_STD_RANGE",
    "RANKING_SCALE_LIMIT",
    "DEAD_ALARM",
    "LOW_PROGRESS",
    "WEIGHT_ALARM",
    "VISIBLE_BIAS_ALARM",
    "OVERFIT_GAP",
]

# --- Thresholds: each number, and where it comes from --------------------------

#: A standardised feature has mean 0 and standard deviation 1. Gaussian visible
#: units (unit variance) and ranking networks expect roughly that; a mean more
#: than one standard deviation off, or a spread outside [0.5, 2], means the
#: feature was not standardised.
GAUSSIAN_MEAN_LIMIT = 1.0
GAUSSIAN_STD_RANGE = (0.5, 2.0)
#: Ranking features: Part I's unscaled chapter breaks tensorflow-ranking with
#: features in the hundreds to thousands; a freshly initialised network turns
#: inputs of size s into within-list score gaps of order s. Features whose
#: typical magnitude exceeds 10 put the gaps within reach of the float32 limit
#: (88) after a few updates.
RANKING_SCALE_LIMIT = 10.0
#: Part II's learning-rate chapter: a rate 15 times too high leaves 100% of the
#: hidden units dead; healthy runs end with 0-6% dead.
DEAD_ALARM = 0.9
#: Relative fall of the reconstruction error over a run below which it counts
#: as "no progress" (too-low rates fell by under 1% in 20 epochs; healthy ones
#: by more than 50%).
LOW_PROGRESS = 0.02
#: Largest absolute weight of a Bernoulli RBM that suggests unscaled input: min-max
#: digits end below about 1.1, raw digits (0-16) reach the thousands.
WEIGHT_ALARM = 50.0
#: Gaussian RBMs start their visible biases at the data means: on standardised
#: data they stay within a few units of 0, on raw wine they reach 750.
VISIBLE_BIAS_ALARM = 10.0
#: Free-energy gap (held-out minus training, nats): healthy digits runs stay
#: within about +-1; an RBM memorising 50 digits passes 3 and keeps rising.
OVERFIT_GAP = 3.0


def _as_2d(X: ArrayLike) -> NDArray[Any]:
    A = np.asarray(X, dtype=np.float64)
    if A.ndim == 3:  # lists: (n_lists, list_size, n_features)
        A = A.reshape(-1, A.shape[-1])
    if A.ndim != 2:
        raise ValueError(f"X must be (n_samples, n_features) or (n_lists, list_size, n_features); got {A.shape}.")
    if not np.isfinite(A).all():
        raise ValueError("X contains NaN or infinity; impute or drop those values before diagnosing scales.")
    return A


def diagnose_inputs(X: ArrayLike, *, units: str = "bernoulli") -> list[Finding]:
    """Check input scales before training, for the units that will read them.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_lists, list_size, n_features)
        The data as it will be fed to the model.
    units : {"bernoulli", "gaussian", "ranking"}, default="bernoulli"
        ``"bernoulli"``: RBM visible units that need [0, 1].
        ``"gaussian"``: RBM visible units with unit variance (standardised data).
        ``"ranking"``: features of a listwise ranking network.

    Returns
    -------
    list of Finding
        Empty when the scales fit; else one ``unscaled-data`` finding naming
        the worst feature.

    Raises
    ------
    ValueError
        For an unknown `units`, a wrong shape, or NaN in `X`.

    Examples
    --------
    >>> diagnose_inputs([[0.0, 0.5], [1.0, 0.2]])
    []
    >>> [f.cause for f in diagnose_inputs([[0.0, 16.0], [3.0, 2.0]])]
    ['unscaled-data']
    """
    if units not in ("bernoulli", "gaussian", "ranking"):
        raise ValueError(f"units must be 'bernoulli', 'gaussian' or 'ranking', got {units!r}.")
    A = _as_2d(X)
    if units == "bernoulli":
        lo, hi = A.min(axis=0), A.max(axis=0)
        outside = (lo < 0) | (hi > 1)
        if outside.any():
            worst = int(np.argmax(np.maximum(hi - 1, -lo)))
            return [Finding.of("unscaled-data", units=units, features_outside_0_1=int(outside.sum()),
                               worst_feature=worst, worst_min=float(lo[worst]), worst_max=float(hi[worst]))]
        return []
    mean, std = A.mean(axis=0), A.std(axis=0)
    if units == "gaussian":
        bad = (np.abs(mean) > GAUSSIAN_MEAN_LIMIT) | (std < GAUSSIAN_STD_RANGE[0]) | (std > GAUSSIAN_STD_RANGE[1])
        bad &= std > 0  # constant features carry nothing; they are not a scaling problem
    else:
        bad = np.sqrt(mean**2 + std**2) > RANKING_SCALE_LIMIT
    if not bad.any():
        return []
    magnitude = np.sqrt(mean**2 + std**2)
    worst = int(np.argmax(np.where(bad, magnitude, -np.inf)))
    return [Finding.of("unscaled-data", units=units, unscaled_features=int(bad.sum()), worst_feature=worst,
                       worst_mean=float(mean[worst]), worst_std=float(std[worst]))]


def diagnose_rbm(rbm: Any, X: Optional[ArrayLike] = None) -> list[Finding]:
    """Name what went wrong in a fitted RBM, from its history (and its data).

    Reads :attr:`companion.rbm.RBM.history_` when the model has one; for a
    scikit-learn ``BernoulliRBM`` (no history) it checks the weights and, when
    given, the data.

    Parameters
    ----------
    rbm : companion.rbm.RBM or sklearn.neural_network.BernoulliRBM
        A fitted model.
    X : array-like, optional
        The training data, to check its scale for the model's visible units.

    Returns
    -------
    list of Finding
        Empty for a healthy run. Possible causes: ``unscaled-data``,
        ``learning-rate-too-high``, ``learning-rate-too-low``, ``overfitting``.
        When the data are unscaled, dead units are put down to that, not to
        the learning rate.

    Raises
    ------
    ValueError
        If `rbm` is not fitted.

    Warns
    -----
    DiagnosisWarning
        When the learning rate cannot be judged: a model without history
        (scikit-learn's ``BernoulliRBM``) and no `X`, and weights that do not
        show unscaled data. An empty list then means "not judged", not
        "healthy"; pass the training data.
    """
    if not hasattr(rbm, "components_"):
        raise ValueError("the RBM is not fitted; call fit() first.")
    units = getattr(rbm, "visible", "bernoulli")
    findings: list[Finding] = []
    if X is not None:
        findings += diagnose_inputs(X, units=units)
    W = np.asarray(rbm.components_, dtype=np.float64)
    max_weight = float(np.abs(W).max())
    if not findings and units == "bernoulli" and max_weight > WEIGHT_ALARM:
        findings.append(Finding.of("unscaled-data", units=units, max_abs_weight=max_weight))
    bias = float(np.abs(np.asarray(rbm.intercept_visible_, dtype=np.float64)).max())
    if not findings and units == "gaussian" and bias > VISIBLE_BIAS_ALARM:
        findings.append(Finding.of("unscaled-data", units=units, max_abs_visible_bias=bias))
    scaled = not any(f.cause == "unscaled-data" for f in findings)
    history = getattr(rbm, "history_", None)
    if not history or not history.get("reconstruction_error"):
        # No history (scikit-learn's BernoulliRBM): dead units can still be
        # measured on the data.
        if X is not None and scaled:
            mean_h = np.asarray(rbm.transform(np.asarray(X, dtype=np.float64))).mean(axis=0)
            dead = float(np.mean(mean_h < 0.01)) + float(np.mean(mean_h > 0.99))
            if dead >= DEAD_ALARM:
                findings.append(Finding.of("learning-rate-too-high", dead_or_saturated_fraction=dead))
        elif X is None and scaled:
            warnings.warn(
                f"diagnose_rbm cannot judge the learning rate of this {type(rbm).__name__}: it keeps no "
                "training history, and without the data the dead hidden units cannot be counted. Its "
                "weights show no unscaled data, which is all that was checked. Pass the training data: "
                "diagnose_rbm(rbm, X).",
                DiagnosisWarning,
                stacklevel=2,
            )
        return findings
    errors = np.asarray(history["reconstruction_error"])
    progress = float((errors[0] - errors[-1]) / errors[0]) if errors[0] > 0 else 0.0
    dead, saturated = history["dead_fraction"][-1], history["saturated_fraction"][-1]
    ratio = float(np.median(history["update_ratio"]))
    if dead + saturated >= DEAD_ALARM and scaled:
        findings.append(Finding.of("learning-rate-too-high", dead_fraction=dead, saturated_fraction=saturated,
                                   error_progress=progress, largest_step_ratio=max(history["update_ratio_max"])))
    elif progress < LOW_PROGRESS and dead + saturated < DEAD_ALARM and scaled:
        findings.append(Finding.of("learning-rate-too-low", error_progress=progress, median_update_ratio=ratio,
                                   dead_fraction=dead))
    gaps = np.asarray(history["free_energy_gap"], dtype=np.float64)
    if np.isfinite(gaps).all() and len(gaps) >= 3:
        rising = gaps[-1] > gaps[len(gaps) // 2]
        if gaps[-1] > OVERFIT_GAP and rising:
            findings.append(Finding.of("overfitting", free_energy_gap=float(gaps[-1]),
                                       gap_at_start=float(gaps[0]), epochs=len(gaps)))
    return findings
