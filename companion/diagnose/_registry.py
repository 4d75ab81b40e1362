"""The registry of failures: each failure's one home.

Defined in :doc:`/book/doctor`. Every cause the doctor can name is one
:class:`Failure` in :data:`REGISTRY`, holding its fix, its chapter, its
thresholds (each a :class:`Threshold` that says which chapter and measurement
its number comes from), how to reproduce it (failing runs and healthy twins,
seeded: :class:`Case`) and how to detect it (detector functions, one per
phase). Everything else is derived from here: :data:`companion.diagnose.CAUSES`,
the cases (:data:`companion.book.RANKING_CASES`, ...), the loops of
:class:`companion.diagnose.LossDoctor` and :func:`companion.diagnose.diagnose_rbm`,
and the tests, which run every case.

Detectors are plain functions of one observation that return the evidence
(a dict) when their cause is present, else ``None``:

- phase ``"start"``: a :class:`Start` (the doctor's sample before any epoch);
- phase ``"epoch"``: an :class:`Epoch` (one per-epoch observation);
- phase ``"rbm"``: a :class:`FittedRBM` (a fitted RBM and its data).

A failure is not reported when a cause listed in its ``unless`` was found
first (dead hidden units on unscaled data are put down to the data).

This module imports neither TensorFlow nor the rest of the package at import time
(only the scale rule, :mod:`companion._scale`, which imports nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Literal, Mapping, Optional, TypeVar, Union, get_args, get_origin, get_type_hints

import numpy as np
from numpy.typing import NDArray

from companion import _scale
from companion.ranking._limits import ROUND_TO_ZERO_GAP, UNDERFLOW_GAP

__all__ = ["Threshold", "Case", "Failure", "Start", "Epoch", "FittedRBM", "REGISTRY", "SCOPES", "failures_of",
           "cases_of", "SyntheticSpec", "RankingSpec", "KerasSpec", "RBMSpec", "DataSpec", "Spec", "SPEC_OF",
           "spec_of"]

#: What the doctor can be watching: a listwise ranking model (a list loss:
#: companion's or tensorflow-ranking's), any other Keras model (pointwise:
#: a classifier, a regressor), or a fitted RBM. Each cause names the scopes
#: it applies to; no cause is reported outside them.
SCOPES = ("ranking", "keras", "rbm")

Evidence = Optional[dict[str, Any]]


class Threshold(float):
    """A number a detector compares against, with where it comes from.

    Behaves as a ``float``; :attr:`source` names the chapter and the
    measurement that set it.

    Examples
    --------
    >>> t = Threshold(17.0, "ranking/zero_loss: float32 rounds 1 + exp(-17) to 1")
    >>> t + 1, t.source.split(":")[0]
    (18.0, 'ranking/zero_loss')
    """

    source: str

    def __new__(cls, value: float, source: str) -> "Threshold":
        self = super().__new__(cls, value)
        self.source = source
        return self


# --- Case specifications: one frozen dataclass per family ------------------------

#: Which ListMLE a ranking run trains with: tensorflow-ranking's, or
#: companion's exact one (:class:`companion.ranking.ListMLELoss`).
LossKind = Literal["tensorflow-ranking", "exact"]
#: The optimiser of a Keras run (``keras.optimizers.Adam`` or ``SGD``).
OptimizerKind = Literal["adam", "sgd"]
#: Visible units of an RBM.
VisibleKind = Literal["bernoulli", "gaussian"]
#: Scaling of an RBM's data (:func:`companion.rbm.load_split`); ``None``
#: keeps the raw values, ``"auto"`` picks the units' own.
ScalingKind = Optional[Literal["auto", "minmax", "standard"]]


def _allowed(hint: Any) -> Optional[tuple[Any, ...]]:
    """The values a ``Literal`` (or optional ``Literal``) type admits; ``None`` for other types."""
    if get_origin(hint) is Literal:
        return get_args(hint)
    if get_origin(hint) is Union:
        literals = [a for a in get_args(hint) if get_origin(a) is Literal]
        if literals and all(get_origin(a) is Literal or a is type(None) for a in get_args(hint)):
            return (*(v for a in literals for v in get_args(a)), None)
    return None


class _Spec:
    """Shared checks of the spec dataclasses: lists become tuples, kinds are checked."""

    def __post_init__(self) -> None:
        hints = get_type_hints(type(self))
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, list):
                value = tuple(value)
                object.__setattr__(self, f.name, value)
            allowed = _allowed(hints[f.name])
            if allowed is not None and value not in allowed:
                raise ValueError(f"{type(self).__name__}.{f.name} must be one of {allowed}, got {value!r}.")

    @classmethod
    def of(cls: type[_S], value: "_Spec | Mapping[str, Any]") -> _S:
        """`value` if it is already this spec, else the spec with the settings of a mapping.

        Raises
        ------
        TypeError
            For another family's spec, or a setting the spec does not have
            (a misspelt key), naming the known ones.
        """
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"{cls.__name__}.of takes a {cls.__name__} or a mapping of its settings, "
                            f"got {type(value).__name__}.")
        known = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise TypeError(f"unknown {cls.__name__} settings {unknown}; known: {', '.join(known)}.")
        settings = dict(value)
        if isinstance(settings.get("data"), Mapping):
            settings["data"] = SyntheticSpec.of(settings["data"])
        return cls(**settings)


_S = TypeVar("_S", bound=_Spec)


@dataclass(frozen=True)
class SyntheticSpec(_Spec):
    """Settings of :func:`companion.ranking.make_ranking_data` for a case.

    The book's default is 300 queries of 10 documents; the other defaults
    are the generator's own (``tests/test_registry.py`` checks they agree).
    """

    n_queries: int = 300
    list_size: Union[int, tuple[int, int]] = 10
    n_features: int = 6
    noise: float = 0.5
    labels: Literal["graded", "order"] = "graded"
    feature_scales: Optional[tuple[float, ...]] = None
    query_features: int = 0
    leak: bool = False

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``make_ranking_data`` (without the seed)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class RankingSpec(_Spec):
    """A ranking run watched by :class:`LossDoctor` (:func:`companion.book.make_ranking_run`).

    Attributes
    ----------
    data : SyntheticSpec
        The generator's settings.
    columns : tuple of int, optional
        Feature columns to keep (default: all).
    standardise : bool, default=True
        StandardScaler fitted on the training rows.
    rows : bool, default=False
        Fit on one row per document (labels of shape ``(n, 1)``) instead of lists.
    sample : {"auto", "lists"}
        What a doctor watches: ``"auto"`` the first 64 training inputs as fit
        gets them, ``"lists"`` the grouped lists even when fit gets rows.
    pad : int, optional
        List size to truncate or pad to.
    hidden, activation, output_activation
        The scorer (:func:`companion.ranking.make_scorer`).
    optimizer, rate, epochs, batch_size, loss
        Training: optimiser and its learning rate, epochs, lists per batch,
        which ListMLE.
    """

    data: SyntheticSpec = SyntheticSpec()
    columns: Optional[tuple[int, ...]] = None
    standardise: bool = True
    rows: bool = False
    sample: Literal["auto", "lists"] = "auto"
    pad: Optional[int] = None
    hidden: tuple[int, ...] = (32,)
    activation: str = "relu"
    output_activation: Optional[str] = None
    optimizer: OptimizerKind = "adam"
    rate: float = 0.01
    epochs: int = 10
    batch_size: int = 16
    loss: LossKind = "tensorflow-ranking"


@dataclass(frozen=True)
class KerasSpec(_Spec):
    """A small pointwise Keras run (:func:`companion.book.make_keras_run`).

    Attributes
    ----------
    task : {"binary", "regression"}
        A binary label, or a target from 0 to 100.
    scales : tuple of float
        A factor per feature (8 features): raw units.
    integer_columns : tuple of int
        Columns rounded to whole numbers, kept as integers (counts).
    inputs : {"features", "zeros"}
        ``"zeros"``: every input 0, as when the features never reach the model.
    normalise : bool, default=False
        A ``Normalization`` layer adapted to the training rows comes first.
    hidden : tuple of int, default=(16,)
        ReLU layers.
    output_activation, loss : str
        ``"auto"``: sigmoid and binary cross-entropy for a binary task, linear
        and mean squared error for regression (:meth:`head`).
    optimizer, rate, epochs
        Training settings.
    sample_weight : float, optional
        A constant weight for every training row.
    """

    task: Literal["binary", "regression"] = "binary"
    scales: tuple[float, ...] = (1.0,) * 8
    integer_columns: tuple[int, ...] = ()
    inputs: Literal["features", "zeros"] = "features"
    normalise: bool = False
    hidden: tuple[int, ...] = (16,)
    output_activation: str = "auto"
    loss: str = "auto"
    optimizer: OptimizerKind = "adam"
    rate: float = 0.01
    epochs: int = 8
    sample_weight: Optional[float] = None

    def head(self) -> tuple[Optional[str], str]:
        """The output activation (``None``: linear) and the loss, ``"auto"`` resolved by the task."""
        binary = self.task == "binary"
        activation: Optional[str] = self.output_activation
        if activation == "auto":
            activation = "sigmoid" if binary else None
        loss = self.loss if self.loss != "auto" else ("binary_crossentropy" if binary else "mse")
        return activation, loss


@dataclass(frozen=True)
class RBMSpec(_Spec):
    """A fitted RBM read by :func:`diagnose_rbm` (:func:`companion.book.fit_rbm`).

    ``None`` settings take the units' own default (:meth:`settings`): 100
    hidden units, rate 0.06, 20 epochs for Bernoulli units; 16, 0.01 and 50
    for Gaussian units. ``scaling="auto"``: min-max for Bernoulli units,
    standardised for Gaussian units.

    Attributes
    ----------
    dataset : {"digits", "wine"}
    visible : {"bernoulli", "gaussian"}
    scaling : {"auto", "minmax", "standard", None}
    sklearn : bool, default=False
        Fit scikit-learn's ``BernoulliRBM`` instead.
    binary_rows : int, optional
        Keep that many training rows, binarised at 0.5.
    n_components, learning_rate, n_iter : optional
    validation_fraction : float, default=0.1
    batch_size : int, default=10
    """

    dataset: Literal["digits", "wine"] = "digits"
    visible: VisibleKind = "bernoulli"
    scaling: ScalingKind = "auto"
    sklearn: bool = False
    binary_rows: Optional[int] = None
    n_components: Optional[int] = None
    learning_rate: Optional[float] = None
    n_iter: Optional[int] = None
    validation_fraction: float = 0.1
    batch_size: int = 10

    def settings(self) -> tuple[Optional[str], int, float, int]:
        """``(scaling for load_split, n_components, learning_rate, n_iter)``, defaults resolved."""
        gaussian = self.visible == "gaussian"
        scaling = ("standard" if gaussian else "minmax") if self.scaling == "auto" else self.scaling
        return (scaling, self.n_components or (16 if gaussian else 100),
                self.learning_rate if self.learning_rate is not None else (0.01 if gaussian else 0.06),
                self.n_iter or (50 if gaussian else 20))


@dataclass(frozen=True)
class DataSpec(_Spec):
    """Learning-to-rank rows checked by :func:`diagnose_ranking_data` (:func:`companion.book.data_case`).

    Attributes
    ----------
    data : SyntheticSpec
    qid : {"query", "row"}
        ``"row"``: one query id per row (the grouping bug).
    """

    data: SyntheticSpec = SyntheticSpec()
    qid: Literal["query", "row"] = "query"


#: A case's settings: one of the four spec classes.
Spec = Union[RankingSpec, KerasSpec, RBMSpec, DataSpec]
#: The spec class of each family.
SPEC_OF: dict[str, type[_Spec]] = {"ranking": RankingSpec, "keras": KerasSpec, "rbm": RBMSpec, "data": DataSpec}


def spec_of(family: str, value: "Spec | Mapping[str, Any]") -> Spec:
    """The typed spec of `family` for `value` (a spec, or a mapping of its settings).

    Examples
    --------
    >>> spec_of("ranking", {"rate": 0.3, "data": {"labels": "order"}}).data.labels
    'order'

    Raises
    ------
    ValueError
        For an unknown family.
    TypeError
        For a setting the family's spec does not have.
    """
    if family not in SPEC_OF:
        raise ValueError(f"unknown family {family!r}; known: {', '.join(SPEC_OF)}.")
    return SPEC_OF[family].of(value)  # type: ignore[return-value]


@dataclass(frozen=True)
class Case:
    """A seeded reproduction: a failing run or a healthy twin.

    Attributes
    ----------
    name : str
        Unique name, such as ``"query features only"``.
    family : {"ranking", "keras", "rbm", "data"}
        ``"ranking"``: a Keras run watched by :class:`LossDoctor`
        (:func:`companion.diagnose.ranking_case` builds it); ``"keras"``: a
        small pointwise Keras model (:func:`keras_case`); ``"rbm"``: a
        fitted RBM read by :func:`diagnose_rbm` (:func:`rbm_case`); ``"data"``:
        learning-to-rank rows checked by :func:`diagnose_ranking_data`
        (:func:`data_case`).
    spec : RankingSpec, KerasSpec, RBMSpec or DataSpec
        The settings the builder reads, of the family's spec class
        (:data:`SPEC_OF`).
    chapter : str
        The chapter whose run this is (``""``: made for the doctor).
    seed : int
        The seed the chapter uses (the builders' default).

    Raises
    ------
    TypeError
        If `spec` is not of the family's spec class.
    """

    name: str
    family: str
    spec: Spec
    chapter: str = ""
    seed: int = 0

    def __post_init__(self) -> None:
        expected = SPEC_OF.get(self.family)
        if expected is None:
            raise ValueError(f"case {self.name!r}: unknown family {self.family!r}; known: {', '.join(SPEC_OF)}.")
        if not isinstance(self.spec, expected):
            raise TypeError(f"case {self.name!r} of family {self.family!r} needs a {expected.__name__} "
                            f"(SPEC_OF[{self.family!r}]), got {type(self.spec).__name__}.")


@dataclass(frozen=True)
class Failure:
    """One failure: cause, fix, chapter, thresholds, reproductions, detectors.

    Attributes
    ----------
    cause : str
        The name findings carry, such as ``"uniform-scores"``.
    fix : str
        What to change, in one or two sentences.
    chapter : str
        The chapter that explains it (a document name under ``book/``).
    fatal : bool
        Whether training cannot succeed until it is fixed.
    thresholds : tuple of Threshold
        The numbers its detectors use.
    detectors : dict of str to callable
        Phase (``"start"``, ``"epoch"``, ``"rbm"``) to detector.
    static : str
        The check without training that also detects it, if any.
    unless : tuple of str
        Causes that, found first, explain this one (then it is not reported).
    failing, healthy : tuple of Case
        Runs that show it (each must be named by exactly this cause) and
        healthy twins (named by no cause).
    scopes : tuple of str
        Where the cause applies (a subset of :data:`SCOPES`); the doctor
        never reports it elsewhere.
    variants : dict of str to (str, str)
        Scope to ``(fix, chapter)`` where the fix or the chapter differ from
        the defaults (unscaled ranking features are explained in the ranking
        chapter, unscaled RBM data in the RBM chapter).
    """

    cause: str
    fix: str
    chapter: str
    fatal: bool
    thresholds: tuple[Threshold, ...] = ()
    detectors: Mapping[str, Callable[[Any], Evidence]] = field(default_factory=dict)
    static: str = ""
    unless: tuple[str, ...] = ()
    failing: tuple[Case, ...] = ()
    healthy: tuple[Case, ...] = ()
    scopes: tuple[str, ...] = ("ranking",)
    variants: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def fix_and_chapter(self, scope: Optional[str] = None) -> tuple[str, str]:
        """The fix and the chapter for `scope` (the defaults without one)."""
        return self.variants.get(scope or "", (self.fix, self.chapter))


# --- Observations ----------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """What :class:`LossDoctor` sees before the first epoch.

    Attributes
    ----------
    y : ndarray of shape (n_lists, list_size)
        The sample's labels (below 0: padding).
    prediction_shape : tuple or None
        Shape of the model's scores on the sample (``None``: not computed).
    data_findings : dict of str to dict
        Cause to evidence, from the data checks on the sample
        (:func:`diagnose_ranking_data` for a ranking model,
        :func:`diagnose_inputs` for any other).
    scope : {"ranking", "keras"}
        What the doctor is watching.
    model : dict
        What the doctor read from the model and the sample: ``loss`` (its
        name), ``from_logits``, ``output_activation``, ``output_units``,
        ``y_min``, ``y_max``, ``y_whole`` (whether every target is a whole
        number), ``sample_weight_sum`` (``None`` if unknown).
    """

    y: NDArray[Any]
    prediction_shape: Optional[tuple[int, ...]]
    data_findings: Mapping[str, dict[str, Any]]
    scope: str = "ranking"
    model: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Epoch:
    """One per-epoch observation of a ranking run, as :class:`LossDoctor` makes it.

    Attributes
    ----------
    epoch : int
        1 for the first epoch.
    losses : tuple of float
        The logged training loss of every epoch so far, this one last.
    spreads : tuple of float
        Mean within-list score spread on the sample, every epoch so far.
    y, scores : ndarray of shape (n_lists, list_size)
        The sample's labels and this epoch's scores.
    gaps : ndarray of shape (n_lists,)
        Within-list score gaps on the sample.
    chance, floor : float
        The sample's chance level log(n!) and loss floor.
    exact_loss : bool
        Whether the loss is exact at any gap (companion's ListMLELoss), so
        that a wide gap cannot overflow it.
    validation_at_floor : callable
        Returns ``(at_floor, val_loss)`` on the validation lists, or
        ``None`` without them (computed only when asked).
    scope : {"ranking", "keras"}
        What the doctor is watching.
    loss_family : str
        ``"listmle-tfr"`` (tensorflow-ranking's ListMLE, which underflows to
        -inf from a gap of 88), ``"listmle-exact"`` (companion's), ``"list"``
        (another list loss), ``"pointwise"`` (any other loss).
    training : dict
        ``rate`` (the optimiser's learning rate, or ``None``),
        ``max_abs_weight``, ``update_ratio`` (norm of this epoch's weight
        change over the norm of the weights before it) and ``previous_gap``
        (the largest within-list score gap at the end of the previous epoch;
        0 before any).
    chance_loss : (float, str) or None
        The loss of the best constant prediction on the sample and what it
        is (``"ln 2"``-like for a balanced binary cross-entropy, the target
        variance for a squared error); ``None`` for a loss it does not know.
    dead_fraction : callable
        The largest fraction of dead ReLU units (zero on every sample row)
        in any hidden layer, or ``None`` (computed only when asked).
    """

    epoch: int
    losses: tuple[float, ...]
    spreads: tuple[float, ...]
    y: NDArray[Any]
    scores: NDArray[Any]
    gaps: NDArray[Any]
    chance: float
    floor: float
    exact_loss: bool
    validation_at_floor: Callable[[], Optional[tuple[bool, float]]] = lambda: None
    scope: str = "ranking"
    loss_family: str = "listmle-exact"
    training: Mapping[str, Any] = field(default_factory=dict)
    chance_loss: Optional[tuple[float, str]] = None
    dead_fraction: Callable[[], Optional[float]] = lambda: None

    @property
    def loss(self) -> float:
        """This epoch's logged loss."""
        return self.losses[-1]


@dataclass(frozen=True)
class FittedRBM:
    """What :func:`diagnose_rbm` reads: a fitted RBM and, if given, its training data.

    Attributes
    ----------
    model : object
        :class:`companion.rbm.RBM` or scikit-learn's ``BernoulliRBM``.
    X : ndarray or None
        Training data.
    units : str
        ``"bernoulli"`` or ``"gaussian"``.
    history : dict or None
        ``model.history_`` if it has one.
    data_scale : dict or None
        The evidence of :func:`diagnose_inputs` on `X` for `units` when it
        finds the data unscaled, else ``None``. (The caller computes it, so
        that the registry does not import the checks that read it.)
    """

    model: Any
    X: Optional[NDArray[Any]]
    units: str
    history: Optional[Mapping[str, Any]]
    data_scale: Optional[Mapping[str, Any]] = None
    scope: str = "rbm"


# --- Shapes and lists (Part I, zero loss) -------------------------------------------


def _single_item_start(obs: Start) -> Evidence:
    from companion.ranking._lists import n_valid

    counts = n_valid(obs.y)
    if obs.y.shape[1] == 1 or (counts < 2).all():
        return {"list_size": int(obs.y.shape[1]), "lists_with_2_valid_items": int((counts >= 2).sum()),
                "y_shape": tuple(obs.y.shape)}
    if obs.prediction_shape is not None and tuple(obs.prediction_shape) != tuple(obs.y.shape):
        return {"prediction_shape": tuple(obs.prediction_shape), "label_shape": tuple(obs.y.shape)}
    return None


def _single_item_epoch(obs: Epoch) -> Evidence:
    # ListMLE is exactly 0 for lists of one item. A logged 0.0 while the sample's
    # scores are not separated means fit() got other lists than the sample: one
    # row per document, labels of shape (batch, 1). (Not after an overflow: non-finite
    # scores can make a loss 0.0 too.)
    if obs.loss == 0.0 and np.isfinite(obs.scores).all() and not (obs.floor == 0.0 and float(np.median(obs.gaps)) >= SEPARATION_GAP):
        return {"epoch": obs.epoch, "logged_loss": 0.0, "sample_median_gap": float(np.median(obs.gaps)),
                "note": "the sample is fine: fit got other labels (shape (batch, 1): one row per document) "
                        "or sample weights that are all 0"}
    return None


def _from_data(cause: str) -> Callable[[Start], Evidence]:
    def detect(obs: Start) -> Evidence:
        return obs.data_findings.get(cause)

    detect.__name__ = f"_data_{cause.replace('-', '_')}"
    return detect


# --- Uniform scores (Part I) -----------------------------------------------------

#: A loss that moves by less than this fraction from one epoch to the next is
#: "stuck" (on a plateau).
UNIFORM_TOLERANCE = Threshold(0.005, "ranking/uniform_scores: uniform-score runs sit on log(n!) to 4 decimals, "
                                     "epoch after epoch")
#: Within-list score spread (standard deviation) below which scores are uniform.
SPREAD_TOLERANCE = Threshold(1e-3, "ranking/uniform_scores: uniform-score runs measure a spread of 0 to float32 "
                                   "precision; healthy runs above 0.3")
#: Epochs a condition must hold before it is reported: one bad epoch is noise.
PATIENCE = 3


def _uniform(obs: Epoch) -> Evidence:
    # Uniform scores on the sample, and a logged loss that does not move. (The
    # logged loss is not compared with the sample's log(n!): with lists of
    # different sizes the training lists' mean log(n!) differs from the sample's.)
    if len(obs.losses) < PATIENCE + 1:
        return None
    losses = np.asarray(obs.losses[-(PATIENCE + 1):], dtype=np.float64)
    if not np.isfinite(losses).all():
        return None
    flat = bool((np.abs(np.diff(losses)) <= UNIFORM_TOLERANCE * np.abs(losses[1:])).all())
    uniform = all(spread < SPREAD_TOLERANCE for spread in obs.spreads[-PATIENCE:])
    if flat and uniform:
        return {"epochs": PATIENCE, "loss": obs.loss, "sample_chance_level": obs.chance,
                "score_spread": obs.spreads[-1]}
    return None


# --- Score overflow (Part I, unscaled features) -------------------------------------

#: tensorflow-ranking returns -inf from a gap of 88, and from a best score of
#: about 65 in a padded list; the doctor warns from 60 (with that loss only).
OVERFLOW_WARN_GAP = Threshold(60.0, "ranking/unscaled_features: tensorflow-ranking's ListMLE is -inf from a "
                                    "within-list gap of 88 (65 with padding)")


#: A NaN under tensorflow-ranking's ListMLE is its score underflow only when the
#: scores were already far apart: the largest within-list gap at the end of the
#: epoch before reached this. A NaN from gaps below it is a learning rate too high.
NAN_AFTER_GAP = Threshold(17.0, "ranking/zero_loss: from a gap of about 17 float32 rounds a correctly ranked "
                                "pair's ListMLE term to 0; gaps grow by a bounded amount per epoch at a sane "
                                "rate, so a NaN after smaller gaps came from one oversized update")


def _overflow(obs: Epoch) -> Evidence:
    # Only tensorflow-ranking's ListMLE underflows (log of exp(-88) in float32).
    # Softmax, ApproxNDCG and the exact ListMLE have no such limit.
    if obs.loss_family != "listmle-tfr":
        return None
    finite = bool(np.isfinite(obs.scores).all())
    if not np.isfinite(obs.loss) or not finite:
        previous = float(obs.training.get("previous_gap", 0.0))
        if previous < NAN_AFTER_GAP:
            return None  # not an underflow: learning-rate-too-high names it
        return {"epoch": obs.epoch, "loss": obs.loss, "finite_scores": finite, "gap_before": previous}
    if obs.gaps.size and obs.gaps.max() >= OVERFLOW_WARN_GAP:
        return {"epoch": obs.epoch, "largest_gap": float(obs.gaps.max()), "limit": UNDERFLOW_GAP}
    return None


# --- Perfect separation (Part I, zero loss) ----------------------------------------

#: Median within-list score gap above which a list is "perfectly separated".
SEPARATION_GAP = Threshold(ROUND_TO_ZERO_GAP, "ranking/zero_loss: float32 ListMLE gives a correctly ranked pair "
                                               "exactly 0 from a gap of 24 ln 2 = 16.64 (ROUND_TO_ZERO_GAP)")
#: "At the floor": within this fraction of the way from the floor to chance.
FLOOR_FRACTION = Threshold(0.05, "doctor: set on the book's leaked-feature run, which ends below it; no "
                                 "healthy run of the doctor chapter reaches it")


def _separation(obs: Epoch) -> Evidence:
    if obs.loss_family not in ("listmle-exact", "listmle-tfr"):
        return None  # the floor and chance level are ListMLE's
    tolerance = FLOOR_FRACTION * max(obs.chance - obs.floor, 1e-6)
    median_gap = float(np.median(obs.gaps))
    if not (obs.loss <= obs.floor + tolerance and median_gap >= SEPARATION_GAP):
        return None
    evidence: dict[str, Any] = {"epoch": obs.epoch, "loss": obs.loss, "floor": obs.floor, "median_gap": median_gap}
    on_validation = obs.validation_at_floor()
    if on_validation is not None:
        if not on_validation[0]:
            return None  # separated on training lists only: memorisation, not this cause
        evidence["val_loss"] = on_validation[1]
    return evidence


# --- Divergence -------------------------------------------------------------------

#: Relative rise of the loss over the last PATIENCE epochs, each higher than the
#: one before, that counts as diverging.
DIVERGE_RISE = Threshold(0.10, "doctor: a convention, not a measurement (no chapter reproduces a slow "
                               "divergence); a loss rising PATIENCE epochs in a row is never healthy")


def _diverging(obs: Epoch) -> Evidence:
    recent = obs.losses[-(PATIENCE + 1):]
    if len(recent) <= PATIENCE or not np.isfinite(recent).all():
        return None
    rising = all(b > a for a, b in zip(recent, recent[1:]))
    if not rising or recent[-1] - recent[0] <= DIVERGE_RISE * abs(recent[0]):
        return None
    if recent[0] <= 0 and recent[-1] <= obs.losses[0]:
        # A negative loss (ApproxNDCG, a negative log-likelihood) that rises but is
        # still below where it started: noise around a plateau, not divergence.
        return None
    return {"epoch": obs.epoch, "loss_from": recent[0], "loss_to": recent[-1], "rate": obs.training.get("rate")}


# --- Input scales (Part II, unscaled data; Part I, unscaled features) ----------------

# One scale rule, read by RBM.fit too (companion._scale): the thresholds below
# are its numbers, with where they come from.
#: Bernoulli units: values this close outside [0, 1] are rounding noise.
BERNOULLI_TOLERANCE = Threshold(_scale.RANGE_TOLERANCE, "rbm/unscaled_data: MinMaxScaler returns "
                                                        "1.0000000000000002 on real data; RBM.fit accepts it")
#: Gaussian visible units expect standardised features: a mean further than 3 from 0 ...
GAUSSIAN_MEAN_LIMIT = Threshold(_scale.GAUSSIAN_SCALE_LIMIT, "rbm/unscaled_data: standardised wine has |mean| "
                                                             "0; raw wine up to 755")
#: ... or a spread outside [1/3, 3] is not standardised (constant features exempt).
GAUSSIAN_STD_RANGE = (Threshold(1.0 / _scale.GAUSSIAN_SCALE_LIMIT, "rbm/unscaled_data: standardised features "
                                                                   "have std 1"),
                      Threshold(_scale.GAUSSIAN_SCALE_LIMIT, "rbm/unscaled_data: raw wine's proline has std 325"))
#: Network inputs (ranking or any Keras model) whose typical magnitude
#: sqrt(mean^2 + std^2) exceeds 10 are unscaled: within-list gaps reach the
#: float32 limit (88) after a few updates.
RANKING_SCALE_LIMIT = Threshold(_scale.NETWORK_SCALE_LIMIT, "ranking/unscaled_features: features in the hundreds "
                                                            "to thousands drive tensorflow-ranking to -inf; a "
                                                            "fresh network turns inputs of size s into gaps of "
                                                            "order s")
#: Largest absolute weight of a Bernoulli RBM that suggests unscaled input.
WEIGHT_ALARM = Threshold(50.0, "rbm/unscaled_data: min-max digits end below about 1.1, raw digits (0-16) reach "
                               "the thousands")
#: Gaussian RBMs start their visible biases at the data means.
VISIBLE_BIAS_ALARM = Threshold(10.0, "rbm/unscaled_data: on standardised data visible biases stay within a few "
                                     "units of 0, on raw wine they reach 750")


def _unscaled_rbm(obs: FittedRBM) -> Evidence:
    if obs.data_scale:
        return dict(obs.data_scale)
    if obs.units == "bernoulli":
        max_weight = float(np.abs(np.asarray(obs.model.components_, dtype=np.float64)).max())
        return {"units": obs.units, "max_abs_weight": max_weight} if max_weight > WEIGHT_ALARM else None
    bias = float(np.abs(np.asarray(obs.model.intercept_visible_, dtype=np.float64)).max())
    return {"units": obs.units, "max_abs_visible_bias": bias} if bias > VISIBLE_BIAS_ALARM else None


# --- Learning rate (Part II) ---------------------------------------------------------

#: Fraction of hidden units dead or saturated that means the rate was too high.
DEAD_ALARM = Threshold(0.9, "rbm/learning_rate: a rate 15 times too high leaves 100% of the hidden units dead; "
                            "healthy runs end with 0-6% dead")
#: Relative fall of the reconstruction error over a run below which it counts as no progress.
LOW_PROGRESS = Threshold(0.02, "rbm/learning_rate: too-low rates fell by under 1% in 20 epochs; healthy ones "
                               "by more than 50%")


def _dead_fraction(obs: FittedRBM) -> Optional[float]:
    if obs.history and obs.history.get("reconstruction_error"):
        return float(obs.history["dead_fraction"][-1] + obs.history["saturated_fraction"][-1])
    if obs.X is None:
        return None
    mean_h = np.asarray(obs.model.transform(np.asarray(obs.X, dtype=np.float64))).mean(axis=0)
    return float(np.mean(mean_h < 0.01)) + float(np.mean(mean_h > 0.99))


def _rate_high(obs: FittedRBM) -> Evidence:
    dead = _dead_fraction(obs)
    if dead is None or dead < DEAD_ALARM:
        return None
    if not (obs.history and obs.history.get("reconstruction_error")):
        return {"dead_or_saturated_fraction": dead}
    errors = np.asarray(obs.history["reconstruction_error"], dtype=np.float64)
    return {"dead_fraction": obs.history["dead_fraction"][-1], "saturated_fraction": obs.history["saturated_fraction"][-1],
            "error_progress": _progress(errors), "largest_step_ratio": max(obs.history["update_ratio_max"])}


def _progress(errors: NDArray[Any]) -> float:
    return float((errors[0] - errors[-1]) / errors[0]) if errors[0] > 0 else 0.0


def _rate_low(obs: FittedRBM) -> Evidence:
    if not (obs.history and obs.history.get("reconstruction_error")):
        return None
    progress = _progress(np.asarray(obs.history["reconstruction_error"], dtype=np.float64))
    if progress >= LOW_PROGRESS:
        return None
    return {"error_progress": progress, "median_update_ratio": float(np.median(obs.history["update_ratio"])),
            "dead_fraction": obs.history["dead_fraction"][-1]}


# --- Overfitting (Part II, monitoring) -----------------------------------------------

#: Free-energy gap (held-out minus training, nats) above which an RBM memorises.
OVERFIT_GAP = Threshold(3.0, "rbm/monitoring: healthy digits runs stay within about +-1 nat. Memorising 200 "
                             "digits, the gap passes 3 in both places it is measured: against rows held out "
                             "inside fit (the registry's case), where it is still rising at epoch 400, and "
                             "against the test digits (the chapter's run), where it passes 3 while the held-out "
                             "likelihood still improves: an early warning, not the stopping point")


def _overfitting(obs: FittedRBM) -> Evidence:
    if not obs.history:
        return None
    gaps = np.asarray(obs.history.get("free_energy_gap", []), dtype=np.float64)
    if len(gaps) < 3 or not np.isfinite(gaps).all():
        return None
    if gaps[-1] > OVERFIT_GAP and gaps[-1] > gaps[len(gaps) // 2]:
        return {"free_energy_gap": float(gaps[-1]), "gap_at_start": float(gaps[0]), "epochs": len(gaps)}
    return None


# --- Leak check (Part I, zero loss) ---------------------------------------------------

#: diagnose_ranking_data looks for a leaked feature only when a feature unrelated
#: to the labels would rank every list perfectly with probability below this
#: (both directions of every feature counted, Bonferroni). A list of n items with
#: tie groups of sizes m_g is ranked perfectly by chance with probability
#: prod(m_g!) / n!: 50 lists of 8 graded items are plenty, 10 lists of two not.
LEAK_CHANCE = Threshold(1e-6, "ranking/zero_loss: the chance that an unrelated feature ranks every list "
                              "perfectly")


# --- Any Keras model (generic_failures) -------------------------------------------

#: "At chance": a logged loss within this fraction of the loss of the best
#: constant prediction on the sample (ln 2 for balanced binary labels, ln k for
#: k balanced classes, the target variance for a squared error).
CHANCE_TOLERANCE = Threshold(0.05, "generic_failures: a model that predicts a constant sits within 1% of the "
                                   "constant prediction's loss on the sample; the sample's labels differ from "
                                   "the training set's by a few percent, hence 5%")

#: "Stuck": over the last PATIENCE epochs the loss fell by less than this fraction of itself.
STUCK_PROGRESS = Threshold(0.02, "generic_failures: stuck runs only wobble (no net fall over three epochs); the "
                                 "chapter's healthy classifiers (with and without a Normalization layer, 5 seeds "
                                 "each) still fall by more than 2.5% over their last three (asserted there)")

_CROSS_ENTROPY = ("binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy")
_REGRESSION = ("mean_squared_error", "mean_absolute_error", "huber", "log_cosh")
#: The range of each bounded output activation.
_ACTIVATION_RANGE = {"sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, np.inf),
                     "softplus": (0.0, np.inf), "exponential": (0.0, np.inf)}


def _flat(obs: Epoch) -> bool:
    """The logged loss moved by under UNIFORM_TOLERANCE (relative) in each of the last PATIENCE epochs."""
    if len(obs.losses) < PATIENCE + 1:
        return False
    losses = np.asarray(obs.losses[-(PATIENCE + 1):], dtype=np.float64)
    if not np.isfinite(losses).all():
        return False
    return bool((np.abs(np.diff(losses)) <= UNIFORM_TOLERANCE * np.abs(losses[1:])).all())


def _training(obs: Epoch) -> dict[str, Any]:
    t = obs.training
    return {"rate": t.get("rate"), "largest_weight": t.get("max_abs_weight"), "update_ratio": t.get("update_ratio")}


def _rate_high_keras(obs: Epoch) -> Evidence:
    # A non-finite loss or score that is not tensorflow-ranking's underflow
    # (score-underflow is checked first and names that one).
    if np.isfinite(obs.loss) and np.isfinite(obs.scores).all():
        return None
    return {"epoch": obs.epoch, "loss": obs.loss, **_training(obs)}


#: A model stuck at chance predicts the same for every input: the spread of its
#: outputs over the sample rows, relative to the spread of the targets, is at
#: most this. A constant prediction varies by float rounding only (the
#: chapter's stuck runs: 0); a model that has begun to tell its inputs apart,
#: however slowly, varies by percents of the target spread.
CONSTANT_OUTPUT = Threshold(1e-3, "generic_failures: the stuck run's outputs (inputs all 0) spread by 0 over "
                                  "the sample rows (asserted there); doctor: the slowest healthy program written "
                                  "by others (the fixed 3-bit classifier, still near its label entropy after 30 "
                                  "epochs) spreads by more than 10 times this (asserted there)")


def _relative_output_spread(obs: Epoch) -> float:
    """Spread of the outputs over the sample rows, over that of the targets (mean over output units)."""
    scores = np.asarray(obs.scores, dtype=np.float64)
    if not scores.size:
        return 0.0
    rows = scores.reshape(len(scores), -1)
    target = np.asarray(obs.y, dtype=np.float64).reshape(len(obs.y), -1)
    spread = float(np.std(rows, axis=0).mean())
    scale = float(np.std(target, axis=0).mean()) if target.size else 0.0
    return spread / scale if scale > 0 else spread


def _at_chance(obs: Epoch) -> bool:
    """The loss sat within CHANCE_TOLERANCE of chance for PATIENCE + 1 epochs and fell by under STUCK_PROGRESS."""
    if obs.chance_loss is None or len(obs.losses) < PATIENCE + 1:
        return False
    value = obs.chance_loss[0]
    losses = np.asarray(obs.losses[-(PATIENCE + 1):], dtype=np.float64)
    if not value > 0 or not np.isfinite(losses).all():
        return False
    near = bool((np.abs(losses - value) <= CHANCE_TOLERANCE * value).all())
    stopped = losses[0] - losses[-1] < STUCK_PROGRESS * abs(losses[-1])
    return near and stopped and _relative_output_spread(obs) <= CONSTANT_OUTPUT


def _not_falling(obs: Epoch) -> bool:
    """Over the last PATIENCE epochs the finite loss fell by less than STUCK_PROGRESS of itself (or rose)."""
    if len(obs.losses) < PATIENCE + 1:
        return False
    losses = np.asarray(obs.losses[-(PATIENCE + 1):], dtype=np.float64)
    return bool(np.isfinite(losses).all() and losses[0] - losses[-1] < STUCK_PROGRESS * abs(losses[-1]))


#: A hidden ReLU layer with at least this fraction of its units 0 on every
#: sample row, while the loss stops falling at no better than chance, is dead.
DEAD_LAYER = Threshold(0.5, "generic_failures: the chapter's runs at Adam's rate 3 have at least 75% of a "
                            "layer dead on each of 5 seeds; its healthy classifiers at most 10% (asserted there)")


def _dead_layer(obs: Epoch) -> Evidence:
    if not _not_falling(obs) or not obs.training.get("inputs_vary", True):
        return None  # inputs that do not vary leave every unit at its bias: not a dead layer's fault
    if obs.chance_loss is not None:
        chance: Optional[float] = obs.chance_loss[0]
    else:
        chance = obs.chance if obs.loss_family in ("listmle-exact", "listmle-tfr") else None
    if chance is not None and obs.loss < (1 - CHANCE_TOLERANCE) * chance:
        return None  # better than a constant guess: the live units learn
    dead = obs.dead_fraction()
    if dead is None or dead < DEAD_LAYER:
        return None
    return {"epochs": PATIENCE, "loss": obs.loss, "dead_fraction": dead, **_training(obs)}


def _stuck(obs: Epoch) -> Evidence:
    if obs.chance_loss is None or not _at_chance(obs):
        return None
    value, what = obs.chance_loss
    return {"epochs": PATIENCE, "loss": obs.loss, "chance_loss": value, "chance": what,
            "inputs_vary": obs.training.get("inputs_vary", True),
            "output_spread": _relative_output_spread(obs),
            "dead_fraction": obs.dead_fraction()}


def _output_activation(obs: Start) -> Evidence:
    m = obs.model
    act, units, loss = m.get("output_activation"), m.get("output_units"), m.get("loss")
    if act is None or loss is None:
        return None
    evidence: dict[str, Any] = {"output_activation": act, "output_units": units, "loss": loss}
    if act == "softmax" and units == 1:
        return {**evidence, "problem": "a softmax over one unit is 1 for every input"}
    if loss in _CROSS_ENTROPY:
        logits = bool(m.get("from_logits"))
        evidence["from_logits"] = logits
        target = _not_a_label(loss, m.get("y_min"), m.get("y_max"), m.get("y_whole"))
        if target is not None:
            return {**evidence, **target,
                    "problem": "a classification loss on a regression target: a cross-entropy takes class "
                               "labels (0 or 1, or class indices), not values such as a price"}
        if act == "relu":
            return {**evidence, "problem": "a ReLU output cannot go below 0, so it cannot serve as a probability "
                                           "or as a logit below 0.5"}
        if not logits and act == "linear":
            return {**evidence, "problem": "the loss takes probabilities (from_logits=False) but the output is "
                                           "linear: values outside (0, 1) are clipped"}
        if logits and act in ("sigmoid", "softmax"):
            return {**evidence, "problem": "the loss takes logits (from_logits=True) but the output is already "
                                           "a probability"}
    if loss in _REGRESSION and act in _ACTIVATION_RANGE and m.get("y_min") is not None:
        from companion._scale import RANGE_TOLERANCE

        low, high = _ACTIVATION_RANGE[act]
        y_min, y_max = float(m["y_min"]), float(m["y_max"])
        if y_min < low - RANGE_TOLERANCE or y_max > high + RANGE_TOLERANCE:
            return {**evidence, "y_min": y_min, "y_max": y_max,
                    "problem": f"{act} outputs lie in [{low:g}, {high:g}], the targets do not"}
    return None


def _not_a_label(loss: str, y_min: Any, y_max: Any, whole: Any) -> Evidence:
    """The targets' range when they cannot be labels for `loss`, else ``None``.

    Binary and categorical cross-entropy take targets in [0, 1]; the sparse
    categorical one takes class indices (whole numbers from 0).
    """
    from companion._scale import RANGE_TOLERANCE

    if y_min is None or y_max is None:
        return None
    low, high = float(y_min), float(y_max)
    if loss == "sparse_categorical_crossentropy":
        bad = low < 0 or whole is False
    else:
        bad = low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE
    return {"y_min": low, "y_max": high} if bad else None


def _zero_weights(obs: Start) -> Evidence:
    total = obs.model.get("sample_weight_sum")
    if total is not None and total == 0:
        return {"sample_weight_sum": 0.0}
    return None


# --- The cases -------------------------------------------------------------------------

# Part I's uniform-scores chapter: document features in the hundreds, three query features.
_UNIFORM_DATA = SyntheticSpec(feature_scales=(100.0,) * 6, query_features=3)
# The small row sets of the data checks: 60 queries.
_ROWS = SyntheticSpec(n_queries=60, list_size=8)
_RAW_COUNTS = KerasSpec(scales=(1.0,) * 6 + (500.0, 2000.0), integer_columns=(6,))

HEALTHY_RANKING = Case("healthy", "ranking", RankingSpec(standardise=True), "ranking/zero_loss")
_NOISE_FREE = RankingSpec(data=SyntheticSpec(labels="order", noise=0.0), hidden=(), rate=0.3, epochs=12,
                          loss="exact")
NOISE_FREE_EXACT = Case("noise-free labels, exact loss, rate 0.3", "ranking", _NOISE_FREE)
HEALTHY_DATA = Case("healthy rows", "data", DataSpec(replace(_ROWS, list_size=(5, 12), labels="order")))
HEALTHY_DIGITS = Case("healthy digits", "rbm", RBMSpec(dataset="digits"), "rbm/learning_rate")
HEALTHY_KERAS = Case("healthy classifier", "keras", KerasSpec(), "generic_failures")
HEALTHY_REGRESSION = Case("healthy regression", "keras", KerasSpec(task="regression"), "generic_failures")
HEALTHY_WINE = Case("healthy wine", "rbm", RBMSpec(dataset="wine", scaling="standard", visible="gaussian"),
                    "rbm/unscaled_data")


# --- The registry ------------------------------------------------------------------------

_FAILURES = (
    Failure(
        "single-item-lists",
        "Group the rows of each query into one list: companion.ranking.group_lists(X, y, qid=qid).",
        "ranking/zero_loss", True,
        detectors={"start": _single_item_start, "epoch": _single_item_epoch},
        static="diagnose_ranking_data",
        unless=("score-underflow", "zero-sample-weights"),
        failing=(Case("one row per document", "ranking", RankingSpec(rows=True, standardise=False, batch_size=32),
                      "ranking/zero_loss"),
                 Case("one row per document (rows)", "data", DataSpec(_ROWS, qid="row"))),
        healthy=(HEALTHY_RANKING, HEALTHY_DATA),
    ),
    Failure(
        "zero-sample-weights",
        "Give the examples sample weights that are not all 0: with every weight 0 the loss is exactly 0 and "
        "nothing is learned.",
        "generic_failures", True,
        detectors={"start": _zero_weights},
        scopes=("ranking", "keras"),
        failing=(Case("all sample weights 0", "keras", KerasSpec(sample_weight=0.0), "generic_failures"),),
        healthy=(HEALTHY_KERAS,),
    ),
    Failure(
        "unscaled-data",
        "Scale the inputs for the units that read them: MinMaxScaler to [0, 1] for Bernoulli units, "
        "StandardScaler for Gaussian units (fitted on training rows).",
        "rbm/unscaled_data", True,
        thresholds=(BERNOULLI_TOLERANCE, GAUSSIAN_MEAN_LIMIT, *GAUSSIAN_STD_RANGE, RANKING_SCALE_LIMIT, WEIGHT_ALARM, VISIBLE_BIAS_ALARM),
        detectors={"start": _from_data("unscaled-data"), "rbm": _unscaled_rbm},
        unless=("single-item-lists", "zero-sample-weights"),
        static="diagnose_inputs",
        scopes=("ranking", "keras", "rbm"),
        variants={
            "ranking": ("Standardise the features (StandardScaler fitted on training rows), or put a "
                        "Normalization layer adapted to the training rows first in the model.",
                        "ranking/unscaled_features"),
            "keras": ("Standardise the inputs (StandardScaler fitted on training rows), or put a Normalization "
                      "layer adapted to the training rows first in the model.", "generic_failures"),
        },
        failing=(
            Case("raw features, tensorflow-ranking loss", "ranking",
                 RankingSpec(data=SyntheticSpec(list_size=(5, 15), feature_scales=(2000, 500, 50, 1000, 5, 300)),
                             pad=15, standardise=False), "ranking/unscaled_features", seed=3),
            Case("sigmoid head, raw features", "ranking",
                 RankingSpec(data=_UNIFORM_DATA, columns=(0, 1, 2, 3, 4, 5), standardise=False,
                             output_activation="sigmoid"), "ranking/uniform_scores", seed=2),
            Case("raw digits, BernoulliRBM", "rbm", RBMSpec(dataset="digits", scaling=None, sklearn=True),
                 "rbm/unscaled_data"),
            Case("raw wine, Gaussian units", "rbm", RBMSpec(dataset="wine", scaling=None, visible="gaussian"),
                 "rbm/unscaled_data"),
            Case("raw prices", "data", DataSpec(replace(_ROWS, labels="order",
                                                        feature_scales=(1000.0,) + (1.0,) * 5))),
            Case("raw counts and prices, classifier", "keras", _RAW_COUNTS, "generic_failures"),
        ),
        healthy=(HEALTHY_RANKING, HEALTHY_DIGITS, HEALTHY_WINE, HEALTHY_DATA, HEALTHY_KERAS,
                 Case("raw counts and prices, Normalization layer", "keras", replace(_RAW_COUNTS, normalise=True),
                      "generic_failures")),
    ),
    Failure(
        "single-document-queries",
        "Drop the queries with a single document: a list of one item adds 0 to the loss and teaches nothing. "
        "If there are many, check that the query ids group the right rows.",
        "ranking/zero_loss", False,
        detectors={"start": _from_data("single-document-queries")},
        unless=("single-item-lists",),
        static="diagnose_ranking_data",
        failing=(Case("queries of 1 to 8 documents", "data",
                      DataSpec(replace(_ROWS, list_size=(1, 8), labels="order"))),),
        healthy=(HEALTHY_DATA,),
    ),
    Failure(
        "tied-lists",
        "Drop the lists whose labels are all equal: they hold no pair to rank, only add ties to the loss and "
        "raise its floor by log(n!) each. If every list is tied, the labels carry no order at all: check how "
        "they were made.",
        "ranking/uniform_scores", False,
        static="diagnose_ranking_data",
        failing=(Case("graded labels, lists of 2 to 4", "data",
                      DataSpec(replace(_ROWS, list_size=(2, 4), labels="graded"))),),
        healthy=(HEALTHY_DATA,),
    ),
    Failure(
        "leaked-feature",
        "Find out how the feature is computed: one feature that alone ranks every list perfectly is almost "
        "always derived from the label (a leak), and a model trained on it fails on new data. Remove it unless "
        "it is really known before the ranking is needed.",
        "ranking/zero_loss", False,
        thresholds=(LEAK_CHANCE,),
        detectors={"start": _from_data("leaked-feature")},
        unless=("single-item-lists",),
        static="diagnose_ranking_data",
        failing=(
            Case("leaked feature", "ranking",
                 RankingSpec(data=SyntheticSpec(labels="order", leak=True), hidden=(), rate=0.1, epochs=20,
                             loss="exact"), "ranking/zero_loss", seed=1),
            Case("leaked feature column", "data", DataSpec(replace(_ROWS, labels="order", leak=True))),
        ),
        healthy=(HEALTHY_RANKING, HEALTHY_DATA),
    ),
    Failure(
        "score-underflow",
        "Scale the features (StandardScaler fitted on training rows), or use companion.ranking.ListMLELoss, "
        "which is exact at any score gap.",
        "ranking/unscaled_features", True,
        thresholds=(OVERFLOW_WARN_GAP, NAN_AFTER_GAP),
        detectors={"epoch": _overflow},
        unless=("unscaled-data",),
        failing=(Case("noise-free labels, tensorflow-ranking loss, rate 0.3", "ranking",
                      replace(_NOISE_FREE, loss="tensorflow-ranking"), "ranking/unscaled_features"),),
        healthy=(NOISE_FREE_EXACT,),
    ),
    Failure(
        "stuck-at-chance",
        "The model predicts the same for every input, so its loss stays at that of a constant guess (ln 2 for "
        "balanced binary labels, ln k for k classes, the target variance for a squared error). Check that the "
        "inputs vary from example to example and reach the model (not all 0, not a constant column "
        "selection), that the labels belong to the inputs, and that the output activation fits the loss.",
        "generic_failures", True,
        thresholds=(CHANCE_TOLERANCE, STUCK_PROGRESS, CONSTANT_OUTPUT),
        detectors={"epoch": _stuck},
        unless=("unscaled-data", "zero-sample-weights", "output-activation-mismatch", "dead-layer",
                "learning-rate-too-high"),
        scopes=("keras",),
        failing=(Case("inputs all 0", "keras", KerasSpec(inputs="zeros"), "generic_failures"),),
        healthy=(HEALTHY_KERAS,),
    ),
    Failure(
        "output-activation-mismatch",
        "Match the output layer to the loss: one sigmoid unit (or one linear unit with from_logits=True) for "
        "binary cross-entropy, k softmax units for categorical cross-entropy, a linear output for a target "
        "that is not bounded. A target that is no class label (a price, a count) needs a regression loss "
        "(mean squared or absolute error) with a linear output, not a cross-entropy.",
        "generic_failures", True,
        detectors={"start": _output_activation},
        unless=("zero-sample-weights",),
        scopes=("keras",),
        failing=(Case("softmax on one unit", "keras", KerasSpec(output_activation="softmax"), "generic_failures"),
                 Case("sigmoid on a target from 0 to 100", "keras",
                      KerasSpec(task="regression", output_activation="sigmoid"), "generic_failures")),
        healthy=(HEALTHY_KERAS, HEALTHY_REGRESSION),
    ),
    Failure(
        "learning-rate-too-high",
        "Lower the learning rate by a factor of 10 or more and retrain from scratch: dead hidden units do not "
        "recover.",
        "rbm/learning_rate", True,
        thresholds=(DEAD_ALARM,),
        detectors={"rbm": _rate_high, "epoch": _rate_high_keras},
        unless=("unscaled-data", "zero-sample-weights", "output-activation-mismatch", "score-underflow"),
        scopes=("rbm", "ranking", "keras"),
        variants={scope: ("Lower the learning rate by a factor of 10 or more and train again from a fresh "
                          "initialisation: NaN weights do not recover.", "generic_failures")
                  for scope in ("ranking", "keras")},
        failing=(Case("learning rate 1.0", "rbm", RBMSpec(dataset="digits", learning_rate=1.0), "rbm/learning_rate"),
                 Case("SGD at rate 50, regression", "keras", KerasSpec(task="regression", optimizer="sgd",
                                                                       rate=50.0), "generic_failures"),
                 Case("SGD at rate 50, ListMLE", "ranking", RankingSpec(optimizer="sgd", rate=50.0, epochs=3),
                      "generic_failures")),
        healthy=(HEALTHY_DIGITS, HEALTHY_KERAS, HEALTHY_REGRESSION, HEALTHY_RANKING),
    ),
    Failure(
        "dead-layer",
        "A hidden layer outputs 0 for every input (dead ReLU units), so no gradient reaches the layers below "
        "it and the loss stops moving. The usual cause is a learning rate too high (see the rate and the "
        "update/weight ratio in the evidence): lower it 10 times and train again from a fresh initialisation; "
        "else check the input scales and the initialisation (He for ReLU, biases not negative).",
        "generic_failures", True,
        thresholds=(DEAD_LAYER, CHANCE_TOLERANCE, STUCK_PROGRESS),
        detectors={"epoch": _dead_layer},
        unless=("unscaled-data", "zero-sample-weights", "output-activation-mismatch", "single-item-lists"),
        scopes=("ranking", "keras"),
        failing=(Case("Adam at rate 3, ReLU", "keras", KerasSpec(rate=3.0, hidden=(16, 16)), "generic_failures"),),
        healthy=(HEALTHY_KERAS,),
    ),
    Failure(
        "uniform-scores",
        "Give the model features that vary within a list, standardise them, and keep the score output linear "
        "(no saturating activation).",
        "ranking/uniform_scores", True,
        thresholds=(UNIFORM_TOLERANCE, SPREAD_TOLERANCE),
        detectors={"epoch": _uniform},
        unless=("unscaled-data", "single-item-lists", "zero-sample-weights", "dead-layer"),
        failing=(Case("query features only", "ranking", RankingSpec(data=_UNIFORM_DATA, columns=(6, 7, 8),
                                                                    standardise=False),
                      "ranking/uniform_scores", seed=2),),
        healthy=(HEALTHY_RANKING,),
    ),
    Failure(
        "perfect-separation",
        "Check for a leaked feature (one feature that ranks every list perfectly); if there is none, the task "
        "is easy and the model is fine.",
        "ranking/zero_loss", False,
        thresholds=(SEPARATION_GAP, FLOOR_FRACTION),
        detectors={"epoch": _separation},
        unless=("leaked-feature", "single-item-lists", "score-underflow"),
    ),
    Failure(
        "diverging",
        "Lower the learning rate, and check the feature scales.",
        "generic_failures", False,
        thresholds=(DIVERGE_RISE,),
        detectors={"epoch": _diverging},
        unless=("score-underflow", "unscaled-data", "learning-rate-too-high", "zero-sample-weights",
                "output-activation-mismatch"),
        scopes=("ranking", "keras"),
    ),
    Failure(
        "learning-rate-too-low",
        "Raise the learning rate by a factor of 10, watching the fraction of dead hidden units.",
        "rbm/learning_rate", False,
        thresholds=(LOW_PROGRESS,),
        detectors={"rbm": _rate_low},
        unless=("unscaled-data", "learning-rate-too-high"),
        scopes=("rbm",),
        failing=(Case("learning rate 1e-4", "rbm", RBMSpec(dataset="digits", learning_rate=1e-4),
                      "rbm/learning_rate"),),
        healthy=(HEALTHY_DIGITS,),
    ),
    Failure(
        "overfitting",
        "Stop at the peak of the held-out log-likelihood (companion.rbm.ais_log_likelihood), use more "
        "data, or add weight decay. The free-energy gap warns early, but it grows before the peak and "
        "does not say when to stop.",
        "rbm/monitoring", False,
        thresholds=(OVERFIT_GAP,),
        detectors={"rbm": _overfitting},
        scopes=("rbm",),
        # The monitoring chapter's settings (100 units, rate 0.1, 400 epochs, 200 binary digits to train on).
        # The detector reads the free-energy gap of rows held out inside fit, which the chapter's run has
        # not: so of the first 400 binarised digits fit trains on a random 200 and holds the other 200 out.
        failing=(Case("200 digits, 400 epochs", "rbm", RBMSpec(dataset="digits", binary_rows=400, n_components=100,
                                                                learning_rate=0.1, n_iter=400,
                                                                validation_fraction=0.5), "rbm/monitoring"),),
        healthy=(HEALTHY_DIGITS,),
    ),
)

# The order the doctor checks them: a cause that explains another comes first
# (an underflow before a NaN's learning rate, a dead layer before a loss stuck
# at chance), since a cause is skipped when one in its ``unless`` was found.
_ORDER = ("single-item-lists", "zero-sample-weights", "unscaled-data", "output-activation-mismatch",
          "single-document-queries", "tied-lists", "leaked-feature", "score-underflow", "learning-rate-too-high",
          "dead-layer", "uniform-scores", "stuck-at-chance", "perfect-separation", "diverging",
          "learning-rate-too-low", "overfitting")

#: Every failure, by cause, in the order the doctor checks them.
REGISTRY: dict[str, Failure] = {f.cause: f for f in sorted(_FAILURES, key=lambda f: _ORDER.index(f.cause))}


def failures_of(phase: str, scope: Optional[str] = None) -> list[Failure]:
    """The failures with a detector for `phase` (``"start"``, ``"epoch"`` or ``"rbm"``), in registry order.

    With `scope`, only those that apply to it (see :data:`SCOPES`).
    """
    return [f for f in REGISTRY.values() if phase in f.detectors and (scope is None or scope in f.scopes)]


def cases_of(family: str) -> dict[str, Optional[str]]:
    """Case name to expected cause (``None``: healthy) for one family, failures first.

    Examples
    --------
    >>> cases_of("rbm")["learning rate 1.0"]
    'learning-rate-too-high'
    """
    out: dict[str, Optional[str]] = {}
    for failure in REGISTRY.values():
        for case in failure.failing:
            if case.family == family:
                out[case.name] = failure.cause
    for failure in REGISTRY.values():
        for case in failure.healthy:
            if case.family == family:
                out.setdefault(case.name, None)
    return out


def case(name: str) -> Case:
    """The :class:`Case` named `name`, failing or healthy."""
    for failure in REGISTRY.values():
        for c in (*failure.failing, *failure.healthy):
            if c.name == name:
                return c
    known = ", ".join(n for f in ("ranking", "rbm", "data", "keras") for n in cases_of(f))
    raise ValueError(f"unknown case {name!r}; known: {known}.")
