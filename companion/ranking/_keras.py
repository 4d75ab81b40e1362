"""Keras building blocks shared by the ranking chapters.

Defined in :doc:`/book/ranking/zero_loss` (the scorer) and
:doc:`/book/ranking/uniform_scores` (dead units).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

__all__ = ["make_scorer", "dead_units"]


def make_scorer(
    hidden: Sequence[int] = (32,),
    *,
    activation: str = "relu",
    kernel_initializer: Union[str, Any] = "glorot_uniform",
    output_initializer: Union[str, Any] = "glorot_uniform",
    output_activation: Optional[str] = None,
    l2: float = 0.0,
    score_noise: float = 0.0,
) -> tf.keras.Sequential:
    """A per-item scoring network that takes whole lists.

    Dense layers act on the last axis, so the same network maps
    ``(n_lists, list_size, n_features)`` to scores ``(n_lists, list_size)``,
    scoring every item of every list with shared weights. (Fed one row per
    document, ``(batch, n_features)``, it returns ``(batch, 1)``: the shape
    that makes ListMLE zero.)

    Parameters
    ----------
    hidden : sequence of int, default=(32,)
        Units of each hidden layer; ``()`` gives a linear scorer.
    activation : str, default="relu"
        Activation of the hidden layers.
    kernel_initializer : str or initializer, default="glorot_uniform"
        Initializer of the hidden layers' kernels.
    output_initializer : str or initializer, default="glorot_uniform"
        Initializer of the output layer's kernel (``"zeros"`` makes every
        initial score 0).
    output_activation : str, optional
        Activation of the score, for example ``"sigmoid"`` (a classifier's
        head; it saturates, see :doc:`/book/ranking/uniform_scores`). Default
        linear, which is what a ranking score should be.
    l2 : float, default=0.0
        L2 penalty on the hidden kernels.
    score_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the scores while
        training only (:class:`tf.keras.layers.GaussianNoise`).

    Returns
    -------
    tf.keras.Sequential
        An unbuilt model; compile it with a listwise loss.
    """
    regularizer = tf.keras.regularizers.l2(l2) if l2 else None
    layers: list[Any] = [
        tf.keras.layers.Dense(
            units, activation=activation, kernel_initializer=kernel_initializer, kernel_regularizer=regularizer
        )
        for units in hidden
    ]
    layers.append(tf.keras.layers.Dense(1, activation=output_activation, kernel_initializer=output_initializer))
    layers.append(tf.keras.layers.Reshape((-1,)))
    if score_noise:
        layers.append(tf.keras.layers.GaussianNoise(score_noise))
    return tf.keras.Sequential(layers)


def dead_units(model: tf.keras.Model, X: ArrayLike) -> float:
    """Fraction of ReLU units that output 0 for every input in `X`.

    A dead ReLU passes no gradient, so it never recovers. When every unit of a
    layer is dead, the network's output is a constant: uniform scores.

    Parameters
    ----------
    model : tf.keras.Model
        A built Sequential model; every Dense layer with a ReLU activation is
        inspected.
    X : array-like
        Inputs to run through the model.

    Returns
    -------
    float
        Dead units over all ReLU units, in [0, 1]; 0.0 if there are none.
    """
    x = tf.convert_to_tensor(np.asarray(X, dtype=np.float32))
    dead = total = 0
    for layer in model.layers:
        x = layer(x)
        if isinstance(layer, tf.keras.layers.Dense) and layer.activation is tf.keras.activations.relu:
            active = tf.reduce_max(tf.reshape(x, (-1, x.shape[-1])), axis=0).numpy() > 0
            dead += int((~active).sum())
            total += active.size
    return dead / total if total else 0.0
