"""Training programs written by others: the doctor's held-out test on models it was not built for.

Defined in :doc:`/book/doctor`. Each :class:`Program` reproduces, in this
package's own code, a failing (or fixed) Keras program that someone else
posted with a question about it, labelled with the cause its accepted answer
fixed. The list and the labels were fixed (committed) before the doctor was
run on any of them, and none of the doctor's thresholds was tuned on them:
the whole list is held out.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
from numpy.typing import NDArray

__all__ = ["Program", "external_programs", "run_program"]


@dataclass(frozen=True)
class Program:
    """One program written by someone else, reproduced.

    Attributes
    ----------
    name : str
        What it does.
    source : str
        Where it was posted (the question and its accepted answer).
    expected : str or None
        The cause its accepted answer fixed (a registry cause), ``None`` for
        the fixed, healthy version.
    build : callable
        ``build(rng)`` returns ``(model, X, y, epochs, batch_size)``; the
        model compiled.
    batch : int
        1 for the first six pairs, whose first run changed a detector (the
        stuck-at-chance rule now requires a constant prediction), so they are
        no longer held out; 2 for the pairs added and labelled after that
        change, before the doctor ran on them.
    """

    name: str
    source: str
    expected: Optional[str]
    build: Callable[[np.random.Generator], tuple[Any, Any, NDArray[Any], int, int]]
    batch: int = 1


def _keras() -> Any:
    from companion import _keras

    return _keras.keras()


def _mlp(n_in: int, hidden: tuple[int, ...], out: int, out_activation: Optional[str], *,
         activation: str = "relu") -> Any:
    keras = _keras()
    layers = [keras.Input((n_in,))]
    layers += [keras.layers.Dense(h, activation=activation) for h in hidden]
    layers.append(keras.layers.Dense(out, activation=out_activation))
    return keras.Sequential(layers)


# --- Softmax on one unit (Stack Overflow 45799474 and its copies; stats.SE) ----------------


def _bits(rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
    X = (rng.random((100, 3)) < 0.6).astype(np.float32)
    return X, (X.sum(axis=1) > 1).astype(np.float32)


def _softmax_one_unit_bits(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    X, y = _bits(rng)
    model = _mlp(3, (10,), 1, "softmax")
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    return model, X, y, 30, 21


def _sigmoid_one_unit_bits(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    X, y = _bits(rng)
    model = _mlp(3, (10,), 1, "sigmoid")
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    return model, X, y, 30, 21


def _two_classes(rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
    X = rng.normal(size=(400, 6)).astype(np.float32)
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.float32)


def _softmax_one_unit(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    X, y = _two_classes(rng)
    model = _mlp(6, (12, 8), 1, "softmax")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, X, y, 10, 32


def _softmax_two_units(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    X, y = _two_classes(rng)
    model = _mlp(6, (12, 8), 2, "softmax")
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model, X, np.stack([1 - y, y], axis=1), 10, 32


# --- Inputs far from unit scale ------------------------------------------------------------


def _inputs_times_1000(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    X = (rng.normal(size=(1000, 10)) * 1000).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    model = _mlp(10, (64,), 1, "sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, X, y, 10, 32


def _inputs_standardised(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    X = rng.normal(size=(1000, 10)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    model = _mlp(10, (64,), 1, "sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, X, y, 10, 32


def _power_raw(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    x = rng.uniform(-100, 100, size=(1000, 1)).astype(np.float32)
    y = (x[:, 0] ** 4).astype(np.float32)
    model = _mlp(1, (20, 20), 1, None, activation="sigmoid")
    model.compile(optimizer="adam", loss="mse")
    return model, x, y, 10, 32


def _power_scaled(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    x = rng.uniform(-100, 100, size=(1000, 1))
    y = x[:, 0] ** 3
    xs = ((x - x.mean()) / x.std()).astype(np.float32)
    ys = ((y - y.mean()) / y.std()).astype(np.float32)
    model = _mlp(1, (20, 20), 1, None, activation="sigmoid")
    model.compile(optimizer="adam", loss="mse")
    return model, xs, ys, 10, 32


# --- A classification loss on a regression target -----------------------------------------


def _prices(rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
    X = rng.normal(size=(800, 5)).astype(np.float32)
    y = (200.0 + 50.0 * X @ rng.normal(size=5) / np.sqrt(5)).astype(np.float32)
    return X, y


def _price_with_bce(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    X, y = _prices(rng)
    model = _mlp(5, (32,), 1, None)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, X, y, 8, 32


def _price_with_mse(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    X, y = _prices(rng)
    model = _mlp(5, (32,), 1, None)
    model.compile(optimizer="adam", loss="mse")
    return model, X, (y - y.mean()) / y.std(), 8, 32


# --- A learning rate too high (datascience.SE 15962; "keep calm and lower your learning rate") ---


def _sgd_rate(rate: float) -> Callable[[np.random.Generator], tuple[Any, Any, NDArray[Any], int, int]]:
    def build(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
        X = rng.normal(size=(600, 8)).astype(np.float32) * 3
        y = (X @ rng.normal(size=8) + 0.1 * rng.normal(size=600)).astype(np.float32)
        model = _mlp(8, (32, 32), 1, None)
        model.compile(optimizer=_keras().optimizers.SGD(rate), loss="mse")
        return model, X, y, 8, 32

    return build


# --- Batch 2, labelled before the doctor ran on it --------------------------------------------


def _tv_sales(rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
    """TV advertising budget (0 to 300) and sales (about 7 + 0.05 per unit of budget)."""
    tv = rng.uniform(0.7, 296.0, size=(200, 1))
    sales = 7.0 + 0.0475 * tv[:, 0] + rng.normal(scale=3.2, size=200)
    return tv, sales


def _one_unit_raw(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    tv, sales = _tv_sales(rng)
    model = _mlp(1, (), 1, None)
    model.compile(optimizer=_keras().optimizers.SGD(), loss="mse")
    return model, tv.astype(np.float32), sales.astype(np.float32), 30, 1


def _one_unit_scaled(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    tv, sales = _tv_sales(rng)
    x = ((tv - tv.mean()) / tv.std()).astype(np.float32)
    y = ((sales - sales.mean()) / sales.std()).astype(np.float32)
    model = _mlp(1, (), 1, None)
    model.compile(optimizer=_keras().optimizers.SGD(), loss="mse")
    return model, x, y, 30, 1


def _houses(rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
    """404 houses, 13 features on their own scales (rates, rooms, ages, taxes in the hundreds)."""
    scales = np.array([4.0, 12.0, 7.0, 0.25, 0.12, 0.7, 28.0, 2.1, 8.7, 168.0, 2.2, 91.0, 7.1])
    means = np.array([3.6, 11.4, 11.1, 0.07, 0.55, 6.3, 68.6, 3.8, 9.5, 408.0, 18.5, 356.0, 12.7])
    X = means + scales * rng.normal(size=(404, 13))
    w = rng.normal(size=13) / np.sqrt(13)
    y = 22.5 + 9.0 * np.tanh(((X - means) / scales) @ w) + rng.normal(scale=2.0, size=404)
    return X, y


def _houses_raw(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    X, y = _houses(rng)
    model = _mlp(13, (64, 64), 1, None)
    model.compile(optimizer="rmsprop", loss="mse")
    return model, X.astype(np.float32), y.astype(np.float32), 80, 16


def _houses_standardised(rng: np.random.Generator) -> tuple[Any, Any, NDArray[Any], int, int]:
    X, y = _houses(rng)
    Xs = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
    model = _mlp(13, (64, 64), 1, None)
    model.compile(optimizer="rmsprop", loss="mse")
    return model, Xs, y.astype(np.float32), 80, 16


_SE_LINEAR = ("stats.stackexchange.com/questions/284189 ('Simple Linear Regression in Keras': one linear unit, "
              "SGD at its default rate, TV budget against sales, NaN loss every epoch; answer: standardise x and "
              "y)")
_HOUSES = ("Chollet, Deep Learning with Python, section 3.6 (house prices: 13 features on different scales, "
           "standardised before a 64-64-1 network with RMSprop and squared error, 80 epochs of batch 16; the "
           "text says raw features of wildly different ranges make learning harder)")

_SO_SOFTMAX = ("geek-tips.imtqy.com/articles/557592/index.html and boohere.com/ru/detail/80265.html (copies of "
               "a Stack Overflow question: softmax with one output unit and binary cross-entropy; answer: a softmax "
               "over one unit is always 1, use sigmoid, or softmax over two units)")
_SE_SOFTMAX = ("stats.stackexchange.com/revisions/2bda6552-783b-4fb7-ba2b-a03d2266e69b/view-source (a Keras "
               "model on bit strings that always predicts 1; softmax on one unit, fixed by sigmoid)")
_TIMES_1000 = ("taourl.com/read-2589871.html ('NaN loss output when training DNN with Keras': inputs scaled by "
               "1000; fix: normalise the inputs)")
_POWER = ("stackoverflow.com.mevn.net/questions/52800582 (a copy of 'Why do I fail to predict y=x**4 with "
          "Keras?': inputs in [-100, 100] into sigmoid units; answer: scale inputs and outputs)")
_PRICE = ("openillumi.com/en/en-keras-tf-fix-huge-negative-loss-regression (retells a Stack Overflow price "
          "regression with a huge negative loss: binary cross-entropy on a regression target; fix: a "
          "regression loss)")
_SGD = ("datascience.stackexchange.com/questions/15962 ('Why is learning rate causing my neural network's "
        "weights to skyrocket?': loss to a trillion, then NaN; fix: a learning rate 10 times lower)")


def external_programs() -> list[Program]:
    """Programs written by others: 8 failing, each with its fixed twin (8 healthy), in two batches.

    Returns
    -------
    list of Program
    """
    return [
        Program("softmax on one unit, 3 bits", _SE_SOFTMAX, "output-activation-mismatch", _softmax_one_unit_bits),
        Program("fixed: sigmoid on one unit, 3 bits", _SE_SOFTMAX, None, _sigmoid_one_unit_bits),
        Program("softmax on one unit, two classes", _SO_SOFTMAX, "output-activation-mismatch", _softmax_one_unit),
        Program("fixed: softmax on two units", _SO_SOFTMAX, None, _softmax_two_units),
        Program("inputs times 1000", _TIMES_1000, "unscaled-data", _inputs_times_1000),
        Program("fixed: standardised inputs", _TIMES_1000, None, _inputs_standardised),
        Program("y = x^4, inputs in [-100, 100]", _POWER, "unscaled-data", _power_raw),
        Program("fixed: inputs and outputs standardised", _POWER, None, _power_scaled),
        Program("price regression with binary cross-entropy", _PRICE, "output-activation-mismatch",
                _price_with_bce),
        Program("fixed: price regression with squared error", _PRICE, None, _price_with_mse),
        Program("SGD at rate 0.1 on a regression", _SGD, "learning-rate-too-high", _sgd_rate(0.1)),
        Program("fixed: SGD at rate 0.001", _SGD, None, _sgd_rate(0.001)),
        Program("one linear unit, TV budget in the hundreds", _SE_LINEAR, "unscaled-data", _one_unit_raw, 2),
        Program("fixed: budget and sales standardised", _SE_LINEAR, None, _one_unit_scaled, 2),
        Program("house prices, raw features", _HOUSES, "unscaled-data", _houses_raw, 2),
        Program("fixed: house prices, standardised features", _HOUSES, None, _houses_standardised, 2),
    ]


def run_program(program: Program, seed: int = 0) -> dict[str, Any]:
    """Train one program with the doctor and Keras' ``TerminateOnNaN`` rule watching.

    Returns
    -------
    dict
        ``name``, ``expected``, ``batch``, ``found`` (the doctor's causes),
        ``TerminateOnNaN`` (whether it fired), ``final_loss``.
    """
    from companion import seed_everything
    from companion.diagnose._doctor import LossDoctor
    from companion.book._holdout import nan_watch

    seed_everything(seed)
    model, X, y, epochs, batch_size = program.build(np.random.default_rng(seed))
    doctor = LossDoctor(X, y, verbose=0)
    watch = nan_watch()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        history = model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[doctor, watch])
    return {"name": program.name, "expected": program.expected, "batch": program.batch,
            "found": [f.cause for f in doctor.findings],
            "TerminateOnNaN": bool(watch.fired), "final_loss": float(history.history["loss"][-1])}
