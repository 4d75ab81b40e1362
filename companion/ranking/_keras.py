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


def listmle_gap_sweep(gaps: Sequence[float], *, backend: Optional[str] = None) -> dict[str, Any]:
    """companion's and keras-rs' ListMLE on a correctly ranked pair, at each score gap.

    For labels ``[1, 0]`` and scores ``[gap, 0]`` it computes the exact value
    (:func:`companion.ranking.plackett_luce_nll`, float64), and each loss's
    value and gradient with respect to the top score, on one Keras 3 backend.
    A process has one Keras backend, so another backend than the one in use
    runs in a subprocess (same Python, ``KERAS_BACKEND`` set). Used by
    :doc:`/book/ranking/keras3`.

    Parameters
    ----------
    gaps : sequence of float
        Score gaps, top minus bottom.
    backend : {"tensorflow", "jax"}, optional
        The Keras backend to compute on; default the one in use.

    Returns
    -------
    dict
        ``backend``; ``gap``, ``exact``; ``companion`` and ``keras_rs`` (loss
        values); ``companion_grad`` and ``keras_rs_grad`` (d loss / d top
        score: negative pulls the pair apart, positive pushes it together).
        Lists of float, one entry per gap.

    Raises
    ------
    ImportError
        Without Keras 3 or keras-rs (``pip install keras-rs``).
    """
    import json
    import os
    import subprocess
    import sys

    gaps = [float(g) for g in gaps]
    if _keras.keras_major() < 3:
        raise ImportError("listmle_gap_sweep compares with keras-rs, which needs Keras 3 (see the keras3 chapter).")
    if backend is not None and backend != _keras.backend():
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
        done = subprocess.run([sys.executable, "-m", "companion.ranking._keras", json.dumps(gaps)],
                              capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"the {backend} subprocess failed:\n{done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result
    import importlib

    from companion.ranking._loss import ListMLELoss
    from companion.ranking._reference import plackett_luce_nll

    keras_rs = importlib.import_module("keras_rs")
    ours, theirs = ListMLELoss(), keras_rs.losses.ListMLELoss()
    out: dict[str, Any] = {"backend": _keras.backend(), "gap": gaps, "exact": [], "companion": [], "keras_rs": [],
                           "companion_grad": [], "keras_rs_grad": []}
    for gap in gaps:
        out["exact"].append(plackett_luce_nll(labels=[1, 0], scores=[gap, 0.0]))
        for name, loss in (("companion", ours), ("keras_rs", theirs)):
            value, grad = _keras.value_and_grad(loss, [[1.0, 0.0]], [[gap, 0.0]])
            out[name].append(value)
            out[f"{name}_grad"].append(float(grad[0, 0]))
    return out


if __name__ == "__main__":  # the subprocess of listmle_gap_sweep
    import json
    import sys

    print(json.dumps(listmle_gap_sweep(json.loads(sys.argv[1]))))
