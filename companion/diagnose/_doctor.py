"""LossDoctor: a Keras callback that names what is wrong with a listwise ranking run.

Defined in :doc:`/book/doctor`.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray

from companion import _keras

from companion.diagnose._findings import Finding, TrainingFailure
from companion.ranking import OVERFLOW_GAP, chance_level, loss_floor, single_feature_ndcg

__all__ = ["LossDoctor", "UNIFORM_TOLERANCE", "SPREAD_TOLERANCE", "SEPARATION_GAP", "OVERFLOW_WARN_GAP",
           "PATIENCE", "DIVERGE_RISE"]

#: A loss within this fraction of the chance level log(n!) counts as "at chance"
#: (uniform-score runs in Part I sit on it to 4 decimals; healthy runs leave it
#: by more than 10% in the first epoch).
UNIFORM_TOLERANCE = 0.005
#: Within-list score spread (standard deviation) below which scores are uniform
#: (uniform-score runs measure 0 to float32 precision; healthy runs above 0.3).
SPREAD_TOLERANCE = 1e-3
#: Median within-list score gap above which a list is "perfectly separated":
#: float32 ListMLE gives a correctly ranked pair exactly 0 from a gap of ~17.
SEPARATION_GAP = 17.0
#: tensorflow-ranking returns -inf from a gap of 88, and from a best score of
#: about 65 in a padded list; warn from 60.
OVERFLOW_WARN_GAP = 60.0
#: Epochs a condition must hold before it is reported (uniform scores,
#: divergence): one bad epoch is noise.
PATIENCE = 3
#: Relative rise of the loss over the last PATIENCE epochs, each higher than the
#: one before, that counts as diverging.
DIVERGE_RISE = 0.10


def _valid_gaps(y: NDArray[Any], s: NDArray[Any]) -> NDArray[Any]:
    valid = y >= 0
    hi = np.where(valid, s, -np.inf).max(axis=1)
    lo = np.where(valid, s, np.inf).min(axis=1)
    return np.where(valid.sum(axis=1) >= 2, hi - lo, 0.0)


# tf.keras 2 (the book) or Keras 3, whichever is in use (see companion._keras).
_Callback: Any = _keras.keras().callbacks.Callback


class LossDoctor(_Callback):  # type: ignore[misc]
    """Watch a listwise ranking model train, and name the cause when it fails.

    A Keras callback on tf.keras 2 and on Keras 3 (TensorFlow or JAX backend).

    Built with the model's loss and a sample of training lists, it checks
    shapes before training and, at the end of every epoch, the loss and one
    forward pass on the sample (cheap: one call of the model). Findings collect in
    :attr:`findings`, one per cause, with the evidence of the epoch where the
    cause first appeared.

    Causes: ``single-item-lists``, ``uniform-scores``, ``score-overflow``,
    ``perfect-separation``, ``diverging`` (see :data:`companion.diagnose.CAUSES`).

    Parameters
    ----------
    loss : tf.keras.losses.Loss
        The training loss (tensorflow-ranking's or companion's ListMLE).
    X_sample : array-like
        A sample of training inputs, as the model takes them:
        ``(n_lists, list_size, n_features)``.
    y_sample : array-like of shape (n_lists, list_size)
        Their labels; below 0 marks padding.
    validation : (X, y), optional
        Validation lists; with them ``perfect-separation`` requires the
        separation to hold on validation lists too.
    stop_on_error : bool, default=False
        On a fatal finding, stop training and raise :class:`TrainingFailure`.

    Attributes
    ----------
    findings : list of Finding
        What the doctor found; empty for a healthy run.

    Examples
    --------
    >>> import numpy as np
    >>> from companion.diagnose import LossDoctor
    >>> from companion.ranking import ListMLELoss, make_scorer
    >>> doctor = LossDoctor(ListMLELoss(), np.zeros((4, 1, 2)), np.zeros((4, 1)))
    >>> model = make_scorer(hidden=())
    >>> model.compile(loss=ListMLELoss())
    >>> _ = model.fit(np.zeros((4, 1, 2)), np.zeros((4, 1)), epochs=1, verbose=0, callbacks=[doctor])
    >>> [f.cause for f in doctor.findings]
    ['single-item-lists']
    """

    def __init__(
        self,
        loss: Any,
        X_sample: ArrayLike,
        y_sample: ArrayLike,
        *,
        validation: Optional[tuple[ArrayLike, ArrayLike]] = None,
        stop_on_error: bool = False,
    ) -> None:
        super().__init__()
        self.loss = loss
        self.X_sample = np.asarray(X_sample, dtype=np.float32)
        self.y_sample = np.asarray(y_sample, dtype=np.float32)
        if self.y_sample.ndim == 1:
            self.y_sample = self.y_sample[:, None]
        if self.y_sample.ndim != 2 or len(self.y_sample) != len(self.X_sample):
            raise ValueError(
                f"y_sample must be (n_lists, list_size) with one row per list of X_sample; got "
                f"{self.y_sample.shape} for X_sample {self.X_sample.shape}."
            )
        self.validation = None if validation is None else (
            np.asarray(validation[0], dtype=np.float32), np.asarray(validation[1], dtype=np.float32))
        self.stop_on_error = stop_on_error
        self.findings: list[Finding] = []
        self._losses: list[float] = []
        self._uniform_epochs = 0
        n_valid = (self.y_sample >= 0).sum(axis=1)
        self._chance = chance_level(self.y_sample)
        self._floor = loss_floor(self.y_sample)
        self._n_valid = n_valid
        self._feature_ndcg: Optional[NDArray[Any]] = None
        self._forward: Optional[Any] = None

    # ---------------------------------------------------------------- helpers

    def _report(self, finding: Finding) -> None:
        if any(f.cause == finding.cause for f in self.findings):
            return  # keep the first occurrence: the epoch where the cause appeared
        self.findings.append(finding)
        if finding.fatal and self.stop_on_error:
            if self.model is not None:
                self.model.stop_training = True
            raise TrainingFailure(finding)

    def _scores(self, X: NDArray[Any]) -> NDArray[Any]:
        # One traced forward pass, not predict(): predict builds a data pipeline
        # on every call, which costs more than a small epoch.
        if self._forward is None:
            model = self.model
            if _keras.keras_major() >= 3:
                # Keras 3 compiles and caches the forward pass itself, on any backend.
                self._forward = model.predict_on_batch
            else:
                import tensorflow as tf

                forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
                self._forward = lambda x: forward(tf.constant(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = np.asarray(self._forward(X), dtype=np.float64)
        return out[..., 0] if out.ndim == 3 and out.shape[-1] == 1 else out

    # -------------------------------------------------------------- callbacks

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        """Check the shapes: lists of one item make ListMLE exactly 0."""
        self._forward = None  # the model may be new
        list_size = self.y_sample.shape[1]
        if list_size == 1 or (self._n_valid < 2).all():
            self._report(Finding.of("single-item-lists", list_size=list_size,
                                    lists_with_2_valid_items=int((self._n_valid >= 2).sum()),
                                    y_shape=tuple(self.y_sample.shape)))
            return
        scores = self._scores(self.X_sample)
        if scores.shape != self.y_sample.shape:
            self._report(Finding.of("single-item-lists", prediction_shape=tuple(scores.shape),
                                    label_shape=tuple(self.y_sample.shape)))

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Check the loss and one prediction on the sample."""
        if any(f.cause == "single-item-lists" for f in self.findings):
            return
        loss = float((logs or {}).get("loss", np.nan))
        self._losses.append(loss)
        scores = self._scores(self.X_sample)
        if not np.isfinite(loss) or not np.isfinite(scores).all():
            self._report(Finding.of("score-overflow", epoch=epoch + 1, loss=loss,
                                    finite_scores=bool(np.isfinite(scores).all())))
            return
        gaps = _valid_gaps(self.y_sample, scores)
        if gaps.max() >= OVERFLOW_WARN_GAP:
            self._report(Finding.of("score-overflow", epoch=epoch + 1, largest_gap=float(gaps.max()),
                                    limit=OVERFLOW_GAP))
        valid = self.y_sample >= 0
        counts = valid.sum(axis=1)
        means = np.where(valid, scores, 0.0).sum(axis=1) / np.maximum(counts, 1)
        variances = np.where(valid, (scores - means[:, None]) ** 2, 0.0).sum(axis=1) / np.maximum(counts, 1)
        spread = float(np.sqrt(variances[counts >= 2]).mean())
        near_chance = abs(loss - self._chance) <= UNIFORM_TOLERANCE * self._chance
        self._uniform_epochs = self._uniform_epochs + 1 if (near_chance and spread < SPREAD_TOLERANCE) else 0
        if self._uniform_epochs >= PATIENCE:
            self._report(Finding.of("uniform-scores", epochs=self._uniform_epochs, loss=loss,
                                    chance_level=self._chance, score_spread=spread))
        self._check_separation(epoch, loss, gaps)
        self._check_divergence(epoch)

    def _check_separation(self, epoch: int, loss: float, gaps: NDArray[Any]) -> None:
        tolerance = 0.05 * max(self._chance - self._floor, 1e-6)
        if not (loss <= self._floor + tolerance and np.median(gaps) >= SEPARATION_GAP):
            return
        evidence: dict[str, Any] = {"epoch": epoch + 1, "loss": loss, "floor": self._floor,
                                    "median_gap": float(np.median(gaps))}
        if self.validation is not None:
            X_val, y_val = self.validation
            val_loss = float(self.loss(y_val, self._scores(X_val)))
            val_floor = loss_floor(y_val)
            if val_loss > val_floor + 0.05 * max(chance_level(y_val) - val_floor, 1e-6):
                return  # separated on training lists only: memorisation, not this cause
            evidence["val_loss"] = val_loss
        if self.X_sample.ndim == 3:
            if self._feature_ndcg is None:  # a property of the data: computed once
                self._feature_ndcg = single_feature_ndcg(self.X_sample, self.y_sample)
            ndcg = self._feature_ndcg
            evidence["best_single_feature"] = int(np.argmax(ndcg))
            evidence["its_ndcg"] = float(ndcg.max())
            evidence["leak_suspected"] = bool(ndcg.max() >= 0.999)
        self._report(Finding.of("perfect-separation", **evidence))

    def _check_divergence(self, epoch: int) -> None:
        recent = self._losses[-(PATIENCE + 1):]
        if len(recent) <= PATIENCE:
            return
        rising = all(b > a for a, b in zip(recent, recent[1:]))
        if rising and recent[-1] > (1 + DIVERGE_RISE) * recent[0]:
            self._report(Finding.of("diverging", epoch=epoch + 1, loss_from=recent[0], loss_to=recent[-1]))
