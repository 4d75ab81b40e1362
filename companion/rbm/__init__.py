"""Part II of the book: RBM training failures, their monitoring and their fixes.

NumPy and scikit-learn only: nothing here imports TensorFlow.
"""

from __future__ import annotations

from companion.rbm._data import feature_accuracy, load_split
from companion.rbm._estimator import HISTORY_KEYS, RBM
from companion.rbm._exact import MAX_EXACT_HIDDEN, exact_log_likelihood, log_partition

__all__ = [
    "RBM",
    "HISTORY_KEYS",
    "exact_log_likelihood",
    "log_partition",
    "MAX_EXACT_HIDDEN",
    "load_split",
    "feature_accuracy",
]
