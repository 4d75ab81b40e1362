"""The book's failures (and healthy twins), rebuilt from the registry to test a diagnostic tool on.

Defined in :doc:`/book/doctor`. Each :class:`~companion.diagnose._registry.Case`
of :data:`companion.diagnose.REGISTRY` is a seeded specification; the builders
here turn it into a run: :func:`ranking_case` (a Keras run), :func:`rbm_case`
(a fitted RBM) and :func:`data_case` (learning-to-rank rows). Chapters call them
to reproduce their runs, so that the chapter and the doctor's test run the same
thing.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import numpy as np
from numpy.typing import NDArray
from sklearn.preprocessing import StandardScaler

from companion.diagnose._registry import Case
from companion.diagnose._registry import case as _case
from companion.diagnose._registry import cases_of

__all__ = [
    "RankingCase", "KerasCase", "ranking_case", "rbm_case", "data_case", "keras_case",
    "make_ranking_run", "make_keras_run", "keras_final_losses", "keras_trial", "fit_rbm",
    "RANKING_CASES", "RBM_CASES", "DATA_CASES", "KERAS_CASES", "nan_watch"
]

#: Ranking cases: name -> expected cause, or None for a healthy run (from the registry).
RANKING_CASES: dict[str, Optional[str]] = cases_of("ranking")
#: RBM cases: name -> expected cause, or None for a healthy run (from the registry).
RBM_CASES: dict[str, Optional[str]] = cases_of("rbm")
#: Data cases (rows for :func:`diagnose_ranking_data`): name -> expected cause or None.
DATA_CASES: dict[str, Optional[str]] = cases_of("data")
#: Pointwise Keras cases (:doc:`/book/generic_failures`): name -> expected cause or None.
KERAS_CASES: dict[str, Optional[str]] = cases_of("keras")


def _known(name: str, known: Mapping[str, Optional[str]], kind: str) -> Case:
    """The registry's case `name`, which must be one of `known` (the cases of one kind)."""
    if name not in known:
        raise ValueError(f"unknown {kind} case {name!r}; known: {', '.join(known)}.")
    return _case(name)


@dataclass
class RankingCase:
    """A ranking run ready to train: data, a model builder, loss and optimiser.

    Attributes
    ----------
    X_train, y_train, X_val, y_val : ndarray
        Inputs and labels as the model takes them.
    build : callable
        Returns a fresh, compiled Keras model.
    loss : object
        The model's loss.
    epochs : int
        Epochs to train.
    batch_size : int
        Lists per batch.
    sample : (X, y), optional
        What to give a doctor as its sample, if not the first 64 training lists.
    """

    X_train: NDArray[Any]
    y_train: NDArray[Any]
    X_val: NDArray[Any]
    y_val: NDArray[Any]
    build: Callable[[], Any]
    loss: Any
    epochs: int = 10
    batch_size: int = 16
    sample: Optional[tuple[NDArray[Any], NDArray[Any]]] = None

    def doctor_sample(self, n: int = 64) -> tuple[NDArray[Any], NDArray[Any]]:
        """The lists a doctor should watch: :attr:`sample`, or the first `n` training lists."""
        return self.sample if self.sample is not None else (self.X_train[:n], self.y_train[:n])

    def run(self, callbacks: Optional[list[Any]] = None) -> dict[str, list[float]]:
        """Train a fresh model with `callbacks`; return the Keras history."""
        model = self.build()
        history: dict[str, list[float]] = model.fit(
            self.X_train, self.y_train, validation_data=(self.X_val, self.y_val), epochs=self.epochs,
            batch_size=self.batch_size, verbose=0, callbacks=callbacks or []).history
        return history


def _loss(kind: str) -> Any:
    if kind == "exact":
        from companion.ranking import ListMLELoss

        return ListMLELoss()
    import tensorflow_ranking as tfr

    return tfr.keras.losses.ListMLELoss()


def make_ranking_run(spec: Mapping[str, Any], seed: int = 0) -> RankingCase:
    """Build a ranking run from a specification (the settings of a registry case).

    Parameters
    ----------
    spec : mapping
        Keys (all optional): ``data`` (keyword arguments of
        :func:`companion.ranking.make_ranking_data`; default 300 queries of
        10 documents), ``columns`` (feature columns to keep), ``standardise``
        (default True: StandardScaler fitted on training rows), ``rows``
        (one row per document instead of lists), ``pad`` (list size to
        truncate or pad to), ``hidden`` (default ``(32,)``), ``activation``
        (default ``"relu"``), ``output_activation``, ``rate`` (Adam, default
        0.01), ``optimizer`` (``"adam"``, the default, or ``"sgd"``),
        ``epochs`` (default 10), ``loss`` (``"tensorflow-ranking"``, the
        default, or ``"exact"``), ``batch_size`` (default 16),
        ``sample`` (``"lists"``: the doctor watches the grouped lists even when
        the model is fit on rows).
    seed : int, default=0
        Seed of the data; the model's initialisation follows TensorFlow's
        global seed (:func:`companion.seed_everything`).

    Returns
    -------
    RankingCase
        The first two thirds of the queries train, the next sixth validates
        (of 300 queries: 0-199 and 200-249).
    """
    from companion import _keras
    from companion.ranking import group_lists, make_ranking_data, make_scorer

    kwargs: dict[str, Any] = {"n_queries": 300, "list_size": 10, **dict(spec.get("data", {})), "random_state": seed}
    data = make_ranking_data(**kwargs)
    n = int(kwargs["n_queries"])
    train, val = data.qid < (2 * n) // 3, (data.qid >= (2 * n) // 3) & (data.qid < (5 * n) // 6)
    X = data.X if spec.get("columns") is None else data.X[:, list(spec["columns"])]
    if spec.get("standardise", True):
        X = StandardScaler().fit(X[train]).transform(X)
    size = spec.get("pad")

    def lists(mask: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # truncation to `pad` is on purpose
            return group_lists(X[mask], data.y[mask], qid=data.qid[mask], list_size=size)

    (X_tr, y_tr), (X_va, y_va) = lists(train), lists(val)
    sample = (X_tr[:64], y_tr[:64]) if spec.get("sample") == "lists" else None
    if spec.get("rows"):
        X_tr, y_tr = X[train].astype(np.float32), data.y[train][:, None].astype(np.float32)
        X_va, y_va = X[val].astype(np.float32), data.y[val][:, None].astype(np.float32)
    loss = _loss(str(spec.get("loss", "tensorflow-ranking")))
    hidden = tuple(spec.get("hidden", (32,)))

    def build() -> Any:
        model = make_scorer(hidden=hidden, activation=str(spec.get("activation", "relu")),
                            output_activation=spec.get("output_activation"))
        optimizers = _keras.keras().optimizers
        optimizer = optimizers.SGD if spec.get("optimizer") == "sgd" else optimizers.Adam
        model.compile(optimizer=optimizer(float(spec.get("rate", 0.01))), loss=loss)
        return model

    return RankingCase(X_tr, y_tr, X_va, y_va, build, loss, epochs=int(spec.get("epochs", 10)),
                       batch_size=int(spec.get("batch_size", 16)), sample=sample)


def ranking_case(name: str, seed: Optional[int] = None) -> RankingCase:
    """Rebuild one of the registry's ranking runs (see :data:`RANKING_CASES`).

    Parameters
    ----------
    name : str
        A key of :data:`RANKING_CASES`.
    seed : int, optional
        Seed of the data (default: the seed of the chapter that runs it); the
        model's initialisation follows TensorFlow's global seed
        (:func:`companion.seed_everything`).

    Returns
    -------
    RankingCase

    Raises
    ------
    ValueError
        For an unknown name.
    """
    spec = _known(name, RANKING_CASES, "ranking")
    return make_ranking_run(spec.spec, spec.seed if seed is None else seed)


def fit_rbm(spec: Mapping[str, Any], seed: int = 0) -> tuple[Any, NDArray[Any]]:
    """Fit an RBM from a specification (the settings of a registry case).

    Parameters
    ----------
    spec : mapping
        Keys (all optional): ``dataset`` (``"digits"``, the default, or
        ``"wine"``), ``scaling`` (of :func:`companion.rbm.load_split`;
        default min-max for Bernoulli units, ``"standard"`` for Gaussian),
        ``visible`` (``"bernoulli"`` or ``"gaussian"``), ``sklearn`` (fit
        scikit-learn's ``BernoulliRBM`` instead), ``binary_rows`` (keep that
        many rows, binarised at 0.5), ``n_components`` (default 100, 16 for
        Gaussian units), ``learning_rate`` (default 0.06, 0.01 for Gaussian),
        ``n_iter`` (default 20, 50 for Gaussian), ``validation_fraction``
        (default 0.1), ``batch_size`` (default 10).
    seed : int, default=0
        ``random_state`` of the RBM (and of the held-out split).

    Returns
    -------
    (model, X_train)
    """
    from sklearn.neural_network import BernoulliRBM

    from companion.rbm import RBM, load_split
    from companion.rbm._estimator import DataRangeWarning

    visible = str(spec.get("visible", "bernoulli"))
    gaussian = visible == "gaussian"
    default_scaling = "standard" if gaussian else "minmax"
    scaling = spec.get("scaling", default_scaling)
    X = load_split(str(spec.get("dataset", "digits")), scaling=scaling, random_state=seed)[0]
    if spec.get("binary_rows"):
        X = (X[: int(spec["binary_rows"])] > 0.5).astype(np.float64)
    n_components = int(spec.get("n_components", 16 if gaussian else 100))
    rate = float(spec.get("learning_rate", 0.01 if gaussian else 0.06))
    n_iter = int(spec.get("n_iter", 50 if gaussian else 20))
    with np.errstate(over="ignore"), warnings.catch_warnings():
        # Failing cases are failures on purpose: RBM's own warning about unscaled
        # data is expected, and the doctor must find the cause too.
        warnings.simplefilter("ignore", DataRangeWarning)
        if spec.get("sklearn"):
            model: Any = BernoulliRBM(n_components=n_components, learning_rate=rate,
                                      batch_size=int(spec.get("batch_size", 10)), n_iter=n_iter,
                                      random_state=seed).fit(X)
        else:
            model = RBM(n_components=n_components, visible=visible, learning_rate=rate, n_iter=n_iter,
                        batch_size=int(spec.get("batch_size", 10)),
                        validation_fraction=float(spec.get("validation_fraction", 0.1)), dtype="float64",
                        random_state=seed).fit(X)
    return model, X


def rbm_case(name: str, seed: Optional[int] = None) -> tuple[Any, NDArray[Any]]:
    """Fit one of the registry's RBMs (see :data:`RBM_CASES`); return it and its training data.

    Parameters
    ----------
    name : str
        A key of :data:`RBM_CASES`.
    seed : int, optional
        ``random_state`` of the RBM (and of the held-out split); default: the
        seed of the chapter that runs it.

    Returns
    -------
    (model, X_train)
        The fitted model (:class:`companion.rbm.RBM`, or scikit-learn's
        ``BernoulliRBM`` for the raw-digits case) and the data it was fit on.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    spec = _known(name, RBM_CASES, "RBM")
    return fit_rbm(spec.spec, spec.seed if seed is None else seed)


def data_case(name: str, seed: Optional[int] = None) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Rows ``(X, y, qid)`` of one of the registry's data cases (see :data:`DATA_CASES`).

    Spec keys: ``data`` (keyword arguments of
    :func:`companion.ranking.make_ranking_data`) and ``qid`` (``"row"``: one
    query id per row, the grouping bug).

    Raises
    ------
    ValueError
        For an unknown name.
    """
    from companion.ranking import make_ranking_data

    found = _known(name, DATA_CASES, "data")
    spec = found.spec
    data = make_ranking_data(**{**dict(spec.get("data", {})), "random_state": found.seed if seed is None else seed})
    qid = np.arange(len(data.y)) if spec.get("qid") == "row" else data.qid
    return data.X, data.y, qid


@dataclass
class KerasCase:
    """A small pointwise Keras run (a classifier or a regressor), ready to train.

    Attributes
    ----------
    X_train, y_train, X_val, y_val : ndarray
        Inputs and targets.
    build : callable
        Returns a fresh, compiled Keras model.
    epochs, batch_size : int
        Training length.
    sample_weight : ndarray, optional
        Weights of the training rows given to ``fit``.
    """

    X_train: NDArray[Any]
    y_train: NDArray[Any]
    X_val: NDArray[Any]
    y_val: NDArray[Any]
    build: Callable[[], Any]
    epochs: int = 8
    batch_size: int = 32
    sample_weight: Optional[NDArray[Any]] = None

    def watch(self) -> tuple[dict[str, list[float]], Any]:
        """Train a fresh model with a silent :class:`LossDoctor` watching; return the history and the doctor."""
        from companion.diagnose._doctor import LossDoctor

        doctor = LossDoctor(self.X_train, self.y_train, sample_weight=self.sample_weight, verbose=0)
        return self.run([doctor]), doctor

    def run(self, callbacks: Optional[list[Any]] = None) -> dict[str, list[float]]:
        """Train a fresh model with `callbacks`; return the Keras history."""
        model = self.build()
        history: dict[str, list[float]] = model.fit(
            self.X_train, self.y_train, sample_weight=self.sample_weight, validation_data=(self.X_val, self.y_val),
            epochs=self.epochs, batch_size=self.batch_size, verbose=0, callbacks=callbacks or []).history
        return history


def make_keras_run(spec: Mapping[str, Any], seed: int = 0) -> KerasCase:
    """Build a small pointwise Keras run from a specification (the settings of a registry case).

    The data: 600 training and 200 validation rows of 8 standard normal
    features; a binary label from a noisy linear rule (``task="binary"``),
    or a regression target ``50 + 10 * (linear rule + noise)`` clipped to
    [0, 100] (``task="regression"``).

    Parameters
    ----------
    spec : mapping
        Keys (all optional): ``task`` (``"binary"``, the default, or
        ``"regression"``), ``scales`` (a factor per feature: raw units),
        ``integer_columns`` (columns rounded to whole numbers, kept as
        integers: counts), ``inputs`` (``"zeros"``: every input 0, as when
        the features never reach the model), ``normalise`` (a Keras
        ``Normalization`` layer adapted to the training rows comes first),
        ``hidden`` (default ``(16,)``, ReLU), ``output_activation`` (default
        sigmoid for binary, linear for regression), ``loss`` (default
        binary cross-entropy, or mean squared error), ``optimizer``
        (``"adam"``, the default, or ``"sgd"``), ``rate`` (default 0.01),
        ``epochs`` (default 8), ``sample_weight`` (a constant weight for
        every training row).
    seed : int, default=0
        Seed of the data; the model's initialisation follows TensorFlow's
        global seed (:func:`companion.seed_everything`).

    Returns
    -------
    KerasCase
    """
    from companion import _keras

    rng = np.random.default_rng(seed)
    n, n_features = 800, 8
    Z = rng.normal(size=(n, n_features))
    signal = Z @ rng.normal(size=n_features) / np.sqrt(n_features) + 0.3 * rng.normal(size=n)
    task = str(spec.get("task", "binary"))
    if task == "binary":
        y = (signal > 0).astype(np.float32)
    else:
        y = np.clip(50.0 + 10.0 * signal, 0.0, 100.0).astype(np.float32)
    X: NDArray[Any] = Z * np.asarray(spec.get("scales", [1.0] * n_features), dtype=np.float64)
    if spec.get("inputs") == "zeros":
        X = np.zeros_like(X)
    integer = list(spec.get("integer_columns", []))
    if integer:
        X[:, integer] = np.abs(np.round(X[:, integer]))
    X = X.astype(np.float32)
    inputs: Any = X
    if integer:  # counts arrive as integers, in an input of their own
        rest = [j for j in range(n_features) if j not in integer]
        inputs = [X[:, rest], X[:, integer].astype(np.int64)]
    train = slice(0, 600)
    val = slice(600, n)

    def part(rows: slice) -> Any:
        return [a[rows] for a in inputs] if isinstance(inputs, list) else inputs[rows]

    hidden = tuple(spec.get("hidden", (16,)))
    output_activation = spec.get("output_activation", "sigmoid" if task == "binary" else None)
    loss = str(spec.get("loss", "binary_crossentropy" if task == "binary" else "mse"))

    def build() -> Any:
        keras = _keras.keras()
        if isinstance(inputs, list):
            parts = [keras.Input((a.shape[1],), dtype="float32" if a.dtype == np.float32 else "int64")
                     for a in inputs]
            x = keras.layers.Concatenate()([parts[0], keras.layers.Lambda(_as_float32)(parts[1])])
            model_inputs: Any = parts
        else:
            parts = [keras.Input((n_features,))]
            x, model_inputs = parts[0], parts[0]
        if spec.get("normalise"):
            norm = keras.layers.Normalization()
            norm.adapt(np.concatenate([a[train].reshape(600, -1).astype(np.float32) for a in inputs], axis=1)
                       if isinstance(inputs, list) else X[train])
            x = norm(x)
        for units in hidden:
            x = keras.layers.Dense(units, activation="relu")(x)
        out = keras.layers.Dense(1, activation=output_activation)(x)
        model = keras.Model(model_inputs, out)
        optimizers = keras.optimizers
        optimizer = optimizers.SGD if spec.get("optimizer") == "sgd" else optimizers.Adam
        model.compile(optimizer=optimizer(float(spec.get("rate", 0.01))), loss=loss)
        return model

    weight = spec.get("sample_weight")
    weights = None if weight is None else np.full(600, float(weight), dtype=np.float32)
    return KerasCase(part(train), y[train], part(val), y[val], build, epochs=int(spec.get("epochs", 8)),
                     sample_weight=weights)


def _as_float32(t: Any) -> Any:
    from companion import _keras

    if _keras.keras_major() >= 3:
        return _keras.keras().ops.cast(t, "float32")
    import tensorflow as tf

    return tf.cast(t, tf.float32)


def keras_case(name: str, seed: Optional[int] = None) -> KerasCase:
    """Rebuild one of the registry's pointwise Keras runs (see :data:`KERAS_CASES`).

    Raises
    ------
    ValueError
        For an unknown name.
    """
    found = _known(name, KERAS_CASES, "Keras")
    return make_keras_run(found.spec, found.seed if seed is None else seed)


def keras_final_losses(name: str, seeds: Any = range(5)) -> NDArray[np.float64]:
    """Train one of the registry's Keras runs at each seed, the doctor watching; return its last losses.

    Returns
    -------
    ndarray of shape (n_seeds, 2)
        Final training and validation loss per seed (NaN where the run diverged).
    """
    from companion import seed_everything

    out = []
    for seed in seeds:
        seed_everything(seed)
        history, _ = keras_case(name, seed).watch()
        out.append((history["loss"][-1], history["val_loss"][-1]))
    return np.asarray(out, dtype=np.float64)


def keras_trial(name: str, seeds: Any = range(5), stop_on_nan: bool = True, **changes: Any) -> dict[str, Any]:
    """Train one of the registry's Keras runs at each seed, the doctor watching; keep what it saw.

    Parameters
    ----------
    name : str
        A case of :data:`KERAS_CASES`.
    seeds : iterable of int, default=range(5)
        Each seed draws new data and new initial weights.
    stop_on_nan : bool, default=True
        Stop a run at its first NaN or infinite batch loss, as Keras'
        ``TerminateOnNaN`` does (its final losses are then NaN): a run that
        diverged does not come back, and stopping saves the time.
    **changes
        Settings that replace the case's own (see :func:`make_keras_run`),
        such as ``rate=0.05``.

    Returns
    -------
    dict
        Arrays over seeds: ``train`` and ``val`` (final training and
        validation loss; NaN where the run diverged), ``fall`` (relative
        fall of the training loss over the last three epochs, the window of
        the doctor's ``STUCK_PROGRESS``), ``dead`` (the largest fraction of
        a hidden ReLU layer's units that are 0 on every row of the doctor's
        sample, at the end; NaN where it could not be measured); and
        ``found`` (the doctor's causes, one list per seed).
    """
    from companion import seed_everything

    spec = {**_known(name, KERAS_CASES, "Keras").spec, **changes}
    train, val, fall, dead, found = [], [], [], [], []
    for seed in seeds:
        seed_everything(seed)
        run = make_keras_run(spec, seed)
        from companion.diagnose._doctor import LossDoctor

        doctor = LossDoctor(run.X_train, run.y_train, sample_weight=run.sample_weight, verbose=0)
        watch = nan_watch()
        with np.errstate(all="ignore"):
            history = run.run([doctor, watch] if stop_on_nan else [doctor])
            losses = np.asarray(history["loss"], dtype=np.float64)
            stopped = bool(watch.fired)
            train.append(np.nan if stopped else losses[-1])
            val.append(np.nan if stopped or not history.get("val_loss") else history["val_loss"][-1])
            fall.append((losses[-4] - losses[-1]) / abs(losses[-1]) if len(losses) >= 4 else np.nan)
            measured = doctor._dead_fraction()
        dead.append(np.nan if measured is None else measured)
        found.append([f.cause for f in doctor.findings])
    return {"train": np.asarray(train, dtype=np.float64), "val": np.asarray(val, dtype=np.float64),
            "fall": np.asarray(fall, dtype=np.float64), "dead": np.asarray(dead, dtype=np.float64),
            "found": found}


def nan_watch() -> Any:
    """Keras' ``TerminateOnNaN`` rule as a callback that remembers whether it fired (attribute ``fired``).

    It stops training at the first NaN or infinite batch loss, like
    ``TerminateOnNaN``, without its printed message.
    """
    from companion import _keras

    class NaNWatch(_keras.keras().callbacks.Callback):  # type: ignore[misc]
        fired = False

        def on_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
            loss = (logs or {}).get("loss")
            if loss is not None and not np.isfinite(float(loss)):
                self.fired = True
                self.model.stop_training = True

    return NaNWatch()
