"""companion.ranking.ListMLELoss against the float64 reference and tensorflow-ranking."""

from __future__ import annotations

import math

import numpy as np
import pytest

# The book's stack (tf.keras 2, tensorflow-ranking 0.5.5); tests/test_modern_listmle.py
# checks the loss on Keras 3 and the book's stack alike.
tfr = pytest.importorskip("tensorflow_ranking")
import tensorflow as tf  # noqa: E402
from hypothesis import assume, given  # noqa: E402
from list_strategies import tie_free_lists  # noqa: E402
from scipy.special import gammaln  # noqa: E402

from companion.ranking import ListMLELoss, listmle_per_list, plackett_luce_nll


def per_list(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return listmle_per_list(tf.constant(labels, tf.float32), tf.constant(scores, tf.float32)).numpy()


@given(tie_free_lists())
def test_matches_float64_reference(batch: tuple[np.ndarray, np.ndarray]) -> None:
    labels, scores = batch
    got = per_list(labels, scores)
    expected = np.array([plackett_luce_nll(labels=y, scores=s) for s, y in zip(scores.astype(np.float64), labels)])
    assert np.all(np.isfinite(got))
    # float32 arithmetic on scores of magnitude |s|: absolute error a few ulps of |s|.
    tol = 1e-5 * np.maximum(1.0, np.abs(scores).max(axis=1)) * labels.shape[1] + 1e-5 * expected
    assert np.all(np.abs(got - expected) <= tol), (got, expected)


@given(tie_free_lists())
def test_gradients_are_finite_and_zero_on_padding(batch: tuple[np.ndarray, np.ndarray]) -> None:
    labels, scores = batch
    s = tf.Variable(scores)
    with tf.GradientTape() as tape:
        loss = ListMLELoss()(tf.constant(labels, tf.float32), s)
    grad = tape.gradient(loss, s).numpy()
    assert np.isfinite(float(loss)) and np.all(np.isfinite(grad))
    assert np.all(grad[labels < 0] == 0.0)
    # Lists with fewer than 2 valid items get no gradient at all.
    few = (labels >= 0).sum(axis=1) < 2
    assert np.all(grad[few] == 0.0)


@given(tie_free_lists(max_gap=60.0))
def test_agrees_with_tensorflow_ranking_where_finite(batch: tuple[np.ndarray, np.ndarray]) -> None:
    labels, scores = batch
    # Compare lists without padding (TFR adds log(m!) for padding) and with >= 2 items.
    full = (labels >= 0).all(axis=1)
    assume(full.any())
    y, s = tf.constant(labels[full], tf.float32), tf.constant(scores[full])
    theirs = tfr.keras.losses.ListMLELoss(reduction=tf.keras.losses.Reduction.NONE)(y, s).numpy().ravel()
    ours = ListMLELoss(reduction="none")(y, s).numpy()
    finite = np.isfinite(theirs)
    tol = 2e-5 * np.maximum(1.0, np.abs(scores[full]).max(axis=1)) * labels.shape[1]
    assert np.all(np.abs(ours[finite] - theirs[finite]) <= tol[finite])


def test_tfr_padding_constant_is_absent() -> None:
    labels = tf.constant([[2.0, 1.0, 0.0, -1.0, -1.0]])
    scores = tf.constant([[0.5, 0.2, -0.1, 0.0, 0.0]])
    theirs = float(tfr.keras.losses.ListMLELoss()(labels, scores))
    ours = float(ListMLELoss()(labels, scores))
    assert ours == pytest.approx(plackett_luce_nll(labels=[2, 1, 0], scores=[0.5, 0.2, -0.1]), rel=1e-6)
    assert theirs - ours == pytest.approx(math.log(2), abs=1e-5)  # log(2!) for 2 padded items


@pytest.mark.parametrize("gap", [88.0, 100.0, 500.0, 1e4])
def test_finite_where_tensorflow_ranking_is_not(gap: float) -> None:
    labels, scores = tf.constant([[1.0, 0.0]]), tf.constant([[gap, 0.0]])
    assert float(tfr.keras.losses.ListMLELoss()(labels, scores)) == -math.inf
    assert float(ListMLELoss()(labels, scores)) == pytest.approx(math.log1p(math.exp(-gap)), abs=1e-38)


def test_identical_scores_give_log_n_factorial() -> None:
    labels = tf.constant([[2.0, 1.0, 0.0], [3.0, 2.0, 1.0]])
    assert float(ListMLELoss()(labels, tf.fill((2, 3), 0.1))) == pytest.approx(math.log(6), rel=1e-6)


def test_ties_are_shuffled_and_seedable() -> None:
    labels = tf.constant([[1.0, 1.0, 1.0, 0.0]] * 64)
    scores = tf.constant([[3.0, 2.0, 1.0, 0.0]] * 64)
    loss = ListMLELoss(seed=7, reduction="none")
    tf.random.set_seed(1)
    a = loss(labels, scores).numpy()
    tf.random.set_seed(1)
    b = loss(labels, scores).numpy()
    assert np.array_equal(a, b)
    assert len(np.unique(np.round(a, 5))) > 1  # different orders of the tied items
    # Every value is the loss of one of the 3! orders of the tied items.
    orders = np.array([plackett_luce_nll(labels=lab, scores=[3.0, 2.0, 1.0, 0.0])
                       for lab in ([3, 2, 1, 0], [3, 1, 2, 0], [2, 3, 1, 0], [1, 3, 2, 0], [2, 1, 3, 0], [1, 2, 3, 0])])
    assert np.all(np.abs(a[:, None] - orders[None, :]).min(axis=1) < 1e-5)


def test_equal_scores_within_tie_groups_reach_the_floor() -> None:
    labels = np.array([[2.0, 1.0, 1.0, 0.0, 0.0, 0.0]])
    scores = np.array([[40.0, 20.0, 20.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    floor = gammaln(3) + gammaln(4)  # log 2! + log 3!
    assert per_list(labels, scores)[0] == pytest.approx(floor, rel=1e-5)


def test_temperature_divides_scores() -> None:
    labels, scores = tf.constant([[1.0, 0.0]]), tf.constant([[2.0, 0.0]])
    assert float(ListMLELoss(temperature=2.0)(labels, scores)) == pytest.approx(
        float(ListMLELoss()(labels, scores / 2.0)), rel=1e-6)


def test_reductions_and_trailing_axis() -> None:
    labels = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    scores = tf.constant([[2.0, 0.0], [2.0, 0.0]])
    each = ListMLELoss(reduction="none")(labels, scores).numpy()
    assert each.shape == (2,)
    assert float(ListMLELoss()(labels, scores)) == pytest.approx(each.mean())
    assert float(ListMLELoss(reduction="sum")(labels, scores)) == pytest.approx(each.sum())
    assert float(ListMLELoss()(labels, scores[..., None])) == pytest.approx(each.mean())


def test_serialisation_round_trip() -> None:
    loss = ListMLELoss(temperature=0.5, seed=3, name="mle")
    clone = ListMLELoss.from_config(loss.get_config())
    assert clone.get_config() == loss.get_config()
    restored = tf.keras.losses.deserialize(tf.keras.losses.serialize(loss))
    assert isinstance(restored, ListMLELoss) and restored.temperature == 0.5 and restored.seed == 3


def test_model_with_loss_saves_and_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = tf.keras.Sequential([tf.keras.Input((4, 2)), tf.keras.layers.Dense(1), tf.keras.layers.Reshape((-1,))])
    model.compile(optimizer="adam", loss=ListMLELoss(temperature=2.0))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert isinstance(loaded.loss, ListMLELoss) and loaded.loss.temperature == 2.0


def test_rejects_wrong_ranks_and_shapes() -> None:
    with pytest.raises(ValueError, match="group_lists"):
        ListMLELoss()(tf.constant([1.0, 0.0]), tf.constant([1.0, 0.0]))
    with pytest.raises(ValueError, match="y_pred has shape"):
        ListMLELoss()(tf.constant([[1.0, 0.0]]), tf.constant([[1.0, 0.0, 3.0]]))


def test_trains_a_model_in_keras_fit() -> None:
    tf.keras.utils.set_random_seed(0)
    X = np.random.normal(size=(64, 5, 3)).astype(np.float32)
    y = np.argsort(np.argsort(X @ np.array([1.0, -0.5, 0.2]), axis=1), axis=1).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.layers.Dense(1), tf.keras.layers.Reshape((-1,))])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.05), loss=ListMLELoss())
    history = model.fit(X, y, epochs=20, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]


@pytest.mark.parametrize("gap", [5.0, 30.0, 59.0, 61.0, 87.0, 300.0])
def test_both_computation_paths_keep_relative_precision(gap: float) -> None:
    # Below a gap of 60 the loss uses shifted cumulative sums, above it a
    # cumulative log-sum-exp; both must keep tiny terms to relative precision.
    scores = np.array([[gap, gap / 2, 0.0]], dtype=np.float32)
    labels = np.array([[2.0, 1.0, 0.0]])
    expected = plackett_luce_nll(labels=labels[0], scores=scores[0].astype(np.float64))
    assert per_list(labels, scores)[0] == pytest.approx(expected, rel=1e-5, abs=1e-37)


# ---------------------------------------------------------------- issue 11: shapes in graphs, weights, ragged lists

def test_shape_mismatch_is_a_clear_error_inside_fit() -> None:
    # One score per document, (batch, 1), against lists of 8 labels: the batch
    # size is unknown in fit's graph, so the eager-only check used to miss it.
    X = np.zeros((16, 3), np.float32)
    y = np.zeros((16, 8), np.float32)
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=ListMLELoss())
    with pytest.raises(ValueError, match=r"y_pred has shape \(\w+, 1\) but y_true has shape \(\w+, 8\)(.|\n)*make_scorer"):
        model.fit(X, y, epochs=1, batch_size=4, verbose=0)


def test_shape_mismatch_unknown_until_run_time_is_named() -> None:
    loss = ListMLELoss()
    spec = tf.TensorSpec([None, None], tf.float32)
    step = tf.function(lambda y, s: loss(y, s), input_signature=[spec, spec])
    with pytest.raises(tf.errors.InvalidArgumentError, match="y_pred and y_true differ in shape"):
        step(tf.zeros((4, 8)), tf.zeros((4, 1)))
    assert float(step(tf.constant([[1.0, 0.0]]), tf.constant([[0.0, 0.0]]))) == pytest.approx(math.log(2))


def test_per_item_and_per_list_sample_weight_as_tensorflow_ranking() -> None:
    rng = np.random.default_rng(3)
    labels = np.array([rng.permutation(5) for _ in range(6)], dtype=np.float32)  # no ties: no random order
    labels[0] = 0.0  # label sum 0: weight 0, as in tensorflow-ranking
    scores = rng.normal(size=(6, 5)).astype(np.float32)
    per_list = rng.random((6, 1)).astype(np.float32)
    per_list[0] = 0.0  # the tied list's order is random in both losses
    for weights in (rng.random((6, 5)).astype(np.float32), per_list):
        for reduction in ("auto", "sum", "none"):
            ours = ListMLELoss(reduction=reduction)(labels, scores, sample_weight=weights).numpy()
            theirs = tfr.keras.losses.ListMLELoss(reduction=reduction)(labels, scores, sample_weight=weights).numpy()
            np.testing.assert_allclose(ours, theirs.reshape(ours.shape), rtol=2e-5, atol=1e-6)


def test_ragged_lists_as_tensorflow_ranking() -> None:
    labels = tf.ragged.constant([[2.0, 1.0, 0.0], [1.0, 0.0], [3.0, 0.0, 2.0, 1.0]])
    scores = tf.ragged.constant([[0.5, 0.1, -0.3], [2.0, 0.0], [1.0, 0.2, 0.3, -1.0]])
    weights = tf.ragged.constant([[1.0, 2.0, 3.0], [0.5, 0.5], [1.0, 1.0, 2.0, 2.0]])
    ours = float(ListMLELoss()(labels, scores))
    # tensorflow-ranking adds log(m!) for m padded items: compare with lists of one length.
    dense = ListMLELoss(reduction="none")(labels.to_tensor(-1.0), scores.to_tensor(0.0)).numpy()
    assert ours == pytest.approx(dense.mean(), rel=1e-6)
    expected = [plackett_luce_nll(labels=y, scores=s) for y, s in zip(labels.to_list(), scores.to_list())]
    np.testing.assert_allclose(dense, expected, rtol=1e-5)
    same_length = tf.ragged.constant([[2.0, 1.0, 0.0], [1.0, 0.0, 2.0]])
    same_scores = tf.ragged.constant([[0.5, 0.1, -0.3], [2.0, 0.0, 1.0]])
    same_weights = tf.ragged.constant([[1.0, 2.0, 3.0], [0.5, 0.5, 2.0]])
    theirs = float(tfr.keras.losses.ListMLELoss(ragged=True)(same_length, same_scores, sample_weight=same_weights))
    assert float(ListMLELoss()(same_length, same_scores, sample_weight=same_weights)) == pytest.approx(theirs, rel=1e-5)
    assert np.isfinite(float(ListMLELoss()(labels, scores, sample_weight=weights)))
    with pytest.raises(ValueError, match="ragged y_true with ragged y_pred"):
        ListMLELoss()(labels, scores.to_tensor(0.0))


def test_non_finite_scores_give_nan_not_zero() -> None:
    # A diverged model's NaN scores must not log a loss of 0.0 (the zero-loss symptom).
    loss = ListMLELoss()
    labels = np.array([[2.0, 1.0, 0.0], [1.0, 0.0, -1.0]], np.float32)
    scores = np.array([[np.nan] * 3, [0.5, 0.1, np.nan]], np.float32)  # NaN only on padding in list 2
    per_list = np.asarray(listmle_per_list(labels, scores))
    assert np.isnan(per_list[0]) and np.isfinite(per_list[1])
    assert np.isnan(float(loss(labels[:1], scores[:1])))
    assert np.isnan(float(loss(np.array([[1.0, 0.0]], np.float32), np.array([[np.inf, 0.0]], np.float32))))


@pytest.mark.parametrize("discount", ["reciprocal", "log2"])
@given(tie_free_lists(max_gap=60.0))
def test_lambda_weights_equal_tensorflow_ranking_where_finite(discount: str, batch: tuple[np.ndarray, np.ndarray]) -> None:
    from companion.ranking import ListMLELambdaWeight

    labels, scores = batch
    full = (labels >= 0).all(axis=1)  # TFR weighs a constant for padding: compare full lists
    assume(full.any())
    fn = {"reciprocal": lambda r: 1.0 / r, "log2": lambda r: tf.math.log(2.0) / tf.math.log1p(r)}[discount]
    theirs_weight = tfr.keras.losses.ListMLELambdaWeight(rank_discount_fn=fn)
    y, s = tf.constant(labels[full], tf.float32), tf.constant(scores[full])
    theirs = tfr.keras.losses.ListMLELoss(lambda_weight=theirs_weight, reduction=tf.keras.losses.Reduction.NONE)(
        y, s).numpy().ravel()
    ours = ListMLELoss(lambda_weight=ListMLELambdaWeight(discount), reduction="none")(y, s).numpy()
    converted = ListMLELoss(lambda_weight=theirs_weight, reduction="none")(y, s).numpy()  # TFR's object, as is
    finite = np.isfinite(theirs)
    tol = 2e-5 * np.maximum(1.0, np.abs(scores[full]).max(axis=1)) * labels.shape[1]
    assert np.all(np.abs(ours[finite] - theirs[finite]) <= tol[finite])
    np.testing.assert_allclose(converted, ours, rtol=1e-6, atol=1e-6)


def test_tensorflow_ranking_ignores_other_lambda_weights_and_we_refuse_them() -> None:
    labels, scores = tf.constant([[2.0, 1.0, 0.0]]), tf.constant([[0.1, 0.5, -0.3]])
    dcg = tfr.keras.losses.DCGLambdaWeight()
    plain = float(tfr.keras.losses.ListMLELoss()(labels, scores))
    assert float(tfr.keras.losses.ListMLELoss(lambda_weight=dcg)(labels, scores)) == pytest.approx(plain, rel=1e-6)
    with pytest.raises(ValueError, match="silently ignores"):
        ListMLELoss(lambda_weight=dcg)
