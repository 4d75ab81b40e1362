"""Tests for companion.book (Part I): the ranking chapters' harness."""

from __future__ import annotations

import math

import numpy as np
import pytest

from companion.ranking import chance_level, loss_floor, plackett_luce_nll
from companion.book import (
    EPSILON_BEST_GAP,
    PADDED_UNDERFLOW_SCORE,
    listmle_numpy,
    oracle_loss,
    paired_grade,
    paired_t,
    shuffled_label_loss,
    summarize,
    t_edge,
    uniform_score_gradient,
)
from companion.ranking import ROUND_TO_ZERO_GAP, UNDERFLOW_GAP


def test_derived_float32_limits() -> None:
    assert UNDERFLOW_GAP == pytest.approx(87.3365, abs=1e-4)
    assert PADDED_UNDERFLOW_SCORE == pytest.approx(64.3107, abs=1e-4)
    assert ROUND_TO_ZERO_GAP == pytest.approx(16.6355, abs=1e-4)
    assert EPSILON_BEST_GAP == pytest.approx(11.5129, abs=1e-4)
    # float32: 1 + exp(-gap) rounds to 1 just past the limit, not just before it.
    assert np.float32(1.0) + np.float32(math.exp(-(ROUND_TO_ZERO_GAP + 1e-3))) == np.float32(1.0)
    assert np.float32(1.0) + np.float32(math.exp(-(ROUND_TO_ZERO_GAP - 1e-2))) > np.float32(1.0)


def test_listmle_numpy_matches_the_reference_without_ties() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(30, 7)) * 3
    labels = np.argsort(rng.random((30, 7)), axis=1).astype(float)
    labels[:4, -2:] = -1.0  # padding
    expected = np.mean([plackett_luce_nll(labels=y, scores=s) for y, s in zip(labels, scores)])
    assert listmle_numpy(labels, scores) == pytest.approx(expected, rel=1e-12)


def test_listmle_numpy_uniform_scores_give_the_chance_level() -> None:
    labels = np.array([[2, 1, 1, 0, -1], [3, 0, 0, 0, 0]], dtype=float)
    assert listmle_numpy(labels, np.zeros_like(labels), n_draws=3) == pytest.approx(chance_level(labels))


def test_listmle_numpy_large_gaps_stay_finite() -> None:
    assert listmle_numpy([[1, 0]], [[500.0, 0.0]]) == pytest.approx(math.exp(-500.0), rel=1e-9)
    with pytest.raises(ValueError, match="same shape|shape"):
        listmle_numpy([[1, 0]], [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="n_draws"):
        listmle_numpy([[1, 0]], [[1.0, 2.0]], n_draws=0)


def test_uniform_score_gradient_matches_finite_differences() -> None:
    n = 10
    grad = uniform_score_gradient(n)
    labels = np.arange(n - 1, -1, -1, dtype=float)
    h = 1e-6
    for k in range(n):
        e = np.zeros(n)
        e[k] = h
        numeric = (plackett_luce_nll(labels=labels, scores=e) - plackett_luce_nll(labels=labels, scores=-e)) / (2 * h)
        assert grad[k] == pytest.approx(numeric, abs=1e-6)
    assert grad.sum() == pytest.approx(0.0, abs=1e-12)
    assert grad[0] == pytest.approx(1 / n - 1) and grad[-1] == pytest.approx(sum(1 / i for i in range(1, n + 1)) - 1)
    with pytest.raises(ValueError, match="at least 2"):
        uniform_score_gradient(1)


def test_label_agnostic_scores_sit_above_chance() -> None:
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(20, 6))
    assert shuffled_label_loss(scores, n_draws=50) > math.log(math.factorial(6)) + 0.1
    assert shuffled_label_loss(np.zeros((3, 6)), n_draws=5) == pytest.approx(math.log(math.factorial(6)))


def test_oracle_loss_lies_between_floor_and_chance() -> None:
    rng = np.random.default_rng(2)
    utility = rng.normal(size=(40, 8))
    labels = np.digitize(utility, [0.0, 0.8, 1.4]).astype(float)
    loss, scale = oracle_loss(labels, utility, n_draws=5)
    assert loss_floor(labels) < loss < chance_level(labels)
    assert scale > 0
    # The chosen scale is no worse than its neighbours.
    for c in (scale / 1.5, scale * 1.5):
        assert loss <= listmle_numpy(labels, c * utility, n_draws=5) + 1e-12


def test_summarize_rounds_to_the_spread() -> None:
    s = summarize([11.71, 11.93, 11.52, 11.80, 11.62])
    assert s.text == "11.7 ± 0.2" and s.n == 5
    assert summarize([0.5, 0.5]).text == "0.500 ± 0.000"
    with pytest.raises(ValueError, match="at least 2"):
        summarize([1.0])
    with pytest.raises(ValueError, match="finite"):
        summarize([1.0, float("nan")])


def test_paired_grade() -> None:
    base = [12.0, 12.1, 11.9, 12.2, 12.0]
    assert paired_grade(base, [b - 1.0 for b in base])[0] == "helps"
    assert paired_grade(base, [b + 1.0 for b in base])[0] == "harmful"
    assert paired_grade(base, [12.05, 12.0, 12.0, 12.15, 12.05])[0] == "no effect"
    assert paired_grade([0.9] * 5, [0.95] * 5, lower_is_better=False)[0] == "helps"
    assert paired_grade(base, base)[0] == "no effect"
    with pytest.raises(ValueError, match="one value per seed"):
        paired_grade([1.0, 2.0], [1.0])


def test_paired_t_is_the_statistic_paired_grade_decides_by() -> None:
    from scipy.stats import ttest_rel

    rng = np.random.default_rng(0)
    for n in (3, 5, 20):
        base, treated = rng.normal(10, 1, n), rng.normal(10.3, 1, n)
        grade, change = paired_grade(base, treated)
        # SciPy's paired t of treated - baseline; a rise of a loss is worse
        assert paired_t(change) == pytest.approx(-ttest_rel(treated, base).statistic, rel=1e-12)
        assert paired_t(change, lower_is_better=False) == pytest.approx(-paired_t(change))
        expected = ("helps" if paired_t(change) > t_edge(n) else
                    "harmful" if paired_t(change) < -t_edge(n) else "no effect")
        assert grade == expected
    assert paired_t(paired_grade([1.0, 2.0], [0.0, 1.0])[1]) == float("inf")
    assert paired_t(paired_grade([1.0, 2.0], [1.0, 2.0])[1]) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        t_edge(1)


def test_tensorflow_ranking_limits_match_the_derived_ones() -> None:
    pytest.importorskip("tensorflow_ranking")
    from companion.book import tfr_threshold

    inf_gap = tfr_threshold(lambda g: ([1.0, 0.0], [g, 0.0]), lambda v: v == -np.inf, 60.0, 100.0)
    zero_gap = tfr_threshold(lambda g: ([1.0, 0.0], [g, 0.0]), lambda v: v == 0.0, 10.0, 30.0)
    pad_top = tfr_threshold(lambda t: ([1.0, 0.0, -1.0], [t, t - 1.0, 0.0]), lambda v: v == -np.inf, 30.0, 100.0)
    assert inf_gap == pytest.approx(UNDERFLOW_GAP, abs=1e-4)
    assert zero_gap == pytest.approx(ROUND_TO_ZERO_GAP, abs=1e-4)
    assert pad_top == pytest.approx(PADDED_UNDERFLOW_SCORE, abs=1e-4)
    with pytest.raises(ValueError, match="widen"):
        tfr_threshold(lambda g: ([1.0, 0.0], [g, 0.0]), lambda v: v == -np.inf, 10.0, 20.0)


def test_largest_gradients_and_sigmoid_limits() -> None:
    pytest.importorskip("tensorflow_ranking")
    import tensorflow as tf

    from companion.book import largest_gradients, sigmoid_limits

    one_from, zero_below = sigmoid_limits()
    assert one_from == pytest.approx(ROUND_TO_ZERO_GAP, abs=0.01)
    assert zero_below == pytest.approx(-UNDERFLOW_GAP, abs=0.01)
    # Inputs constant within each list: the score gradient is non-zero, the weight gradient (about) zero.
    model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu"), tf.keras.layers.Dense(1),
                                 tf.keras.layers.Reshape((-1,))])
    X = np.repeat(np.random.default_rng(0).normal(size=(3, 1, 2)), 5, axis=1)
    y = np.tile(np.arange(5, dtype=float), (3, 1))
    by_score, by_weight = largest_gradients(model, X, y)
    assert by_score > 0.1 and by_weight < 1e-6


def test_max_zero_list_length_is_derived_from_float32() -> None:
    from companion.book import max_zero_list_length

    assert max_zero_list_length() == 8
    # The first gap must be 24 ln 2 and no later one can be smaller than -ln(slack * 2**-17).
    later = -math.log(4.0 * 2.0**-17)
    assert ROUND_TO_ZERO_GAP + 6 * later <= UNDERFLOW_GAP < ROUND_TO_ZERO_GAP + 7 * later
    # Less slack, longer gaps, a shorter bound; never below the even-gap length 6.
    assert 6 <= max_zero_list_length(0.5) <= max_zero_list_length()
    with pytest.raises(ValueError, match="positive"):
        max_zero_list_length(0.0)


def test_count_seeds_names_the_edge() -> None:
    from companion.book import count_seeds

    c = count_seeds([15.10, 15.10, 14.2, 15.08], 15.05, margin=0.01)
    assert (c.k, c.n, c.text, c.edge) == (3, 4, "3 of 4", ())
    assert c.nearest == pytest.approx(0.03)
    assert count_seeds([15.10, 15.055], 15.05, margin=0.01).edge == (1,)
    with pytest.raises(ValueError, match="finite"):
        count_seeds([1.0, float("nan")], 0.0, margin=0.1)
    with pytest.raises(ValueError, match="margin"):
        count_seeds([1.0], 0.0, margin=-1.0)


def test_tfr_score_gradient_is_nan_where_the_loss_is_minus_inf() -> None:
    pytest.importorskip("tensorflow_ranking")
    from companion.book import tfr_score_gradient

    labels = [[1.0, 0.0], [1.0, 0.0]]
    loss, grad = tfr_score_gradient(labels, [[1.0, 0.0], [200.0, 0.0]])
    assert np.isfinite(loss[0]) and loss[1] == -np.inf  # -inf, not NaN, in the forward pass
    assert np.isnan(grad[1]).all()  # the NaN comes from the backward pass
    assert np.isfinite(grad[0]).all()  # lists apart; a weight shared by both would sum them: NaN
    loss, grad = tfr_score_gradient([[1.0, 0.0]], [[1.0, 0.0]])
    assert loss[0] == pytest.approx(math.log1p(math.exp(-1.0)), rel=1e-6)
    assert grad[0] == pytest.approx([-1 / (1 + math.e), 1 / (1 + math.e)], rel=1e-5)


def test_saturation_by_step_and_train_scorer_records() -> None:
    pytest.importorskip("tensorflow_ranking")
    from companion.ranking import make_ranking_data, group_lists
    from companion.book import saturation_by_step, train_scorer

    data = make_ranking_data(20, list_size=5, feature_scales=[100.0] * 6, random_state=0)
    X, y = group_lists(data.X, data.y, qid=data.qid)
    shares = saturation_by_step((X, y), seed=0, steps=3, output_initializer="zeros", batch_size=4)
    assert len(shares) == 4 and shares[0] == 0.0  # sigmoid(0) = 0.5: nothing saturated at the start
    assert all(0.0 <= v <= 1.0 for v in shares)
    X = X / 100.0  # back near unit scale, where nothing turns NaN
    run = train_scorer((X, y, X, y), seed=0, epochs=2, batch_size=4, track_ndcg=True, record_batches=3)
    assert len(run["ndcg_by_epoch"]) == 2 and len(run["batches"]) == 3
    assert run["nan_share"] == 0.0 and np.isfinite(run["ndcg"])
    # Validation ListMLE: the same loss on the validation lists.
    assert np.isfinite(run["val_listmle"]) and run["val_listmle"] > 0.0
    tie_free = np.argsort(np.argsort(-y, axis=1, kind="stable"), axis=1).astype(np.float32)
    run = train_scorer((X, tie_free, X, tie_free), seed=0, epochs=1, batch_size=4)
    # No ties: tensorflow-ranking's float32 value and the exact one agree.
    assert run["val_listmle"] == pytest.approx(run["listmle"], rel=1e-4)


def test_epsilon_pair_slope_changes_sign_past_the_best_gap() -> None:
    from companion.book import epsilon_pair_slope

    assert epsilon_pair_slope(EPSILON_BEST_GAP - 2.0) < 0 < epsilon_pair_slope(EPSILON_BEST_GAP + 2.0)
    assert epsilon_pair_slope(100.0) == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError, match="positive"):
        epsilon_pair_slope(10.0, h=0.0)


def test_split_by_query_and_loss_text() -> None:
    from companion.ranking import make_ranking_data
    from companion.book import loss_text, split_by_query

    data = make_ranking_data(30, list_size=(3, 6), random_state=0)
    parts = split_by_query(data.qid, data.X, data.y, train_below=20, val_below=25, list_size=6)
    assert [len(parts[name][1]) for name in ("train", "val", "test")] == [20, 5, 5]
    assert parts["train"][0].shape == (20, 6, data.X.shape[1])
    with pytest.raises(ValueError, match="below"):
        split_by_query(data.qid, data.X, data.y, train_below=25, val_below=20)
    with pytest.raises(ValueError, match="no rows"):
        split_by_query(data.qid, data.X, data.y, train_below=20, val_below=100)
    assert loss_text(15.10441, 15.10441) == "15.1044" and loss_text(11.87, 15.1) == "11.9"
