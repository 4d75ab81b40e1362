"""Part II of the book: RBM training failures, their monitoring and their fixes.

NumPy and scikit-learn only: nothing here imports TensorFlow.
"""

from __future__ import annotations

from companion.rbm._ais import (
    AIS_N_BETAS,
    AIS_N_CHAINS,
    AISEstimate,
    AISLikelihood,
    ais_log_likelihood,
    ais_log_partition,
    ais_schedule,
)
from companion.rbm._data import feature_accuracy, load_split
from companion.rbm._estimator import GAUSSIAN_SCALE_LIMIT, HISTORY_KEYS, RANGE_TOLERANCE, RBM, DataRangeWarning
from companion.rbm._exact import MAX_EXACT_HIDDEN, exact_log_likelihood, log_partition

__all__ = [
    "RBM",
    "HISTORY_KEYS",
    "DataRangeWarning",
    "RANGE_TOLERANCE",
    "GAUSSIAN_SCALE_LIMIT",
    "exact_log_likelihood",
    "log_partition",
    "MAX_EXACT_HIDDEN",
    "ais_log_partition",
    "ais_log_likelihood",
    "ais_schedule",
    "AISEstimate",
    "AISLikelihood",
    "AIS_N_BETAS",
    "AIS_N_CHAINS",
    "load_split",
    "feature_accuracy",
]
