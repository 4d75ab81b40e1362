"""LossDoctor: a Keras callback that names what is wrong with a listwise ranking run.

Defined in :doc:`/book/doctor`.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from companion import _keras
from companion.diagnose._findings import DiagnosisWarning, Finding, TrainingFailure
from companion.diagnose._registry import (
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
from companion.diagnose._static import diagnose_ranking_data, run_detectors
from companion.ranking import chance_level, loss_floor
from companion.ranking._lists import valid_mask, within_list_gaps, within_list_spread

__all__ = ["LossDoctor", "UNIFORM_TOLERANCE", "SPREAD_TOLERANCE", "SEPARATION_GAP", "OVERFLOW_WARN_GAP",
           "PATIENCE", "DIVERGE_RISE", "lists_sample"]

#: Lists the doctor takes from a ``tf.data.Dataset`` when given one.
SAMPLE_LISTS = 64


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
    arrays = [_dense(p, pad) for p in parts]
    width = max(a.shape[1] if a.ndim >= 2 else 0 for a in arrays)
    return np.concatenate([_pad_to(a, width, pad) for a in arrays])


def _from_dataset(dataset: Any, n_lists: int) -> tuple[Any, NDArray[Any]]:
    xs: list[Any] = []
    ys: list[NDArray[Any]] = []
    count = 0
    for element in dataset:
        if not isinstance(element, (tuple, list)) or len(element) < 2:
            raise ValueError("the dataset must yield (features, labels) or (features, labels, weights).")
        x, y = element[0], _dense(element[1], -1.0)
        if y.ndim == 1:  # unbatched: one list per element
            x = {k: _dense(v, 0.0)[None] for k, v in x.items()} if isinstance(x, dict) else _dense(x, 0.0)[None]
            y = y[None]
        xs.append(x if isinstance(x, dict) else _dense(x, 0.0))
        ys.append(y)
        count += len(y)
        if count >= n_lists:
            break
    if not ys:
        raise ValueError("the dataset is empty: the doctor needs at least one batch of lists.")
    X, Y = _concat(xs, 0.0), _concat(ys, -1.0)
    return _take(X, n_lists), Y[:n_lists]


def _take(x: Any, n: int) -> Any:
    return {k: v[:n] for k, v in x.items()} if isinstance(x, dict) else x[:n]


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
    if len(data) == 1 and isinstance(data[0], tuple) and len(data[0]) == 2:
        data = data[0]  # one (X, y) pair, as validation_data is given to fit
    if len(data) == 1:
        X, y = _from_dataset(data[0], n_lists)
    elif len(data) == 2:
        X = data[0] if isinstance(data[0], dict) else _dense(data[0], 0.0)
        if isinstance(X, dict):
            X = {k: v if hasattr(v, "to_tensor") else _dense(v, 0.0) for k, v in X.items()}
        y = _dense(data[1], -1.0)
    else:
        raise ValueError("pass the sample as (X, y) or as one tf.data.Dataset.")
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    n_x = len(next(iter(X.values()))) if isinstance(X, dict) else len(X)
    if y.ndim != 2 or n_x != len(y):
        shape = {k: tuple(np.shape(v)) for k, v in X.items()} if isinstance(X, dict) else np.shape(X)
        raise ValueError(
            f"y_sample must be (n_lists, list_size) with one row per list of X_sample; got {y.shape} for "
            f"X_sample {shape}."
        )
    if not isinstance(X, dict) and np.issubdtype(np.asarray(X).dtype, np.floating):
        X = np.asarray(X, dtype=np.float32)
    return X, y


def _features(X: Any, y: NDArray[Any]) -> Optional[NDArray[np.float64]]:
    """The real-valued features as (n_lists, list_size, n_features), for the data check; None if none."""
    parts = list(X.values()) if isinstance(X, dict) else [X]
    columns = []
    for part in parts:
        a = _dense(part, 0.0)
        if not np.issubdtype(a.dtype, np.floating) or a.shape[:2] != y.shape:
            continue  # ids, per-query features, anything not one row per item
        columns.append(a.reshape(*y.shape, -1).astype(np.float64))
    return np.concatenate(columns, axis=-1) if columns else None


def _loss_kind(loss: Any) -> str:
    module = type(loss).__module__
    if module.startswith("companion."):
        return "exact"
    if module.startswith("tensorflow_ranking"):
        return "tensorflow-ranking"
    return "other"


# tf.keras 2 (the book) or Keras 3, whichever is in use (see companion._keras).
_Callback: Any = _keras.keras().callbacks.Callback


class LossDoctor(_Callback):  # type: ignore[misc]
    """Watch a listwise ranking model train, and name the cause when it fails.

    A Keras callback on tf.keras 2 and on Keras 3 (TensorFlow or JAX backend).
    It is a loop over the detectors that :data:`companion.diagnose.REGISTRY`
    lists for a ranking run. Before the first epoch it checks the sample (list
    shapes, feature scales, lists of one item, a leaked feature:
    :func:`diagnose_ranking_data`) and the model's prediction shape; at the end
    of every epoch it builds one observation (the logged loss and one forward
    pass on the sample, cheap: one call of the model) and runs the epoch
    detectors on it. Findings collect in :attr:`findings`, one per cause, with
    the evidence of the epoch where the cause first appeared.

    The loss is read from the model (``model.loss``) when training starts.
    With an exact loss (:class:`companion.ranking.ListMLELoss`) a wide score gap
    is not a finding: only tensorflow-ranking's ListMLE overflows at a gap of
    88. A non-finite loss or score is ``score-overflow`` with any loss.

    Parameters
    ----------
    *sample
        A sample of training lists, as Keras' ``fit`` takes them: ``X, y``
        (arrays or tensors ``(n_lists, list_size, n_features)`` and
        ``(n_lists, list_size)``; a dict of features; ragged tensors or lists
        of unequal lists, padded here with label -1), or one
        ``tf.data.Dataset`` of ``(X, y)`` batches, from which the doctor takes
        64 lists. The older form ``LossDoctor(loss, X, y)`` is accepted too
        (the loss passed then wins over the model's).
    loss : keras loss, optional
        Overrides ``model.loss``.
    validation : (X, y) or tf.data.Dataset, optional
        Validation lists; with them ``perfect-separation`` requires the
        separation to hold on validation lists too.
    stop_on_error : bool, default=False
        On a fatal finding, stop training and raise :class:`TrainingFailure`.
    check_data : bool, default=True
        Check the sample before the first epoch (:func:`diagnose_ranking_data`).

    Attributes
    ----------
    findings : list of Finding
        What the doctor found; empty for a healthy run.
    loss : object
        The loss it judged by (set when training starts).

    Examples
    --------
    >>> import numpy as np
    >>> from companion.diagnose import LossDoctor
    >>> from companion.ranking import ListMLELoss, make_scorer
    >>> doctor = LossDoctor(np.zeros((4, 1, 2)), np.zeros((4, 1)))
    >>> model = make_scorer(hidden=())
    >>> model.compile(loss=ListMLELoss())
    >>> _ = model.fit(np.zeros((4, 1, 2)), np.zeros((4, 1)), epochs=1, verbose=0, callbacks=[doctor])
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
    ) -> None:
        super().__init__()
        if len(sample) == 3:  # the older form LossDoctor(loss, X, y)
            loss, sample = sample[0], sample[1:]
        self._given_loss = loss
        self.loss = loss
        self.X_sample, self.y_sample = lists_sample(*sample)
        if validation is None:
            self.validation = None
        elif isinstance(validation, (tuple, list)):
            self.validation = lists_sample(*validation[:2])
        else:
            self.validation = lists_sample(validation)
        self.stop_on_error = stop_on_error
        self.check_data = check_data
        self.findings: list[Finding] = []
        self._losses: list[float] = []
        self._spreads: list[float] = []
        self._chance = chance_level(self.y_sample)
        self._floor = loss_floor(self.y_sample)
        self._forward: Optional[Any] = None

    # ---------------------------------------------------------------- helpers

    def _report(self, new: list[Finding]) -> None:
        for finding in new:
            self.findings.append(finding)
            if finding.fatal and self.stop_on_error:
                if self.model is not None:
                    self.model.stop_training = True
                raise TrainingFailure(finding)

    def _scores(self, X: Any) -> NDArray[Any]:
        # One traced forward pass, not predict(): predict builds a data pipeline
        # on every call, which costs more than a small epoch.
        if self._forward is None:
            model = self.model
            keras = _keras.keras()
            if _keras.keras_major() >= 3 and isinstance(model, keras.Sequential):
                # Layer by layer: a Keras 3 Sequential called as a whole fixes its input
                # rank, and fit may then feed another one (rows, where the sample has lists).
                def forward(x: Any) -> Any:
                    for layer in model.layers:
                        x = layer(x, training=False)
                    return _keras.to_numpy(x)

                self._forward = forward
            elif _keras.keras_major() >= 3:
                # Keras 3 compiles and caches the forward pass itself, on any backend.
                self._forward = model.predict_on_batch
            else:
                import tensorflow as tf

                forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
                self._forward = lambda x: forward(tf.nest.map_structure(tf.convert_to_tensor, x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = _dense(self._forward(X), 0.0).astype(np.float64)
        return out[..., 0] if out.ndim == 3 and out.shape[-1] == 1 else out

    def _stopped(self) -> bool:
        return any(f.cause == "single-item-lists" for f in self.findings)

    # -------------------------------------------------------------- callbacks

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        """Read the loss from the model; check the sample's shapes and data before any epoch."""
        self._forward = None  # the model may be new
        self._losses, self._spreads = [], []
        self.loss = self._given_loss if self._given_loss is not None else getattr(self.model, "loss", None)
        data: dict[str, dict[str, Any]] = {}
        features = _features(self.X_sample, self.y_sample)
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
        observation = Start(self.y_sample, prediction_shape, data)
        self._report(run_detectors(failures_of("start"), "start", observation, self.findings))

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Build this epoch's observation (logged loss, scores on the sample) and run the detectors."""
        if self._stopped():
            return
        loss = float((logs or {}).get("loss", np.nan))
        scores = self._scores(self.X_sample)
        gaps = within_list_gaps(self.y_sample, scores)
        spreads = within_list_spread(self.y_sample, scores)
        self._losses.append(loss)
        self._spreads.append(float(np.nanmean(spreads)) if not np.isnan(spreads).all() else 0.0)
        observation = Epoch(epoch + 1, tuple(self._losses), tuple(self._spreads), self.y_sample, scores, gaps,
                            self._chance, self._floor, _loss_kind(self.loss) == "exact",
                            self._validation_at_floor)
        self._report(run_detectors(failures_of("epoch"), "epoch", observation, self.findings))

    def _validation_at_floor(self) -> Optional[tuple[bool, float]]:
        from companion.diagnose._registry import FLOOR_FRACTION

        if self.validation is None or not callable(self.loss):
            return None
        X_val, y_val = self.validation
        val_loss = float(self.loss(y_val, self._scores(X_val)))
        val_floor = loss_floor(y_val)
        return val_loss <= val_floor + FLOOR_FRACTION * max(chance_level(y_val) - val_floor, 1e-6), val_loss
