"""companion.rbm: the estimator against brute force, its checks, and scikit-learn's API."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from companion.rbm import HISTORY_KEYS, RBM, exact_log_likelihood, feature_accuracy, load_split, log_partition

#: Runs no Keras: one Keras backend covers it (make test-modern).
pytestmark = pytest.mark.backend_neutral


def tiny_rbm(n_visible: int = 4, n_hidden: int = 3, visible: str = "bernoulli", seed: int = 0) -> RBM:
    """An RBM with random (not trained) parameters of a useful size."""
    rng = np.random.default_rng(seed)
    rbm = RBM(n_components=n_hidden, visible=visible, n_iter=0, random_state=seed)
    X = (rng.random((5, n_visible)) > 0.5).astype(float) if visible == "bernoulli" else rng.normal(size=(5, n_visible))
    rbm.fit(X)
    rbm.components_ = rng.normal(scale=1.0, size=(n_hidden, n_visible)).astype(np.float32)
    rbm.intercept_hidden_ = rng.normal(size=n_hidden).astype(np.float32)
    rbm.intercept_visible_ = rng.normal(size=n_visible).astype(np.float32)
    return rbm


def energy(rbm: RBM, v: np.ndarray, h: np.ndarray) -> float:
    W, b, c = (a.astype(np.float64) for a in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_))
    visible = 0.5 * np.sum((v - b) ** 2) if rbm.visible == "gaussian" else -(v @ b)
    return float(visible - c @ h - h @ W @ v)


def all_states(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_free_energy_matches_brute_force(visible: str) -> None:
    rbm = tiny_rbm(visible=visible)
    rng = np.random.default_rng(1)
    V = all_states(4) if visible == "bernoulli" else rng.normal(size=(6, 4))
    hs = all_states(3)
    expected = [-logsumexp([-energy(rbm, v, h) for h in hs]) for v in V]
    np.testing.assert_allclose(rbm.free_energy(V), expected, rtol=1e-5, atol=1e-5)


def test_log_partition_and_likelihood_match_brute_force_bernoulli() -> None:
    rbm = tiny_rbm()
    V, H = all_states(4), all_states(3)
    log_z = logsumexp([-energy(rbm, v, h) for v in V for h in H])
    assert log_partition(rbm) == pytest.approx(log_z, rel=1e-9)
    # Probabilities of all visible states sum to one.
    log_p = [exact_log_likelihood(rbm, v[None, :]) for v in V]
    assert math.fsum(np.exp(log_p)) == pytest.approx(1.0, rel=1e-6)


def test_log_partition_matches_numerical_integral_gaussian() -> None:
    rbm = tiny_rbm(n_visible=1, n_hidden=2, visible="gaussian")
    H = all_states(2)
    total = sum(quad(lambda x, h=h: math.exp(-energy(rbm, np.array([x]), h)), -40, 40)[0] for h in H)
    assert log_partition(rbm) == pytest.approx(math.log(total), rel=1e-7)


def test_positive_phase_is_the_exact_free_energy_gradient() -> None:
    # d(-mean F(v))/dW = mean over data of P(h|v) v^T: the data term of CD.
    rbm = tiny_rbm()
    V = all_states(4)[[1, 6, 11, 14]]
    analytic = rbm.transform(V).T @ V / len(V)
    numeric = np.zeros_like(analytic)
    eps = 1e-3
    for i, j in itertools.product(range(3), range(4)):
        for sign in (1, -1):
            rbm.components_[i, j] += sign * eps
            numeric[i, j] -= sign * rbm.free_energy(V).astype(np.float64).mean() / (2 * eps)
            rbm.components_[i, j] -= sign * eps
    np.testing.assert_allclose(numeric, analytic, atol=2e-3)


def test_exact_likelihood_refuses_large_models() -> None:
    X = np.zeros((3, 4))
    rbm = RBM(n_components=21, n_iter=0).fit(X)
    with pytest.raises(ValueError, match="2\\*\\*21 states"):
        exact_log_likelihood(rbm, X)


def test_training_raises_likelihood_on_digits() -> None:
    X_train, X_test, *_ = load_split("digits")
    binary = (X_train > 0.5).astype(float)
    untrained = RBM(n_components=10, n_iter=0, random_state=0).fit(binary)
    trained = RBM(n_components=10, n_iter=5, learning_rate=0.05, random_state=0).fit(binary)
    assert exact_log_likelihood(trained, binary) > exact_log_likelihood(untrained, binary) + 1.0
    history = RBM(n_components=50, n_iter=5, learning_rate=0.06, random_state=0).fit(X_train).history_
    assert history["pseudo_log_likelihood"][-1] > history["pseudo_log_likelihood"][0]
    assert history["reconstruction_error"][-1] < history["reconstruction_error"][0]


def test_history_has_one_entry_per_epoch() -> None:
    X = load_split("digits")[0][:300]
    rbm = RBM(n_components=16, n_iter=4, validation_fraction=0.2, random_state=0).fit(X)
    assert set(rbm.history_) == set(HISTORY_KEYS)
    assert all(len(v) == 4 for v in rbm.history_.values())
    assert all(np.isfinite(v).all() for v in rbm.history_.values())
    no_val = RBM(n_components=16, n_iter=2, random_state=0).fit(X).history_
    assert np.isnan(no_val["free_energy_gap"]).all() and np.isnan(no_val["reconstruction_error_val"]).all()


def test_same_seed_same_model_and_different_seed_different_model() -> None:
    X = load_split("digits")[0][:200]
    params = dict(n_components=8, n_iter=2, persistent=True, k=2, momentum=0.5, weight_decay=1e-4)
    a = RBM(**params, random_state=3).fit(X)
    b = RBM(**params, random_state=3).fit(X)
    c = RBM(**params, random_state=4).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    for key in HISTORY_KEYS:
        np.testing.assert_array_equal(a.history_[key], b.history_[key])  # NaN == NaN here
    assert not np.array_equal(a.components_, c.components_)
    # Refitting the same estimator repeats itself too.
    np.testing.assert_array_equal(a.fit(X).components_, b.components_)


def test_warm_start_continues_and_partial_fit_updates() -> None:
    X = load_split("digits")[0][:200]
    rbm = RBM(n_components=8, n_iter=2, warm_start=True, random_state=0).fit(X)
    first = rbm.components_.copy()
    rbm.fit(X)
    assert len(rbm.history_["reconstruction_error"]) == 4 and not np.array_equal(first, rbm.components_)
    online = RBM(n_components=8, random_state=0)
    online.partial_fit(X[:10])
    before = online.components_.copy()
    online.partial_fit(X[10:20])
    assert not np.array_equal(before, online.components_)
    with pytest.raises(ValueError, match="features"):
        online.partial_fit(X[:10, :5])


def test_gibbs_and_reconstruct_shapes_and_ranges() -> None:
    X = load_split("digits")[0][:50]
    rbm = RBM(n_components=8, n_iter=1, random_state=0).fit(X)
    sample = rbm.gibbs(X, k=3)
    assert sample.shape == X.shape and set(np.unique(sample)) <= {0.0, 1.0}
    rec = rbm.reconstruct(X)
    assert rec.shape == X.shape and rec.min() >= 0 and rec.max() <= 1
    assert rbm.transform(X).dtype == np.float32
    with pytest.raises(ValueError, match="k must be"):
        rbm.gibbs(X, k=0)
    np.testing.assert_array_equal(rbm.score_samples(X), rbm.score_samples(X))  # seeded


@pytest.mark.parametrize(
    ("X", "params", "match"),
    [
        (np.full((5, 3), 2.0), {}, "MinMaxScaler"),
        (np.full((5, 3), -0.5), {}, "Negative values in data"),
        (np.array([[0.5, np.nan, 0.1]] * 3), {}, "NaN"),
        (np.array([0.1, 0.2, 0.3]), {}, "2D array"),
        (np.full((5, 3), 0.5), {"validation_fraction": 0.01}, "at least one row"),
        (np.full((5, 3), 0.5), {"learning_rate": 0.0}, "learning_rate"),
        (np.full((5, 3), 0.5), {"visible": "binary"}, "visible"),
    ],
)
def test_bad_input_gives_a_clear_error(X: np.ndarray, params: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RBM(n_components=2, n_iter=1, **params).fit(X)


def test_gaussian_units_accept_standardised_data() -> None:
    X_train, X_test, y_train, y_test = load_split("wine", scaling="standard")
    rbm = RBM(n_components=16, visible="gaussian", learning_rate=0.05, n_iter=30, random_state=0).fit(X_train)
    assert feature_accuracy(rbm, X_train, X_test, y_train, y_test) > 0.85
    assert np.isnan(rbm.history_["pseudo_log_likelihood"]).all()


def test_load_split_errors() -> None:
    with pytest.raises(ValueError, match="name"):
        load_split("iris")
    with pytest.raises(ValueError, match="scaling"):
        load_split("digits", scaling="log")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.filterwarnings("ignore::companion.rbm._estimator.DataRangeWarning")
def test_scikit_learn_estimator_checks_gaussian() -> None:
    # Gaussian visible units accept any real data, so every check applies
    # (the checks' unstandardised data draws a DataRangeWarning, on purpose).
    check_estimator(RBM(n_components=3, n_iter=2, visible="gaussian", random_state=0))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_scikit_learn_estimator_checks_bernoulli() -> None:
    # scikit-learn's checks feed data above 1, which Bernoulli units refuse on
    # purpose (the book's unscaled-data chapter). Every failing check must fail
    # for that reason, and no other.
    results = check_estimator(RBM(n_components=3, n_iter=2, random_state=0), on_fail=None)
    failed = [r for r in results if r["status"] == "failed"]
    assert len(failed) < len(results) / 2
    for r in failed:
        assert "need data in [0, 1]" in str(r["exception"]), (r["check_name"], r["exception"])


def test_clone_keeps_parameters() -> None:
    rbm = RBM(n_components=5, k=3, persistent=True, visible_bias_init="zero", random_state=1)
    assert clone(rbm).get_params() == rbm.get_params()


def test_float64_computation() -> None:
    X = load_split("digits")[0]
    rbm = RBM(n_components=16, n_iter=3, learning_rate=0.06, dtype="float64", random_state=0).fit(X)
    assert rbm.components_.dtype == np.float64 and rbm.transform(X).dtype == np.float64
    again = RBM(n_components=16, n_iter=3, learning_rate=0.06, dtype="float64", random_state=0).fit(X)
    np.testing.assert_array_equal(rbm.components_, again.components_)
    # Both precisions learn; their sampled trajectories differ, so compare outcomes.
    single = RBM(n_components=16, n_iter=3, learning_rate=0.06, random_state=0).fit(X)
    for model in (rbm, single):
        errors = model.history_["reconstruction_error"]
        assert errors[-1] < errors[0]


def test_training_logistic_float32_exp_form_float64_tanh_form() -> None:
    """The training step's in-place logistic: float32 within 1e-7 of the exact
    value and silent where exp overflows; float64 bit for bit the tanh form the
    book's runs were recorded with."""
    import warnings

    from companion.rbm._estimator import _logistic_

    rng = np.random.default_rng(0)
    x = rng.normal(scale=30.0, size=(50, 40))
    x[0, :4] = [-100.0, -88.8, 88.8, 100.0]
    bias = rng.normal(size=40)
    exact = 1.0 / (1.0 + np.exp(-(x + bias)))
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        got32 = _logistic_(x.astype(np.float32), bias.astype(np.float32))
    assert got32.dtype == np.float32
    assert np.abs(got32 - exact).max() < 1e-7
    assert got32[0, 0] == 0.0 and got32[0, 3] == 1.0
    got64 = _logistic_(x.copy(), bias)
    assert np.array_equal(got64, (1.0 + np.tanh((x + bias) * 0.5)) * 0.5)


def test_norm_matches_numpy_bit_for_bit() -> None:
    from companion.rbm._estimator import _norm

    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        for a in (rng.normal(size=(64, 100)).astype(dtype), np.asfortranarray(rng.normal(size=(30, 7))).astype(dtype)):
            assert _norm(a) == float(np.linalg.norm(a))


def test_float64_visible_sample_matches_tanh_form_bit_for_bit() -> None:
    """The float64 visible sample screens with the exp form and falls back to
    the tanh form near the uniform: the same samples as the tanh form then the
    comparison, from the same random numbers, including units placed within
    1e-13 of their uniform (where only the fallback decides)."""
    from companion.rbm._estimator import _logistic_, _Scratch

    rng = np.random.default_rng(2)
    work = _Scratch(50, 8, 40, np.float64)
    bias = rng.normal(size=40)
    uniforms = np.random.default_rng(7).random((50, 40))
    logits = np.log(uniforms) - np.log1p(-uniforms) - bias  # sigmoid(x + bias) = uniform
    for x in (rng.normal(scale=4.0, size=(50, 40)), logits, logits + 1e-13, logits - 1e-13, logits * 1e3):
        expected = np.random.default_rng(7)
        p = _logistic_(x.copy(), bias)
        want = (expected.random(p.shape) < p).astype(np.float64)
        got = x.copy()
        with np.errstate(all="raise"):
            work.sample_logistic64(got, bias, np.random.default_rng(7))
        np.testing.assert_array_equal(got, want)


def test_float32_shortcuts_change_a_fit_at_rounding_level_only() -> None:
    """float32 takes shortcuts that float64 does not (the exp-form logistic in
    the monitoring, matrix-vector products for the bias steps and the column
    means): against the plain formulas, three epochs' weights agree within
    1e-6 and the history within 1e-5 (relative); float64 never takes them."""
    from scipy.special import expit

    from companion.rbm import _estimator

    X = (np.random.default_rng(3).random((600, 50)) < 0.2).astype(np.float32)

    def plain_bias_steps(self: RBM, work: _estimator._Scratch, scale: float) -> tuple:
        db = work.V[: work.n].sum(axis=0) - work.V[work.n :].sum(axis=0)
        return work.H.sum(axis=0), db * scale

    def fits() -> list[RBM]:
        return [RBM(n_components=30, batch_size=10, n_iter=3, random_state=0, persistent=p).fit(X) for p in (False, True)]

    fast = fits()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_estimator, "_expit_", lambda x: expit(x, out=x))
        patch.setattr(RBM, "_bias_steps", plain_bias_steps)
        patch.setattr(RBM, "_column_means", lambda self, X: X.mean(axis=0, dtype=np.float64))
        plain = fits()
    for a, b in zip(fast, plain):
        np.testing.assert_allclose(a.components_, b.components_, rtol=0, atol=1e-6)
        for key in HISTORY_KEYS:
            np.testing.assert_allclose(a.history_[key], b.history_[key], rtol=1e-5, atol=1e-7)
