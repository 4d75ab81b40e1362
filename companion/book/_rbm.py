"""Harness for the fair trials of Part II: runs over seeds, and a likelihood trace.

Defined in :doc:`/book/rbm/monitoring` (the likelihood trace, the multi-seed
trials of initialisation, CD-k and model size) and used in
:doc:`/book/rbm/learning_rate`. A comparison that could go either way runs
over at least 5 seeds and is reported as mean and spread
(:func:`companion.book.summarize`, shared with Part I); a remedy is graded
on paired seeds with :func:`companion.book.paired_grade`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from companion.book._stats import Summary, summarize
from companion.rbm import RBM, ais_log_likelihood, ais_log_partition

__all__ = ["SEEDS", "SeedTrial", "over_seeds", "train_from", "fit_with_schedule", "error_jitter",
           "LikelihoodTrace", "likelihood_trace", "held_out_likelihood"]

#: The seeds of every multi-seed trial in Part II (at least 5, as the book's rules ask).
SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)


@dataclass
class SeedTrial:
    """Measurements of one setting over several seeds.

    Attributes
    ----------
    seeds : tuple of int
        The seeds, in the order of the values.
    values : dict of str to ndarray of shape (n_seeds,)
        Each measurement, one value per seed.
    """

    seeds: tuple[int, ...]
    values: dict[str, NDArray[np.float64]] = field(default_factory=dict)

    def summary(self, key: str) -> Summary:
        """Mean and spread of measurement `key` (:func:`companion.book.summarize`).

        Values are rounded to 12 significant digits first, so that runs
        which agree up to rounding show a spread of 0.

        Raises
        ------
        KeyError
            If `key` was not measured; the message lists what was.
        """
        if key not in self.values:
            raise KeyError(f"{key!r} was not measured; the trial has {sorted(self.values)}.")
        # 12 significant digits: seeds that agree up to the last bits (a dead network's
        # chance-level accuracy, say) have no spread, rather than one of 1e-17.
        return summarize([float(f"{v:.12g}") for v in self.values[key]])

    def text(self, key: str) -> str:
        """``"mean ± sd"`` of measurement `key`, at the precision its spread supports."""
        return self.summary(key).text


def over_seeds(measure: Callable[[int], Mapping[str, float]], seeds: Sequence[int] = SEEDS) -> SeedTrial:
    """Run `measure` once per seed and collect what it returns.

    Parameters
    ----------
    measure : callable
        ``measure(seed)`` trains and measures one run and returns a mapping
        of measurement name to a number. Every call must return the same
        names.
    seeds : sequence of int, default=SEEDS
        At least 2 distinct seeds (the book uses 5: :data:`SEEDS`).

    Returns
    -------
    SeedTrial

    Raises
    ------
    ValueError
        With fewer than 2 seeds, repeated seeds, or runs that measure
        different names.

    Examples
    --------
    >>> trial = over_seeds(lambda s: {"x": float(s)}, seeds=[0, 1, 2])
    >>> trial.text("x")
    '1 ± 1'
    """
    seeds = tuple(int(s) for s in seeds)
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"a trial needs at least 2 distinct seeds (the book uses 5), got {seeds}.")
    rows: list[Mapping[str, float]] = []
    for seed in seeds:
        row = measure(seed)
        if rows and set(row) != set(rows[0]):
            raise ValueError(f"seed {seed} measured {sorted(row)}, but seed {seeds[0]} measured "
                             f"{sorted(rows[0])}: every run must return the same names.")
        rows.append(row)
    return SeedTrial(seeds, {key: np.array([float(r[key]) for r in rows]) for key in rows[0]})


def train_from(X: ArrayLike, *, hidden_bias: Optional[float] = None, **rbm_params: Any) -> RBM:
    """Fit an RBM whose hidden biases start at `hidden_bias` instead of 0.

    :class:`companion.rbm.RBM` starts its hidden biases at zero, as Hinton's
    guide recommends; the monitoring chapter also tries genuinely wrong
    starts (hidden biases of -4 or +4, which switch every unit off or on
    before training). The model is initialised without training
    (``n_iter=0``), its hidden biases are set, and it then trains for
    ``n_iter`` epochs (``warm_start`` is left on).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_visible)
        Training rows.
    hidden_bias : float, optional
        Starting value of every hidden bias; None keeps the estimator's 0.
    **rbm_params
        Passed to :class:`companion.rbm.RBM`; ``warm_start`` is set here.

    Returns
    -------
    RBM
        The fitted model.

    Raises
    ------
    ValueError
        If `rbm_params` sets ``warm_start`` or `hidden_bias` is not finite.
    """
    if "warm_start" in rbm_params:
        raise ValueError("train_from sets warm_start itself; leave it out of the RBM parameters.")
    if hidden_bias is not None and not np.isfinite(hidden_bias):
        raise ValueError(f"hidden_bias must be a finite number, got {hidden_bias!r}.")
    epochs = int(rbm_params.pop("n_iter", RBM().n_iter))
    rbm = RBM(n_iter=0, warm_start=True, **rbm_params).fit(X)
    if hidden_bias is not None:
        rbm.intercept_hidden_[:] = hidden_bias
    fitted: RBM = rbm.set_params(n_iter=epochs).fit(X)
    return fitted


def fit_with_schedule(X: ArrayLike, rates: Sequence[float], **rbm_params: Any) -> RBM:
    """Fit an RBM with a learning rate per epoch (a learning-rate schedule).

    :class:`companion.rbm.RBM` has one rate; the learning-rate chapter
    tests the source article's advice to schedule it. Epoch ``e`` runs at
    ``rates[e]``, one epoch per :meth:`~companion.rbm.RBM.fit` call with
    ``warm_start``, so :attr:`~companion.rbm.RBM.history_` has one entry per
    epoch as usual.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_visible)
        Training rows.
    rates : sequence of float
        One positive learning rate per epoch.
    **rbm_params
        Passed to :class:`companion.rbm.RBM`; ``learning_rate``, ``n_iter``
        and ``warm_start`` are set here.

    Returns
    -------
    RBM
        The fitted model (``warm_start`` left on).

    Raises
    ------
    ValueError
        If `rates` is empty or has a rate that is not positive, or
        `rbm_params` sets one of the parameters set here.
    """
    rates = [float(r) for r in rates]
    if not rates or not all(r > 0 and np.isfinite(r) for r in rates):
        raise ValueError(f"rates must be one positive learning rate per epoch, got {rates}.")
    clash = sorted({"learning_rate", "n_iter", "warm_start"} & set(rbm_params))
    if clash:
        raise ValueError(f"fit_with_schedule sets {clash} itself; leave them out of the RBM parameters.")
    rbm = RBM(learning_rate=rates[0], n_iter=1, warm_start=True, **rbm_params)
    for rate in rates:
        rbm.set_params(learning_rate=rate).fit(X)
    return rbm


def error_jitter(errors: ArrayLike, *, start: Optional[int] = None) -> float:
    """How much an error curve climbs back, per epoch: the mean relative rise.

    The learning-rate chapter's measure of oscillation
    (:doc:`/book/rbm/learning_rate`): the mean over epochs of
    ``max(0, e[t+1] - e[t]) / e[t]``. A curve that only falls has a jitter of
    0 however fast it falls; one that swings up and down by a fraction ``x``
    has a jitter of about ``x / 2``.

    Parameters
    ----------
    errors : array-like of shape (n_epochs,)
        One error per epoch (:attr:`companion.rbm.RBM.history_`'s
        ``"reconstruction_error"``), positive and finite.
    start : int, optional
        First epoch (0-based) to read; default ``n_epochs // 2``, the second
        half, once a working run has settled.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If fewer than 2 epochs remain from `start`, or an error is not
        positive and finite.

    Examples
    --------
    >>> error_jitter([0.9, 0.5, 0.3, 0.2])
    0.0
    >>> error_jitter([1.0, 1.1, 1.0, 1.1, 1.0], start=0)
    0.05
    """
    e = np.asarray(errors, dtype=np.float64).ravel()
    if not (np.isfinite(e).all() and (e > 0).all()):
        raise ValueError("errors must be positive and finite, one per epoch; a diverged run has no jitter.")
    first = len(e) // 2 if start is None else int(start)
    late = e[first:]
    if len(late) < 2:
        raise ValueError(f"need at least 2 epochs from epoch {first}, got {len(late)} (of {len(e)}).")
    return round(float(np.mean(np.maximum(np.diff(late), 0.0) / late[:-1])), 15)


def held_out_likelihood(rbm: Any, X_train: ArrayLike, X_test: ArrayLike, *, n_betas: int = 1000,
                        n_chains: int = 100, random_state: int = 0) -> tuple[float, float, float]:
    """Mean log-likelihood of training and held-out rows under one AIS estimate of log Z.

    log Z is estimated once (:func:`companion.rbm.ais_log_partition`, with
    the training rows as base-rate data), so both figures share its error and
    their difference is exact.

    Parameters
    ----------
    rbm : RBM or sklearn.neural_network.BernoulliRBM
        A fitted RBM.
    X_train, X_test : array-like of shape (n_samples, n_visible)
        Training and held-out rows, scaled as for training.
    n_betas, n_chains : int, default=1000, 100
        AIS settings. The monitoring chapter measures their cost and the
        standard error of log Z on a digits RBM with 100 hidden units
        (:doc:`/book/rbm/monitoring`).
    random_state : int, default=0
        Seed of the AIS chains.

    Returns
    -------
    train, held_out, std_error : float
        Mean log p(v) of each set (nats per row), and the standard error of
        log Z that both share.
    """
    partition = ais_log_partition(rbm, X_train, n_betas=n_betas, n_chains=n_chains, random_state=random_state)
    train = ais_log_likelihood(rbm, X_train, partition=partition).mean
    test = ais_log_likelihood(rbm, X_test, partition=partition).mean
    return float(train), float(test), float(partition.std_error)


@dataclass
class LikelihoodTrace:
    """What a run looked like every few epochs: the proxies and the likelihood.

    Attributes
    ----------
    epoch : list of int
        Epochs at which the model was measured.
    reconstruction, reconstruction_val : list of float
        Reconstruction error on the training rows and on the held-out rows.
    ll_train, ll_test : list of float
        AIS mean log-likelihood (nats) of the training and held-out rows.
    std_error : list of float
        Standard error of each AIS estimate of log Z.
    free_energy_gap : list of float
        Mean free energy of the held-out rows minus that of the training rows.
    rbm : RBM
        The model at the end.
    """

    epoch: list[int] = field(default_factory=list)
    reconstruction: list[float] = field(default_factory=list)
    reconstruction_val: list[float] = field(default_factory=list)
    ll_train: list[float] = field(default_factory=list)
    ll_test: list[float] = field(default_factory=list)
    std_error: list[float] = field(default_factory=list)
    free_energy_gap: list[float] = field(default_factory=list)
    rbm: Optional[RBM] = None

    @property
    def best(self) -> int:
        """Index of the measurement with the highest held-out log-likelihood."""
        if not self.ll_test:
            raise ValueError("the trace is empty: nothing was measured.")
        return int(np.argmax(self.ll_test))


def likelihood_trace(X_train: ArrayLike, X_test: ArrayLike, *, n_blocks: int, epochs_per_block: int,
                     n_betas: int = 1000, n_chains: int = 100, **rbm_params: Any) -> LikelihoodTrace:
    """Train an RBM block by block and measure it with AIS after each block.

    The monitoring chapter's experiment: does the reconstruction error
    follow the held-out likelihood? After every `epochs_per_block` epochs
    the trace records the reconstruction error on training and held-out
    rows, the free-energy gap and the AIS log-likelihood of both
    (:func:`held_out_likelihood`, AIS seeded with the block's index).

    Parameters
    ----------
    X_train, X_test : array-like of shape (n_samples, n_visible)
        Training and held-out rows.
    n_blocks, epochs_per_block : int
        Measurements, and epochs between them (each at least 1).
    n_betas, n_chains : int, default=1000, 100
        AIS settings (:func:`held_out_likelihood`).
    **rbm_params
        Passed to :class:`companion.rbm.RBM` (``n_iter`` and ``warm_start``
        are set here).

    Returns
    -------
    LikelihoodTrace

    Raises
    ------
    ValueError
        If `n_blocks` or `epochs_per_block` is not a positive integer, or
        `rbm_params` sets ``n_iter`` or ``warm_start``.
    """
    for name, value in (("n_blocks", n_blocks), ("epochs_per_block", epochs_per_block)):
        if not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    clash = sorted({"n_iter", "warm_start"} & set(rbm_params))
    if clash:
        raise ValueError(f"likelihood_trace sets {clash} itself (epochs_per_block, warm_start=True); "
                         "leave them out of the RBM parameters.")
    train = np.asarray(X_train, dtype=np.float64)
    test = np.asarray(X_test, dtype=np.float64)
    rbm = RBM(n_iter=int(epochs_per_block), warm_start=True, **rbm_params)
    trace = LikelihoodTrace(rbm=rbm)
    for block in range(int(n_blocks)):
        rbm.fit(train)
        trace.epoch.append(len(rbm.history_["reconstruction_error"]))
        trace.reconstruction.append(float(np.mean((rbm.reconstruct(train) - train) ** 2)))
        trace.reconstruction_val.append(float(np.mean((rbm.reconstruct(test) - test) ** 2)))
        ll_train, ll_test, se = held_out_likelihood(rbm, train, test, n_betas=n_betas, n_chains=n_chains,
                                                    random_state=block)
        trace.ll_train.append(ll_train)
        trace.ll_test.append(ll_test)
        trace.std_error.append(se)
        trace.free_energy_gap.append(float(rbm.free_energy(test).mean() - rbm.free_energy(train).mean()))
    return trace
