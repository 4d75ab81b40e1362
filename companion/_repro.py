"""Seeding and determinism: the first call of every notebook.

Defined in :doc:`/book/setup` ("The environment and the seeding helper").
"""

from __future__ import annotations

import logging
import os
import random
import sys
import warnings

import numpy as np

__all__ = ["seed_everything"]

# Environment variables TensorFlow reads once, when it is first imported.
_TF_ENV = {
    # 3 = errors only: keeps TensorFlow's C++ start-up banner out of the terminal.
    "TF_CPP_MIN_LOG_LEVEL": "3",
    # oneDNN kernels change the order of floating-point sums with the CPU model;
    # without them results agree across machines (see TensorFlow's start-up message).
    "TF_ENABLE_ONEDNN_OPTS": "0",
}
# True once seed_everything() has prepared TensorFlow: later calls only re-seed.
_tf_configured = False


def seed_everything(seed: int = 0, *, tensorflow: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow deterministic.

    Every notebook of the book calls this in its first code cell, so that a
    re-run prints the same figures and strict ``nbval`` can compare them.

    Parameters
    ----------
    seed : int, default=0
        The seed for :mod:`random`, NumPy's global generator and TensorFlow's
        global generator. A non-negative integer below ``2**32``.
    tensorflow : bool, default=True
        Also seed the deep-learning backend. On tf.keras 2 and on Keras 3 with
        the TensorFlow backend: seed TensorFlow, enable op determinism
        (:func:`tf.config.experimental.enable_op_determinism`) and silence its
        logging. Pass ``False`` in code that never uses TensorFlow, so that it
        is not imported (the RBM chapters). On Keras 3 with another backend
        (JAX), :func:`keras.utils.set_random_seed` seeds it and TensorFlow is
        not imported.

    Raises
    ------
    ValueError
        If `seed` is not an integer in ``[0, 2**32)``.

    Notes
    -----
    ``TF_CPP_MIN_LOG_LEVEL`` and ``TF_ENABLE_ONEDNN_OPTS`` only take effect if
    they are set before TensorFlow is first imported. They are set here, so
    call this function before importing TensorFlow; if TensorFlow was already
    imported a :class:`RuntimeWarning` says so.

    Examples
    --------
    >>> from companion import seed_everything
    >>> seed_everything(0, tensorflow=False)
    >>> import numpy as np
    >>> a = np.random.rand()
    >>> seed_everything(0, tensorflow=False)
    >>> a == np.random.rand()
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int, got {type(seed).__name__}: {seed!r}.")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}.")
    seed = int(seed)

    random.seed(seed)
    np.random.seed(seed)
    # Only affects subprocesses (a running interpreter's hash seed is fixed).
    os.environ["PYTHONHASHSEED"] = str(seed)

    if tensorflow:
        global _tf_configured
        # Before anything here imports Keras (which, on the TensorFlow backend, imports TensorFlow).
        imported_before = "tensorflow" in sys.modules
        for key, value in _TF_ENV.items():
            os.environ.setdefault(key, value)
        from companion import _keras

        if _keras.keras_major() >= 3 and _keras.backend() != "tensorflow":
            # Keras 3 on JAX (or PyTorch): Keras seeds Python, NumPy and its backend,
            # and TensorFlow need not be installed at all.
            _keras.keras().utils.set_random_seed(seed)
            return
        if not _tf_configured and imported_before:
            warnings.warn(
                "TensorFlow was imported before seed_everything(); its log level and "
                "oneDNN setting are already fixed. Call seed_everything() first.",
                RuntimeWarning,
                stacklevel=2,
            )
        import tensorflow as tf

        _tf_configured = True

        tf.keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow
        tf.config.experimental.enable_op_determinism()
        tf.get_logger().setLevel(logging.ERROR)
        logging.getLogger("absl").setLevel(logging.ERROR)
        tf.autograph.set_verbosity(0)
