"""companion.book (Part II): multi-seed runs and the AIS likelihood trace of Part II."""

from __future__ import annotations

import numpy as np
import pytest

from companion.rbm import RBM, exact_log_likelihood
from companion.book import (
    SEEDS, error_jitter, held_out_likelihood, likelihood_trace, over_seeds,
)

#: Runs no Keras: one Keras backend covers it (make test-modern).
pytestmark = pytest.mark.backend_neutral


def _data(n: int = 120, d: int = 10, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    prototypes = rng.random((3, d)) > 0.5
    rows = prototypes[rng.integers(0, 3, n)] ^ (rng.random((n, d)) < 0.1)
    return rows.astype(np.float64)


def test_seeds_are_at_least_five() -> None:
    assert len(SEEDS) >= 5 and len(set(SEEDS)) == len(SEEDS)


def test_over_seeds_collects_each_measurement_per_seed() -> None:
    trial = over_seeds(lambda s: {"x": 2.0 * s, "y": 1.0}, seeds=(0, 1, 2, 3, 4))
    np.testing.assert_array_equal(trial.values["x"], [0.0, 2.0, 4.0, 6.0, 8.0])
    assert trial.seeds == (0, 1, 2, 3, 4)
    assert trial.summary("x").mean == 4.0 and trial.summary("x").n == 5
    assert trial.text("y") == "1.000 ± 0.000"


def test_over_seeds_rejects_too_few_or_repeated_seeds_and_mismatched_runs() -> None:
    with pytest.raises(ValueError, match="at least 2 distinct seeds"):
        over_seeds(lambda s: {"x": 1.0}, seeds=[3])
    with pytest.raises(ValueError, match="at least 2 distinct seeds"):
        over_seeds(lambda s: {"x": 1.0}, seeds=[1, 1])
    with pytest.raises(ValueError, match="same names"):
        over_seeds(lambda s: {"x": 1.0} if s == 0 else {"z": 1.0}, seeds=[0, 1])
    trial = over_seeds(lambda s: {"x": 1.0}, seeds=[0, 1])
    with pytest.raises(KeyError, match="was not measured"):
        trial.summary("nope")


def test_held_out_likelihood_matches_the_exact_one_on_a_small_rbm() -> None:
    X = _data()
    train, test = X[:80], X[80:]
    rbm = RBM(n_components=6, learning_rate=0.1, n_iter=20, dtype="float64", random_state=0).fit(train)
    ll_train, ll_test, se = held_out_likelihood(rbm, train, test, n_betas=1000, random_state=0)
    assert abs(ll_train - exact_log_likelihood(rbm, train)) < 0.05
    assert abs(ll_test - exact_log_likelihood(rbm, test)) < 0.05
    assert 0.0 < se < 0.05


def test_likelihood_trace_records_every_block() -> None:
    X = _data()
    trace = likelihood_trace(X[:80], X[80:], n_blocks=3, epochs_per_block=2, n_betas=200, n_components=6,
                             learning_rate=0.1, dtype="float64", random_state=0)
    assert trace.epoch == [2, 4, 6]
    for key in ("reconstruction", "reconstruction_val", "ll_train", "ll_test", "std_error", "free_energy_gap"):
        values = getattr(trace, key)
        assert len(values) == 3 and np.isfinite(values).all()
    assert 0 <= trace.best < 3 and trace.rbm is not None


def test_likelihood_trace_explains_bad_arguments() -> None:
    X = _data()
    with pytest.raises(ValueError, match="n_blocks must be a positive integer"):
        likelihood_trace(X, X, n_blocks=0, epochs_per_block=1)
    with pytest.raises(ValueError, match="leave them out"):
        likelihood_trace(X, X, n_blocks=1, epochs_per_block=1, n_iter=5)


def test_train_from_starts_the_hidden_biases_where_asked() -> None:
    from companion.book import train_from

    X = _data()
    off = train_from(X, hidden_bias=-4.0, n_components=6, n_iter=1, learning_rate=1e-6, dtype="float64",
                     random_state=0)
    assert np.allclose(off.intercept_hidden_, -4.0, atol=1e-4) and len(off.history_["dead_fraction"]) == 1
    same = train_from(X, n_components=6, n_iter=3, dtype="float64", random_state=0)
    plain = RBM(n_components=6, n_iter=3, dtype="float64", random_state=0).fit(X)
    np.testing.assert_allclose(same.components_, plain.components_)
    with pytest.raises(ValueError, match="finite"):
        train_from(X, hidden_bias=float("nan"))
    with pytest.raises(ValueError, match="warm_start"):
        train_from(X, warm_start=False)


def test_plot_curves_takes_a_colour_per_curve_and_a_legend_outside() -> None:
    """The learning-rate sweep draws one colour per rate, legend off the data (companion.book.plotting)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt

    from companion.book.plotting import COLORS, new_figure, plot_curves

    fig, ax = new_figure()
    plot_curves(ax, {"a": ([1.0, 2.0], "C1"), "b": ([2.0, 1.0], "#8c564b"), "c": ([1.0, 1.0], "nonsense"),
                     "d": ([3.0, 3.0], "failing")}, legend_outside=True)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert mcolors.to_hex(lines["a"].get_color()) == mcolors.to_hex("C1")
    assert mcolors.to_hex(lines["b"].get_color()) == "#8c564b"
    assert mcolors.to_hex(lines["c"].get_color()) == mcolors.to_hex(COLORS["other"])
    assert mcolors.to_hex(lines["d"].get_color()) == mcolors.to_hex(COLORS["failing"])
    anchor = ax.get_legend().get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert anchor.x0 > 1.0  # right of the axes
    plt.close(fig)


def test_fit_with_schedule_runs_one_epoch_per_rate() -> None:
    from companion.book import fit_with_schedule

    X = _data()
    rbm = fit_with_schedule(X, [0.1, 0.05, 0.01], n_components=6, dtype="float64", random_state=0)
    assert len(rbm.history_["reconstruction_error"]) == 3 and rbm.learning_rate == 0.01
    with pytest.raises(ValueError, match="one positive learning rate per epoch"):
        fit_with_schedule(X, [])
    with pytest.raises(ValueError, match="one positive learning rate per epoch"):
        fit_with_schedule(X, [0.1, -1.0])
    with pytest.raises(ValueError, match="leave them out"):
        fit_with_schedule(X, [0.1], n_iter=3)


def test_rounding_noise_is_no_spread() -> None:
    trial = over_seeds(lambda s: {"acc": 0.10185185185185183 if s % 2 else 0.10185185185185185})
    assert trial.summary("acc").sd == 0.0 and trial.text("acc") == "0.102 ± 0.000"


def test_error_jitter_separates_a_fall_from_swings() -> None:
    falling = np.geomspace(0.1, 0.01, 20)         # falls 90%, never rises
    swinging = np.tile([0.1, 0.11], 10)           # up and down by 10%
    assert error_jitter(falling) == 0.0
    assert error_jitter(swinging) == pytest.approx(0.1 / 2, rel=0.15)
    assert error_jitter(np.full(10, 0.3)) == 0.0
    # The second half by default; `start` reads from an earlier epoch.
    assert error_jitter([1.0, 2.0, 1.0, 1.0, 1.0, 1.0]) == 0.0
    assert error_jitter([1.0, 2.0, 1.0, 1.0, 1.0, 1.0], start=0) == pytest.approx(0.2)


def test_error_jitter_rejects_short_or_non_finite_curves() -> None:
    with pytest.raises(ValueError, match="at least 2 epochs"):
        error_jitter([0.1, 0.2], start=1)
    with pytest.raises(ValueError, match="positive and finite"):
        error_jitter([0.1, np.nan, 0.2])
    with pytest.raises(ValueError, match="positive and finite"):
        error_jitter([0.1, 0.0, 0.2])
