"""The book's failures (and healthy twins), rebuilt from the registry to test a diagnostic tool on.

Defined in :doc:`/book/doctor`. Each :class:`~companion.diagnose._registry.Case`
of :data:`companion.diagnose.REGISTRY` is a seeded specification; the builders
here turn it into a run: :func:`ranking_case` (a Keras run), :func:`rbm_case`
(a fitted RBM) and :func:`data_case` (learning-to-rank rows). Chapters call them
to reproduce their runs, so that the chapter and the doctor's test run the same
thing (``tests/test_cases.py`` checks that each chapter does).

A case's settings are a frozen dataclass of its family
(:class:`~companion.diagnose._registry.RankingSpec`, ``KerasSpec``,
``RBMSpec``, ``DataSpec``), each setting's default in that class; a chapter
varies one with :func:`dataclasses.replace` on :func:`case_spec`. The
builders also take a mapping of the settings (the doctor's out-of-sample
scenarios), converted by the spec's ``of``: a misspelt key is a ``TypeError``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.preprocessing import StandardScaler

from companion.book._fit import build_before_fit
from companion.diagnose._registry import Case, DataSpec, KerasSpec, RankingSpec, RBMSpec, Spec
from companion.diagnose._registry import case as _case
from companion.diagnose._registry import cases_of

__all__ = [
    "RankingCase", "KerasCase", "ranking_case", "rbm_case", "data_case", "keras_case",
    "make_ranking_run", "make_keras_run", "keras_final_losses", "keras_trial", "fit_rbm",
    "RANKING_CASES", "RBM_CASES", "DATA_CASES", "KERAS_CASES", "nan_watch", "case_spec", "query_split"
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


def case_spec(name: str) -> Spec:
    """The settings of the registry's case `name` (a :class:`RankingSpec`, :class:`RBMSpec`, ...).

    A chapter that varies its case builds from it, as in
    ``fit_rbm(replace(case_spec("learning rate 1.0"), learning_rate=0.3))``.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    return _case(name).spec


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
    spec : RankingSpec
        The settings it was built from.
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
    spec: RankingSpec = RankingSpec()

    def lists(self) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
        """``(X_train, y_train, X_val, y_val)``: the data of :func:`train_scorer`."""
        return self.X_train, self.y_train, self.X_val, self.y_val

    def trial(self, seed: int, **changes: Any) -> dict[str, Any]:
        """Train the case's scorer once with :func:`train_scorer` (one arm of a trial over seeds).

        The case's data and settings (scorer, Adam's rate, epochs, batch
        size, loss), seeded with `seed`; `changes` are passed on to
        ``train_scorer`` and replace the case's (``epochs=5``,
        ``output_initializer="zeros"``, ``track_ndcg=True``, ...).

        Raises
        ------
        ValueError
            If the case does not train lists with Adam (``train_scorer``'s
            optimiser).
        """
        from companion.book._ranking import train_scorer

        if self.spec.optimizer != "adam" or self.spec.rows:
            raise ValueError("train_scorer trains lists with Adam; this case uses "
                             f"{self.spec.optimizer!r}{' on rows' if self.spec.rows else ''}: use run().")
        settings: dict[str, Any] = {
            "loss": self.loss, "epochs": self.epochs, "learning_rate": self.spec.rate,
            "batch_size": self.batch_size, "hidden": self.spec.hidden, "activation": self.spec.activation,
            "output_activation": self.spec.output_activation}
        return train_scorer(self.lists(), seed=seed, **{**settings, **changes})

    def doctor_sample(self, n: int = 64) -> tuple[NDArray[Any], NDArray[Any]]:
        """The lists a doctor should watch: :attr:`sample`, or the first `n` training lists."""
        return self.sample if self.sample is not None else (self.X_train[:n], self.y_train[:n])

    def run(self, callbacks: Optional[list[Any]] = None) -> dict[str, list[float]]:
        """Train a fresh model with `callbacks`; return the Keras history."""
        return self.fit(self.build(), callbacks)

    def fit(self, model: Any, callbacks: Optional[list[Any]] = None) -> dict[str, list[float]]:
        """Train `model` (from :attr:`build`) as the case trains, with `callbacks`; return the Keras history.

        For a chapter that looks at the model itself (its weights before and
        after, its gradients); :meth:`run` builds a fresh one.
        """
        build_before_fit(model, self.X_train)
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


def make_ranking_run(spec: "Spec | Mapping[str, Any]", seed: int = 0) -> RankingCase:
    """Build a ranking run from a specification (the settings of a registry case).

    Parameters
    ----------
    spec : RankingSpec or mapping
        The run's settings (a mapping of them is converted with
        :meth:`RankingSpec.of`: a misspelt key is a ``TypeError``).
    seed : int, default=0
        Seed of the data; the model's initialisation follows TensorFlow's
        global seed (:func:`companion.seed_everything`).

    Returns
    -------
    RankingCase
        The first two thirds of the queries train, the next sixth validates
        (of 300 queries: 0-199 and 200-249; :func:`query_split`).
    """
    from companion import _keras
    from companion.ranking import group_lists, make_ranking_data, make_scorer

    spec = RankingSpec.of(spec)
    data = make_ranking_data(**spec.data.kwargs(), random_state=seed)
    train, val, _ = query_split(data.qid, spec.data.n_queries)
    X = data.X if spec.columns is None else data.X[:, list(spec.columns)]
    if spec.standardise:
        X = StandardScaler().fit(X[train]).transform(X)

    def lists(mask: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # truncation to `pad` is on purpose
            return group_lists(X[mask], data.y[mask], qid=data.qid[mask], list_size=spec.pad)

    (X_tr, y_tr), (X_va, y_va) = lists(train), lists(val)
    sample = (X_tr[:64], y_tr[:64]) if spec.sample == "lists" else None
    if spec.rows:
        X_tr, y_tr = X[train].astype(np.float32), data.y[train][:, None].astype(np.float32)
        X_va, y_va = X[val].astype(np.float32), data.y[val][:, None].astype(np.float32)
    loss = _loss(spec.loss)

    def build() -> Any:
        model = make_scorer(hidden=spec.hidden, activation=spec.activation,
                            output_activation=spec.output_activation)
        optimizers = _keras.keras().optimizers
        optimizer = optimizers.SGD if spec.optimizer == "sgd" else optimizers.Adam
        model.compile(optimizer=optimizer(spec.rate), loss=loss)
        return model

    return RankingCase(X_tr, y_tr, X_va, y_va, build, loss, epochs=spec.epochs, batch_size=spec.batch_size,
                       sample=sample, spec=spec)


def query_split(qid: ArrayLike, n_queries: int = 300) -> tuple[NDArray[np.bool_], NDArray[np.bool_],
                                                                 NDArray[np.bool_]]:
    """The ranking chapters' split of `n_queries` queries by id: two thirds, a sixth, a sixth.

    Of 300 queries: ids 0-199 train, 200-249 validate, 250-299 test
    (:func:`split_by_query` groups the same split into lists).

    Parameters
    ----------
    qid : array-like of shape (n_rows,)
        Query id of each row (0 to ``n_queries - 1``).
    n_queries : int, default=300

    Returns
    -------
    (train, val, test) : boolean masks of shape (n_rows,)

    Examples
    --------
    >>> [int(m.sum()) for m in query_split(np.arange(300))]
    [200, 50, 50]
    """
    from companion.book._ranking import split_bounds

    q = np.asarray(qid)
    train_below, val_below = split_bounds(n_queries)
    return q < train_below, (q >= train_below) & (q < val_below), q >= val_below


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
    found = _known(name, RANKING_CASES, "ranking")
    return make_ranking_run(found.spec, found.seed if seed is None else seed)


def fit_rbm(spec: "Spec | Mapping[str, Any]", seed: int = 0, *,
            split_seed: Optional[int] = None) -> tuple[Any, NDArray[Any]]:
    """Fit an RBM from a specification (the settings of a registry case).

    Parameters
    ----------
    spec : RBMSpec or mapping
        The run's settings (a mapping of them is converted with
        :meth:`RBMSpec.of`: a misspelt key is a ``TypeError``).
    seed : int, default=0
        ``random_state`` of the RBM.
    split_seed : int, optional
        ``random_state`` of the train/test split (:func:`companion.rbm.load_split`);
        default `seed`. A chapter that varies only the RBM's seed over one
        split sets it.

    Returns
    -------
    (model, X_train)
    """
    from sklearn.neural_network import BernoulliRBM

    from companion.rbm import RBM, load_split
    from companion.rbm._estimator import DataRangeWarning

    spec = RBMSpec.of(spec)
    scaling, n_components, rate, n_iter = spec.settings()
    X = load_split(spec.dataset, scaling=scaling, random_state=seed if split_seed is None else split_seed)[0]
    if spec.binary_rows is not None:
        X = (X[: spec.binary_rows] > 0.5).astype(np.float64)
    with np.errstate(over="ignore"), warnings.catch_warnings():
        # Failing cases are failures on purpose: RBM's own warning about unscaled
        # data is expected, and the doctor must find the cause too.
        warnings.simplefilter("ignore", DataRangeWarning)
        if spec.sklearn:
            model: Any = BernoulliRBM(n_components=n_components, learning_rate=rate, batch_size=spec.batch_size,
                                      n_iter=n_iter, random_state=seed).fit(X)
        else:
            model = RBM(n_components=n_components, visible=spec.visible, learning_rate=rate, n_iter=n_iter,
                        batch_size=spec.batch_size, validation_fraction=spec.validation_fraction,
                        dtype="float64", random_state=seed).fit(X)
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
    found = _known(name, RBM_CASES, "RBM")
    return fit_rbm(found.spec, found.seed if seed is None else seed)


def data_case(name: str, seed: Optional[int] = None) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Rows ``(X, y, qid)`` of one of the registry's data cases (see :data:`DATA_CASES`).

    Built from the case's :class:`DataSpec`: the generator's settings, and
    the query ids (``"row"``: one per row, the grouping bug).

    Raises
    ------
    ValueError
        For an unknown name.
    """
    from companion.ranking import make_ranking_data

    found = _known(name, DATA_CASES, "data")
    spec = DataSpec.of(found.spec)
    data = make_ranking_data(**spec.data.kwargs(), random_state=found.seed if seed is None else seed)
    qid = np.arange(len(data.y)) if spec.qid == "row" else data.qid
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
        model = build_before_fit(self.build(), self.X_train)
        history: dict[str, list[float]] = model.fit(
            self.X_train, self.y_train, sample_weight=self.sample_weight, validation_data=(self.X_val, self.y_val),
            epochs=self.epochs, batch_size=self.batch_size, verbose=0, callbacks=callbacks or []).history
        return history


def make_keras_run(spec: "Spec | Mapping[str, Any]", seed: int = 0) -> KerasCase:
    """Build a small pointwise Keras run from a specification (the settings of a registry case).

    The data: 600 training and 200 validation rows of 8 standard normal
    features; a binary label from a noisy linear rule (``task="binary"``),
    or a regression target ``50 + 10 * (linear rule + noise)`` clipped to
    [0, 100] (``task="regression"``).

    Parameters
    ----------
    spec : KerasSpec or mapping
        The run's settings (a mapping of them is converted with
        :meth:`KerasSpec.of`: a misspelt key is a ``TypeError``).
    seed : int, default=0
        Seed of the data; the model's initialisation follows TensorFlow's
        global seed (:func:`companion.seed_everything`).

    Returns
    -------
    KerasCase
    """
    spec = KerasSpec.of(spec)
    X, y, inputs = _keras_data(spec, seed)
    train, val = slice(0, 600), slice(600, len(y))

    def part(rows: slice) -> Any:
        return [a[rows] for a in inputs] if isinstance(inputs, list) else inputs[rows]

    weights = None if spec.sample_weight is None else np.full(600, spec.sample_weight, dtype=np.float32)
    return KerasCase(part(train), y[train], part(val), y[val], lambda: _keras_model(spec, X, inputs, train),
                     epochs=spec.epochs, sample_weight=weights)


def _keras_data(spec: KerasSpec, seed: int) -> tuple[NDArray[Any], NDArray[Any], Any]:
    """The features (float32), the targets and the model's inputs (the features, or [floats, integers])."""
    rng = np.random.default_rng(seed)
    n, n_features = 800, 8
    Z = rng.normal(size=(n, n_features))
    signal = Z @ rng.normal(size=n_features) / np.sqrt(n_features) + 0.3 * rng.normal(size=n)
    if spec.task == "binary":
        y = (signal > 0).astype(np.float32)
    else:
        y = np.clip(50.0 + 10.0 * signal, 0.0, 100.0).astype(np.float32)
    X: NDArray[Any] = Z * np.asarray(spec.scales, dtype=np.float64)
    if spec.inputs == "zeros":
        X = np.zeros_like(X)
    integer = list(spec.integer_columns)
    if integer:
        X[:, integer] = np.abs(np.round(X[:, integer]))
    X = X.astype(np.float32)
    inputs: Any = X
    if integer:  # counts arrive as integers, in an input of their own
        rest = [j for j in range(n_features) if j not in integer]
        inputs = [X[:, rest], X[:, integer].astype(np.int64)]
    return X, y, inputs


def _keras_model(spec: KerasSpec, X: NDArray[Any], inputs: Any, train: slice) -> Any:
    """A fresh, compiled model for the run of `spec` (its inputs: `inputs`; `train`: rows to adapt to)."""
    from companion import _keras

    keras = _keras.keras()
    if isinstance(inputs, list):
        parts = [keras.Input((a.shape[1],), dtype="float32" if a.dtype == np.float32 else "int64")
                 for a in inputs]
        x = keras.layers.Concatenate()([parts[0], keras.layers.Lambda(_as_float32)(parts[1])])
        model_inputs: Any = parts
    else:
        parts = [keras.Input((X.shape[1],))]
        x, model_inputs = parts[0], parts[0]
    if spec.normalise:
        norm = keras.layers.Normalization()
        n_train = train.stop - (train.start or 0)
        norm.adapt(np.concatenate([a[train].reshape(n_train, -1).astype(np.float32) for a in inputs], axis=1)
                   if isinstance(inputs, list) else X[train])
        x = norm(x)
    for units in spec.hidden:
        x = keras.layers.Dense(units, activation="relu")(x)
    output_activation, loss = spec.head()
    out = keras.layers.Dense(1, activation=output_activation)(x)
    model = keras.Model(model_inputs, out)
    optimizer = keras.optimizers.SGD if spec.optimizer == "sgd" else keras.optimizers.Adam
    model.compile(optimizer=optimizer(spec.rate), loss=loss)
    return model


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
        Settings that replace the case's own (fields of :class:`KerasSpec`),
        such as ``rate=0.05``; a misspelt one is a ``TypeError``.

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

    spec = replace(KerasSpec.of(_known(name, KERAS_CASES, "Keras").spec), **changes)
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
