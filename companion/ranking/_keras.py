"""Keras building blocks shared by the ranking chapters.

Defined in :doc:`/book/ranking/zero_loss` (the scorer) and
:doc:`/book/ranking/uniform_scores` (dead units). They run on tf.keras 2 (the
book) and on Keras 3 with any backend (:doc:`/book/ranking/keras3`).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from companion import _keras
from companion._repro import perturbed_initializer

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
) -> Any:
    """A per-item scoring network that takes whole lists.

    Dense layers act on the last axis, so the same network maps
    ``(n_lists, list_size, n_features)`` to scores ``(n_lists, list_size)``,
    scoring every item of every list with shared weights. (Fed one row per
    document, ``(batch, n_features)``, it returns ``(batch, 1)``: the shape
    that makes ListMLE zero.) On Keras 3 a model, once built, takes inputs of
    the rank it was built with only: build one model per input layout.

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
        training only (``keras.layers.GaussianNoise``).

    Returns
    -------
    keras.Sequential
        An unbuilt model (tf.keras 2 or Keras 3, whichever is in use); compile
        it with a listwise loss.
    """
    keras = _keras.keras()
    regularizer = keras.regularizers.l2(l2) if l2 else None
    layers: list[Any] = [
        keras.layers.Dense(
            units, activation=activation, kernel_initializer=perturbed_initializer(kernel_initializer),
            kernel_regularizer=regularizer,
        )
        for units in hidden
    ]
    layers.append(keras.layers.Dense(1, activation=output_activation,
                                     kernel_initializer=perturbed_initializer(output_initializer)))
    layers.append(keras.layers.Reshape((-1,)))
    if score_noise:
        layers.append(keras.layers.GaussianNoise(score_noise))
    return keras.Sequential(layers)


def dead_units(model: Any, X: ArrayLike) -> float:
    """Fraction of ReLU units that output 0 for every input in `X`.

    A dead ReLU passes no gradient, so it never recovers. When every unit of a
    layer is dead, the network's output is a constant: uniform scores.

    Parameters
    ----------
    model : keras.Model
        A built Sequential model; every Dense layer with a ReLU activation is
        inspected.
    X : array-like
        Inputs to run through the model.

    Returns
    -------
    float
        Dead units over all ReLU units, in [0, 1]; 0.0 if there are none.
    """
    keras, ops = _keras.keras(), _keras.ops()
    x = ops.convert_to_tensor(np.asarray(X, dtype=np.float32))
    dead = total = 0
    for layer in model.layers:
        x = layer(x)
        if isinstance(layer, keras.layers.Dense) and layer.activation is keras.activations.relu:
            out = np.asarray(keras.ops.convert_to_numpy(x) if _keras.keras_major() >= 3 else x)
            active = out.reshape(-1, out.shape[-1]).max(axis=0) > 0
            dead += int((~active).sum())
            total += active.size
    return dead / total if total else 0.0
