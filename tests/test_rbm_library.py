"""companion.rbm.RBM as a scikit-learn citizen: issue 11's bugs, each with its test."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from companion.rbm import RBM, load_split
from companion.rbm._estimator import GAUSSIAN_SCALE_LIMIT, RANGE_TOLERANCE, DataRangeWarning

#: Runs no Keras: one Keras backend covers it (make test-modern).
pytestmark = pytest.mark.backend_neutral


def rounding_noise_data() -> np.ndarray:
    """Real-valued data that MinMaxScaler maps to a maximum of 1.0000000000000002."""
    X = np.random.default_rng(0).normal(size=(100, 3))
    for _ in range(100):
        scaled = MinMaxScaler().fit_transform(X)
        if scaled.max() > 1.0:
            return scaled
        X = X[1:]
    raise AssertionError("no example found")  # pragma: no cover


def test_pipeline_with_grid_search_on_digits_gives_scores() -> None:
    # Issue 11: every score was NaN. Held-out folds scaled by the training
    # folds' min and max fall outside [0, 1] (they are clipped, with a
    # warning), and the training folds themselves can exceed 1 by rounding.
    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]
    pipe = make_pipeline(MinMaxScaler(), RBM(n_components=32, n_iter=10, random_state=0),
                         LogisticRegression(max_iter=300))
    search = GridSearchCV(pipe, {"rbm__learning_rate": [0.05, 0.1]}, cv=KFold(3), error_score="raise")
    with pytest.warns(DataRangeWarning, match="clipped"):
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and scores.min() > 0.3, scores  # chance is 0.1


def test_rounding_noise_is_accepted_and_clipped_silently() -> None:
    X = rounding_noise_data()
    assert X.max() > 1.0 and X.max() - 1.0 < RANGE_TOLERANCE
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rbm = RBM(n_components=3, n_iter=2, random_state=0).fit(X)
        features = rbm.transform(X)
        X32 = (X - 1e-7).astype(np.float32)  # float32 rounding below 0
        rbm.transform(X32)
    assert np.isfinite(features).all()
    np.testing.assert_allclose(features, rbm.transform(np.clip(X, 0, 1)))


def test_unscaled_data_is_still_refused_with_its_range() -> None:
    X = load_split("digits", scaling=None)[0]
    with pytest.raises(ValueError, match="ranges from 0 to 16.*MinMaxScaler"):
        RBM(n_components=3, n_iter=1).fit(X)
    with pytest.raises(ValueError, match="from 0 to 1.00001"):  # more than rounding noise, printed as such
        RBM(n_components=3, n_iter=1).fit(np.array([[0.0, 1.00001], [0.5, 0.2]]))


def test_transform_clips_unseen_rows_outside_0_1_with_a_warning() -> None:
    X = load_split("digits")[0]
    rbm = RBM(n_components=8, n_iter=2, random_state=0).fit(X)
    outside = X[:10] * 1.5 - 0.2
    with pytest.warns(DataRangeWarning, match="values of X lie outside \\[0, 1\\].*clipped"):
        clipped = rbm.transform(outside)
    np.testing.assert_array_equal(clipped, rbm.transform(np.clip(outside, 0, 1)))
    for method in (rbm.free_energy, rbm.reconstruct, rbm.score_samples):
        with pytest.warns(DataRangeWarning):
            method(outside)
    assert outside.min() < 0  # the caller's array is not modified


def test_sparse_input_gives_the_dense_result() -> None:
    X = (load_split("digits")[0] > 0.5).astype(np.float64)
    params = dict(n_components=8, n_iter=2, validation_fraction=0.1, dtype="float64", random_state=0)
    dense = RBM(**params).fit(X)
    for fmt in (sparse.csr_matrix, sparse.csc_matrix, sparse.csr_array):
        fitted = RBM(**params).fit(fmt(X))
        np.testing.assert_allclose(fitted.components_, dense.components_, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fitted.transform(fmt(X)), dense.transform(X), rtol=1e-12)
        np.testing.assert_allclose(fitted.free_energy(fmt(X[:5])), dense.free_energy(X[:5]), rtol=1e-12)
    online = RBM(n_components=4, random_state=0).partial_fit(sparse.csr_matrix(X[:20]))
    assert online.components_.shape == (4, 64)
    with pytest.raises(ValueError, match="need data in \\[0, 1\\]"):
        RBM(n_components=2).fit(sparse.csr_matrix(X * 3))


def test_feature_names_and_set_output() -> None:
    X = load_split("digits")[0][:100]
    rbm = RBM(n_components=3, n_iter=1, random_state=0).fit(X)
    assert list(rbm.get_feature_names_out()) == ["rbm0", "rbm1", "rbm2"]
    pipe_names = make_pipeline(MinMaxScaler(), RBM(n_components=2, n_iter=1)).fit(X).get_feature_names_out()
    assert list(pipe_names) == ["rbm0", "rbm1"]
    pd = pytest.importorskip("pandas")
    frame = RBM(n_components=3, n_iter=1, random_state=0).set_output(transform="pandas").fit(X).transform(X)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["rbm0", "rbm1", "rbm2"]
    np.testing.assert_allclose(frame.to_numpy(), rbm.transform(X))


def test_gaussian_units_warn_on_raw_data_only() -> None:
    raw = load_split("wine", scaling=None)[0]
    with pytest.warns(DataRangeWarning, match="standardised data.*StandardScaler"):
        RBM(n_components=4, visible="gaussian", n_iter=1, learning_rate=1e-4).fit(raw)
    with pytest.warns(DataRangeWarning):
        online = RBM(n_components=4, visible="gaussian").partial_fit(raw[:20])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        online.partial_fit(raw[20:40])  # warned once, on the first batch
    standard = load_split("wine", scaling="standard")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RBM(n_components=4, visible="gaussian", n_iter=1).fit(standard)
        for train, _ in KFold(5).split(standard):  # a fold of standardised data is not flagged
            RBM(n_components=4, visible="gaussian", n_iter=1).fit(standard[train])
        RBM(n_components=4, visible="gaussian", n_iter=1).fit(np.c_[standard, np.zeros(len(standard))])  # constant
    assert GAUSSIAN_SCALE_LIMIT == 3.0
