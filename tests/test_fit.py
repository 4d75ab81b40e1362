"""The harness builds a model and its optimizer before ``fit``: one trace of the train step, the same run bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from companion import _keras, seed_everything
from companion.book._fit import build_before_fit
from companion.ranking import ListMLELoss, make_scorer


def _train(prebuild: bool, seed: int = 3) -> tuple[Any, list[float], list[Any]]:
    keras = _keras.keras()
    seed_everything(seed)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6, 3)).astype("float32")  # 40 lists: batches of 16, 16 and 8
    y = rng.integers(0, 3, size=(40, 6)).astype("float32")
    model = make_scorer(hidden=(8,), score_noise=0.01)
    model.compile(optimizer=keras.optimizers.Adam(0.01, clipnorm=1.0), loss=ListMLELoss())
    if prebuild:
        assert build_before_fit(model, X) is model
    history = model.fit(X, y, epochs=3, batch_size=16, verbose=0).history["loss"]
    return model, history, [np.asarray(w) for w in model.get_weights()]


def test_building_first_traces_the_step_once_and_changes_no_bit() -> None:
    plain, plain_loss, plain_weights = _train(prebuild=False)
    built, built_loss, built_weights = _train(prebuild=True)
    assert built_loss == plain_loss
    assert len(built_weights) == len(plain_weights)
    for a, b in zip(built_weights, plain_weights):
        assert a.tobytes() == b.tobytes()
    if _keras.keras_major() < 3:  # Keras 3 builds before it traces; nothing to compare there
        assert plain.train_function.experimental_get_tracing_count() == 2
        assert built.train_function.experimental_get_tracing_count() == 1


def test_a_dataset_or_a_built_model_is_handled() -> None:
    keras = _keras.keras()
    model = make_scorer(hidden=(4,))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=ListMLELoss())
    X = np.zeros((8, 5, 2), dtype="float32")
    if _keras.backend() == "tensorflow":
        import tensorflow as tf

        data = tf.data.Dataset.from_tensor_slices((X, np.zeros((8, 5), "float32"))).batch(4)
        build_before_fit(model, data)
    else:
        build_before_fit(model, X)
    build_before_fit(model, X)  # a second call changes nothing
    if _keras.keras_major() < 3:
        assert model.built and model.optimizer._built


def test_the_loss_traced_without_autograph_equals_it_eager() -> None:
    # ListMLELoss.call is left alone by AutoGraph on tf.keras 2 (companion._keras.no_autograph):
    # traced inside a tf.function, it gives the eager value and gradient bit for bit.
    if _keras.keras_major() >= 3:
        pytest.skip("tf.keras 2 only: Keras 3 does not run a loss's call through AutoGraph")
    import tensorflow as tf

    rng = np.random.default_rng(1)
    y = tf.constant(rng.integers(-1, 3, size=(12, 7)).astype("float32"))
    s = tf.constant(rng.normal(size=(12, 7)).astype("float32") * 5)

    def value_and_grad(loss: Any, scores: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(scores)
            value = loss(y, scores)
        return value, tape.gradient(value, scores)

    # Two losses of the same seed, each after the same global seed: the same tie orders.
    seed_everything(0)
    traced = tf.function(lambda scores: value_and_grad(ListMLELoss(seed=4), scores))(s)
    seed_everything(0)
    eager = value_and_grad(ListMLELoss(seed=4), s)
    for a, b in zip(traced, eager):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_a_users_discount_function_still_gets_autograph() -> None:
    # With lambda weights the loss calls the user's rank_discount_fn, which may hold Python
    # control flow on tensors: that path stays converted (a traced step must not refuse it).
    if _keras.keras_major() >= 3:
        pytest.skip("tf.keras 2 only: Keras 3 does not run a loss's call through AutoGraph")
    import tensorflow as tf

    from companion.ranking import ListMLELambdaWeight

    def discount(ranks: Any) -> Any:
        if tf.reduce_max(ranks) > 100:  # a Python `if` on a tensor: needs AutoGraph in a graph
            return tf.zeros_like(ranks)
        return 1.0 / ranks

    loss = ListMLELoss(lambda_weight=ListMLELambdaWeight(rank_discount_fn=discount))
    y = tf.constant([[2.0, 1.0, 0.0], [0.0, 1.0, -1.0]])
    s = tf.constant([[0.5, 0.1, -0.3], [1.0, 0.0, 0.0]])
    assert np.isfinite(float(tf.function(lambda: loss(y, s))()))
