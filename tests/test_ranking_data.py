"""companion.ranking: grouping, checks, reference values, metrics, data and loader."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from companion.ranking import (
    RankingDataWarning,
    chance_level,
    check_lists,
    epsilon_listmle,
    group_lists,
    load_svmlight_ranking,
    load_svmlight_rankings,
    loss_floor,
    make_ranking_data,
    mean_ndcg,
    plackett_luce_nll,
    score_spread,
    single_feature_ndcg,
)

# --- the package ---------------------------------------------------------------


def test_help_and_dir_list_the_lazily_loaded_names() -> None:
    import pydoc

    import companion.ranking as ranking

    lazy = ("ListMLELoss", "listmle_per_list", "make_scorer", "dead_units")
    assert set(lazy) <= set(dir(ranking))
    assert set(ranking.__all__) <= set(dir(ranking))
    text = pydoc.render_doc(ranking, renderer=pydoc.plaintext)
    for name in lazy:
        assert f"{name}(" in text or f"class {name}" in text, name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        ranking.nothing  # noqa: B018


def test_hypothesis_profile_is_session_wide() -> None:
    import os

    from hypothesis import settings

    # tests/conftest.py loads it for every test module, not one module for all.
    profile = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    current = settings()
    assert (current.max_examples, current.derandomize, current.deadline) == (
        profile.max_examples, profile.derandomize, profile.deadline)
    assert settings.get_profile("ci").derandomize and settings.get_profile("ci").deadline is None


# --- group_lists --------------------------------------------------------------


def test_group_lists_pads_and_keeps_order() -> None:
    X = np.arange(10, dtype=float).reshape(5, 2)
    X_l, y_l = group_lists(X, [3, 2, 1, 0, 4], qid=[5, 9, 5, 5, 9])
    assert X_l.shape == (2, 3, 2) and X_l.dtype == np.float32
    np.testing.assert_array_equal(y_l, [[3, 1, 0], [2, 4, -1]])
    np.testing.assert_array_equal(X_l[1, 2], [0, 0])
    np.testing.assert_array_equal(X_l[0, 1], X[2])


def test_group_lists_truncates_with_a_warning() -> None:
    with pytest.warns(RankingDataWarning, match="truncates 1 queries; 2 documents are dropped"):
        _, y_l = group_lists(np.zeros((6, 1)), [1, 2, 3, 4, 0, 1], qid=[1, 1, 1, 1, 2, 2], list_size=2)
    np.testing.assert_array_equal(y_l, [[1, 2], [0, 1]])


@pytest.mark.parametrize(
    ("qid", "X", "y", "kwargs", "match"),
    [
        ([1, 1], [[1.0], [2.0], [3.0]], [0, 1], {}, "one entry per row"),
        ([1, 1], [1.0, 2.0], [0, 1], {}, "X must be 2-D"),
        ([1, 1], [[1.0], [np.nan]], [0, 1], {}, "NaN or infinity"),
        ([1, 1], [[1.0], [np.inf]], [0, 1], {}, "NaN or infinity"),
        ([1, 1], [[1.0], [2.0]], [0, np.nan], {}, "y contains NaN"),
        ([1, 1], [[1.0], [2.0]], [0, -1], {}, "negative labels"),
        ([1, 1], [[1.0], [2.0]], [0, 1], {"pad_label": 0}, "pad_label must be negative"),
        ([1, 1], [[1.0], [2.0]], [0, 1], {"list_size": 1}, "at least 2"),
        ([1, 1], [[1.0], [2.0]], [0, 1], {"list_size": 2.5}, "whole number"),
        ([1, 2, 3], [[1.0], [2.0], [3.0]], [0, 1, 2], {}, "document or row id"),
        ([], np.zeros((0, 2)), [], {}, "empty"),
        ([[1, 1]], [[1.0], [2.0]], [0, 1], {}, "must be 1-D"),
    ],
)
def test_group_lists_errors(qid, X, y, kwargs, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        group_lists(X, y, qid, **kwargs)


def test_group_lists_refuses_nan_query_ids_naming_the_rows() -> None:
    with pytest.raises(ValueError, match=r"query id is missing \(NaN\) in 2 rows: 1, 3"):
        group_lists(np.zeros((4, 1)), [1, 0, 0, 1], qid=[1.0, np.nan, 1.0, np.nan])


def test_group_lists_refuses_none_query_ids_naming_the_rows() -> None:
    qid = np.array(["a", None, "a", "b", "b"], dtype=object)
    with pytest.raises(ValueError, match=r"query id is missing \(None\) in 1 rows: 1"):
        group_lists(np.zeros((5, 1)), [1, 0, 0, 1, 0], qid=qid)
    mixed = np.array(["a", 1, "a", 1], dtype=object)
    with pytest.raises(ValueError, match="one comparable type"):
        group_lists(np.zeros((4, 1)), [1, 0, 0, 1], qid=mixed)


def test_group_lists_accepts_string_query_ids() -> None:
    _, y_l = group_lists(np.zeros((4, 1)), [2, 1, 0, 3], qid=np.array(["b", "a", "b", "a"], dtype=object))
    np.testing.assert_array_equal(y_l, [[2, 0], [1, 3]])


@pytest.mark.parametrize("size", [2.5, 3.0, "4", True])
def test_group_lists_refuses_a_list_size_that_is_not_a_whole_number(size) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="list_size must be a whole number"):
        group_lists(np.zeros((4, 1)), [1, 0, 1, 0], qid=[1, 1, 2, 2], list_size=size)
    _, y_l = group_lists(np.zeros((4, 1)), [1, 0, 1, 0], qid=[1, 1, 2, 2], list_size=np.int64(3))
    assert y_l.shape == (2, 3)


def test_group_lists_refuses_padding_that_would_not_fit_in_memory() -> None:
    # One query of 199,000 documents and 2,000 of two: padded, 2,001 lists of 199,000 items.
    qid = np.concatenate([np.zeros(199_000, dtype=np.int64), np.repeat(np.arange(1, 2001), 2)])
    X = np.zeros((len(qid), 2), dtype=np.float32)
    y = np.zeros(len(qid))
    with pytest.raises(ValueError, match=r"4\.78 GB.*list_size=") as caught:
        group_lists(X, y, qid=qid)
    assert "largest query has 199000 documents" in str(caught.value)
    with pytest.warns(RankingDataWarning, match="truncates"):
        X_l, _ = group_lists(X, y, qid=qid, list_size=2)
    assert X_l.shape == (2001, 2, 2)


def test_group_lists_returns_query_ids_and_a_way_back_to_rows() -> None:
    qid = [5, 9, 5, 5, 9]
    X = np.arange(10, dtype=float).reshape(5, 2)
    X_l, y_l, index = group_lists(X, [3, 2, 1, 0, 4], qid=qid, return_index=True)
    default = group_lists(X, [3, 2, 1, 0, 4], qid=qid)
    assert len(default) == 2  # the default return is unchanged
    np.testing.assert_array_equal(X_l, default[0])
    np.testing.assert_array_equal(index.qids, [5, 9])
    np.testing.assert_array_equal(index.rows, [[0, 2, 3], [1, 4, -1]])
    assert index.n_rows == 5
    scores = X_l[..., 0] * 10  # a score per item, padding included
    np.testing.assert_array_equal(index.ungroup(scores), X[:, 0] * 10)
    np.testing.assert_array_equal(index.ungroup(scores[..., None]), X[:, 0] * 10)  # (n, size, 1)
    with pytest.raises(ValueError, match="shape"):
        index.ungroup(scores[:1])


def test_group_lists_index_marks_truncated_rows_nan() -> None:
    with pytest.warns(RankingDataWarning):
        _, y_l, index = group_lists(np.zeros((5, 1)), [1, 2, 3, 0, 1], qid=[1, 1, 1, 2, 2], list_size=2,
                                    return_index=True)
    back = index.ungroup(y_l)
    np.testing.assert_array_equal(back[[0, 1, 3, 4]], [1, 2, 0, 1])
    assert np.isnan(back[2])


def test_group_lists_old_argument_order_warns_and_gives_the_same_lists() -> None:
    qid = np.array(["b", "a", "b", "a", "b"], dtype=object)
    X = np.arange(10, dtype=float).reshape(5, 2)
    y = [3, 2, 1, 0, 4]
    X_l, y_l, index = group_lists(X, y, qid=qid, return_index=True)
    with pytest.warns(DeprecationWarning, match=r"group_lists\(qid, X, y\) is deprecated; call "
                      r"group_lists\(X, y, qid=qid\)") as caught:
        old = group_lists(qid, X, y, return_index=True)
    assert caught[0].filename == __file__  # the warning names the caller's line
    np.testing.assert_array_equal(old[0], X_l)
    np.testing.assert_array_equal(old[1], y_l)
    np.testing.assert_array_equal(old[2].qids, index.qids)
    np.testing.assert_array_equal(old[2].rows, index.rows)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="negative labels"):
        group_lists([1, 1], [[1.0], [2.0]], [0, -1])  # the old order keeps its checks
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        group_lists(X=X, y=y, qid=qid)  # every argument by name: no warning
        group_lists(X, y, qid)


# --- check_lists --------------------------------------------------------------


def test_check_lists_accepts_good_lists() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_lists([[2, 1, 0], [1, 0, -1]], [[0.3, 0.2, 0.1], [1.0, 0.0, 5.0]])


@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [
        ([1, 0, 2], None, "shape \\(n_lists, list_size\\)"),
        ([[1], [0], [2]], None, "group_lists"),
        ([[1, -1], [0, -1]], None, "fewer than 2 valid items"),
        ([[1, 0], [-1, -1]], None, "no valid item"),
        ([[1, np.nan]], None, "NaN"),
        ([[1, 0], [2, 1]], [[0.1], [0.2]], "scores one document at a time"),
        ([[1, 0]], [[0.1, 0.2, 0.3]], "y_pred has shape"),
        ([[1, 0]], [[0.1, np.nan]], "diverged"),
    ],
)
def test_check_lists_errors(y_true, y_pred, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        check_lists(y_true, y_pred)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [
        ([[1, 0], [1, -1]], None, "single valid item"),
        ([[1, 0], [2, 2]], None, "all valid labels equal"),
        ([[1, 0]], [[20.0, 0.0]], "rounds the loss"),
        ([[1, 0]], [[100.0, 0.0]], "returns -inf"),
    ],
)
def test_check_lists_warnings(y_true, y_pred, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.warns(RankingDataWarning, match=match):
        check_lists(y_true, y_pred)


def test_check_lists_accepts_trailing_axis() -> None:
    # (n_lists, list_size, 1) is read as (n_lists, list_size): the same checks run on it.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_lists([[1, 0]], np.array([[[0.2], [0.1]]])) is None
    with pytest.warns(RankingDataWarning, match="returns -inf"):
        check_lists([[1, 0]], np.array([[[100.0], [0.0]]]))
    with pytest.raises(ValueError, match="diverged"):
        check_lists([[1, 0]], np.array([[[np.nan], [0.0]]]))
    with pytest.raises(ValueError, match="y_pred has shape"):
        check_lists([[1, 0]], np.zeros((1, 2, 2)))


# --- reference values ---------------------------------------------------------


def test_plackett_luce_known_values() -> None:
    assert plackett_luce_nll([2, 1, 0], [0.0, 0.0, 0.0]) == pytest.approx(math.log(6))
    assert plackett_luce_nll([1, 0], [2.0, 0.0]) == pytest.approx(math.log1p(math.exp(-2.0)))
    assert plackett_luce_nll([1, 0], [50.0, 0.0]) == pytest.approx(math.exp(-50.0), rel=1e-9)
    assert plackett_luce_nll([1, 0], [0.0, 1e4]) == pytest.approx(1e4)
    assert plackett_luce_nll([1, 0, -1], [1.0, 2.0, 9.0]) == plackett_luce_nll([1, 0], [1.0, 2.0])
    assert plackett_luce_nll([1], [3.0]) == 0.0


def test_plackett_luce_errors() -> None:
    with pytest.raises(ValueError, match="same length"):
        plackett_luce_nll([1], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        plackett_luce_nll([1, 0], [1.0, np.nan])


@pytest.mark.parametrize("function", [plackett_luce_nll, epsilon_listmle])
def test_reference_takes_labels_first_and_catches_a_swapped_call(function) -> None:  # type: ignore[no-untyped-def]
    labels, scores = [2, 1, 0], [0.31, -1.2, 0.05]
    assert function(labels, scores) > 0
    # The old order (scores, labels): real-valued "labels" are refused, naming the order.
    with pytest.raises(ValueError, match=r"whole-number.*\(labels, scores\)"):
        function(scores, labels)
    # Padding may be any negative number; grades must be whole.
    assert function([1.0, 0.0, -0.5], [0.2, 0.1, 7.0]) == function([1, 0], [0.2, 0.1])


def test_plackett_luce_is_brute_force_probability() -> None:
    rng = np.random.default_rng(0)
    s = rng.normal(size=4)
    # Probability of the order 0, 1, 2, 3 under Plackett-Luce, by the definition.
    p, remaining = 1.0, list(range(4))
    for i in range(4):
        p *= math.exp(s[i]) / sum(math.exp(s[j]) for j in remaining)
        remaining.remove(i)
    assert plackett_luce_nll([3, 2, 1, 0], s) == pytest.approx(-math.log(p))


def test_chance_level_and_floor() -> None:
    y = [[2, 1, 0, -1], [1, 1, 0, 0]]
    assert chance_level(y) == pytest.approx((math.log(6) + math.log(24)) / 2)
    assert loss_floor(y) == pytest.approx((0 + 2 * math.log(2)) / 2)
    assert loss_floor([[3, 2, 1, 0]]) == 0.0
    assert chance_level([1, 0]) == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="n_lists, list_size"):
        chance_level(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        loss_floor([[1, np.nan]])


def test_epsilon_formula_is_right_small_and_wrong_large() -> None:
    assert epsilon_listmle([1, 0], [1.0, 0.0]) == pytest.approx(math.log1p(math.exp(-1)), rel=1e-5)
    assert epsilon_listmle([1, 0], [40.0, 0.0]) == pytest.approx(40 + math.log(1e-10), abs=0.01)
    assert epsilon_listmle([0], [1.0]) == 0.0


# --- metrics ------------------------------------------------------------------


def test_mean_ndcg_ignores_padding_and_uninformative_lists() -> None:
    y = [[2, 1, 0, -1], [0, 0, -1, -1], [1, -1, -1, -1]]
    s = [[3.0, 2.0, 1.0, 99.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    assert mean_ndcg(y, s) == 1.0
    assert mean_ndcg([[2, 1, 0]], [[0.0, 1.0, 2.0]]) < 1.0
    assert mean_ndcg([[2, 1, 0]], [[np.nan, 1.0, 2.0]]) == 0.0
    with pytest.raises(ValueError, match="undefined"):
        mean_ndcg([[0, 0]], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="same|shape"):
        mean_ndcg([[1, 0]], [[1.0]])


def _random_lists(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Graded lists with padding, a relevant item in each, and no tied scores."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, size=(20, 8)).astype(np.float32)
    y[:, 0] = np.maximum(y[:, 0], 1)
    y[::3, -2:] = -1
    return y, rng.normal(size=y.shape).astype(np.float32)


@pytest.mark.parametrize("k", [None, 3])
def test_mean_ndcg_linear_gain_is_scikit_learns(k) -> None:  # type: ignore[no-untyped-def]
    from sklearn.metrics import ndcg_score

    y, s = _random_lists(0)
    expected = np.mean([ndcg_score(row[row >= 0][None], sc[row >= 0][None], k=k) for row, sc in zip(y, s)])
    assert mean_ndcg(y, s, k) == pytest.approx(expected, rel=1e-12)
    assert mean_ndcg(y, s, k, gain="linear") == mean_ndcg(y, s, k)  # the default


@pytest.mark.parametrize("k", [None, 3])
def test_mean_ndcg_exponential_gain_is_tensorflow_rankings(k) -> None:  # type: ignore[no-untyped-def]
    import tensorflow_ranking as tfr

    y, s = _random_lists(1)
    metric = tfr.keras.metrics.NDCGMetric(topn=k)
    metric.update_state(y, s)
    ours = mean_ndcg(y, s, k, gain="exponential")
    assert ours == pytest.approx(float(metric.result()), rel=1e-5)
    assert abs(ours - mean_ndcg(y, s, k)) > 0.01  # the two gains really differ here
    with pytest.raises(ValueError, match="gain must be"):
        mean_ndcg(y, s, gain="log")


def test_score_spread() -> None:
    assert score_spread([[1, 0, -1]], [[2.0, 2.0, 9.0]]) == 0.0
    assert score_spread([[1, 0]], [[1.0, 3.0]]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="two valid"):
        score_spread([[1, -1]], [[1.0, 3.0]])


def test_single_feature_ndcg_finds_a_leak() -> None:
    data = make_ranking_data(40, list_size=8, leak=True, random_state=0)
    X_l, y_l = group_lists(data.X, data.y, qid=data.qid)
    values = single_feature_ndcg(X_l, y_l)
    assert values[-1] == 1.0 and values[:-1].max() < 1.0
    with pytest.raises(ValueError, match="n_features"):
        single_feature_ndcg(X_l[..., 0], y_l)


# --- synthetic data -----------------------------------------------------------


def test_make_ranking_data_is_seeded_and_shaped() -> None:
    a = make_ranking_data(20, list_size=(3, 6), query_features=2, leak=True, random_state=1)
    b = make_ranking_data(20, list_size=(3, 6), query_features=2, leak=True, random_state=1)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.X.shape[1] == 6 + 2 + 1 and a.feature_names[-1] == "leak"
    sizes = np.bincount(a.qid)
    assert sizes.min() >= 3 and sizes.max() <= 6
    assert set(np.unique(a.y)) <= {0, 1, 2, 3, 4}
    # Query features are constant within a query.
    for q in range(20):
        rows = a.X[a.qid == q][:, 6:8]
        assert np.all(rows == rows[0])


def test_make_ranking_data_order_labels_and_scales() -> None:
    data = make_ranking_data(5, list_size=4, labels="order", feature_scales=[1000.0] * 6, random_state=0)
    for q in range(5):
        assert sorted(data.y[data.qid == q]) == [0, 1, 2, 3]
    assert data.X.min() > 0 and data.X.max() > 1000


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_queries": 0}, "n_queries"),
        ({"n_features": 0}, "n_features"),
        ({"list_size": (5, 2)}, "list_size"),
        ({"labels": "binary"}, "labels"),
        ({"noise": -1.0}, "noise"),
        ({"feature_scales": [1.0, 2.0]}, "feature_scales"),
        ({"feature_scales": [0.0] * 6}, "feature_scales"),
    ],
)
def test_make_ranking_data_errors(kwargs, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        make_ranking_data(**kwargs)


# --- loader -------------------------------------------------------------------


def test_load_svmlight_ranking_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text(
        "2 qid:10 1:0.5 3:1.5 # doc a\n"
        "0 qid:10 1:0.1 2:0.2\n"
        "1 qid:11 2:0.7 3:0.3\n"
        "0 qid:11 1:0.9\n"
        "4 qid:11 3:2.0\n"
    )
    rows = load_svmlight_ranking(path, n_features=4)
    qid, X, y = rows  # the tuple's order is qid, X, y
    assert (rows.qid is qid, rows.X is X, rows.y is y) == (True, True, True)
    np.testing.assert_array_equal(qid, [10, 10, 11, 11, 11])
    assert X.shape == (5, 4) and X[0, 2] == 1.5 and X[0, 1] == 0.0
    np.testing.assert_array_equal(y, [2, 0, 1, 0, 4])
    X_l, y_l = group_lists(X, y, qid=qid)
    np.testing.assert_array_equal(y_l, [[2, 0, -1], [1, 0, 4]])


def test_load_svmlight_ranking_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_svmlight_ranking(tmp_path / "missing.txt")
    no_qid = tmp_path / "plain.txt"
    no_qid.write_text("1 1:0.5\n0 1:0.2\n")
    with pytest.raises(ValueError, match="qid"):
        load_svmlight_ranking(no_qid)


def test_load_svmlight_ranking_reads_unsorted_and_duplicated_indices(tmp_path: Path) -> None:
    path = tmp_path / "letor.txt"
    path.write_text(
        "2 qid:10 3:1.5 1:0.5 # unsorted, as in some LETOR files\n"
        "0 qid:10 1:0.1 2:0.2 1:0.7\n"  # index 1 twice: the last value wins
        "1 qid:11 2:0.7\n"
    )
    with pytest.warns(RankingDataWarning, match=r"line 2.*last value"):
        qid, X, y = load_svmlight_ranking(path)
    np.testing.assert_array_equal(qid, [10, 10, 11])
    np.testing.assert_array_equal(X, [[0.5, 0.0, 1.5], [0.7, 0.2, 0.0], [0.0, 0.7, 0.0]])
    np.testing.assert_array_equal(y, [2, 0, 1])


def _zero_based_split(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """Train and test files written by scikit-learn (zero-based); the test file's column 0 is all zero."""
    from sklearn.datasets import dump_svmlight_file

    rng = np.random.default_rng(0)
    X_train = rng.uniform(0.1, 1.0, size=(6, 3))
    X_test = rng.uniform(0.1, 1.0, size=(4, 3))
    X_test[:, 0] = 0.0  # so index 0 never appears in the test file
    qid = np.array([1, 1, 2, 2, 3, 3])
    train, test = tmp_path / "train.txt", tmp_path / "test.txt"
    dump_svmlight_file(X_train, np.arange(6) % 3, str(train), query_id=qid, zero_based=True)
    dump_svmlight_file(X_test, np.arange(4) % 2, str(test), query_id=qid[:4] + 10, zero_based=True)
    return train, test, X_train, X_test


def test_load_svmlight_ranking_zero_based_argument(tmp_path: Path) -> None:
    """Issue 18, 5.5: the indexing is the caller's to state, as in scikit-learn's loader."""
    train, test, X_train, X_test = _zero_based_split(tmp_path)
    _, X, _ = load_svmlight_ranking(test, zero_based=True, n_features=3)
    np.testing.assert_allclose(X, X_test, rtol=1e-6)
    _, X, _ = load_svmlight_ranking(train, zero_based=True)
    np.testing.assert_allclose(X, X_train, rtol=1e-6)
    one_based = tmp_path / "one.txt"
    one_based.write_text("1 qid:1 1:0.5 2:0.25\n0 qid:1 2:0.75\n")
    _, X, _ = load_svmlight_ranking(one_based, zero_based=False)
    np.testing.assert_array_equal(X, [[0.5, 0.25], [0.0, 0.75]])
    # Index 0 in a file said to be one-based: an error that names the line and the way out.
    with pytest.raises(ValueError, match=r"train.txt, line 1: feature index 0.*zero_based=True"):
        load_svmlight_ranking(train, zero_based=False)
    with pytest.raises(ValueError, match="zero_based must be True, False or 'auto'"):
        load_svmlight_ranking(train, zero_based="yes")  # type: ignore[arg-type]


def test_load_svmlight_rankings_agree_on_columns(tmp_path: Path) -> None:
    """Issue 18, 5.5: loaded one by one, the test file would be read one-based (no index 0 in it) and
    shifted one column against train; loaded together, the files share one indexing and one width."""
    train, test, X_train, X_test = _zero_based_split(tmp_path)
    _, X_alone, _ = load_svmlight_ranking(test)
    assert X_alone.shape[1] == 2  # the trap: column 0 dropped, every feature shifted left
    (q_tr, X_tr, y_tr), (q_te, X_te, y_te) = load_svmlight_rankings([train, test])
    np.testing.assert_allclose(X_tr, X_train, rtol=1e-6)
    np.testing.assert_allclose(X_te, X_test, rtol=1e-6)
    np.testing.assert_array_equal(q_te, [11, 11, 12, 12])
    np.testing.assert_array_equal(y_tr, np.arange(6) % 3)
    # The line-by-line reader (unsorted indices) decides the same way, over all files.
    messy = tmp_path / "messy.txt"
    messy.write_text("1 qid:5 2:0.5 1:0.25\n")
    (_, X_m, _), (_, X_tr2, _) = load_svmlight_rankings([messy, train])
    np.testing.assert_array_equal(X_m, [[0.0, 0.25, 0.5]])
    np.testing.assert_allclose(X_tr2, X_train, rtol=1e-6)
    (_, X_m1, _), (_, X_o, _) = load_svmlight_rankings([messy, tmp_path / "test.txt"], zero_based=False)
    assert X_m1.shape[1] == X_o.shape[1] == 2
    with pytest.raises(ValueError, match="at least one file"):
        load_svmlight_rankings([])


def test_load_svmlight_ranking_names_the_line_without_a_qid(tmp_path: Path) -> None:
    path = tmp_path / "partial.txt"
    path.write_text("2 qid:1 1:0.5\n# a comment line\n1 1:0.1 2:0.3\n0 qid:2 1:0.3\n")
    with pytest.raises(ValueError, match=r"line 3 has no 'qid:'"):
        load_svmlight_ranking(path)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("1 qid:1 1:abc", "line 2.*1:abc"),
        ("1 qid:x 1:0.5", "line 2.*qid:x"),
        ("high qid:1 1:0.5", "line 2.*label"),
        ("1 qid:1 7:0.5", "line 2.*feature index 7.*n_features=3"),
    ],
)
def test_load_svmlight_ranking_names_the_bad_line(tmp_path: Path, line: str, match: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(f"1 qid:1 3:0.2 1:0.5\n{line}\n")
    with pytest.raises(ValueError, match=match):
        load_svmlight_ranking(path, n_features=3)


# --- Keras helpers ------------------------------------------------------------


def test_make_scorer_shapes_and_dead_units() -> None:
    import tensorflow as tf

    from companion.ranking import dead_units, make_scorer

    tf.keras.utils.set_random_seed(0)
    model = make_scorer(hidden=(8,), output_activation="sigmoid", score_noise=0.1)
    X = np.random.normal(size=(3, 5, 4)).astype(np.float32)
    assert model(X).shape == (3, 5)
    # One row per document (the zero-loss shape), on a fresh model: on Keras 3 a built
    # Sequential takes only the input rank it was built with.
    assert make_scorer(hidden=(8,))(X[:, 0, :]).shape == (3, 1)
    assert 0.0 <= dead_units(model, X) < 1.0
    # Kill every unit: a large negative bias makes every ReLU output 0.
    hidden = model.layers[0]
    hidden.bias.assign(np.full(8, -1e3, dtype=np.float32))
    assert dead_units(model, X) == 1.0
    assert dead_units(make_scorer(hidden=()), X) == 0.0
