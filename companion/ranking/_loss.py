"""An exact ListMLE loss for Keras: finite at any score gap, no padding constant.

Defined in :doc:`/book/ranking/unscaled_features`; on Keras 3 (TensorFlow and
JAX backends) in :doc:`/book/ranking/keras3`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Union

from companion import _keras

__all__ = ["ListMLELoss", "ListMLELambdaWeight", "listmle_per_list"]

# Padded items get a logit this far below the lowest valid logit of their list,
# so exp(pad - valid) is exactly 0 in float32 and they add nothing to any sum.
_PAD_OFFSET = 1e4
# Below this within-list score gap every exp(s - max) is a normal float32
# (exp(-60) is about 1e-26), so the faster shifted cumulative sum is exact.
_FAST_GAP = 60.0

_K = _keras.keras()
_KERAS3 = _keras.keras_major() >= 3


def _static_shape(x: Any) -> tuple[Optional[int], ...]:
    """The shape known before running: ``()`` if even the rank is unknown."""
    try:
        return tuple(None if d is None else int(d) for d in x.shape)
    except (TypeError, ValueError):  # a TensorFlow shape of unknown rank
        return ()


_LossBase: Any = _K.losses.Loss

# The rank discounts that ListMLELambdaWeight knows by name (rank is 1-based).
_DISCOUNTS = ("reciprocal", "log2")


@_K.utils.register_keras_serializable(package="companion")
class ListMLELambdaWeight:
    """Position weights for :class:`ListMLELoss`: tensorflow-ranking's ``ListMLELambdaWeight``.

    With it, the loss of a list is ``sum_i d(i) * term_i``: the term of the
    item at (1-based) position ``i`` of the label order (best first) is
    multiplied by the rank discount ``d(i)``, so that mistakes at the top of
    the list cost more (Lan et al., "Position-aware ListMLE", 2014). This is
    what ``tfr.keras.losses.ListMLELambdaWeight(rank_discount_fn)`` means in
    tensorflow-ranking 0.5.5's ``ListMLELoss``. Padded items have no term, so
    no weight (tensorflow-ranking weighs its padding constant too).

    Parameters
    ----------
    rank_discount_fn : {"reciprocal", "log2"} or callable
        ``"reciprocal"``: ``1 / rank``; ``"log2"``: ``1 / log2(1 + rank)``
        (DCG's discount, tensorflow-ranking's ``log(2) / log1p(rank)``). A
        callable takes the float32 ranks, a tensor of shape ``(1, list_size)``
        holding ``1, 2, ..., list_size``, and returns weights of that shape,
        written with operations of the backend in use (``keras.ops`` on Keras
        3, TensorFlow on tf.keras 2); ``lambda rank: 1.0 / rank`` works
        everywhere. A name is portable across backends and saves with a
        model; a callable saves only where Keras can serialise it.

    Examples
    --------
    >>> from companion.ranking import ListMLELambdaWeight, ListMLELoss
    >>> loss = ListMLELoss(lambda_weight=ListMLELambdaWeight("reciprocal"))
    >>> # log 3 + log(2) / 2:
    >>> round(float(loss([[2.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]])), 4)
    1.4452
    """

    def __init__(self, rank_discount_fn: Union[str, Callable[[Any], Any]] = "reciprocal") -> None:
        if isinstance(rank_discount_fn, str):
            if rank_discount_fn not in _DISCOUNTS:
                raise ValueError(
                    f"rank_discount_fn must be one of {_DISCOUNTS} or a callable of the ranks, "
                    f"got {rank_discount_fn!r}."
                )
        elif not callable(rank_discount_fn):
            raise ValueError(
                "rank_discount_fn must be 'reciprocal', 'log2' or a callable that maps the 1-based ranks "
                f"to weights (tensorflow-ranking's meaning), got {type(rank_discount_fn).__name__}."
            )
        self.rank_discount_fn = rank_discount_fn

    def rank_weights(self, list_size: Any) -> Any:
        """The weight of each position, float32 of shape ``(1, list_size)``."""
        o = _keras.ops()
        ranks = o.cast(_keras.positions_of(list_size), "float32") + 1.0
        fn = self.rank_discount_fn
        if fn == "reciprocal":
            weights = 1.0 / ranks
        elif fn == "log2":
            weights = math.log(2.0) / o.log(1.0 + ranks)
        else:
            assert callable(fn)
            weights = fn(ranks)
        return o.cast(weights, "float32")

    def get_config(self) -> dict[str, Any]:
        """The discount: its name, or the callable as Keras serialises it."""
        fn = self.rank_discount_fn
        return {"rank_discount_fn": fn if isinstance(fn, str) else _K.utils.serialize_keras_object(fn)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "ListMLELambdaWeight":
        """The inverse of :meth:`get_config`."""
        fn = config["rank_discount_fn"]
        return cls(fn if isinstance(fn, str) else _K.utils.deserialize_keras_object(fn))

    def __repr__(self) -> str:
        return f"ListMLELambdaWeight({self.rank_discount_fn!r})"


def _as_lambda_weight(lambda_weight: Any) -> Optional[ListMLELambdaWeight]:
    """Ours as it is; tensorflow-ranking's ListMLELambdaWeight as ours; anything else refused."""
    if lambda_weight is None or isinstance(lambda_weight, ListMLELambdaWeight):
        return lambda_weight
    if isinstance(lambda_weight, dict):  # from a saved configuration
        return ListMLELambdaWeight.from_config(lambda_weight.get("config", lambda_weight))
    if type(lambda_weight).__name__ == "ListMLELambdaWeight" and callable(
        getattr(lambda_weight, "_rank_discount_fn", None)
    ):
        return ListMLELambdaWeight(lambda_weight._rank_discount_fn)
    raise ValueError(
        "ListMLELoss takes lambda_weight=ListMLELambdaWeight(rank_discount_fn) (companion's, or "
        f"tensorflow-ranking's), got {type(lambda_weight).__name__}. tensorflow-ranking's ListMLELoss "
        "silently ignores its other lambda weights (DCG, NDCG, precision); pass a rank discount instead."
    )


@_K.utils.register_keras_serializable(package="companion")
class ListMLELoss(_LossBase):  # type: ignore[misc]
    """ListMLE, the Plackett-Luce negative log-likelihood, computed exactly.

    Takes what ``tfr.keras.losses.ListMLELoss`` takes in a call,
    ``loss(y_true, y_pred, sample_weight=None)``, with the same meaning: dense
    or (TensorFlow) ragged lists, labels below 0 for padding, per-list or
    per-item `sample_weight`. For each list, items are sorted by label (best
    first) and the loss is ``sum_i [log(sum_{j >= i} exp(s_j / T)) - s_i / T]``
    over valid items, with each term written as
    ``softplus(log(sum_{j > i} exp(s_j)) - s_i)``, so that even a tiny term
    keeps its relative precision. The inner sums are shifted cumulative sums
    while every within-list gap is below 60 (exact there, and as fast as
    tensorflow-ranking), and a reverse cumulative log-sum-exp beyond. Unlike
    tensorflow-ranking 0.5.5 it

    * stays finite, with finite gradients, at any score gap (tensorflow-ranking
      returns -inf past a gap of about 88, and with padding from a score of
      about 64);
    * adds nothing for padded items (tensorflow-ranking adds a constant
      ``log(m!)`` for a list with ``m`` padded items);
    * gives 0 for a list with fewer than two valid items, including a list that
      is all padding (tensorflow-ranking adds ``log(n!)`` for it).

    Wherever tensorflow-ranking's loss is finite and no item is padded, the two
    agree to float32 rounding. The constructor takes tensorflow-ranking's
    keywords `temperature`, `lambda_weight`, `reduction` and `name` with their
    meaning, and needs no ``ragged=True``.

    The same class runs on tf.keras 2 (TensorFlow below 2.16, the book's stack)
    and on Keras 3 with the TensorFlow or JAX backend, with the same
    constructor, configuration, serialised name (``companion>ListMLELoss``),
    padding and tie rules (see :doc:`/book/ranking/keras3`).

    Parameters
    ----------
    temperature : float, default=1.0
        Scores are divided by it before the loss. Positive.
    seed : int, optional
        Seed for breaking ties among equal labels (see Notes).
    lambda_weight : ListMLELambdaWeight, optional
        Weights of the positions of the label order
        (:class:`ListMLELambdaWeight`, or tensorflow-ranking's
        ``ListMLELambdaWeight``, converted). Default: every position weighs 1.
    reduction : str, default="auto"
        Keras reduction over the lists of a batch; ``"auto"`` and
        ``"sum_over_batch_size"`` give the mean over lists (on Keras 3,
        ``"auto"`` is stored as ``"sum_over_batch_size"``).
    name : str, default="list_mle_loss"
        Name of the loss.

    Notes
    -----
    **Ties.** Items with equal labels have no order of their own. As in
    tensorflow-ranking, they are shuffled at random on every call, so the loss
    cannot fall below :func:`companion.ranking.loss_floor`. On tf.keras 2 the
    shuffle is TensorFlow's op-level `seed`: seed TensorFlow globally too
    (:func:`companion.seed_everything`) to repeat the sequence of shuffles. On
    Keras 3 it comes from a ``keras.random.SeedGenerator`` built from `seed`;
    under JAX's ``jit`` (``model.fit``), where a generator that no layer owns
    cannot advance, the shuffle is also keyed by the bits of the scores, so it
    changes from one training step to the next.

    **Inputs.** ``y_true`` and ``y_pred`` have shape ``(n_lists, list_size)``;
    ``y_pred`` may have a trailing axis of size 1. A label below 0 marks a
    padded item. A shape mismatch raises a :class:`ValueError` (or, in a
    TensorFlow graph whose shapes are only known at run time, an
    ``InvalidArgumentError``) that says what to fix.

    **sample_weight.** As in tensorflow-ranking: a weight per list,
    ``(n_lists,)`` or ``(n_lists, 1)``, is used as it is; a weight per item,
    ``(n_lists, list_size)``, becomes the label-weighted mean of the list's
    item weights, ``sum(w * y) / sum(y)`` over valid items (0 if every label is
    0).

    Examples
    --------
    >>> from companion.ranking import ListMLELoss
    >>> loss = ListMLELoss()
    >>> round(float(loss([[2.0, 1.0, 0.0]], [[0.1, 0.1, 0.1]])), 4)
    1.7918
    >>> float(loss([[1.0, 0.0]], [[200.0, 0.0]]))  # TFR: -inf
    0.0
    >>> float(loss([[1.0, 0.0]], [[30.0, 0.0]]))  # TFR: 0.0
    9.357622912219837e-14
    """

    def __init__(
        self,
        temperature: float = 1.0,
        seed: Optional[int] = None,
        reduction: Optional[str] = "auto",
        name: Optional[str] = "list_mle_loss",
        lambda_weight: Any = None,
    ) -> None:
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}.")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an int or None, got {type(seed).__name__}: {seed!r}.")
        if _KERAS3 and reduction == "auto":
            reduction = "sum_over_batch_size"
        super().__init__(reduction=reduction, name=name)
        self.temperature = float(temperature)
        self.seed = seed
        self.lambda_weight = _as_lambda_weight(lambda_weight)
        self._seed_source: Any = _K.random.SeedGenerator(seed) if _KERAS3 else seed

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """The reduced loss; dense, ragged, per-list or per-item weighted (see the class notes)."""
        if _keras.is_tensorflow_tensor(y_true, "ragged") or _keras.is_tensorflow_tensor(y_pred, "ragged"):
            y_true, y_pred, sample_weight = _ragged_to_dense(y_true, y_pred, sample_weight)
        if sample_weight is not None:
            sample_weight = _per_list_weights(y_true, sample_weight)
        return super().__call__(y_true, y_pred, sample_weight=sample_weight)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Per-list losses, shape ``(n_lists,)``; Keras applies the reduction."""
        if self.lambda_weight is None:
            return self._per_list_plain(y_true, y_pred)
        return self._per_list(y_true, y_pred)  # a user's rank_discount_fn may need AutoGraph

    def _per_list(self, y_true: Any, y_pred: Any) -> Any:
        o = _keras.ops()
        labels = o.convert_to_tensor(y_true)
        logits = o.convert_to_tensor(y_pred)
        labels, logits = _check_shapes(labels, logits)
        logits = o.cast(logits, "float32") / self.temperature
        labels = o.cast(labels, "float32")
        return listmle_per_list(labels, logits, seed=self._seed_source, lambda_weight=self.lambda_weight)

    # Without lambda weights the loss runs only this module's code, which has no
    # Python control flow on tensors: AutoGraph may leave it alone (companion._keras.no_autograph).
    _per_list_plain = _keras.no_autograph(_per_list)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, for ``from_config`` and model saving."""
        config: dict[str, Any] = super().get_config()
        config.update({"temperature": self.temperature, "seed": self.seed})
        if self.lambda_weight is not None:
            config["lambda_weight"] = self.lambda_weight.get_config()
        return config


def _check_shapes(labels: Any, logits: Any) -> tuple[Any, Any]:
    """Squeeze a trailing axis of 1; refuse ranks and shapes that are not lists."""
    o = _keras.ops()
    label_shape, logit_shape = _static_shape(labels), _static_shape(logits)
    if len(logit_shape) == 3 and logit_shape[-1] == 1:
        logits = o.squeeze(logits, axis=-1)
        logit_shape = logit_shape[:-1]
    if len(label_shape) == 3 and label_shape[-1] == 1:
        labels = o.squeeze(labels, axis=-1)
        label_shape = label_shape[:-1]
    if len(label_shape) == 1 and len(logit_shape) == 2 and logit_shape[-1] == 1:
        # One label per row and one score per row: lists of one item, as tf.keras 2's loss
        # wrapper reads them (it expands y_true to y_pred's rank); Keras 3 does not expand.
        labels = o.expand_dims(labels, axis=-1)
        label_shape = label_shape + (1,)
    if label_shape and len(label_shape) != 2:
        raise ValueError(
            f"ListMLELoss expects y_true of shape (n_lists, list_size); got {label_shape}. "
            "Group rows by query with companion.ranking.group_lists."
        )
    hint = (
        "ListMLELoss needs one score per item of each list: y_pred of shape (n_lists, list_size), the "
        "shape of y_true. A model that scores one row per document gives (batch, 1); score whole lists "
        "(companion.ranking.make_scorer) and group rows by query (companion.ranking.group_lists)."
    )
    if logit_shape and len(logit_shape) != 2:
        raise ValueError(f"y_pred has shape {logit_shape} but y_true has shape {label_shape}. {hint}")
    if label_shape and logit_shape:
        for a, b in zip(label_shape, logit_shape):
            if a is not None and b is not None and a != b:
                raise ValueError(f"y_pred has shape {logit_shape} but y_true has shape {label_shape}. {hint}")
        if all(d is not None for d in label_shape + logit_shape):
            return labels, logits
    # Shapes known only at run time (a TensorFlow graph): check them there.
    return labels, _keras.assert_same_shape(labels, logits, f"y_pred and y_true differ in shape. {hint}")


def _ragged_to_dense(y_true: Any, y_pred: Any, sample_weight: Any) -> tuple[Any, Any, Any]:
    """Ragged lists to padded ones: label -1 (padding), score 0, weight 0 (as tensorflow-ranking)."""
    import tensorflow as tf

    if not (isinstance(y_true, tf.RaggedTensor) and isinstance(y_pred, tf.RaggedTensor)):
        raise ValueError("ListMLELoss takes ragged y_true with ragged y_pred (or both dense), not one of each.")
    if isinstance(sample_weight, tf.RaggedTensor):
        sample_weight = sample_weight.to_tensor(0.0)
    return y_true.to_tensor(-1.0), y_pred.to_tensor(0.0), sample_weight


def _per_list_weights(y_true: Any, sample_weight: Any) -> Any:
    """tensorflow-ranking's listwise weights: per-item weights become one weight per list."""
    o = _keras.ops()
    weights = o.cast(o.convert_to_tensor(sample_weight), "float32")
    shape = _static_shape(weights)
    if len(shape) <= 1:
        return weights
    if len(shape) == 2 and shape[1] == 1:
        return o.squeeze(weights, axis=1)
    labels = o.cast(o.convert_to_tensor(y_true), "float32")
    if len(_static_shape(labels)) == 3:
        labels = o.squeeze(labels, axis=-1)
    if len(shape) == 3 and shape[-1] == 1:
        weights = o.squeeze(weights, axis=-1)
    gains = o.where(labels >= 0, labels, o.zeros_like(labels))
    total = o.sum(gains, axis=1)
    weighted = o.sum(weights * gains, axis=1)
    return o.where(total > 0, weighted / o.where(total > 0, total, o.ones_like(total)), o.zeros_like(total))


def listmle_per_list(labels: Any, logits: Any, seed: Any = None, lambda_weight: Any = None) -> Any:
    """Exact ListMLE of each list: float32 tensor of shape ``(n_lists,)``.

    The computation behind :class:`ListMLELoss`, for use outside Keras.

    Parameters
    ----------
    labels : tensor of shape (n_lists, list_size)
        Labels; below 0 marks padding.
    logits : tensor of shape (n_lists, list_size)
        Scores, already divided by any temperature.
    seed : int or keras.random.SeedGenerator, optional
        Seed of the random order of tied labels: TensorFlow's op-level seed on
        tf.keras 2; on Keras 3 an int or a ``SeedGenerator`` (an int gives the
        same order on every call).
    lambda_weight : ListMLELambdaWeight, optional
        Weights of the positions of the label order (tensorflow-ranking's
        ``ListMLELambdaWeight`` is converted); default 1 at every position.

    Returns
    -------
    tensor of shape (n_lists,)
        The loss of each list; 0 for lists with fewer than two valid items;
        NaN for a list with a NaN or infinite valid score.
    """
    o = _keras.ops()
    labels = o.cast(o.convert_to_tensor(labels), "float32")
    logits = o.cast(o.convert_to_tensor(logits), "float32")
    inf = float("inf")
    mask = labels >= 0
    n_valid = o.sum(o.cast(mask, "int32"), axis=1)
    # Random order among equal labels: shuffle, then sort stably by label, best first.
    order = _keras.order_labels(o.where(mask, labels, -inf), seed, logits)
    sorted_logits = o.take_along_axis(logits, order, axis=1)
    # Padding sorts last: the valid items of a list are its first n_valid positions.
    sorted_mask = _keras.positions(labels) < n_valid[:, None]

    lowest = o.min(o.where(mask, logits, inf), axis=1, keepdims=True)
    highest = o.max(o.where(mask, logits, -inf), axis=1, keepdims=True)
    any_valid = o.isfinite(lowest)
    lowest = o.where(any_valid, lowest, o.zeros_like(lowest))
    highest = o.where(any_valid, highest, o.zeros_like(highest))
    pad = o.stop_gradient(lowest - _PAD_OFFSET - o.abs(lowest))
    z = o.where(sorted_mask, sorted_logits, pad)

    # Each term is log(exp(z_i) + sum_{j > i} exp(z_j)) - z_i = softplus(rest_i - z_i),
    # with rest_i = log(sum_{j > i} exp(z_j)): exact even when the term is tiny.
    def shifted_sums() -> Any:
        # Fast path: with every gap below _FAST_GAP, exp(z - max) of every valid item
        # is a normal float32, so plain cumulative sums lose nothing, and a tail is 0
        # exactly where no valid item follows (the last valid item and the padding).
        shift = o.stop_gradient(highest)
        tail = _keras.reverse_exclusive_cumsum(o.exp(z - shift))
        has_tail = tail > 0
        rest = o.log(o.where(has_tail, tail, o.ones_like(tail))) + shift
        return o.where(has_tail, o.softplus(rest - z), o.zeros_like(z))

    def log_sum_exp_sums() -> Any:
        # Any gap: a reverse cumulative log-sum-exp, with one padded column after
        # the last, so that the last position, too, has a finite (and negligible) tail.
        rest = _keras.reverse_exclusive_cumlogsumexp(z, pad)
        return o.where(sorted_mask, o.softplus(rest - z), o.zeros_like(z))

    gaps = o.where(n_valid[:, None] >= 2, highest - lowest, o.zeros_like(highest))
    if _keras.backend() == "jax":
        terms = _terms_per_list(z, sorted_mask, highest, gaps < _FAST_GAP, log_sum_exp_sums)
    else:
        terms = _keras.cond(o.all(gaps < _FAST_GAP), shifted_sums, log_sum_exp_sums)
    weight = _as_lambda_weight(lambda_weight)
    if weight is not None:
        # Position i of the label order (1-based) weighs d(i), as in tensorflow-ranking.
        terms = terms * weight.rank_weights(o.shape(labels)[1])
    per_list = o.sum(terms, axis=1)
    per_list = o.where(n_valid >= 2, per_list, o.zeros_like(per_list))
    return _nan_where_a_score_is_not_finite(per_list, logits, mask)


def _nan_where_a_score_is_not_finite(per_list: Any, logits: Any, mask: Any) -> Any:
    """NaN as the loss of each list with a NaN or infinite valid score.

    Such a list has no loss: NaN says so, as in tensorflow-ranking, where a
    finite value would mislead (a diverged model whose loss logged 0.0 would
    read as the zero-loss failure).
    """
    o = _keras.ops()
    nonfinite = o.where(o.isfinite(logits), o.zeros_like(logits), o.ones_like(logits))
    broken = o.sum(o.where(mask, nonfinite, o.zeros_like(nonfinite)), axis=1) > 0
    return o.where(broken, o.full_like(per_list, float("nan")), per_list)


def _terms_per_list(z: Any, sorted_mask: Any, highest: Any, fast: Any, exact_terms: Callable[[], Any]) -> Any:
    """The terms of the loss, each list by its own path (Keras 3 with JAX).

    A list whose within-list gap is below ``_FAST_GAP`` (`fast`, shape
    ``(n_lists, 1)``) takes shifted cumulative sums; any other list the
    reverse cumulative log-sum-exp of `exact_terms`, which is only computed
    when the batch holds such a list. A list's loss so depends on that list
    alone, never on the gaps of the other lists of its batch.

    With ``e_i = exp(z_i - max)`` and ``t_i = sum_{j > i} e_j``, the term is
    ``log1p(t_i * exp(max - z_i))``: the same number as
    ``softplus(log(t_i) + max - z_i)``, exact to relative precision even when
    tiny, with two ``exp`` and one ``log1p`` per item. (Not ``t_i / e_i``: its
    gradient squares ``e_i``, which underflows past a gap of 43.7.) The bound:
    below a gap of 60, every ``e_i`` of a valid item is at least ``exp(-60)``,
    about ``9e-27``, a normal float32 (they end at ``exp(-87.3)``), and
    ``exp(max - z_i)`` at most ``exp(60)``, about ``1e26``, so that no product of
    the backward pass overflows; padding sits ``_PAD_OFFSET`` below the list,
    where ``exp`` is exactly 0, so it adds nothing to any ``t_i``.
    """
    o = _keras.ops()
    shift = o.stop_gradient(highest)
    tail = _keras.reverse_exclusive_cumsum(o.exp(z - shift))
    use = sorted_mask & fast
    # Where the fast path is not used, exp(max - z) may overflow: take exp(0) there,
    # so that no inf or NaN reaches the gradient through the unused side of the where.
    inverse = o.exp(o.where(use, shift - z, o.zeros_like(z)))
    fast_terms = o.where(use, o.log1p(tail * inverse), o.zeros_like(z))
    return _keras.cond(
        o.all(fast),
        lambda: fast_terms,
        lambda: o.where(fast, fast_terms, exact_terms()),
    )
