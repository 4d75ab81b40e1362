"""An exact ListMLE loss for Keras: finite at any score gap, no padding constant.

Defined in :doc:`/book/ranking/unscaled_features`.
"""

from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf

__all__ = ["ListMLELoss"]

# Padded items get a logit this far below the lowest valid logit of their list,
# so exp(pad - valid) is exactly 0 in float32 and they add nothing to any sum.
_PAD_OFFSET = 1e4
# Below this within-list score gap every exp(s - max) is a normal float32
# (exp(-60) is about 1e-26), so the faster shifted cumulative sum is exact.
_FAST_GAP = 60.0


@tf.keras.utils.register_keras_serializable(package="companion")
class ListMLELoss(tf.keras.losses.Loss):  # type: ignore[misc]
    """ListMLE, the Plackett-Luce negative log-likelihood, computed exactly.

    A drop-in replacement for ``tfr.keras.losses.ListMLELoss``. For each list,
    items are sorted by label (best first) and the loss is
    ``sum_i [log(sum_{j >= i} exp(s_j / T)) - s_i / T]`` over valid items, with
    each term written as ``softplus(log(sum_{j > i} exp(s_j)) - s_i)``, so that
    even a tiny term keeps its relative precision. The inner sums are shifted
    cumulative sums while every within-list gap is below 60 (exact there, and
    as fast as tensorflow-ranking), and a reverse cumulative log-sum-exp
    (:func:`tf.math.cumulative_logsumexp`) beyond. Unlike tensorflow-ranking
    0.5.5 it

    * stays finite, with finite gradients, at any score gap (tensorflow-ranking
      returns -inf past a gap of about 88, and with padding from a score of
      about 64);
    * adds nothing for padded items (tensorflow-ranking adds a constant
      ``log(m!)`` for a list with ``m`` padded items);
    * gives 0 for a list with fewer than two valid items, including a list that
      is all padding (tensorflow-ranking adds ``log(n!)`` for it).

    Wherever tensorflow-ranking's loss is finite and no item is padded, the two
    agree to float32 rounding.

    Parameters
    ----------
    temperature : float, default=1.0
        Scores are divided by it before the loss. Positive.
    seed : int, optional
        Op-level seed for breaking ties among equal labels (see Notes).
    reduction : str, default="auto"
        Keras reduction over the lists of a batch; ``"auto"`` and
        ``"sum_over_batch_size"`` give the mean over lists.
    name : str, default="list_mle_loss"
        Name of the loss.

    Notes
    -----
    **Ties.** Items with equal labels have no order of their own. As in
    tensorflow-ranking, they are shuffled at random on every call, so the loss
    cannot fall below :func:`companion.ranking.loss_floor`. Set `seed` and seed
    TensorFlow globally (:func:`companion.seed_everything`) to make the
    sequence of shuffles repeatable.

    **Inputs.** ``y_true`` and ``y_pred`` have shape ``(n_lists, list_size)``;
    ``y_pred`` may have a trailing axis of size 1. A label below 0 marks a
    padded item.

    Examples
    --------
    >>> import tensorflow as tf
    >>> loss = ListMLELoss()
    >>> round(float(loss(tf.constant([[2.0, 1.0, 0.0]]), tf.constant([[0.1, 0.1, 0.1]]))), 4)
    1.7918
    >>> float(loss(tf.constant([[1.0, 0.0]]), tf.constant([[200.0, 0.0]])))  # TFR: -inf
    0.0
    >>> float(loss(tf.constant([[1.0, 0.0]]), tf.constant([[30.0, 0.0]])))  # TFR: 0.0
    9.357622912219837e-14
    """

    def __init__(
        self,
        temperature: float = 1.0,
        seed: Optional[int] = None,
        reduction: str = "auto",
        name: Optional[str] = "list_mle_loss",
    ) -> None:
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}.")
        super().__init__(reduction=reduction, name=name)
        self.temperature = float(temperature)
        self.seed = seed

    def call(self, y_true: Any, y_pred: Any) -> tf.Tensor:
        """Per-list losses, shape ``(n_lists,)``; Keras applies the reduction."""
        labels = tf.convert_to_tensor(y_true)
        logits = tf.convert_to_tensor(y_pred)
        if logits.shape.rank == 3 and logits.shape[-1] == 1:
            logits = tf.squeeze(logits, axis=-1)
        if labels.shape.rank == 3 and labels.shape[-1] == 1:
            labels = tf.squeeze(labels, axis=-1)
        if labels.shape.rank is not None and labels.shape.rank != 2:
            raise ValueError(
                f"ListMLELoss expects y_true of shape (n_lists, list_size); got {labels.shape}. "
                "Group rows by query with companion.ranking.group_lists."
            )
        if labels.shape.is_fully_defined() and logits.shape.is_fully_defined() and labels.shape != logits.shape:
            raise ValueError(f"y_pred has shape {logits.shape} but y_true has shape {labels.shape}.")
        logits = tf.cast(logits, tf.float32) / self.temperature
        labels = tf.cast(labels, tf.float32)
        return listmle_per_list(labels, logits, seed=self.seed)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, for ``from_config`` and model saving."""
        config: dict[str, Any] = super().get_config()
        config.update({"temperature": self.temperature, "seed": self.seed})
        return config


def listmle_per_list(labels: tf.Tensor, logits: tf.Tensor, seed: Optional[int] = None) -> tf.Tensor:
    """Exact ListMLE of each list: float32 tensor of shape ``(n_lists,)``.

    The computation behind :class:`ListMLELoss`, for use outside Keras.

    Parameters
    ----------
    labels : tf.Tensor of shape (n_lists, list_size)
        Labels; below 0 marks padding.
    logits : tf.Tensor of shape (n_lists, list_size)
        Scores, already divided by any temperature.
    seed : int, optional
        Op-level seed for the random order of tied labels.

    Returns
    -------
    tf.Tensor of shape (n_lists,)
        The loss of each list; 0 for lists with fewer than two valid items.
    """
    mask = labels >= 0
    # Random order among equal labels: shuffle, then sort stably by label.
    noise = tf.random.uniform(tf.shape(labels), seed=seed)
    shuffle = tf.argsort(noise, axis=1, stable=True)
    keys = tf.gather(tf.where(mask, labels, -tf.ones_like(labels) * float("inf")), shuffle, batch_dims=1)
    order = tf.gather(shuffle, tf.argsort(keys, axis=1, direction="DESCENDING", stable=True), batch_dims=1)
    sorted_mask = tf.gather(mask, order, batch_dims=1)
    sorted_logits = tf.gather(logits, order, batch_dims=1)

    lowest = tf.reduce_min(tf.where(sorted_mask, sorted_logits, float("inf")), axis=1, keepdims=True)
    highest = tf.reduce_max(tf.where(sorted_mask, sorted_logits, -float("inf")), axis=1, keepdims=True)
    any_valid = tf.math.is_finite(lowest)
    lowest = tf.where(any_valid, lowest, tf.zeros_like(lowest))
    highest = tf.where(any_valid, highest, tf.zeros_like(highest))
    pad = tf.stop_gradient(lowest - _PAD_OFFSET - tf.abs(lowest))
    z = tf.where(sorted_mask, sorted_logits, pad)
    n_valid = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)

    # Each term is log(exp(z_i) + sum_{j > i} exp(z_j)) - z_i = softplus(rest_i - z_i),
    # with rest_i = log(sum_{j > i} exp(z_j)): exact even when the term is tiny.
    def shifted_sums() -> tf.Tensor:
        # Fast path: with every gap below _FAST_GAP, exp(z - max) of every valid item
        # is a normal float32, so plain cumulative sums lose nothing.
        shift = tf.stop_gradient(highest)
        tail = tf.cumsum(tf.exp(z - shift), axis=1, exclusive=True, reverse=True)
        has_tail = tail > 0
        rest = tf.math.log(tf.where(has_tail, tail, tf.ones_like(tail))) + shift
        return tf.where(has_tail, rest - z, tf.fill(tf.shape(z), -_PAD_OFFSET))

    def log_sum_exp_sums() -> tf.Tensor:
        # Any gap: a reverse cumulative log-sum-exp. One padded column is appended
        # so that the last position, too, has a finite (and negligible) tail.
        padded = tf.concat([z, pad], axis=1)
        rest = tf.math.cumulative_logsumexp(padded, axis=1, exclusive=True, reverse=True)[:, :-1]
        return rest - z

    gaps = tf.where(n_valid[:, None] >= 2, highest - lowest, tf.zeros_like(highest))
    diffs = tf.cond(tf.reduce_all(gaps < _FAST_GAP), shifted_sums, log_sum_exp_sums)
    terms = tf.where(sorted_mask, tf.math.softplus(diffs), tf.zeros_like(sorted_logits))
    per_list = tf.reduce_sum(terms, axis=1)
    return tf.where(n_valid >= 2, per_list, tf.zeros_like(per_list))
