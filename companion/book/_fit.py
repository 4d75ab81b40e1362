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
    x : array-like, dict of arrays or tf.data.Dataset
        What ``fit`` will get as its inputs; only the shape of an array (or of
        a data set's batches) is read, to build a model that has no input
        shape yet.

    Returns
    -------
    keras.Model
        `model`, for chaining.
    """
    from companion import _keras

    optimizer = getattr(model, "optimizer", None)
    if _keras.keras_major() >= 3 or optimizer is None or not hasattr(optimizer, "build"):
        return model
    import tensorflow as tf

    if not model.built:
        shape = getattr(x, "shape", None)
        if shape is None and isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            shape = (spec[0] if isinstance(spec, tuple) else spec).shape
        if shape is None:
            return model  # a dict or list of inputs: leave it to fit
        model.build((None, *tuple(shape)[1:]))
    if not getattr(optimizer, "_built", False):
        optimizer.build(model.trainable_variables)
    return model
