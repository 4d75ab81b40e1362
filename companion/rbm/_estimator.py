"""A Restricted Boltzmann Machine that reports how its training is going.

Defined in :doc:`/book/rbm/learning_rate` (the estimator and its history) and
:doc:`/book/rbm/unscaled_data` (Gaussian visible units, input checks).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from companion._repro import perturbed
# One scale rule for the RBM and the doctor: values within RANGE_TOLERANCE of
# [0, 1] are rounding noise; GAUSSIAN_SCALE_LIMIT bounds a standardised feature.
from companion._scale import GAUSSIAN_SCALE_LIMIT, RANGE_TOLERANCE, unscaled_mask

__all__ = ["RBM", "HISTORY_KEYS", "DataRangeWarning", "RANGE_TOLERANCE", "GAUSSIAN_SCALE_LIMIT"]

F32 = NDArray[Any]  # float32 or float64, as the dtype parameter says

#: What :attr:`RBM.history_` records after every epoch.
HISTORY_KEYS = (
    "reconstruction_error",      # mean squared error of a mean-field reconstruction, training sample
    "reconstruction_error_val",  # the same on the held-out monitor set (NaN without one)
    "pseudo_log_likelihood",     # mean pseudo-log-likelihood of the training sample (Bernoulli units)
    "free_energy_gap",           # mean F(held-out) - mean F(training sample): grows when overfitting
    "weight_norm",               # Frobenius norm of the weights
    "update_ratio",              # |update| / |weight| (Frobenius norms), averaged over the epoch's steps (Hinton: ~1e-3)
    "update_ratio_max",          # the largest per-step ratio of the epoch (catches a few huge early steps)
    "dead_fraction",             # hidden units with mean activation below 0.01 on the training sample
    "saturated_fraction",        # hidden units with mean activation above 0.99
)

# Hidden units whose mean activation on the data is below DEAD (or above
# SATURATED) carry no information about the input.
_DEAD, _SATURATED = 0.01, 0.99
# Monitoring uses at most this many training rows per epoch, so it stays cheap.
_MONITOR_ROWS = 1000

class DataRangeWarning(UserWarning):
    """Data outside what the RBM's visible units take.

    Raised by :class:`RBM` (see :doc:`/book/rbm/unscaled_data`) when it clips
    unseen rows into [0, 1] for Bernoulli units, or when Gaussian units are
    fitted on data that is not standardised.
    """


def _softplus(x: F32) -> F32:
    """log(1 + exp(x)) in x's dtype, stable; many times faster than ``np.logaddexp(0, x)``."""
    out: F32 = np.exp(-np.abs(x))
    np.log1p(out, out=out)
    out += np.maximum(x, x.dtype.type(0.0))
    return out


def _norm(a: F32) -> float:
    """Frobenius norm, exactly as ``np.linalg.norm(a)`` computes it, without its per-call checks."""
    flat = a.ravel(order="K")
    return float(np.sqrt(flat.dot(flat)))


def _one_over_one_plus_exp_(minus_a: F32) -> F32:
    """``1 / (1 + exp(minus_a))`` in place: the logistic of ``a``, given ``-a`` (float32 paths).

    Below ``a = -88.7`` exp overflows to infinity, which gives 0 (the logistic
    is below 3e-39 there): no warning, whatever ``np.seterr`` says.
    """
    x = minus_a
    with np.errstate(over="ignore", under="ignore"):
        np.exp(x, out=x)
        x += x.dtype.type(1.0)
        np.divide(x.dtype.type(1.0), x, out=x)
    return x


def _logistic_(x: F32, bias: F32) -> F32:
    """``x = sigmoid(x + bias)`` in place, the training step's hidden and visible means.

    float32: ``1 / (1 + exp(-(x + bias)))``, the bias added and the sign
    flipped in one pass (``-bias - x`` is exactly ``-(x + bias)``): about 3
    times faster than the tanh form below, because NumPy's float32 exp is
    about 4 times faster than its tanh (1.3 against 4.7 ns per value on an
    AVX2 CPU, NumPy 1.26), and within 1e-7 of the exact logistic. Below
    -88.7, exp overflows to infinity, which gives 0 (the logistic is below
    3e-39 there): no warning, whatever ``np.seterr`` says.

    float64: ``(1 + tanh((x + bias) / 2)) / 2``, the form the book's float64
    runs were recorded with, kept so that they repeat bit for bit (the exp
    form would be about 2 times faster there: float64 exp takes 4.7 ns per
    value, tanh 12.6, on the same CPU).
    """
    if x.dtype == np.float32:
        return _one_over_one_plus_exp_(np.subtract(-bias, x, out=x))
    x += bias
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def _expit_(x: F32) -> F32:
    """``x = sigmoid(x)`` in place, for the monitoring and :meth:`RBM.transform`.

    float32: the exp form of :func:`_logistic_` (about 2 times faster than
    scipy's float32 ``expit``, within 1e-7 of it); float64: scipy's
    ``expit``, with which the book's float64 histories were recorded.
    """
    if x.dtype == np.float32:
        return _one_over_one_plus_exp_(np.negative(x, out=x))
    return expit(x, out=x)  # type: ignore[no-any-return]


class _Scratch:
    """Preallocated buffers of one mini-batch size: no array is allocated per training step."""

    def __init__(self, n: int, n_hidden: int, n_visible: int, dtype: Any) -> None:
        self.n = n
        self.V = np.empty((2 * n, n_visible), dtype)  # rows :n the data, n: the negative visibles
        self.H = np.empty((2 * n, n_hidden), dtype)   # hidden probabilities of both
        self.h = np.empty((n, n_hidden), dtype)       # a hidden sample (CD)
        self.dW = np.empty((n_hidden, n_visible), dtype)
        self.u_h, self.u_v = np.empty((n, n_hidden), dtype), np.empty((n, n_visible), dtype)
        self.m_h, self.m_v = np.empty((n, n_hidden), np.bool_), np.empty((n, n_visible), np.bool_)
        self.signs_abs = np.ones(2 * n, dtype)
        self.signs = np.concatenate([self.signs_abs[:n], -self.signs_abs[n:]])
        if np.dtype(dtype) == np.float64:  # for sample_logistic64
            self.q_v, self.near_v = np.empty((n, n_visible), dtype), np.empty((n, n_visible), np.bool_)

    def sample(self, p: F32, out: F32, rng: np.random.Generator) -> None:
        """``out = (uniform < p)``; `out` may be `p`."""
        u, mask = (self.u_h, self.m_h) if p.shape == self.u_h.shape else (self.u_v, self.m_v)
        rng.random(out=u, dtype=u.dtype)
        np.less(u, p, out=mask)
        np.copyto(out, mask)

    def sample_logistic64(self, x: F32, bias: F32, rng: np.random.Generator) -> None:
        """float64 visible sample ``x = (uniform < sigmoid(x + bias))`` in place, without the tanh pass.

        The same samples, bit for bit, as :func:`_logistic_` then
        :meth:`sample`, from the same random numbers, in about 0.6 times
        the time: each uniform is compared with the exp form of the
        logistic, ``1 / (1 + exp(-z))``, which is within 1e-15 of the tanh
        form ``p`` (both within a few ulps of the exact logistic, which is
        at most 1). Where the uniform lies within 1e-12 of it (about one in
        1e11 units), the decision could differ, and ``p`` itself is computed
        there, by the tanh form's operations, for those units only.
        """
        u, mask, q, near = self.u_v, self.m_v, self.q_v, self.near_v
        rng.random(out=u, dtype=u.dtype)
        x += bias  # z, rounded as in _logistic_
        np.negative(x, out=q)
        with np.errstate(over="ignore", under="ignore"):
            np.exp(q, out=q)
            q += 1.0
            np.divide(1.0, q, out=q)
        np.less(u, q, out=mask)
        np.subtract(u, q, out=q)
        np.abs(q, out=q)
        np.less_equal(q, 1e-12, out=near)
        if near.any():
            where = np.flatnonzero(near)
            p = np.tanh(x.ravel()[where] * 0.5)
            p *= 0.5
            p += 0.5
            mask.ravel()[where] = u.ravel()[where] < p
        np.copyto(x, mask)


class RBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Restricted Boltzmann Machine with Bernoulli hidden units, trained by CD-k or PCD.

    A scikit-learn estimator, like :class:`sklearn.neural_network.BernoulliRBM`,
    with the knobs and the monitoring that the book's RBM chapters need:
    Gaussian visible units, CD-k and persistent chains, momentum, weight decay,
    Hinton's initialisation, a held-out monitor set, and a per-epoch
    :attr:`history_` of the quantities that tell a healthy run from a failing
    one :cite:p:`hinton2010guide`. Computation is in float32 by default.
    Input may be a dense array or a scipy sparse matrix; :meth:`transform`
    names its outputs ``rbm0``, ``rbm1``, ... (:meth:`get_feature_names_out`)
    and follows :meth:`set_output` (pandas output, for example).

    Data range (see :doc:`/book/rbm/unscaled_data`). Bernoulli units take
    values in [0, 1]. Values within :data:`RANGE_TOLERANCE` (1e-6) of it are
    rounding noise (``MinMaxScaler`` returns 1.0000000000000002 on many data
    sets) and are clipped silently. Beyond it, :meth:`fit` and
    :meth:`partial_fit` refuse the data with an error that prints its range:
    it is unscaled, and training on it fails. The methods that read unseen
    rows (:meth:`transform`, :meth:`free_energy`, :meth:`score_samples`,
    :meth:`reconstruct`, :meth:`gibbs`) clip them into [0, 1] with a
    :class:`DataRangeWarning`: held-out rows scaled with the training rows'
    minimum and maximum fall outside [0, 1] (in a ``Pipeline`` under
    ``GridSearchCV``, for example), and the nearest value a unit can take is
    the sensible reading of them. ``MinMaxScaler(clip=True)`` clips them
    first, without a warning. Gaussian units: :meth:`fit` warns
    (:class:`DataRangeWarning`) when a feature is far from standardised
    (:data:`GAUSSIAN_SCALE_LIMIT`).

    Parameters
    ----------
    n_components : int, default=64
        Number of hidden units.
    visible : {"bernoulli", "gaussian"}, default="bernoulli"
        Bernoulli visible units take data in [0, 1] (probabilities or binary
        pixels). Gaussian units with unit variance take real-valued data that
        has been standardised (zero mean, unit variance per feature).
    learning_rate : float, default=0.05
        Step size of each update. The gradient is averaged over the batch.
    batch_size : int, default=10
        Examples per mini-batch.
    n_iter : int, default=10
        Epochs (passes over the training data) in :meth:`fit`.
    k : int, default=1
        Gibbs steps per update (CD-k, or PCD-k with `persistent`).
    persistent : bool, default=False
        Keep the negative chains between updates (persistent contrastive
        divergence, :cite:p:`tieleman2008pcd`) instead of restarting them at
        the data (CD, :cite:p:`hinton2002cd`).
    momentum : float, default=0.0
        Fraction of the previous update added to the current one, in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty coefficient on the weights.
    weight_init_std : float, default=0.01
        Standard deviation of the initial Gaussian weights (Hinton's 0.01).
    visible_bias_init : {"data", "zero"}, default="data"
        ``"data"``: ``log(p / (1 - p))`` of the training means ``p`` (Bernoulli
        units) or the training means (Gaussian units), as Hinton recommends;
        ``"zero"``: zeros, as scikit-learn does.
    validation_fraction : float, default=0.0
        Fraction of the rows passed to :meth:`fit` held out, never trained on,
        to monitor reconstruction error and the free-energy gap. 0 disables it.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the computation. float32 is about twice as fast. float64
        makes a seeded run far more likely to repeat on another CPU: the last
        bits of a matrix product differ between CPU kernels, and in float32 a
        sampled unit whose probability moves across its random number changes
        the rest of the run. The book's notebooks use float64.
    warm_start : bool, default=False
        When fitted already, :meth:`fit` continues from the current weights
        (and persistent chains) for another `n_iter` epochs, appending to
        :attr:`history_`, with the same held-out rows if `X` has the same
        length. Useful to evaluate something expensive between epochs.
    random_state : int, RandomState instance or None, default=None
        Seed for the initial weights, the batch order, the held-out split and
        the Gibbs sampling.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weights, in scikit-learn's layout (hidden by visible).
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases.
    intercept_visible_ : ndarray of shape (n_features,)
        Visible biases.
    history_ : dict of str to list of float
        One entry per epoch for each key of :data:`HISTORY_KEYS`.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from companion.rbm import RBM
    >>> X = (np.random.default_rng(0).random((200, 16)) > 0.5).astype(float)
    >>> rbm = RBM(n_components=8, n_iter=3, random_state=0).fit(X)
    >>> rbm.transform(X).shape
    (200, 8)
    >>> sorted(rbm.history_)[:2]
    ['dead_fraction', 'free_energy_gap']
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "visible": [StrOptions({"bernoulli", "gaussian"})],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "k": [Interval(numbers.Integral, 1, None, closed="left")],
        "persistent": ["boolean"],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "weight_init_std": [Interval(numbers.Real, 0, None, closed="neither")],
        "visible_bias_init": [StrOptions({"data", "zero"})],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "warm_start": ["boolean"],
        "dtype": [StrOptions({"float32", "float64"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components: int = 64,
        *,
        visible: str = "bernoulli",
        learning_rate: float = 0.05,
        batch_size: int = 10,
        n_iter: int = 10,
        k: int = 1,
        persistent: bool = False,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        weight_init_std: float = 0.01,
        visible_bias_init: str = "data",
        validation_fraction: float = 0.0,
        dtype: str = "float32",
        warm_start: bool = False,
        random_state: Union[None, int, np.random.RandomState] = None,
    ) -> None:
        self.n_components = n_components
        self.visible = visible
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.k = k
        self.persistent = persistent
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.weight_init_std = weight_init_std
        self.visible_bias_init = visible_bias_init
        self.validation_fraction = validation_fraction
        self.dtype = dtype
        self.warm_start = warm_start
        self.random_state = random_state

    @property
    def _n_features_out(self) -> int:
        """Number of features :meth:`transform` makes (names: ``rbm0``, ``rbm1``, ...)."""
        return int(self.components_.shape[0])

    @property
    def _dt(self) -> Any:
        """The NumPy scalar type of the computation."""
        return np.float64 if self.dtype == "float64" else np.float32

    # ------------------------------------------------------------------ checks

    def _check_X(self, X: ArrayLike, *, reset: bool, cast: bool = True, fitting: bool = False,
                 densify: bool = True) -> Any:
        """Validate `X` (dense or CSR), and its range for the visible units.

        Bernoulli units: values within :data:`RANGE_TOLERANCE` of [0, 1] are
        clipped silently. Beyond it, :meth:`fit` refuses the data (it is
        unscaled) and the other methods clip it with a
        :class:`DataRangeWarning` (unseen rows that the training scaling
        maps outside [0, 1]). Gaussian units: :meth:`fit` warns when the data
        is not standardised.
        """
        # Bernoulli units: the range check's minimum and maximum catch NaN and
        # infinity too, so scikit-learn's own pass over X is skipped.
        Xv = validate_data(self, X, reset=reset, accept_sparse="csr", dtype=[np.float64, np.float32],
                           ensure_min_samples=1, ensure_all_finite=self.visible != "bernoulli")
        if cast:
            Xv = Xv.astype(self._dt, copy=False) if sparse.issparse(Xv) else np.ascontiguousarray(Xv, dtype=self._dt)
        if self.visible == "bernoulli":
            Xv = self._clip_to_unit_range(Xv, fitting)
        elif fitting and reset:  # once per model, not on every partial_fit batch
            self._warn_unless_standardised(Xv)
        if densify and sparse.issparse(Xv):
            Xv = Xv.toarray()
        return Xv

    def _clip_to_unit_range(self, Xv: Any, fitting: bool) -> Any:
        values = Xv.data if sparse.issparse(Xv) else Xv
        if values.size == 0:
            return Xv
        lo, hi = float(values.min()), float(values.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):  # NaN or infinity: scikit-learn's error
            assert_all_finite(values, estimator_name=type(self).__name__, input_name="X")
        if lo >= 0.0 and hi <= 1.0:
            return Xv
        if unscaled_mask("bernoulli", low=[lo], high=[hi]).any():
            if fitting:
                raise ValueError(
                    ("Negative values in data: " if lo < -RANGE_TOLERANCE else "")
                    + f"Bernoulli visible units need data in [0, 1], but X ranges from {lo:.10g} to {hi:.10g}. "
                    "Scale it first, for example with sklearn.preprocessing.MinMaxScaler (fitted on the "
                    "training data only), or use visible='gaussian' for standardised real-valued data."
                )
            outside = int(np.count_nonzero((values < 0.0) | (values > 1.0)))
            warnings.warn(
                f"{outside} values of X lie outside [0, 1] (X ranges from {lo:.4g} to {hi:.4g}); Bernoulli "
                "visible units take values in [0, 1] only, so they were clipped into it. Unseen rows scaled "
                "with the training rows' minimum and maximum do this; MinMaxScaler(clip=True) clips them "
                "before the RBM sees them. If X is unscaled (pixels from 0 to 16, say), scale it the way the "
                "training data was scaled.",
                DataRangeWarning,
                stacklevel=4,
            )
        Xv = Xv.copy()
        values = Xv.data if sparse.issparse(Xv) else Xv
        np.clip(values, 0.0, 1.0, out=values)
        return Xv

    def _warn_unless_standardised(self, Xv: Any) -> None:
        if Xv.shape[0] < 2:
            return
        mean = np.asarray(Xv.mean(axis=0, dtype=np.float64)).ravel()
        if sparse.issparse(Xv):
            square = np.asarray(Xv.multiply(Xv).mean(axis=0, dtype=np.float64)).ravel()
            std = np.sqrt(np.maximum(square - mean**2, 0.0))
        else:
            std = Xv.std(axis=0, dtype=np.float64)
        bad = unscaled_mask("gaussian", mean=mean, std=std)
        if bad.any():
            worst = int(np.argmax(np.where(bad, np.abs(mean) + np.abs(np.log(np.maximum(std, 1e-300))), -np.inf)))
            warnings.warn(
                f"visible='gaussian' units have unit variance and expect standardised data (mean 0, standard "
                f"deviation 1 per feature), but {int(bad.sum())} of {len(bad)} features are far from it (feature "
                f"{worst}: mean {mean[worst]:.4g}, standard deviation {std[worst]:.4g}). Standardise X first, "
                "with sklearn.preprocessing.StandardScaler fitted on the training data.",
                DataRangeWarning,
                stacklevel=4,
            )

    # --------------------------------------------------------------- internals

    def _rng(self) -> np.random.Generator:
        if not hasattr(self, "_generator"):
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            self._generator = np.random.default_rng(seed)
        return self._generator

    def _initialise(self, X: Any) -> None:
        rng = self._rng()
        n_features = X.shape[1]
        self.components_ = perturbed(rng.standard_normal((self.n_components, n_features), dtype=self._dt)
                                     * self._dt(self.weight_init_std))  # the chaos pass's nudge, else as is
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=self._dt)
        if self.visible_bias_init == "zero":
            self.intercept_visible_ = np.zeros(n_features, dtype=self._dt)
        else:
            mean = self._column_means(X)
            if self.visible == "bernoulli":
                p = np.clip(mean, 1e-3, 1 - 1e-3)
                self.intercept_visible_ = np.log(p / (1 - p)).astype(self._dt)
            else:
                self.intercept_visible_ = mean.astype(self._dt)
        self._velocity = [np.zeros_like(self.components_), np.zeros_like(self.intercept_hidden_),
                          np.zeros_like(self.intercept_visible_)]
        self._chains: Optional[F32] = None
        self.history_: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
        self._ratios: list[float] = []

    def _column_means(self, X: Any) -> NDArray[np.float64]:
        """Column means of `X`; dense float32 data in float32 (one matrix-vector product)."""
        if self.dtype == "float32" and isinstance(X, np.ndarray) and X.dtype == np.float32:
            sums: NDArray[Any] = np.ones(X.shape[0], np.float32) @ X
            return sums.astype(np.float64) / X.shape[0]
        return np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()  # np.matrix for sparse X

    def _mean_hiddens(self, v: F32) -> F32:
        activation: F32 = v @ self.components_.T
        activation += self.intercept_hidden_
        return _expit_(activation)

    def _mean_visibles(self, h: F32) -> F32:
        activation: F32 = h @ self.components_
        activation += self.intercept_visible_
        if self.visible == "bernoulli":
            _expit_(activation)
        return activation

    def _sample_hiddens(self, v: F32, rng: np.random.Generator) -> F32:
        p = self._mean_hiddens(v)
        return (rng.random(p.shape, dtype=self._dt) < p).astype(self._dt)

    def _sample_visibles(self, h: F32, rng: np.random.Generator) -> F32:
        mean = self._mean_visibles(h)
        if self.visible == "bernoulli":
            return (rng.random(mean.shape, dtype=self._dt) < mean).astype(self._dt)
        return mean + rng.standard_normal(mean.shape, dtype=self._dt)

    def _hidden_means(self, v: F32, out: F32) -> None:
        np.matmul(v, self.components_.T, out=out)
        _logistic_(out, self.intercept_hidden_)

    def _visible_sample(self, h: F32, out: F32, work: "_Scratch", rng: np.random.Generator) -> None:
        np.matmul(h, self.components_, out=out)
        if self.visible == "bernoulli" and out.dtype == np.float64:
            work.sample_logistic64(out, self.intercept_visible_, rng)
        elif self.visible == "bernoulli":
            _logistic_(out, self.intercept_visible_)
            work.sample(out, out, rng)
        else:
            out += self.intercept_visible_
            rng.standard_normal(out=work.u_v, dtype=self._dt)
            out += work.u_v

    def _scratch(self, n: int) -> "_Scratch":
        return _Scratch(n, self.n_components, self.components_.shape[1], self._dt)

    def _step(self, work: "_Scratch", rng: np.random.Generator) -> None:
        """One CD-k / PCD-k update on the mini-batch in ``work.V[:n]``, in place.

        The random numbers are drawn in the same order and dtype as the plain
        algorithm does (hidden sample of the data, then per Gibbs step the
        visible and, when needed, the hidden sample), from preallocated
        buffers; the two statistics of the gradient come from one matrix
        product of the stacked batch: ``[h_pos; -h_neg]^T [v_pos; v_neg]``.
        """
        n, W = work.n, self.components_
        v_pos, v_neg = work.V[:n], work.V[n:]
        h_pos, h_neg = work.H[:n], work.H[n:]
        self._hidden_means(v_pos, h_pos)
        if self.persistent:
            if self._chains is None or self._chains.shape[0] != n:
                self._chains = np.empty_like(h_pos)
                work.sample(h_pos, self._chains, rng)
            h = self._chains
        else:
            h = work.h
            work.sample(h_pos, h, rng)
        for step in range(self.k):
            self._visible_sample(h, v_neg, work, rng)
            self._hidden_means(v_neg, h_neg)
            if step < self.k - 1 or self.persistent:
                work.sample(h_neg, h, rng)

        # Gradient steps, in place: (lr / n) * (data statistics - model statistics),
        # the scale applied to the hidden rows (4 times fewer numbers than W has).
        scale = self._dt(self.learning_rate / n)
        h_pos *= scale
        h_neg *= -scale
        dW = work.dW if self.momentum else self._velocity[0]
        np.matmul(work.H.T, work.V, out=dW)
        if self.weight_decay:
            dW -= self._dt(self.learning_rate * self.weight_decay) * W
        dc, db = self._bias_steps(work, scale)
        if self.momentum:
            self._velocity[0] *= self._dt(self.momentum)
            self._velocity[0] += dW
        for i, update in ((1, dc), (2, db)):
            if self.momentum:
                self._velocity[i] *= self._dt(self.momentum)
                self._velocity[i] += update
            else:
                self._velocity[i] = update
        W += self._velocity[0]
        self.intercept_hidden_ += self._velocity[1]
        self.intercept_visible_ += self._velocity[2]
        weight_scale = _norm(W)
        self._ratios.append(_norm(self._velocity[0]) / weight_scale if weight_scale else np.inf)

    def _bias_steps(self, work: "_Scratch", scale: Any) -> tuple[F32, F32]:
        """The hidden and visible bias steps of the (scaled) hidden rows ``work.H``.

        float32: two matrix-vector products, ``ones @ H`` and ``signs @ V``
        (signs: +1 for the data rows, -1 for the negative ones), about 2
        times faster than the column sums; float64: the column sums with
        which the book's float64 runs were recorded, bit for bit.
        """
        n = work.n
        if work.V.dtype == np.float32:
            db = work.signs @ work.V
            db *= scale
            return work.signs_abs @ work.H, db
        db = work.V[:n].sum(axis=0)
        db -= work.V[n:].sum(axis=0)
        db *= scale
        return work.H.sum(axis=0), db

    def _record_epoch(self, X_mon: F32, X_val: Optional[F32]) -> None:
        activation = X_mon @ self.components_.T
        activation += self.intercept_hidden_
        h = _expit_(activation.copy())
        rec = float(np.mean((X_mon - self._mean_visibles(h)) ** 2))
        mean_h = h.mean(axis=0)
        hist = self.history_
        hist["reconstruction_error"].append(rec)
        if X_val is not None:
            rec_val = self._mean_visibles(self._mean_hiddens(X_val))
            hist["reconstruction_error_val"].append(float(np.mean((X_val - rec_val) ** 2)))
            n = min(len(X_val), len(X_mon))
            hist["free_energy_gap"].append(float(self._free_energy(X_val[:n]).mean()
                                                 - self._free_energy(X_mon[:n]).mean()))
        else:
            hist["reconstruction_error_val"].append(float("nan"))
            hist["free_energy_gap"].append(float("nan"))
        if self.visible == "bernoulli":
            pll = self._pseudo_log_likelihood(X_mon, np.random.default_rng(0), activation)
            hist["pseudo_log_likelihood"].append(float(pll.mean()))
        else:
            hist["pseudo_log_likelihood"].append(float("nan"))
        hist["weight_norm"].append(float(np.linalg.norm(self.components_)))
        hist["update_ratio"].append(float(np.mean(self._ratios)) if self._ratios else float("nan"))
        hist["update_ratio_max"].append(float(np.max(self._ratios)) if self._ratios else float("nan"))
        hist["dead_fraction"].append(float(np.mean(mean_h < _DEAD)))
        hist["saturated_fraction"].append(float(np.mean(mean_h > _SATURATED)))
        self._ratios = []

    def _free_energy(self, v: F32) -> F32:
        hidden = _softplus(v @ self.components_.T + self.intercept_hidden_).sum(axis=1)
        if self.visible == "bernoulli":
            visible_term = -(v @ self.intercept_visible_)
        else:
            visible_term = 0.5 * np.sum((v - self.intercept_visible_) ** 2, axis=1)
        out: F32 = visible_term - hidden
        return out

    def _pseudo_log_likelihood(self, v: F32, rng: np.random.Generator, activation: Optional[F32] = None) -> F32:
        """``n_features * log sigmoid(F(v with one unit flipped) - F(v))``, one random unit per row.

        The flipped row's hidden activation is the row's plus or minus one
        column of W, so with `activation` (``v W^T + c``) no matrix product is
        needed.
        """
        rows, cols = np.arange(v.shape[0]), rng.integers(0, v.shape[1], v.shape[0])
        if activation is None:
            activation = v @ self.components_.T + self.intercept_hidden_
        change = 1 - 2 * v[rows, cols]  # +1 where the unit goes 0 -> 1, -1 where 1 -> 0 (fractions: 1 - 2v)
        flipped = activation + change[:, None] * self.components_.T[cols]
        # F(flipped) - F(v) = -b_i * change - sum softplus(flipped) + sum softplus(activation)
        diff = (-self.intercept_visible_[cols] * change
                - _softplus(flipped).sum(axis=1) + _softplus(activation).sum(axis=1))
        out: F32 = -self._dt(v.shape[1]) * _softplus(-diff)
        return out

    # ---------------------------------------------------------------- public

    def fit(self, X: ArrayLike, y: Any = None) -> "RBM":
        """Train for `n_iter` epochs of mini-batch updates.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)
            Training data: in [0, 1] for Bernoulli visible units, standardised
            for Gaussian ones.
        y : ignored
            Not used; present for scikit-learn's API.

        Returns
        -------
        RBM
            The fitted estimator.

        Raises
        ------
        ValueError
            For data outside [0, 1] (beyond rounding noise) with Bernoulli
            units (the message names the fix), NaN or infinite values, or a
            1-D `X`.

        Warns
        -----
        DataRangeWarning
            When Gaussian units get data that is not standardised.
        """
        self._validate_params()
        resume = self.warm_start and hasattr(self, "components_")
        if not resume:
            self.__dict__.pop("_generator", None)
        # Training rows are cast to the computation's dtype one mini-batch at a
        # time, so a large input is never copied whole.
        Xv = self._check_X(X, reset=not resume, cast=False, fitting=True, densify=False)
        rng = self._rng()
        previous: Optional[tuple[int, NDArray[np.int64], int]] = getattr(self, "_split", None)
        if resume and previous is not None and previous[0] == Xv.shape[0]:
            _, order, n_val = previous
        else:
            n_val = int(round(self.validation_fraction * Xv.shape[0]))
            if self.validation_fraction > 0 and (n_val < 1 or n_val >= Xv.shape[0]):
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} holds out {n_val} of {Xv.shape[0]} rows; "
                    "it must leave at least one row on each side."
                )
            order = rng.permutation(Xv.shape[0])
            self._split = (Xv.shape[0], order, n_val)
        X_val: Optional[F32] = self._rows(Xv, order[:n_val]) if n_val else None
        train_rows = order[n_val:]
        X_mon = self._rows(Xv, train_rows[:_MONITOR_ROWS])
        if not resume:
            self._initialise(Xv[train_rows] if n_val else Xv)
        scratch: dict[int, _Scratch] = {}
        for _ in range(self.n_iter):
            shuffled = train_rows[rng.permutation(len(train_rows))]
            for start in range(0, len(shuffled), self.batch_size):
                rows = shuffled[start:start + self.batch_size]
                work = scratch.get(len(rows)) or scratch.setdefault(len(rows), self._scratch(len(rows)))
                self._rows(Xv, rows, out=work.V[:len(rows)])
                self._step(work, rng)
            self._record_epoch(X_mon, X_val)
        return self

    def _rows(self, Xv: Any, rows: NDArray[np.int64], out: Optional[F32] = None) -> F32:
        """Rows of the (dense or CSR) data as a dense array of the computation's dtype."""
        if sparse.issparse(Xv):
            dense = Xv[rows].toarray()
        elif out is not None and Xv.dtype == out.dtype:
            np.take(Xv, rows, axis=0, out=out, mode="clip")
            return out
        else:
            dense = Xv[rows]
        if out is None:
            return np.ascontiguousarray(dense, dtype=self._dt)
        out[...] = dense
        return out

    def partial_fit(self, X: ArrayLike, y: Any = None) -> "RBM":
        """One update on `X` as a single mini-batch (initialising on first call).

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)
            One mini-batch.
        y : ignored
            Not used; present for scikit-learn's API.

        Returns
        -------
        RBM
            The updated estimator. :attr:`history_` gets no entry: it is
            recorded per epoch, by :meth:`fit`.
        """
        first = not hasattr(self, "components_")
        if first:
            self._validate_params()
        Xv = self._check_X(X, reset=first, fitting=True)
        if first:
            self._initialise(Xv)
        work = self._scratch(Xv.shape[0])
        self._rows(Xv, np.arange(Xv.shape[0]), out=work.V[:work.n])
        self._step(work, self._rng())
        return self

    def transform(self, X: ArrayLike) -> F32:
        """Hidden-unit probabilities P(h = 1 | v): the features an RBM learns.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)
            For Bernoulli units, values outside [0, 1] are clipped into it
            (the nearest value a unit takes).

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            A pandas DataFrame with columns ``rbm0``, ``rbm1``, ... after
            ``set_output(transform="pandas")``.

        Warns
        -----
        DataRangeWarning
            When values beyond rounding noise (:data:`RANGE_TOLERANCE`) were
            clipped: held-out rows that the training scaling maps outside
            [0, 1], or unscaled data.
        """
        check_is_fitted(self)
        return self._mean_hiddens(self._check_X(X, reset=False, densify=False))

    def free_energy(self, X: ArrayLike) -> F32:
        """Free energy F(v); ``p(v)`` is proportional to ``exp(-F(v))``.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self._free_energy(self._check_X(X, reset=False))

    def score_samples(self, X: ArrayLike) -> F32:
        """Pseudo-log-likelihood of each row (Bernoulli units), as scikit-learn computes it.

        One randomly chosen unit of each row is flipped, and the score is
        ``n_features * log(sigmoid(F(flipped) - F(v)))``. The choice of unit is
        seeded from `random_state`, so the result is repeatable. For Gaussian
        units it returns ``-F(v)``, the unnormalised log-density.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        Xv = self._check_X(X, reset=False)
        if self.visible == "gaussian":
            out: F32 = -self._free_energy(Xv)
            return out
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        return self._pseudo_log_likelihood(Xv, np.random.default_rng(seed))

    def gibbs(self, X: ArrayLike, k: int = 1) -> F32:
        """Run `k` steps of block Gibbs sampling v -> h -> v from `X`.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)
            Starting visible states.
        k : int, default=1
            Number of steps, at least 1.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The visible samples after `k` steps.
        """
        check_is_fitted(self)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        v: F32 = self._check_X(X, reset=False)
        rng = self._rng()
        for _ in range(k):
            v = self._sample_visibles(self._sample_hiddens(v, rng), rng)
        return v

    def reconstruct(self, X: ArrayLike) -> F32:
        """Mean-field reconstruction E[v | h = P(h | v)]: what reconstruction error compares.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        v = self._check_X(X, reset=False)
        return self._mean_visibles(self._mean_hiddens(v))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self.visible == "bernoulli"
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = [self.dtype]
        tags.non_deterministic = False
        return tags
