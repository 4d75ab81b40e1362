"""ListMLELoss on every stack: tf.keras 2 (the book), Keras 3 with TensorFlow, Keras 3 with JAX.

Runs in .venv (`make test`) and in .venv-modern on both backends (`make
test-modern`, KERAS_BACKEND=tensorflow and jax). The keras-rs comparison runs
where keras-rs is installed (Keras 3). tests/test_ranking_loss.py adds the
comparisons with tensorflow-ranking, on the book's stack only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from list_strategies import tie_free_lists

from companion import _keras
from companion.ranking import ListMLELoss, epsilon_listmle, listmle_per_list, loss_floor, plackett_luce_nll

K = _keras.keras()
ops = _keras.ops()
BACKEND = _keras.backend()
KERAS3 = _keras.keras_major() >= 3


GAPS = [0.0, 1e-3, 0.5, 1.0, 5.0, 10.0, 16.0, 20.0, 30.0, 59.0, 61.0, 88.0, 100.0, 500.0, 1e3, 1e4]


def value_and_grad(loss: Any, labels: Any, scores: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss and its gradient with respect to the scores, on the backend in use."""
    labels = np.asarray(labels, np.float32)
    scores = np.asarray(scores, np.float32)
    if BACKEND == "jax":
        import jax

        value, grad = jax.value_and_grad(lambda s: loss(labels, s))(scores)
        return float(value), np.asarray(grad)
    import tensorflow as tf

    s = tf.Variable(scores)
    with tf.GradientTape() as tape:
        value = loss(tf.constant(labels), s)
    return float(value), tape.gradient(value, s).numpy()


def to_numpy(x: Any) -> np.ndarray:
    return np.asarray(K.ops.convert_to_numpy(x)) if KERAS3 else np.asarray(x)


def per_list(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return to_numpy(listmle_per_list(np.asarray(labels, np.float32), np.asarray(scores, np.float32)))


def reference(labels: np.ndarray, scores: np.ndarray) -> float:
    valid = np.asarray(labels) >= 0
    return plackett_luce_nll(labels=np.asarray(labels)[valid], scores=np.asarray(scores, np.float64)[valid])


def test_backend_is_the_one_asked_for() -> None:
    import os

    expected = os.environ.get("KERAS_BACKEND", "tensorflow") if KERAS3 else "tensorflow"
    assert BACKEND == expected


# ------------------------------------------------------------------------ exactness

@pytest.mark.parametrize("n_pad", [0, 1, 10, 300])
@pytest.mark.parametrize("gap", GAPS)
def test_matches_float64_reference_at_every_gap_and_padding(gap: float, n_pad: int) -> None:
    labels = np.array([[2.0, 1.0, 0.0] + [-1.0] * n_pad])
    scores = np.array([[gap, gap / 2, 0.0] + [7.0] * n_pad], dtype=np.float32)  # padding scores are ignored
    got = float(per_list(labels, scores)[0])
    expected = reference(labels[0], scores[0])
    assert np.isfinite(got)
    # float32: relative precision, down to the smallest normal numbers.
    assert got == pytest.approx(expected, rel=2e-5, abs=1e-37)


@pytest.mark.parametrize("gap", GAPS)
def test_gradient_of_a_correctly_ranked_pair_is_finite_and_pulls_it_apart(gap: float) -> None:
    value, grad = value_and_grad(ListMLELoss(), [[1.0, 0.0, -1.0]], np.array([[gap, 0.0, 3.0]]))
    exact = 1.0 / (1.0 + math.exp(min(gap, 700.0)))  # sigmoid(-gap): d loss / d (bottom score)
    assert np.all(np.isfinite(grad)) and math.isfinite(value)
    assert grad[0, 2] == 0.0  # padding
    assert grad[0, 0] <= 0.0 <= grad[0, 1]  # raise the top score, lower the bottom one
    assert grad[0, 1] == pytest.approx(exact, rel=1e-5, abs=1.2e-38)  # float32 flushes subnormals
    assert grad[0, 0] == pytest.approx(-grad[0, 1])


# One shape, (3, 8), with padding: JAX then compiles each op once, not per example.
@given(tie_free_lists(max_lists=3, pad_to=(3, 8)))
def test_random_lists_match_the_reference(batch: tuple[np.ndarray, np.ndarray]) -> None:
    labels, scores = batch
    got = per_list(labels, scores)
    expected = np.array([reference(y, s) for y, s in zip(labels, scores)])
    tol = 1e-5 * np.maximum(1.0, np.abs(scores).max(axis=1)) * labels.shape[1] + 1e-5 * expected
    assert np.all(np.abs(got - expected) <= tol), (got, expected)
    _, grad = value_and_grad(ListMLELoss(), labels, scores)
    assert np.all(np.isfinite(grad)) and np.all(grad[labels < 0] == 0.0)


def test_short_and_empty_lists_contribute_zero() -> None:
    labels = np.array([[1.0, -1.0, -1.0], [-1.0, -1.0, -1.0], [2.0, 0.0, 1.0]])
    scores = np.array([[5.0, 1.0, 2.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    got = per_list(labels, scores)
    assert got[0] == 0.0 and got[1] == 0.0 and got[2] == pytest.approx(math.log(6), rel=1e-6)


# ------------------------------------------------------------------------ ties

def test_ties_are_shuffled_on_every_call_and_seedable() -> None:
    labels = np.array([[1.0, 1.0, 1.0, 0.0]] * 64, np.float32)
    scores = np.array([[3.0, 2.0, 1.0, 0.0]] * 64, np.float32)
    a, b = ListMLELoss(seed=7, reduction="none"), ListMLELoss(seed=7, reduction="none")
    K.utils.set_random_seed(1)  # tf.keras 2: the op-level seed needs the global one too
    first = to_numpy(a(labels, scores))
    K.utils.set_random_seed(1)
    assert np.array_equal(first, to_numpy(b(labels, scores)))  # same seed, same shuffle
    assert len(np.unique(np.round(first, 5))) > 1  # lists differ in the order of their ties
    assert not np.array_equal(first, to_numpy(a(labels, scores)))  # a new shuffle on the next call
    orders = [plackett_luce_nll(labels=lab, scores=[3.0, 2.0, 1.0, 0.0])
              for lab in ([3, 2, 1, 0], [3, 1, 2, 0], [2, 3, 1, 0], [1, 3, 2, 0], [2, 1, 3, 0], [1, 2, 3, 0])]
    assert np.all(np.abs(first[:, None] - np.array(orders)[None, :]).min(axis=1) < 1e-5)


def test_training_cannot_learn_the_order_of_ties() -> None:
    # Tied items in a fixed position: a loss that breaks ties by position lets the
    # model learn that position and fall below the floor; a shuffled one cannot.
    K.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4, 3)).astype(np.float32)
    X[:, :, 2] = np.arange(4)  # a feature that gives away the position
    y = np.tile(np.array([[1.0, 1.0, 0.0, 0.0]], np.float32), (64, 1))
    model = K.Sequential([K.Input((4, 3)), K.layers.Dense(1), K.layers.Reshape((-1,))])
    model.compile(optimizer=K.optimizers.Adam(0.1), loss=ListMLELoss(seed=1))
    history = model.fit(X, y, epochs=30, batch_size=16, verbose=0).history["loss"]
    assert min(history) > 0.97 * loss_floor(y)


# ------------------------------------------------------------------------ Keras integration

def test_reductions_weights_and_trailing_axis() -> None:
    labels = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 2.0]], np.float32)
    scores = np.array([[2.0, 0.0, 1.0], [2.0, 0.0, 1.0]], np.float32)
    each = to_numpy(ListMLELoss(reduction="none")(labels, scores))
    assert each.shape == (2,)
    assert float(ListMLELoss()(labels, scores)) == pytest.approx(each.mean(), rel=1e-6)
    assert float(ListMLELoss(reduction="sum")(labels, scores)) == pytest.approx(each.sum(), rel=1e-6)
    assert float(ListMLELoss()(labels, scores[..., None])) == pytest.approx(each.mean(), rel=1e-6)
    per_item = np.array([[1.0, 5.0, 3.0], [2.0, 2.0, 0.0]], np.float32)
    per_list_weight = (per_item * labels).sum(axis=1) / labels.sum(axis=1)  # tensorflow-ranking's rule
    weighted = float(ListMLELoss(reduction="sum")(labels, scores, sample_weight=per_item))
    assert weighted == pytest.approx(float((each * per_list_weight).sum()), rel=1e-6)
    assert float(ListMLELoss(reduction="sum")(labels, scores, sample_weight=np.array([[2.0], [0.0]]))) == \
        pytest.approx(2 * each[0], rel=1e-6)


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer:UserWarning")
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_config_and_serialisation_round_trip(tmp_path: Any) -> None:
    loss = ListMLELoss(temperature=0.5, seed=3, name="mle")
    config = loss.get_config()
    assert config["temperature"] == 0.5 and config["seed"] == 3 and config["name"] == "mle"
    assert config["reduction"] == ("sum_over_batch_size" if KERAS3 else "auto")
    assert ListMLELoss.from_config(config).get_config() == config
    restored = K.losses.deserialize(K.losses.serialize(loss))
    assert isinstance(restored, ListMLELoss) and restored.get_config() == config
    assert K.utils.get_registered_name(ListMLELoss) == "companion>ListMLELoss"
    model = K.Sequential([K.Input((4, 2)), K.layers.Dense(1), K.layers.Reshape((-1,))])
    model.compile(optimizer="adam", loss=ListMLELoss(temperature=2.0))
    model.save(tmp_path / "model.keras")
    loaded = K.models.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.loss, ListMLELoss) and loaded.loss.temperature == 2.0


def test_trains_a_model_in_fit() -> None:
    K.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5, 3)).astype(np.float32)
    y = np.argsort(np.argsort(X @ np.array([1.0, -0.5, 0.2]), axis=1), axis=1).astype(np.float32)
    model = K.Sequential([K.Input((5, 3)), K.layers.Dense(1), K.layers.Reshape((-1,))])
    model.compile(optimizer=K.optimizers.Adam(0.05), loss=ListMLELoss())
    history = model.fit(X, y, epochs=20, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]


def test_one_score_per_document_is_a_clear_error_in_fit() -> None:
    model = K.Sequential([K.Input((3,)), K.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=ListMLELoss())
    with pytest.raises(ValueError, match=r"y_pred has shape \(\w+, 1\) but y_true has shape \(\w+, 8\)"):
        model.fit(np.zeros((16, 3), np.float32), np.zeros((16, 8), np.float32), epochs=1, batch_size=4, verbose=0)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_rejects_non_positive_temperature(bad: float) -> None:
    with pytest.raises(ValueError, match="temperature must be positive"):
        ListMLELoss(temperature=bad)


def test_rejects_lists_of_the_wrong_rank() -> None:
    with pytest.raises(ValueError, match="group_lists"):
        ListMLELoss()(np.array([1.0, 0.0]), np.array([1.0, 0.0]))


# ------------------------------------------------------------------------ keras-rs (Keras 3 only)

def _keras_rs_loss() -> Any:
    keras_rs = pytest.importorskip("keras_rs")
    return keras_rs.losses.ListMLELoss()


@pytest.mark.parametrize("gap", [0.0, 0.5, 1.0, 2.0, 4.0])  # lists spread over 2 * gap
@pytest.mark.parametrize("n_pad", [0, 5])
def test_agrees_with_keras_rs_where_keras_rs_is_right(gap: float, n_pad: int) -> None:
    theirs = _keras_rs_loss()
    labels = np.array([[3.0, 2.0, 1.0, 0.0] + [-1.0] * n_pad], np.float32)
    scores = np.array([[gap, 0.3 * gap, -0.2 * gap, -gap] + [0.0] * n_pad], np.float32)
    ours_value, ours_grad = value_and_grad(ListMLELoss(), labels, scores)
    their_value, their_grad = value_and_grad(theirs, labels, scores)
    assert their_value == pytest.approx(ours_value, rel=1e-4, abs=1e-6)
    np.testing.assert_allclose(their_grad, ours_grad, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("gap", [20.0, 30.0, 100.0, 1e4])
def test_records_where_keras_rs_is_wrong(gap: float) -> None:
    theirs = _keras_rs_loss()
    labels, scores = [[1.0, 0.0]], np.array([[gap, 0.0]])
    their_value, their_grad = value_and_grad(theirs, labels, scores)
    ours_value, ours_grad = value_and_grad(ListMLELoss(), labels, scores)
    exact = plackett_luce_nll(labels=[1, 0], scores=[gap, 0.0])  # log1p(exp(-gap)): at most 2.1e-9 here
    assert ours_value == pytest.approx(exact, rel=1e-5, abs=1e-38)
    # keras-rs: log(tail + 1e-10) - (s - max); the formula companion.ranking.epsilon_listmle computes.
    assert their_value == pytest.approx(epsilon_listmle([1, 0], [gap, 0.0]), rel=1e-4, abs=1e-6)
    assert their_value > 1e6 * max(exact, 1e-30)  # 0.047 at gap 20, then gap - 23 (1e-10 = e^-23)
    if gap >= 30:
        assert their_value == pytest.approx(gap + math.log(1e-10), abs=2e-3)
    # Its gradient pushes the correctly ranked pair back together (ours pulls it apart, or is 0):
    # 1e-10 / (exp(-gap) + 1e-10), 0.046 at gap 20 and 1 from gap 30.
    assert their_grad[0, 0] > 0 > their_grad[0, 1]
    assert their_grad[0, 0] == pytest.approx(1e-10 / (math.exp(-gap) + 1e-10), rel=1e-3)
    assert ours_grad[0, 0] <= 0.0 <= ours_grad[0, 1]


def test_keras_rs_does_not_shuffle_ties() -> None:
    theirs = _keras_rs_loss()
    labels = np.array([[1.0, 1.0, 0.0]] * 8, np.float32)
    scores = np.array([[2.0, 0.0, -1.0]] * 8, np.float32)
    values = {round(float(theirs(labels[i:i + 1], scores[i:i + 1])), 5) for i in range(8)}
    assert len(values) == 1  # always the order of position: a model can learn it
    ours = to_numpy(ListMLELoss(seed=0, reduction="none")(labels, scores))
    assert len(np.unique(np.round(ours, 5))) == 2


# ------------------------------------------------------------------------ ties on JAX: one sort or two

@pytest.mark.parametrize("labels_row", [
    [1.0, 1.0, 1.0, 0.0],          # whole labels: one sort on a composite key (JAX)
    [0.5, 0.5, 0.5, 0.25],         # fractional labels: two sorts
    [9000.0, 9000.0, 9000.0, 0.0],  # a wide span that still leaves 12 random bits: one sort (JAX)
    [3e5, 3e5, 3e5, 0.0],          # too wide for 12 random bits beside the position: two sorts
])
def test_ties_are_shuffled_whatever_the_labels(labels_row: list[float]) -> None:
    labels = np.array([labels_row] * 64, np.float32)
    scores = np.array([[3.0, 2.0, 1.0, 0.0]] * 64, np.float32)
    loss = ListMLELoss(seed=5, reduction="none")
    K.utils.set_random_seed(2)
    first = to_numpy(loss(labels, scores))
    # Every order of the three tied items is one of six values, the untied one always last.
    orders = [plackett_luce_nll(labels=lab, scores=[3.0, 2.0, 1.0, 0.0])
              for lab in ([3, 2, 1, 0], [3, 1, 2, 0], [2, 3, 1, 0], [1, 3, 2, 0], [2, 1, 3, 0], [1, 2, 3, 0])]
    assert np.all(np.abs(first[:, None] - np.array(orders)[None, :]).min(axis=1) < 1e-5)
    assert len(np.unique(np.round(first, 5))) >= 4  # the 64 lists do not share one order
    assert not np.array_equal(first, to_numpy(loss(labels, scores)))  # a new shuffle on the next call


def test_ties_change_between_steps_under_jit() -> None:
    if BACKEND != "jax":
        pytest.skip("JAX's jit only")
    import jax

    labels = np.array([[1.0, 1.0, 1.0, 1.0, 0.0]] * 32, np.float32)
    loss = ListMLELoss(seed=0, reduction="none")
    step = jax.jit(lambda y, s: loss(y, s))
    scores = np.array([[4.0, 3.0, 2.0, 1.0, 0.0]] * 32, np.float32)
    a = np.asarray(step(labels, scores))
    b = np.asarray(step(labels, scores + np.float32(1e-3)))  # new scores: a new shuffle
    assert len(np.unique(np.round(a, 4))) > 1 and not np.allclose(a, b - 0.0, atol=1e-2)


def _order(labels: np.ndarray, jit: bool) -> np.ndarray:
    """companion's order of the items of each list (ties shuffled), eagerly or under JAX's jit."""
    keys = np.where(labels >= 0, labels, -np.inf).astype(np.float32)
    scores = np.zeros_like(keys)
    if jit and BACKEND == "jax":
        import jax

        return np.asarray(jax.jit(lambda k, s: _keras.order_labels(k, None, s))(keys, scores))
    return to_numpy(_keras.order_labels(ops.convert_to_tensor(keys), None, ops.convert_to_tensor(scores)))


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("size, top_label", [
    (200, 4),      # graded relevance: one sort (JAX)
    (200, 2046),   # ranks up to 2048 - 1 leave 12 random bits beside 8 bits of position: one sort
    (200, 2047),   # one more: two sorts
    (256, 4),      # 8 bits of position exactly
    (257, 4),      # 9 bits
    (3, 1),
])
def test_order_sorts_labels_best_first_padding_last(size: int, top_label: int, jit: bool) -> None:
    rng = np.random.default_rng(size + top_label)
    labels = rng.integers(0, top_label + 1, size=(16, size)).astype(np.float32)
    labels[:, 0] = top_label  # the whole span of labels is present
    labels[rng.random(labels.shape) < 0.1] = -1.0
    labels[3] = -1.0  # a list of padding only
    order = _order(labels, jit)
    assert order.shape == labels.shape
    assert np.array_equal(np.sort(order, axis=1), np.broadcast_to(np.arange(size), labels.shape))
    ordered = np.take_along_axis(labels, order, axis=1)
    assert np.all(np.diff(ordered, axis=1) <= 0)  # best first; padding (-1) last


def test_order_of_ties_is_uniform() -> None:
    # Three tied items (and one better, one padded) in 6000 lists: each of the
    # 6 orders of the ties should come up about 1000 times.
    labels = np.tile(np.array([[0.0, 1.0, 0.0, -1.0, 0.0, 2.0, 3.0]], np.float32), (6000, 1))
    order = _order(labels, jit=True)
    assert np.all(order[:, 0] == 6) and np.all(order[:, 1] == 5) and np.all(order[:, 2] == 1)
    ties = order[:, 3:6]
    assert np.all(np.sort(ties, axis=1) == [0, 2, 4]) and np.all(order[:, 6] == 3)
    _, counts = np.unique(ties, axis=0, return_counts=True)
    assert len(counts) == 6
    chi2 = float(np.sum((counts - 1000.0) ** 2 / 1000.0))
    assert chi2 < 25.7  # chi-square, 5 degrees of freedom: p = 1e-4


# ------------------------------------------------------------------------ the fast path and the exact one

@pytest.mark.parametrize("n_pad", [0, 2])
def test_each_list_takes_its_own_path_at_the_bound(n_pad: int) -> None:
    # Gaps on both sides of the bound (60) in one batch, with a list whose gap
    # underflows exp entirely (1e4): each list matches the float64 reference,
    # and its value does not depend on the other lists of its batch.
    gaps = [59.9, 59.999, 60.0, 60.001, 60.1, 1e4, 1.0]
    labels = np.array([[2.0, 1.0, 0.0, 3.0] + [-1.0] * n_pad] * len(gaps), np.float32)
    scores = np.array([[g, g / 3, 0.0, 0.5 * g] + [5.0] * n_pad for g in gaps], np.float32)
    together = per_list(labels, scores)
    for i, (y, s) in enumerate(zip(labels, scores)):
        alone = per_list(labels[i:i + 1], scores[i:i + 1])[0]
        expected = reference(y, s)
        assert together[i] == pytest.approx(expected, rel=2e-5, abs=1e-37), gaps[i]
        assert together[i] == pytest.approx(alone, rel=1e-6, abs=1e-37), gaps[i]
    value, grad = value_and_grad(ListMLELoss(), labels, scores)
    assert math.isfinite(value) and np.all(np.isfinite(grad)) and np.all(grad[labels < 0] == 0.0)
    # Label order 3, 2, 1, 0 is scores 0.5 g, g, g / 3, 0: raise the best-labelled item, lower the worst.
    assert np.all(grad[:, 3] <= 0.0) and np.all(grad[:, 2] >= 0.0)
    if BACKEND == "jax":  # the same under jit, where the choice of paths is a lax.cond
        import jax

        jitted = np.asarray(jax.jit(lambda y, s: listmle_per_list(y, s))(labels, scores))
        np.testing.assert_allclose(jitted, together, rtol=1e-6, atol=1e-37)
        fast_only = np.asarray(jax.jit(lambda y, s: listmle_per_list(y, s))(labels[-1:], scores[-1:]))
        np.testing.assert_allclose(fast_only, together[-1:], rtol=1e-6)


# ------------------------------------------------------------------------ lambda weights

def weighted_reference(labels: np.ndarray, scores: np.ndarray, discount: Any) -> float:
    """sum_i d(i) [log sum_{j >= i} exp(s_j) - s_i] over the valid items in label order, in float64."""
    valid = np.asarray(labels) >= 0
    y, s = np.asarray(labels, np.float64)[valid], np.asarray(scores, np.float64)[valid]
    z = s[np.argsort(-y, kind="stable")]
    total = 0.0
    for i in range(len(z) - 1):
        rest = np.logaddexp.reduce(z[i + 1:])
        total += discount(i + 1.0) * np.logaddexp(0.0, rest - z[i])  # softplus: exact when tiny
    return total


DISCOUNTS = {"reciprocal": lambda r: 1.0 / r, "log2": lambda r: 1.0 / math.log2(1.0 + r)}


@pytest.mark.parametrize("n_pad", [0, 3])
@pytest.mark.parametrize("gap", [0.0, 1.0, 10.0, 30.0, 100.0, 1e4])
@pytest.mark.parametrize("name", sorted(DISCOUNTS))
def test_lambda_weights_match_a_float64_reference(name: str, gap: float, n_pad: int) -> None:
    from companion.ranking import ListMLELambdaWeight

    labels = np.array([[3.0, 2.0, 1.0, 0.0] + [-1.0] * n_pad], np.float32)
    scores = np.array([[gap, 0.5 * gap, -0.25 * gap, 0.1] + [9.0] * n_pad], np.float32)
    loss = ListMLELoss(lambda_weight=ListMLELambdaWeight(name))
    value, grad = value_and_grad(loss, labels, scores)
    expected = weighted_reference(labels[0], scores[0], DISCOUNTS[name])
    assert value == pytest.approx(expected, rel=2e-5, abs=1e-37)
    assert np.all(np.isfinite(grad)) and np.all(grad[labels < 0] == 0.0)
    assert grad[0, 0] <= 0.0 <= grad[0, 3]  # raise the best item, lower the worst


def test_lambda_weights_on_random_lists_and_a_callable() -> None:
    from companion.ranking import ListMLELambdaWeight

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, size=(6, 9)).astype(np.float32)
    labels[rng.random(labels.shape) < 0.2] = -1.0
    scores = rng.normal(scale=3.0, size=labels.shape).astype(np.float32)
    # Ties shuffle, so compare lists whose valid labels are distinct: make them so.
    labels = np.where(labels >= 0, np.argsort(np.argsort(rng.random(labels.shape))), -1).astype(np.float32)
    got = to_numpy(ListMLELoss(lambda_weight=ListMLELambdaWeight(lambda r: 1.0 / r), reduction="none")(
        labels, scores))
    expected = [weighted_reference(y, s, DISCOUNTS["reciprocal"]) for y, s in zip(labels, scores)]
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)
    unweighted = to_numpy(ListMLELoss(reduction="none")(labels, scores))
    assert np.all(got <= unweighted + 1e-6)  # every weight is at most 1


def test_lambda_weight_config_round_trip_and_clear_errors() -> None:
    from companion.ranking import ListMLELambdaWeight

    loss = ListMLELoss(lambda_weight=ListMLELambdaWeight("log2"), temperature=2.0)
    config = loss.get_config()
    assert config["lambda_weight"] == {"rank_discount_fn": "log2"}
    restored = K.losses.deserialize(K.losses.serialize(loss))
    labels, scores = np.array([[2.0, 0.0, 1.0]], np.float32), np.array([[0.5, 1.0, -1.0]], np.float32)
    assert float(restored(labels, scores)) == float(loss(labels, scores))
    assert "lambda_weight" not in ListMLELoss().get_config()  # unweighted configs are unchanged
    with pytest.raises(ValueError, match="reciprocal"):
        ListMLELambdaWeight("dcg")
    with pytest.raises(ValueError, match="silently ignores"):
        ListMLELoss(lambda_weight=object())


def test_keras_rs_thresholds_are_where_the_algebra_puts_them() -> None:
    pytest.importorskip("keras_rs")
    from companion.book import keras_rs_thresholds

    found = keras_rs_thresholds(tol=1e-2)
    # The push: eps * e^gap > e^-gap, at ln(1e10) / 2; the 1% error: eps * e^(2 gap) = 0.01, at 9.21,
    # which float32 rounding of log(1 + e^-gap) moves a little.
    assert found["push"] == pytest.approx(math.log(1e10) / 2, abs=0.02)
    assert 9.1 < found["error_1pct"] < 9.5
    # 20 evenly spaced items: the push starts once eps * e^G > e^-(G / 19), near 19/20 ln(1e10) = 21.9,
    # later than for the pair; the 1% error comes first.
    assert 21.0 < found["list_push"] < 23.0
    assert 19.0 < found["list_error_1pct"] < found["list_push"]


def test_epsilon_training_trial_refuses_negative_noise() -> None:
    pytest.importorskip("keras_rs")
    from companion.book import epsilon_training_trial

    with pytest.raises(ValueError, match="noise"):
        epsilon_training_trial(0, noise=-1.0)
