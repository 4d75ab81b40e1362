"""One traced train step per ``fit`` on tf.keras 2: the harness's runs build before they train."""

from __future__ import annotations

from typing import Any


def build_before_fit(model: Any, x: Any) -> Any:
    """Create a compiled model's weights and its optimizer's slots before ``model.fit(x, ...)``.

    tf.keras 2.15 creates the weights of a model that has no input shape yet,
    and the optimizer's slots (Adam's moments, its step counter), inside the
    first call of the traced train step. A ``tf.function`` that creates
    variables is traced twice, once to create them and once more without, and
    that trace is most of the cost of the book's small runs: 0.6 to 0.9 s of
    a 2.8 s ranking trial on a laptop CPU. Built first, the step is traced
    once (the trial takes about 1.9 s) and the run is the same bit for bit:
    the initial values come from the same seeds, the slots start at zero
    either way (``tests/test_fit.py``).

    Keras 3 builds both itself before it traces the step; there, and for a
    model or optimizer already built, nothing is done.

    Parameters
    ----------
    model : keras.Model
        A compiled model, about to be trained.
    x : array, dict of arrays or tf.data.Dataset
        What ``fit`` will get as its inputs. A model that has no input shape
        yet is built from the shape of a floating-point array (or of a data
        set's input batches); for other inputs (a dict, a list, integers or
        strings) it is left to ``fit``, and only the optimizer is built once
        the model is.

    Returns
    -------
    keras.Model
        `model`, for chaining.
    """
    from companion import _keras

    optimizer = getattr(model, "optimizer", None)
    if _keras.keras_major() >= 3 or optimizer is None or not hasattr(optimizer, "build"):
        return model
    import numpy as np
    import tensorflow as tf

    with model.distribute_strategy.scope():  # where fit creates them
        if not model.built:
            spec: Any = x.element_spec if isinstance(x, tf.data.Dataset) else x
            if isinstance(spec, tuple):
                spec = spec[0]  # (inputs, targets[, weights])
            shape = getattr(spec, "shape", None)
            dtype = getattr(spec, "dtype", None)
            dtype = getattr(dtype, "as_numpy_dtype", dtype)  # a TensorSpec's dtype as NumPy's
            if shape is None or dtype is None or not np.issubdtype(np.dtype(dtype), np.floating):
                return model  # dict, list or non-float inputs: leave it to fit
            model.build((None, *tuple(shape)[1:]))
        if not getattr(optimizer, "_built", False):
            optimizer.build(model.trainable_variables)
    return model
