"""Seeding and determinism: the first call of every notebook.

Defined in :doc:`/book/setup` ("The environment and the seeding helper").
"""

from __future__ import annotations

import logging
import os
import random
import sys
import warnings
from typing import Any, Optional, TypeVar

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["seed_everything", "perturbed", "perturbed_initializer", "perturbation", "PERTURB_ENV"]

#: The environment variable that switches the chaos pass's perturbation on
#: (``tools/portability.py`` sets it to ``"ulp"``). Unset, every hook is a no-op.
PERTURB_ENV = "COMPANION_PERTURB"
_PERTURB_MODES = ("ulp",)
# The stream of nudge directions: its own generator, so a perturbed run draws
# exactly the same random numbers as a plain one. Reset by seed_everything().
_nudge_seed = 0
_nudges: Optional[np.random.Generator] = None
_A = TypeVar("_A")

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

    The call also restarts the stream of the chaos pass's one-ulp nudges
    (:func:`perturbed`), which are off unless the environment variable
    ``COMPANION_PERTURB`` is ``ulp``.

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
    global _nudge_seed, _nudges
    _nudge_seed, _nudges = seed, None  # perturbed(): a fresh stream per seed
    perturbation()  # a bad COMPANION_PERTURB fails here, in the first cell
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


def perturbation() -> Optional[str]:
    """The perturbation the chaos pass switched on: ``None`` (off) or ``"ulp"``.

    Read from the environment variable ``COMPANION_PERTURB`` at every call;
    unset, empty, ``0`` or ``off`` mean off.

    Raises
    ------
    ValueError
        If ``COMPANION_PERTURB`` holds anything else.
    """
    value = os.environ.get(PERTURB_ENV, "").strip().lower()
    if value in ("", "0", "off", "none"):
        return None
    if value not in _PERTURB_MODES:
        raise ValueError(
            f"{PERTURB_ENV}={value!r} is not a perturbation; set it to 'ulp' (move every "
            "initial weight and generated feature by one unit in the last place) or unset it."
        )
    return value


def perturbed(values: _A, *, precision: Optional[DTypeLike] = None) -> _A:
    """`values`, or, when the chaos pass switched it on, `values` moved by one ulp.

    The chaos pass (``tools/portability.py``) runs every notebook again with
    ``COMPANION_PERTURB=ulp``: a stand-in for another machine's rounding. Then
    every non-zero finite entry moves by one unit in the last place of
    `precision`, up or down at random; zeros, infinities and NaN stay as they
    are (they are exact on every machine). Off (the default), `values` is
    returned as it is, the very same object, so ordinary runs are
    bit-identical. The data and initialisation code of :mod:`companion`
    (:func:`companion.ranking.make_ranking_data`,
    :func:`companion.ranking.make_scorer`, :class:`companion.rbm.RBM`) call
    it once each; a notebook that makes its own data or weights calls it too.

    The directions come from a generator of their own, restarted by
    :func:`seed_everything`, so a perturbed run draws the same random
    numbers as an ordinary one and repeats itself.

    Parameters
    ----------
    values : array-like of float
        The data or initial weights.
    precision : dtype, optional
        Whose unit in the last place to move by; default the dtype of
        `values`. Pass ``np.float32`` for float64 data that a float32 model
        will read, so that the nudge survives the cast.

    Returns
    -------
    array-like
        `values` itself when the switch is off; else a new array of the same
        dtype and shape.

    Raises
    ------
    ValueError
        If ``COMPANION_PERTURB`` is set to something other than ``ulp``.
    TypeError
        If the switch is on and `values` is not floating point.

    Examples
    --------
    >>> import numpy as np
    >>> from companion import perturbed
    >>> x = np.array([1.0, 0.0, 2.5])
    >>> perturbed(x) is x  # COMPANION_PERTURB is not set
    True
    """
    if perturbation() is None:
        return values
    array = np.asarray(values)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"perturbed() moves floating-point values by one ulp; got dtype {array.dtype}.")
    global _nudges
    if _nudges is None:
        _nudges = np.random.default_rng([_nudge_seed, 0xC4A05])
    unit = np.dtype(precision if precision is not None else array.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        step = np.spacing(np.abs(array).astype(unit)).astype(array.dtype)
    sign = np.where(_nudges.integers(0, 2, size=array.shape) == 1, 1, -1).astype(array.dtype)
    moved = np.where(np.isfinite(array) & (array != 0), array + sign * step, array)
    return moved.astype(array.dtype)  # type: ignore[return-value]


def perturbed_initializer(initializer: Any) -> Any:
    """A Keras initializer, or, with the chaos pass's switch on, one whose values are :func:`perturbed`.

    Off, returns `initializer` unchanged (so a model is built exactly as
    without this call). On, returns a callable that draws from the same
    initializer (:func:`keras.initializers.get`) and moves each value by one
    ulp, for tf.keras 2 and Keras 3 alike.

    Parameters
    ----------
    initializer : str or callable
        Anything ``kernel_initializer=`` accepts.

    Returns
    -------
    str or callable
    """
    if perturbation() is None:
        return initializer
    from companion import _keras

    inner = _keras.keras().initializers.get(initializer)

    def nudged(shape: Any, dtype: Any = None, **kwargs: Any) -> Any:
        drawn = inner(shape, dtype=dtype, **kwargs)
        try:
            values = np.asarray(drawn)
        except Exception:  # a symbolic tensor (Keras 3 builds some weights in a graph)
            return _nudged_symbolic(drawn, shape)
        return perturbed(values)

    return nudged


def _nudged_symbolic(drawn: Any, shape: Any) -> Any:
    """Move a symbolic initial weight by one or two ulps with the backend's own ops.

    A symbolic tensor has no values to read, so instead of adding one ulp
    (:func:`perturbed`) each entry is multiplied by ``1 ± eps`` of its dtype,
    which moves a non-zero value by one or two units in the last place and
    leaves zeros at zero; the signs come from the same generator.
    """
    from companion import _keras

    ops = _keras.keras().ops
    global _nudges
    if _nudges is None:
        _nudges = np.random.default_rng([_nudge_seed, 0xC4A05])
    dtype = np.dtype(getattr(drawn.dtype, "name", None) or str(drawn.dtype))
    sign = np.where(_nudges.integers(0, 2, size=tuple(int(n) for n in shape)) == 1, 1, -1)
    factor = (1 + sign * np.finfo(dtype).eps).astype(dtype)
    return ops.multiply(drawn, ops.convert_to_tensor(factor, dtype=dtype.name))
