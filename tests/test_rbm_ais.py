"""companion.rbm's annealed importance sampling against the exact partition function."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import sparse
from sklearn.neural_network import BernoulliRBM

from companion.rbm import (
    AIS_N_BETAS,
    RBM,
    ais_log_likelihood,
    ais_log_partition,
    ais_schedule,
    exact_log_likelihood,
    load_split,
    log_partition,
)

#: Runs no Keras: one Keras backend covers it (make test-modern).
pytestmark = pytest.mark.backend_neutral


def test_ais_matches_exact_log_z_on_trained_bernoulli_rbms_over_20_seeds() -> None:
    # Trained RBMs (CD-1 and PCD-1, 30 epochs at rate 0.1: weights up to about
    # 3), small enough to enumerate (15 hidden units); the default schedule.
    errors, std_errors = [], []
    for seed in range(20):
        X = load_split("digits", random_state=seed)[0]
        rbm = RBM(n_components=15, n_iter=30, learning_rate=0.1, persistent=seed % 2 == 1, dtype="float64",
                  random_state=seed).fit(X)
        assert np.abs(rbm.components_).max() > 1.5  # trained, not near its initial 0.01
        estimate = ais_log_partition(rbm, X, random_state=seed)
        errors.append(estimate.log_z - log_partition(rbm))
        std_errors.append(estimate.std_error)
    errors_ = np.abs(errors)
    assert np.mean(errors_ <= 0.1) >= 0.95, errors
    # The reported standard error is honest: errors mostly within 3 of them.
    assert np.mean(errors_ <= 3 * np.asarray(std_errors)) >= 0.9, (errors, std_errors)
    assert len(estimate.log_weights) == 100 and len(estimate.betas) == AIS_N_BETAS + 1


def test_ais_matches_exact_log_z_gaussian_units() -> None:
    X = load_split("wine", scaling="standard")[0]
    for seed in range(3):
        rbm = RBM(n_components=12, visible="gaussian", n_iter=50, learning_rate=0.01, dtype="float64",
                  random_state=seed).fit(X)
        estimate = ais_log_partition(rbm, X, n_betas=2000, random_state=seed)
        assert estimate.log_z == pytest.approx(log_partition(rbm), abs=0.1)
        likelihood = ais_log_likelihood(rbm, X, partition=estimate)
        assert likelihood.mean == pytest.approx(exact_log_likelihood(rbm, X), abs=0.1)


def test_ais_on_scikit_learn_bernoulli_rbm_and_sparse_data() -> None:
    X = (load_split("digits")[0] > 0.5).astype(np.float64)
    model = BernoulliRBM(n_components=12, n_iter=10, learning_rate=0.05, random_state=0).fit(X)
    estimate = ais_log_partition(model, sparse.csr_matrix(X), n_betas=2000, random_state=0)
    assert estimate.log_z == pytest.approx(log_partition(model), abs=0.1)
    likelihood = ais_log_likelihood(model, X[:100], partition=estimate)
    assert likelihood.mean == pytest.approx(exact_log_likelihood(model, X[:100]), abs=0.1)
    low, high = likelihood.interval
    assert low < likelihood.mean < high


def test_ais_is_seeded_and_its_interval_contains_the_estimate() -> None:
    X = load_split("digits")[0][:300]
    rbm = RBM(n_components=8, n_iter=3, random_state=0).fit(X)
    a, b = (ais_log_partition(rbm, X, n_betas=200, random_state=7) for _ in range(2))
    c = ais_log_partition(rbm, X, n_betas=200, random_state=8)
    assert a.log_z == b.log_z and a.log_z != c.log_z
    np.testing.assert_array_equal(a.log_weights, b.log_weights)
    assert a.interval[0] < a.log_z < a.interval[1] and a.std_error > 0
    # Without data, the base rate comes from the model's own visible biases.
    no_data = ais_log_partition(rbm, n_betas=500, random_state=0)
    np.testing.assert_allclose(no_data.base_visible_bias, rbm.intercept_visible_, rtol=1e-6)
    assert no_data.log_z == pytest.approx(log_partition(rbm), abs=0.1)


def test_an_untrained_rbm_is_estimated_exactly() -> None:
    # Zero weights and hidden biases, visible biases equal to the base rate:
    # every importance weight is exactly 1, so log Z is exact, with no error.
    X = load_split("digits")[0][:100]
    rbm = RBM(n_components=5, n_iter=0).fit(X)
    rbm.components_[:] = 0.0
    estimate = ais_log_partition(rbm, X, n_betas=10, random_state=0)
    assert estimate.log_z == pytest.approx(log_partition(rbm), abs=1e-5)
    assert estimate.std_error < 1e-6


def test_schedules() -> None:
    for kind in ("linear", "sm"):
        betas = ais_schedule(1000, kind)
        assert len(betas) == 1001 and betas[0] == 0.0 and betas[-1] == 1.0 and np.all(np.diff(betas) > 0)
    sm = ais_schedule(14500, "sm")
    assert np.sum(sm < 0.5) == 500 and np.sum((sm >= 0.5) & (sm < 0.9)) == 4000  # Salakhutdinov and Murray's
    np.testing.assert_allclose(ais_schedule(4, "linear"), [0, 0.25, 0.5, 0.75, 1])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda rbm, X: ais_log_partition(rbm, X, n_chains=1), "n_chains"),
        (lambda rbm, X: ais_log_partition(rbm, X, n_betas=1), "n_betas"),
        (lambda rbm, X: ais_log_partition(rbm, X, schedule="cosine"), "kind"),
        (lambda rbm, X: ais_log_partition(rbm, X, schedule=[0.0, 0.7, 0.5, 1.0]), "increasing"),
        (lambda rbm, X: ais_log_partition(rbm, X * 16), "need data in \\[0, 1\\]"),
        (lambda rbm, X: ais_log_partition(rbm, X[:, :5]), "columns"),
        (lambda rbm, X: ais_log_partition(RBM(), X), "fitted"),
        (lambda rbm, X: ais_log_likelihood(rbm, X, partition=ais_log_partition(rbm, X, n_betas=10),
                                           n_betas=10), "not both"),
    ],
)
def test_bad_input_gives_a_clear_error(call: object, match: str) -> None:
    X = load_split("digits")[0][:50]
    rbm = RBM(n_components=4, n_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match=match):
        call(rbm, X)  # type: ignore[operator]


def test_exact_log_likelihood_on_scikit_learn_bernoulli_rbm() -> None:
    # Issue 11: it used to call companion's private input check and fail.
    X = (load_split("digits")[0] > 0.5).astype(np.float64)
    model = BernoulliRBM(n_components=6, n_iter=2, random_state=0).fit(X)
    ours = RBM(n_components=6, n_iter=0, dtype="float64").fit(X)
    ours.components_ = model.components_.copy()
    ours.intercept_hidden_ = model.intercept_hidden_.copy()
    ours.intercept_visible_ = model.intercept_visible_.copy()
    assert exact_log_likelihood(model, X) == pytest.approx(exact_log_likelihood(ours, X), rel=1e-12)
    assert log_partition(model) == pytest.approx(log_partition(ours), rel=1e-12)
    # Probabilities of all 2**6 visible states of a tiny model sum to one.
    small = BernoulliRBM(n_components=3, n_iter=5, random_state=0).fit(X[:, :6])
    states = ((np.arange(64)[:, None] >> np.arange(6)) & 1).astype(float)
    total = math.fsum(math.exp(exact_log_likelihood(small, s[None, :])) for s in states)
    assert total == pytest.approx(1.0, rel=1e-9)
