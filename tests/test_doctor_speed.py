"""The doctor's cheap epoch (issue 20.3): a traced forward pass and cached weight reads see what predict sees.

``bench/bench_doctor.py`` measures the overhead; these tests check that the
faster path changes no figure the detectors read.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from companion import _keras, seed_everything
from companion.diagnose import LossDoctor
from companion.ranking import ListMLELoss, make_scorer

keras = _keras.keras()
RNG = np.random.default_rng(0)


def _lists(n: int = 32, size: int = 6, features: int = 3) -> tuple[np.ndarray, np.ndarray]:
    y = RNG.integers(0, 3, size=(n, size)).astype(np.float32)
    X = np.concatenate([y[..., None] + RNG.normal(size=(n, size, 1)), RNG.normal(size=(n, size, features - 1))],
                       axis=-1).astype(np.float32)
    return X, y


def _fit(model: Any, X: np.ndarray, y: np.ndarray, doctor: LossDoctor, epochs: int = 3) -> None:
    model.fit(X, y, epochs=epochs, batch_size=8, verbose=0, callbacks=[doctor])


def _scorer_fitted_with_a_doctor() -> tuple[np.ndarray, Any, LossDoctor]:
    """A small scorer fitted 2 epochs with a doctor watching: (X, model, doctor)."""
    seed_everything(0)
    X, y = _lists()
    model = make_scorer(hidden=(8,))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=ListMLELoss())
    doctor = LossDoctor(X, y, verbose=0)
    _fit(model, X, y, doctor, epochs=2)
    return X, model, doctor


def _functional_scorer(features: int = 3) -> Any:
    inputs = keras.Input((None, features))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(hidden))


@pytest.mark.parametrize("build", [lambda: make_scorer(hidden=(8,)), _functional_scorer],
                         ids=["sequential", "functional"])
def test_the_traced_forward_pass_scores_as_predict_does(build: Any) -> None:
    seed_everything(0)
    X, y = _lists()
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=ListMLELoss())
    doctor = LossDoctor(X, y, verbose=0)
    _fit(model, X, y, doctor)
    assert doctor._forward is not None and doctor._forward._compiled is not None  # the traced path ran
    expected = np.asarray(model.predict(X, verbose=0), dtype=np.float64).reshape(y.shape)
    np.testing.assert_allclose(doctor._scores(X), expected, rtol=1e-5, atol=1e-6)


def test_a_sequential_fit_on_rows_is_scored_on_lists() -> None:
    # Keras 3 fixes a Sequential's input rank on its first call: the doctor
    # scores (lists, items, features) while fit feeds (rows, features).
    seed_everything(0)
    X, y = _lists()
    model = make_scorer(hidden=(8,))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    doctor = LossDoctor(X, y, loss=ListMLELoss(), verbose=0)
    model.fit(X.reshape(-1, X.shape[-1]), y.reshape(-1, 1), epochs=2, batch_size=16, verbose=0, callbacks=[doctor])
    assert doctor._spreads and all(np.isfinite(doctor._spreads))
    rows = np.asarray(model.predict(X.reshape(-1, X.shape[-1]), verbose=0), dtype=np.float64).reshape(y.shape)
    np.testing.assert_allclose(doctor._scores(X), rows, rtol=1e-5, atol=1e-6)


def test_the_update_ratio_is_the_change_of_get_weights() -> None:
    seed_everything(0)
    X, y = _lists()
    model = make_scorer(hidden=(8,))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=ListMLELoss())
    seen: list[tuple[list[np.ndarray], list[np.ndarray]]] = []

    def weights(model: Any) -> list[np.ndarray]:
        with warnings.catch_warnings():  # Keras 3 on TensorFlow, NumPy 2: __array__ without copy=
            warnings.simplefilter("ignore", DeprecationWarning)
            return [np.array(w) for w in model.get_weights()]

    class Watch(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.before = weights(self.model)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            seen.append((self.before, weights(self.model)))

    doctor = LossDoctor(X, y, verbose=0)
    ratios: list[float] = []
    original = doctor._training

    def training(*args: Any) -> dict[str, Any]:
        out = original(*args)
        ratios.append(out["update_ratio"])
        return out

    doctor._training = training  # type: ignore[method-assign]
    model.fit(X, y, epochs=3, batch_size=8, verbose=0, callbacks=[Watch(), doctor])
    expected = [np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(after, before)))
                / np.sqrt(sum((b**2).sum() for b in before)) for before, after in seen]
    # Keras 3 builds a Sequential without an Input only in the first step: no
    # weights to compare before the first epoch (as before issue 20.3).
    assert ratios[0] is None or np.isclose(ratios[0], expected[0], rtol=1e-6)
    np.testing.assert_allclose(ratios[1:], expected[1:], rtol=1e-6)


class _Untraceable(keras.Model):  # type: ignore[misc]
    """A model that reads its input as NumPy: it runs eagerly only."""

    def __init__(self) -> None:
        super().__init__()
        self.dense = keras.layers.Dense(1)

    def call(self, x: Any, training: Any = None) -> Any:
        shift = float(np.asarray(x).mean()) * 0.0  # fails inside tf.function and jax.jit
        return self.dense(x)[..., 0] + shift


def test_a_model_that_cannot_be_traced_is_scored_eagerly() -> None:
    if _keras.backend() == "jax":
        pytest.skip("Keras 3 on JAX cannot fit such a model at all (its symbolic build fails)")
    seed_everything(0)
    X, y = _lists()
    model = _Untraceable()
    model(X[:2])  # built here: Keras 3 cannot build it symbolically either
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=ListMLELoss(), run_eagerly=True)
    doctor = LossDoctor(X, y, verbose=0)
    _fit(model, X, y, doctor, epochs=2)
    assert doctor._forward is not None and doctor._forward._failed
    assert len(doctor._spreads) == 2
    np.testing.assert_allclose(doctor._scores(X), np.asarray(model(X), dtype=np.float64), rtol=1e-6)


def test_one_traced_call_returns_the_weights_bit_for_bit() -> None:
    X, model, doctor = _scorer_fitted_with_a_doctor()
    variables = doctor._watched()
    assert doctor._forward is not None and variables is not None
    got = doctor._forward.observe(X, variables)
    assert got is not None  # the joint path ran
    raw, weights, _ = got
    with warnings.catch_warnings():  # Keras 3 on TensorFlow, NumPy 2: __array__ without copy=
        warnings.simplefilter("ignore", DeprecationWarning)
        expected = [np.array(w) for w in model.get_weights()]
    assert len(weights) == len(expected)
    for w, e in zip(weights, expected):
        assert w.shape == e.shape and w.dtype == e.dtype
        np.testing.assert_array_equal(w, e)
    np.testing.assert_array_equal(doctor._scores(X, raw), doctor._scores(X))
    snapshot = doctor._forward.snapshot(variables)
    if _keras.backend() == "tensorflow":
        assert snapshot is not None
        for w, e in zip(snapshot, expected):
            np.testing.assert_array_equal(w, e)
    else:
        assert snapshot is None


def test_the_epoch_end_copy_is_reused_only_while_no_weight_changed() -> None:
    _, model, doctor = _scorer_fitted_with_a_doctor()
    if _keras.backend() != "jax":
        assert doctor._unchanged() is None  # a TensorFlow variable may change in place: read again
        return
    assert doctor._last is not None and doctor._unchanged() is doctor._last[1]
    model.set_weights([w * 2 for w in model.get_weights()])
    assert doctor._unchanged() is None


def test_full_lists_take_the_unmasked_path_with_the_same_bits() -> None:
    # The doctor reads within_list_gaps/spread every epoch; on full lists they
    # skip the masks, which select every item there: the numbers must be the
    # masked computation's, bit for bit, NaN and inf included.
    from companion.ranking._lists import _masked_gaps, _masked_spread, within_list_gaps, within_list_spread

    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, size=(40, 7)).astype(np.float32)
    every = np.ones(y.shape, dtype=bool)
    for scale in (1e-3, 1.0, 1e4):
        scores = rng.normal(size=y.shape) * scale
        scores[3, 2], scores[5, :] = np.nan, np.inf
        np.testing.assert_array_equal(within_list_gaps(y, scores), _masked_gaps(every, scores))
        np.testing.assert_array_equal(within_list_spread(y, scores), _masked_spread(every, scores))
    doctor = LossDoctor(np.zeros((40, 7, 2)), y, verbose=0)
    assert doctor._list_stats(scores)[1] == float(np.nanmean(within_list_spread(y, scores)))
