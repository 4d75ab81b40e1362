"""companion.seed_everything and the rounding helpers."""

from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pytest

from companion import seed_everything
from companion.book import sig


def test_seed_repeats_python_and_numpy() -> None:
    seed_everything(3, tensorflow=False)
    a = (random.random(), np.random.rand())
    seed_everything(3, tensorflow=False)
    assert (random.random(), np.random.rand()) == a


def test_warns_when_tensorflow_was_imported_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from companion import _keras

    if _keras.keras_major() >= 3 and _keras.backend() != "tensorflow":
        pytest.skip("on Keras 3 with another backend, seed_everything does not use TensorFlow")
    import tensorflow  # noqa: F401  (imported before the helper, on purpose)

    import companion._repro as repro

    monkeypatch.setattr(repro, "_tf_configured", False)
    with pytest.warns(RuntimeWarning, match="imported before seed_everything"):
        seed_everything(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seed_everything(0)  # once configured, re-seeding is silent


def test_seed_repeats_tensorflow_training() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # TF may be imported by other tests
        seed_everything(0)
    import tensorflow as tf

    def run() -> list[np.ndarray]:
        seed_everything(0)
        model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu"), tf.keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        X = np.random.normal(size=(64, 3)).astype("float32")
        model.fit(X, X.sum(axis=1), epochs=2, batch_size=16, verbose=0)
        return model.get_weights()

    assert all(np.array_equal(a, b) for a, b in zip(run(), run()))


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "0", True, None])
def test_seed_rejects_bad_values(bad: object) -> None:
    with pytest.raises(ValueError, match="seed must be"):
        seed_everything(bad, tensorflow=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("x", "expected"),
    [(0.0781234, 0.0781), (1791.7595, 1790.0), (-0.000123456, -0.000123), (0.0, 0.0), (7, 7.0), (0.99951, 1.0)],
)
def test_sig(x: float, expected: float) -> None:
    assert sig(x) == expected


def test_sig_passes_non_finite_through() -> None:
    assert math.isnan(sig(float("nan")))
    assert sig(float("-inf")) == float("-inf")
    with pytest.raises(ValueError, match="digits"):
        sig(1.0, digits=0)
