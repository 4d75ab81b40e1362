"""LossDoctor: a Keras callback that names what is wrong with a training run.

Defined in :doc:`/book/doctor` (ranking) and :doc:`/book/generic_failures`
(any Keras model).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, Optional, TextIO

import numpy as np
from numpy.typing import NDArray

from companion import _keras
from companion.diagnose._findings import DiagnosisWarning, Finding, TrainingFailure
from companion.diagnose._probe import _Forward
from companion.diagnose._registry import (
    _CROSS_ENTROPY,
    _REGRESSION,
    DIVERGE_RISE,
    OVERFLOW_WARN_GAP,
    PATIENCE,
    SEPARATION_GAP,
    SPREAD_TOLERANCE,
    UNIFORM_TOLERANCE,
    Epoch,
    Start,
    failures_of,
)
from companion.diagnose._static import diagnose_inputs, diagnose_ranking_data, run_detectors
from companion.ranking import chance_level, loss_floor
from companion.ranking._lists import valid_mask, within_list_gaps, within_list_spread

__all__ = ["LossDoctor", "UNIFORM_TOLERANCE", "SPREAD_TOLERANCE", "SEPARATION_GAP", "OVERFLOW_WARN_GAP",
           "PATIENCE", "DIVERGE_RISE", "lists_sample"]

#: Lists the doctor takes from a ``tf.data.Dataset`` when given one.
SAMPLE_LISTS = 64
#: Rows a doctor watching a pointwise model keeps (a seeded random subset of a
#: larger sample), so that one forward pass per epoch stays cheap.
SAMPLE_ROWS = 512
#: Models with more weights than this are not copied every epoch: no update/weight ratio.
MAX_TRACKED_WEIGHTS = 5_000_000


# --------------------------------------------------------------- the sample


def _dense(value: Any, pad: float) -> NDArray[Any]:
    """A NumPy array from an array, a tensor, a ragged tensor or a list of unequal lists."""
    if hasattr(value, "to_tensor"):  # tf.RaggedTensor
        return np.asarray(value.to_tensor(default_value=pad).numpy())
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    if isinstance(value, (list, tuple)) and value and not np.isscalar(value[0]):
        rows = [np.asarray(v) for v in value]
        if len({r.shape for r in rows}) > 1:  # lists of different sizes: pad them
            width = max(len(r) for r in rows)
            out = np.full((len(rows), width, *rows[0].shape[1:]), pad, dtype=np.result_type(*rows))
            for i, r in enumerate(rows):
                out[i, : len(r)] = r
            return out
    return np.asarray(value)


def _pad_to(a: NDArray[Any], width: int, pad: float) -> NDArray[Any]:
    if a.ndim < 2 or a.shape[1] == width:
        return a
    widths = [(0, 0)] * a.ndim
    widths[1] = (0, width - a.shape[1])
    return np.pad(a, widths, constant_values=pad)


def _concat(parts: list[Any], pad: float) -> Any:
    """Batches joined along the first axis, padded to the widest list (dicts key by key)."""
    if isinstance(parts[0], dict):
        return {key: _concat([p[key] for p in parts], pad) for key in parts[0]}
    if isinstance(parts[0], (list, tuple)):  # a model with several inputs
        return [_concat([p[i] for p in parts], pad) for i in range(len(parts[0]))]
    arrays = [_dense(p, pad) for p in parts]
    width = max(a.shape[1] if a.ndim >= 2 else 0 for a in arrays)
    return np.concatenate([_pad_to(a, width, pad) for a in arrays])


def _from_dataset(dataset: Any, n_lists: int) -> tuple[Any, NDArray[Any], Optional[NDArray[Any]]]:
    xs: list[Any] = []
    ys: list[NDArray[Any]] = []
    ws: list[NDArray[Any]] = []
    count = 0
    for element in dataset:
        if not isinstance(element, (tuple, list)) or len(element) < 2:
            raise ValueError("the dataset must yield (features, labels) or (features, labels, weights).")
        # Each element is one batch, as Keras' fit reads it: labels of shape
        # (batch,) are one row per example (for a ranking model: one document).
        x, y = element[0], _dense(element[1], -1.0)
        if isinstance(x, dict):
            xs.append(x)
        elif isinstance(x, (tuple, list)):
            xs.append([_dense(v, 0.0) for v in x])
        else:
            xs.append(_dense(x, 0.0))
        ys.append(y)
        if len(element) >= 3 and element[2] is not None:
            ws.append(_dense(element[2], 0.0))
        count += len(y)
        if count >= n_lists:
            break
    if not ys:
        raise ValueError("the dataset is empty: the doctor needs at least one batch of lists.")
    X, Y = _concat(xs, 0.0), _concat(ys, -1.0)
    W = np.concatenate([w.reshape(len(w), -1) for w in ws])[:n_lists] if len(ws) == len(ys) else None
    return _take(X, n_lists), Y[:n_lists], W


def _take(x: Any, n: Any) -> Any:
    if isinstance(x, dict):
        return {k: v[n] if isinstance(n, np.ndarray) else v[:n] for k, v in x.items()}
    if isinstance(x, list):
        return [_take(v, n) for v in x]
    return x[n] if isinstance(n, np.ndarray) else x[:n]


def _n_rows(x: Any) -> int:
    if isinstance(x, dict):
        return len(next(iter(x.values())))
    if isinstance(x, list):
        return len(x[0])
    return len(x)


def _several_inputs(x: Any, n: int) -> bool:
    """Whether `x` is a list of a multi-input model's inputs (each with `n` rows), not a list of lists."""
    if not isinstance(x, (list, tuple)) or len(x) < 1 or len(x) == n:
        return False
    try:
        return all(not np.isscalar(part) and len(part) == n for part in x)
    except TypeError:
        return False


def _sample(*data: Any, n_lists: int = SAMPLE_LISTS) -> tuple[Any, NDArray[Any], Optional[NDArray[Any]]]:
    """``(X, y, weights)`` as given (X an array, a dict or a list of inputs; y dense, any shape)."""
    if len(data) == 1 and isinstance(data[0], tuple) and len(data[0]) in (2, 3):
        data = data[0]  # one (X, y) pair, as validation_data is given to fit
    weights: Optional[NDArray[Any]] = None
    if len(data) == 1:
        X, y, weights = _from_dataset(data[0], n_lists)
    elif len(data) in (2, 3):
        y = _dense(data[1], -1.0)
        if isinstance(data[0], dict):
            X = {k: v if hasattr(v, "to_tensor") else _dense(v, 0.0) for k, v in data[0].items()}
        elif _several_inputs(data[0], len(y)):
            X = [_dense(v, 0.0) for v in data[0]]
        else:
            X = _dense(data[0], 0.0)
        if len(data) == 3 and data[2] is not None:
            weights = _dense(data[2], 0.0)
    else:
        raise ValueError("pass the sample as (X, y), (X, y, sample_weight) or as one tf.data.Dataset.")
    if _n_rows(X) != len(y):
        shape = ({k: tuple(np.shape(v)) for k, v in X.items()} if isinstance(X, dict) else
                 [tuple(np.shape(v)) for v in X] if isinstance(X, list) else np.shape(X))
        raise ValueError(
            f"y_sample must be (n_lists, list_size) with one row per list of X_sample; got {np.shape(y)} for "
            f"X_sample {shape}."
        )
    if weights is not None and len(weights) != len(y):
        raise ValueError(f"sample_weight must have one entry per row of y; got {len(weights)} for {len(y)} rows.")
    return X, y, weights


def lists_sample(*data: Any, n_lists: int = SAMPLE_LISTS) -> tuple[Any, NDArray[np.float32]]:
    """The doctor's sample from what Keras' ``fit`` accepts.

    Parameters
    ----------
    *data
        ``(X, y)`` (arrays, tensors, ragged tensors, lists of unequal lists,
        or a dict of features for ``X``), or one ``tf.data.Dataset`` yielding
        ``(X, y)`` batches (or single lists).
    n_lists : int, default=64
        Lists taken from a dataset.

    Returns
    -------
    (model_input, y)
        What the model is called with (a ragged tensor, or a list of unequal
        lists, becomes a padded array; a dict stays a dict) and the labels as
        ``(n_lists, list_size)`` float32, padding marked ``-1``.
    """
    X, y, _ = _sample(*data, n_lists=n_lists)
    return _as_lists(X, y)


def _as_lists(X: Any, y: NDArray[Any]) -> tuple[Any, NDArray[np.float32]]:
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"y_sample must be (n_lists, list_size) with one row per list of X_sample; got {y.shape}.")
    if isinstance(X, np.ndarray) and np.issubdtype(X.dtype, np.floating):
        X = np.asarray(X, dtype=np.float32)
    return X, y


def _numeric(a: NDArray[Any], ids: bool) -> bool:
    """Whether an input is numbers to check for scale (integers too: counts; not ids read by an Embedding)."""
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.number):
        return False
    return not (ids and np.issubdtype(a.dtype, np.integer))


def _parts(X: Any) -> list[Any]:
    return list(X.values()) if isinstance(X, dict) else list(X) if isinstance(X, list) else [X]


def _features(X: Any, y: NDArray[Any], ids: bool = False) -> Optional[NDArray[np.float64]]:
    """The numeric features as (n_lists, list_size, n_features), for the data check; None if none."""
    columns = []
    for part in _parts(X):
        a = _dense(part, 0.0)
        if not _numeric(a, ids) or a.shape[:2] != y.shape:
            continue  # ids, per-query features, anything not one row per item
        columns.append(a.reshape(*y.shape, -1).astype(np.float64))
    return np.concatenate(columns, axis=-1) if columns else None


def _row_features(X: Any, ids: bool = False) -> Optional[NDArray[np.float64]]:
    """The numeric inputs as (n_rows, n_columns), every input flattened; None if none."""
    columns = []
    for part in _parts(X):
        a = _dense(part, 0.0)
        if _numeric(a, ids) and a.ndim >= 1:
            columns.append(a.reshape(len(a), -1).astype(np.float64))
    return np.concatenate(columns, axis=-1) if columns else None


def _loss_family(loss: Any) -> str:
    """``"listmle-exact"``, ``"listmle-tfr"``, ``"list"`` (another list loss) or ``"pointwise"``."""
    module, name = type(loss).__module__, type(loss).__name__
    if module.startswith("companion."):
        return "listmle-exact"
    if module.startswith("tensorflow_ranking"):
        return "listmle-tfr" if name == "ListMLELoss" else "list"
    if module.startswith("keras_rs"):
        return "list"
    return "pointwise"


_LOSS_NAMES = {
    "bce": "binary_crossentropy", "binarycrossentropy": "binary_crossentropy",
    "categoricalcrossentropy": "categorical_crossentropy",
    "sparsecategoricalcrossentropy": "sparse_categorical_crossentropy",
    "mse": "mean_squared_error", "meansquarederror": "mean_squared_error",
    "mae": "mean_absolute_error", "meanabsoluteerror": "mean_absolute_error",
    "huber": "huber", "huberloss": "huber", "logcosh": "log_cosh",
}


def _loss_name(loss: Any) -> tuple[Optional[str], bool]:
    """A Keras loss's canonical name (None: not one the doctor knows) and its ``from_logits``."""
    if isinstance(loss, str):
        key = loss
    elif hasattr(loss, "__name__"):  # a loss function
        key = str(loss.__name__)
    else:
        key = type(loss).__name__
    from_logits = getattr(loss, "from_logits", None)
    if from_logits is None:
        from_logits = dict(getattr(loss, "_fn_kwargs", None) or {}).get("from_logits", False)
    return _LOSS_NAMES.get(key.lower().replace("_", "")), bool(from_logits)


def _chance_loss(name: Optional[str], y: NDArray[Any], units: int) -> Optional[tuple[float, str]]:
    """The loss of the best constant prediction on the sample, and what it is."""
    y = np.asarray(y, dtype=np.float64)
    if name is None or y.size == 0 or not np.isfinite(y).all():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "binary_crossentropy":
            if y.min() < 0 or y.max() > 1:
                return None
            p = y.reshape(len(y), -1).mean(axis=0)
            h = -(np.where(p > 0, p * np.log(p), 0.0) + np.where(p < 1, (1 - p) * np.log(1 - p), 0.0))
            return float(h.mean()), "binary label entropy (ln 2 = 0.693 when balanced)"
        if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
            if name == "sparse_categorical_crossentropy":
                labels = y.reshape(-1).astype(np.int64)
                if labels.min() < 0:
                    return None
                freq = np.bincount(labels, minlength=max(units, 1)) / len(labels)
            else:
                freq = y.reshape(-1, y.shape[-1]).mean(axis=0)
            h = -float(np.sum(np.where(freq > 0, freq * np.log(freq), 0.0)))
            return h, f"class entropy (ln {len(freq)} = {np.log(len(freq)):.3g} when balanced)"
    if name == "mean_squared_error":
        return float(y.reshape(len(y), -1).var(axis=0).mean()), "target variance"
    if name == "mean_absolute_error":
        flat = y.reshape(len(y), -1)
        return float(np.abs(flat - np.median(flat, axis=0)).mean()), "mean distance to the median target"
    return None


def _activation_name(layer: Any) -> Optional[str]:
    kind = type(layer).__name__
    if kind in ("Softmax", "ReLU"):
        return kind.lower()
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) if activation is not None else None


def _layers(model: Any) -> list[Any]:
    """Every layer, nested models unrolled, in order."""
    out: list[Any] = []
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "layers") and layer is not model:
            out.extend(_layers(layer))
        else:
            out.append(layer)
    return out


_NORMALISING = ("Normalization", "BatchNormalization", "LayerNormalization", "Rescaling", "UnitNormalization",
                "GroupNormalization")


def _normalises_inputs(model: Any) -> bool:
    """Whether the model scales its own inputs: a normalising layer before the first layer with weights."""
    for layer in _layers(model):
        kind = type(layer).__name__
        if kind in _NORMALISING:
            if kind == "Normalization":
                if getattr(layer, "input_mean", None) is not None:
                    return True
                if hasattr(layer, "is_adapted"):  # tf.keras 2
                    return bool(layer.is_adapted)
                return getattr(layer, "mean", None) is not None  # Keras 3: set by adapt (finalize_state)
            return True
        if kind != "InputLayer" and getattr(layer, "weights", None):
            return False
    return False


def _reads_ids(model: Any) -> bool:
    return any(type(layer).__name__ in ("Embedding", "IntegerLookup", "CategoryEncoding", "Hashing")
               for layer in _layers(model))


def _rate(model: Any) -> Optional[float]:
    optimizer: Any = getattr(model, "optimizer", None)
    rate = getattr(optimizer, "learning_rate", None)
    if optimizer is None or rate is None:
        return None
    try:
        if callable(rate) and not hasattr(rate, "numpy") and not hasattr(rate, "value"):
            rate = rate(optimizer.iterations)
        if hasattr(rate, "numpy"):  # a variable or an eager tensor: the cheap read
            return float(np.asarray(rate.numpy()))
        return float(np.asarray(_keras.to_numpy(rate) if _keras.keras_major() >= 3 else np.asarray(rate)))
    except Exception:  # noqa: BLE001 - a schedule or optimiser the doctor cannot read
        return None


def _wrap(text: str, indent: str) -> str:
    """Lines of at most 76 characters (the book's column), continued with an indent."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width=76, initial_indent=indent, subsequent_indent=indent + "    ",
                                    break_long_words=False, break_on_hyphens=False))


# tf.keras 2 (the book) or Keras 3, whichever is in use (see companion._keras).
_Callback: Any = _keras.keras().callbacks.Callback


class LossDoctor(_Callback):  # type: ignore[misc]
    """Watch a Keras model train, and name the cause when it fails.

    A Keras callback on tf.keras 2 and on Keras 3 (TensorFlow or JAX backend).
    When training starts it recognises what it watches, from the model's
    loss (``model.loss``):

    - a **listwise ranking model** (companion's or tensorflow-ranking's
      losses): the ranking causes of Part I apply (lists of one item, uniform
      scores, tensorflow-ranking's ListMLE underflow, ...);
    - **any other Keras model** (a classifier, a regressor): the causes that
      happen in every model apply (unscaled inputs, an output activation that
      cannot serve the loss, a learning rate too high, a dead layer, a loss
      stuck at chance), and no ranking cause is ever reported. It says so once
      when training starts (a note, not a finding).

    It is a loop over the detectors that :data:`companion.diagnose.REGISTRY`
    lists for that scope. Before the first epoch it checks the sample (shapes,
    input scales, sample weights, the output activation) and at the end of
    every epoch it builds one observation (the logged loss, one forward pass
    on the sample, the learning rate and the weights' change) and runs the
    epoch detectors on it. Findings collect in :attr:`findings`, one per
    cause, with the evidence of the epoch where the cause first appeared;
    with ``verbose=1`` each is printed once when found, and a summary when
    training ends.

    Parameters
    ----------
    *sample
        A sample of the training data, as Keras' ``fit`` takes it: ``X, y``
        or ``X, y, sample_weight`` (arrays or tensors; a dict of features or
        a list of inputs for a model with several; for ranking, ragged
        tensors or lists of unequal lists, padded here with label -1), or
        one ``tf.data.Dataset`` of ``(X, y)`` or ``(X, y, weights)`` batches,
        from which the doctor takes 64 lists (or rows). Each dataset element
        is one batch, as ``fit`` reads it.
    loss : keras loss, optional
        Overrides ``model.loss``.
    validation : (X, y) or tf.data.Dataset, optional
        Validation lists; with them ``perfect-separation`` requires the
        separation to hold on validation lists too.
    stop_on_error : bool, default=False
        On a fatal finding, stop training and raise :class:`TrainingFailure`.
    check_data : bool, default=True
        Check the sample before the first epoch (:func:`diagnose_ranking_data`
        for ranking, :func:`diagnose_inputs` for any other model).
    sample_weight : array-like, optional
        The sample weights given to ``fit``, if any (the doctor cannot read
        them from ``fit``).
    verbose : int, default=1
        1: print each finding once when found, a note on the scope when
        training starts, and a summary when it ends; 0: silent.

    Attributes
    ----------
    findings : list of Finding
        What the doctor found; empty for a healthy run.
    loss : object
        The loss it judged by (set when training starts).
    scope : str
        ``"ranking"`` or ``"keras"`` (set when training starts).
    notes : list of str
        What the doctor said about its scope (not findings).

    Examples
    --------
    >>> import numpy as np
    >>> from companion.diagnose import LossDoctor
    >>> from companion.ranking import ListMLELoss, make_scorer
    >>> X, y = np.zeros((4, 1, 2)), np.zeros((4, 1))  # lists of one item
    >>> doctor = LossDoctor(X, y, verbose=0)
    >>> model = make_scorer(hidden=())
    >>> model.compile(loss=ListMLELoss())
    >>> _ = model.fit(X, y, epochs=1, verbose=0, callbacks=[doctor])
    >>> [f.cause for f in doctor.findings]
    ['single-item-lists']
    """

    def __init__(
        self,
        *sample: Any,
        loss: Any = None,
        validation: Any = None,
        stop_on_error: bool = False,
        check_data: bool = True,
        sample_weight: Any = None,
        verbose: int = 1,
        out: Optional[TextIO] = None,
    ) -> None:
        super().__init__()
        if sample and callable(sample[0]) and not hasattr(sample[0], "__len__"):
            raise TypeError(
                f"LossDoctor takes a sample of the training data first (X, y), not a loss; got "
                f"{type(sample[0]).__name__}. The doctor reads the loss from the model; to override it, "
                f"pass it by name: LossDoctor(X, y, loss=...)."
            )
        self._given_loss = loss
        self.loss = loss
        X, y, weights = _sample(*sample)
        if sample_weight is not None:
            weights = _dense(sample_weight, 0.0)
            if len(weights) != len(y):
                raise ValueError(f"sample_weight must have one entry per row of the sample; got {len(weights)} "
                                 f"for {len(y)} rows.")
        self._raw = (X, y)
        self._weights = weights
        try:
            self.X_sample, self.y_sample = _as_lists(X, y)
        except ValueError:  # labels of more than two axes: not lists; a pointwise model's
            self.X_sample, self.y_sample = X, np.asarray(y, dtype=np.float32).reshape(len(y), -1)
        if validation is None:
            self.validation = None
        elif isinstance(validation, (tuple, list)):
            self.validation = lists_sample(*validation[:2])
        else:
            self.validation = lists_sample(validation)
        self.stop_on_error = stop_on_error
        self.check_data = check_data
        self.verbose = verbose
        self._out = out
        self.findings: list[Finding] = []
        self.notes: list[str] = []
        self.scope = "ranking"
        self._family = "listmle-exact"
        self._losses: list[float] = []
        self._spreads: list[float] = []
        try:
            self._chance, self._floor = chance_level(self.y_sample), loss_floor(self.y_sample)
        except ValueError:  # labels that are no relevance grades (a pointwise model's): no ranking chance level
            self._chance, self._floor = float("nan"), float("nan")
        self._forward: Optional[_Forward] = None
        self._variables: Optional[list[Any]] = None
        self._last: Optional[tuple[list[Any], list[NDArray[Any]]]] = None  # JAX: (arrays, copy) at epoch end
        self._chance_loss: Optional[tuple[float, str]] = None
        self._before: Optional[list[NDArray[Any]]] = None
        self._previous_gap = 0.0
        self._epochs = 0
        self._inputs_vary = True

    # ---------------------------------------------------------------- helpers

    def _say(self, text: str) -> None:
        if self.verbose:
            print(text, file=self._out if self._out is not None else sys.stdout)

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            self._say(_wrap(f"LossDoctor: {text}", ""))

    def _report(self, new: list[Finding]) -> None:
        for finding in new:
            self.findings.append(finding)
            kind = "FATAL" if finding.fatal else "warning"
            self._say("\n".join([
                _wrap(f"LossDoctor: {kind} {finding.cause}: {finding._evidence_text()}", ""),
                _wrap(f"fix: {finding.fix}", "  "), f"  see: {finding.see}"]))
            if finding.fatal and self.stop_on_error:
                if self.model is not None:
                    self.model.stop_training = True
                raise TrainingFailure(finding)

    def _scores(self, X: Any, raw: Any = None) -> NDArray[Any]:
        """The model's outputs on `X` (float64; for ranking, one score per item); `raw`: already computed."""
        if raw is None:
            if self._forward is None:
                self._forward = _Forward(self.model)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = self._forward(X)
        out = _dense(raw, 0.0).astype(np.float64)
        if self.scope != "ranking":
            return out
        return out[..., 0] if out.ndim == 3 and out.shape[-1] == 1 else out

    def _stopped(self) -> bool:
        return any(f.cause in ("single-item-lists", "zero-sample-weights") for f in self.findings)

    def _watched(self) -> Optional[list[Any]]:
        """The variables whose values the doctor copies; None (not built, or too many to copy)."""
        model = self.model
        if self._variables is None:
            if model is None or not getattr(model, "built", False):
                return None
            try:
                model.get_weights()  # raises ValueError when not built yet
            except ValueError:
                return None
            # The list, not the values: collecting it walks every layer, which
            # costs more than reading a small model's weights.
            variables = list(model.weights)
            if not variables:
                return None
            too_many = sum(int(np.prod(tuple(v.shape))) for v in variables) > MAX_TRACKED_WEIGHTS
            self._variables = [] if too_many else variables
        return self._variables or None  # [] : more weights than the doctor copies

    def _weights_now(self) -> Optional[list[NDArray[Any]]]:
        """A copy of the model's weights (as ``get_weights``), or None (not built, or too many to copy)."""
        variables = self._watched()
        if variables is None:
            return None
        if self._forward is not None:  # one traced call (TensorFlow)
            got = self._forward.snapshot(variables)
            if got is not None:
                return got
        if _keras.keras_major() >= 3:  # a copy: fit may donate a JAX array's buffer to the next step
            values = [v.value for v in variables]
            return [x.numpy() if hasattr(x, "numpy") else np.array(x) for x in values]
        return [v.numpy() for v in variables]

    def _unchanged(self) -> Optional[list[NDArray[Any]]]:
        """The copy taken at the end of the last epoch if no weight changed since (JAX); else None.

        A JAX array never changes: a variable that still holds the very array
        read then still has those values.
        """
        variables = self._watched()
        if self._last is None or variables is None or len(variables) != len(self._last[0]):
            return None
        return self._last[1] if all(v.value is seen for v, seen in zip(variables, self._last[0])) else None

    def _observe(self, X: Any) -> Optional[tuple[Any, list[NDArray[Any]], Optional[float]]]:
        """The model's outputs on `X`, a copy of its weights (and on JAX the rate), from one call; None: none."""
        variables = self._watched()
        if self._forward is None or variables is None:
            return None
        rate = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
        rate = rate if _keras.keras_major() >= 3 and isinstance(rate, _keras.keras().Variable) else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = self._forward.observe(X, variables, rate)
        if got is not None and _keras.backend() == "jax":
            self._last = ([v.value for v in variables], got[1])
        return got

    def _training(self, after: Optional[list[NDArray[Any]]] = None, rate: Optional[float] = None) -> dict[str, Any]:
        """Rate, largest weight and this epoch's update/weight ratio (None where not known).

        `after`, `rate`: the weights and the learning rate now, if already read (else read here).
        """
        after = self._weights_now() if after is None else after
        out: dict[str, Any] = {"rate": _rate(self.model) if rate is None else rate, "max_abs_weight": None, "update_ratio": None,
                               "previous_gap": self._previous_gap, "inputs_vary": self._inputs_vary}
        if after is not None:
            with np.errstate(invalid="ignore", over="ignore"):
                out["max_abs_weight"] = float(max(np.abs(w).max() if w.size else 0.0 for w in after))
                if self._before is not None and len(self._before) == len(after):
                    change = np.sqrt(sum(float(((a - b) ** 2).sum()) for a, b in zip(after, self._before)))
                    size = np.sqrt(sum(float((b**2).sum()) for b in self._before))
                    out["update_ratio"] = float(change / size) if size > 0 else None
        return out

    def _list_stats(self, scores: NDArray[Any]) -> tuple[NDArray[Any], float]:
        """Within-list gaps on the sample, and the mean within-list spread (0.0: none)."""
        gaps, spreads = within_list_gaps(self.y_sample, scores), within_list_spread(self.y_sample, scores)
        missing = np.isnan(spreads)
        if missing.all():
            return gaps, 0.0
        return gaps, float(np.nanmean(spreads) if missing.any() else spreads.mean())

    def _dead_fraction(self) -> Optional[float]:
        """The largest fraction of ReLU units that are 0 on every sample row, over the hidden layers."""
        X = self.X_sample if self.scope == "ranking" else self._raw[0]
        try:
            layers = list(getattr(self.model, "layers", []))
            keras = _keras.keras()
            if isinstance(self.model, keras.Sequential):
                outputs, x = [], X
                for layer in layers:
                    x = layer(x, training=False)
                    if _activation_name(layer) == "relu":
                        outputs.append(_dense(_keras.to_numpy(x) if _keras.keras_major() >= 3 else x, 0.0))
                outputs = outputs[:-1] if _activation_name(layers[-1]) == "relu" else outputs
            else:
                hidden = [layer for layer in layers[:-1] if _activation_name(layer) == "relu"]
                if not hidden:
                    return None
                probe = keras.Model(self.model.inputs, [layer.output for layer in hidden])
                got = probe(X, training=False)
                got = got if isinstance(got, (list, tuple)) else [got]
                outputs = [_dense(_keras.to_numpy(g) if _keras.keras_major() >= 3 else g, 0.0) for g in got]
        except Exception:  # noqa: BLE001 - a model whose layers cannot be probed: not judged
            return None
        fractions = [float((o.reshape(-1, o.shape[-1]) <= 0).all(axis=0).mean()) for o in outputs if o.ndim >= 2]
        return max(fractions) if fractions else None

    # -------------------------------------------------------------- callbacks

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        """Recognise the model; check the sample's shapes, scales and weights before any epoch."""
        self._forward, self._variables, self._last = None, None, None  # the model may be new
        self._losses, self._spreads = [], []
        self._before, self._previous_gap, self._epochs = None, 0.0, 0
        self._inputs_vary = True
        self.loss = self._given_loss if self._given_loss is not None else getattr(self.model, "loss", None)
        self._family = _loss_family(self.loss)
        self.scope = "ranking" if self._family != "pointwise" else "keras"
        ids = _reads_ids(self.model)
        normalises = _normalises_inputs(self.model)
        data: dict[str, dict[str, Any]] = {}
        info: dict[str, Any] = {"sample_weight_sum": None if self._weights is None else
                                float(np.abs(self._weights).sum())}
        if self.scope == "ranking":
            features = _features(self.X_sample, self.y_sample, ids)
            if self.check_data and features is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DiagnosisWarning)  # a small sample may not judge a leak
                    try:
                        data = {f.cause: dict(f.evidence) for f in diagnose_ranking_data(features, self.y_sample)}
                    except ValueError:
                        data = {}  # NaN in the features: the epoch checks will see its effect
            prediction_shape: Optional[tuple[int, ...]] = None
            if (valid_mask(self.y_sample).sum(axis=1) >= 2).any():
                prediction_shape = tuple(self._scores(self.X_sample).shape)
        else:
            X, y = self._raw
            if _n_rows(X) > SAMPLE_ROWS:
                keep = np.sort(np.random.default_rng(0).choice(_n_rows(X), SAMPLE_ROWS, replace=False))
                X, y = _take(X, keep), y[keep]
                self._raw = (X, y)
            features = _row_features(X, ids)
            self._inputs_vary = features is None or bool((np.ptp(features, axis=0) > 0).any())
            if self.check_data and features is not None and np.isfinite(features).all():
                data = {f.cause: dict(f.evidence) for f in diagnose_inputs(features, units="network")}
            prediction = self._scores(X)
            prediction_shape = tuple(prediction.shape)
            name, from_logits = _loss_name(self.loss)
            units = int(prediction.shape[-1]) if prediction.ndim >= 2 else 1
            last = _layers(self.model)[-1] if _layers(self.model) else None
            y64 = np.asarray(y, dtype=np.float64) if np.issubdtype(np.asarray(y).dtype, np.number) else None
            info.update({"loss": name, "from_logits": from_logits, "output_units": units,
                         "output_activation": None if last is None else _activation_name(last),
                         "y_min": None if y64 is None or not y64.size else float(np.nanmin(y64)),
                         "y_max": None if y64 is None or not y64.size else float(np.nanmax(y64)),
                         "y_whole": None if y64 is None or not y64.size else
                         bool(np.all(np.isnan(y64) | (y64 == np.round(y64))))})
            self._chance_loss = None if y64 is None else _chance_loss(name, y64, units)
            what = (f"loss {name!r}" if name else
                    f"a loss it does not know ({getattr(self.loss, '__name__', type(self.loss).__name__)}): "
                    "no check of a loss stuck at chance")
            self._note(f"not a listwise ranking model ({what}): the ranking causes do not apply. Watching for "
                       "unscaled inputs, an output activation that cannot serve the loss, a learning rate too "
                       "high, a dead layer, a loss stuck at chance.")
        if normalises and "unscaled-data" in data:
            del data["unscaled-data"]  # the model scales its own inputs
        observation = Start(self.y_sample, prediction_shape, data, self.scope, info)
        self._report(run_detectors(failures_of("start", self.scope), "start", observation, self.findings))
        self._before = self._weights_now()

    def on_epoch_begin(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Keep the weights, to measure this epoch's update."""
        if self._before is None or epoch > 0:
            unchanged = self._unchanged()
            self._before = unchanged if unchanged is not None else self._weights_now()

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Build this epoch's observation (logged loss, scores on the sample) and run the detectors."""
        self._epochs = epoch + 1
        if self._stopped():
            return
        loss = float((logs or {}).get("loss", np.nan))
        X = self.X_sample if self.scope == "ranking" else self._raw[0]
        observed = self._observe(X)  # scores and weights in one call, where it can
        training = self._training(*(observed[1:] if observed is not None else ()))
        self._losses.append(loss)
        scores = self._scores(X, None if observed is None else observed[0])
        if self.scope == "ranking":
            gaps, spread = self._list_stats(scores)
            self._spreads.append(spread)
        else:
            gaps = np.zeros(0)
            self._spreads.append(float(np.std(scores, axis=0).mean()) if scores.size else 0.0)
        observation = Epoch(epoch + 1, tuple(self._losses), tuple(self._spreads), self.y_sample, scores, gaps,
                            self._chance, self._floor, self._family == "listmle-exact",
                            self._validation_at_floor, self.scope, self._family, training, self._chance_loss,
                            self._dead_fraction)
        self._report(run_detectors(failures_of("epoch", self.scope), "epoch", observation, self.findings))
        if gaps.size and np.isfinite(gaps).all():
            self._previous_gap = float(gaps.max())

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        """Print a one-line summary (with ``verbose=1``)."""
        if not self.findings:
            self._say(f"LossDoctor: no findings in {self._epochs} epoch{'s' if self._epochs != 1 else ''} "
                      f"({self.scope} model).")
        else:
            fatal = sum(f.fatal for f in self.findings)
            self._say(_wrap(f"LossDoctor: {len(self.findings)} finding{'s' if len(self.findings) != 1 else ''} "
                            f"({fatal} fatal): {', '.join(f.cause for f in self.findings)}.", ""))

    def _validation_at_floor(self) -> Optional[tuple[bool, float]]:
        from companion.diagnose._registry import FLOOR_FRACTION

        if self.validation is None or not callable(self.loss):
            return None
        X_val, y_val = self.validation
        val_loss = float(self.loss(y_val, self._scores(X_val)))
        val_floor = loss_floor(y_val)
        return val_loss <= val_floor + FLOOR_FRACTION * max(chance_level(y_val) - val_floor, 1e-6), val_loss
