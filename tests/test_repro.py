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


# ------------------------------------------------ the chaos pass's one-ulp nudge


def test_perturbed_is_the_same_object_when_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from companion import perturbed
    from companion._repro import perturbed_initializer

    monkeypatch.delenv("COMPANION_PERTURB", raising=False)
    x = np.array([1.0, 0.0, 2.5])
    assert perturbed(x) is x and perturbed_initializer("glorot_uniform") == "glorot_uniform"
    monkeypatch.setenv("COMPANION_PERTURB", "off")
    assert perturbed(x) is x


def test_perturbed_moves_each_entry_by_one_ulp(monkeypatch: pytest.MonkeyPatch) -> None:
    from companion import perturbed

    monkeypatch.setenv("COMPANION_PERTURB", "ulp")
    seed_everything(0, tensorflow=False)
    x = np.array([1.0, -3.0, 0.0, np.inf, np.nan, 1e-300] * 50, dtype=np.float32)
    moved = perturbed(x)
    assert moved.dtype == np.float32 and moved is not x
    finite = np.isfinite(x) & (x != 0)
    steps = np.abs(moved[finite].astype(np.float64) - x[finite]) / np.spacing(np.abs(x[finite]))
    assert np.all(steps == 1.0)  # one ulp, every one
    assert np.all(moved[x == 0] == 0) and np.all(np.isinf(moved[np.isinf(x)])) and np.isnan(moved[4])
    assert {True, False} == set((moved > x)[finite])  # both directions
    # float64 data for a float32 model: one float32 ulp, so it survives the cast.
    y = np.linspace(1.0, 2.0, 100)
    assert np.all(perturbed(y, precision=np.float32).astype(np.float32) != y.astype(np.float32))


def test_perturbed_repeats_and_leaves_the_random_streams_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from companion import perturbed

    x = np.linspace(1.0, 2.0, 64)
    seed_everything(5, tensorflow=False)
    plain = np.random.rand()
    monkeypatch.setenv("COMPANION_PERTURB", "ulp")
    seed_everything(5, tensorflow=False)
    first = perturbed(x)
    assert np.random.rand() == plain  # the nudge draws from its own generator
    seed_everything(5, tensorflow=False)
    assert np.array_equal(perturbed(x), first)


def test_perturbed_rejects_a_bad_switch_and_integers(monkeypatch: pytest.MonkeyPatch) -> None:
    from companion import perturbed

    monkeypatch.setenv("COMPANION_PERTURB", "bits")
    with pytest.raises(ValueError, match="COMPANION_PERTURB='bits'.*'ulp'"):
        seed_everything(0, tensorflow=False)
    monkeypatch.setenv("COMPANION_PERTURB", "ulp")
    with pytest.raises(TypeError, match="floating-point"):
        perturbed(np.arange(3))


def test_hooks_reach_features_and_rbm_weights_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from companion.ranking import make_ranking_data
    from companion.rbm import RBM

    def make() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        seed_everything(0, tensorflow=False)
        data = make_ranking_data(30, list_size=4, query_features=2, random_state=0)
        rbm = RBM(n_components=3, n_iter=0, warm_start=True, random_state=0).fit(np.full((4, 5), 0.5))
        return data.X, data.y, rbm.components_

    monkeypatch.delenv("COMPANION_PERTURB", raising=False)
    X, y, W = make()
    monkeypatch.setenv("COMPANION_PERTURB", "ulp")
    Xp, yp, Wp = make()
    assert np.array_equal(y, yp)  # labels are never nudged
    assert np.all(Xp != X) and np.allclose(Xp, X, rtol=2**-23, atol=0)
    q = Xp[:, -2:].reshape(30, 4, 2)
    assert np.all(q == q[:, :1])  # query features stay constant within a query
    assert np.all(Wp != W) and np.array_equal(Wp, W + np.sign(Wp - W) * np.spacing(np.abs(W)))


def test_hook_reaches_keras_initial_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # TF may be imported by other tests
        seed_everything(0)
    from companion.ranking import make_scorer

    def weights() -> list[np.ndarray]:
        seed_everything(0)
        model = make_scorer(hidden=(8,), output_initializer="zeros")
        model(np.ones((2, 3, 4), dtype="float32"))
        return [np.asarray(w) for w in model.get_weights()]

    monkeypatch.delenv("COMPANION_PERTURB", raising=False)
    plain = weights()
    monkeypatch.setenv("COMPANION_PERTURB", "ulp")
    nudged = weights()
    kernel, kernel_p = plain[0], nudged[0]
    assert np.array_equal(np.abs(kernel_p - kernel), np.spacing(np.abs(kernel)))  # one ulp each
    assert all(np.array_equal(a, b) for a, b in zip(plain[1:], nudged[1:]))  # zeros stay zero
