"""One Keras for the package: tf.keras 2 (the book's TensorFlow 2.15) or Keras 3.

Defined in :doc:`/book/ranking/keras3`.

:class:`companion.ranking.ListMLELoss` is written once, against the names of
``keras.ops``. On Keras 3 (any backend) those are ``keras.ops`` itself; on
tf.keras 2, which has no ``keras.ops``, :class:`_TF2Ops` maps the same names to
the TensorFlow operations the loss always used there, so the book's figures do
not move. The few primitives that ``keras.ops`` lacks or computes less well (a
reverse exclusive cumulative sum and log-sum-exp, random noise that varies
under JAX's ``jit``) are the functions of this module, each with one branch per
backend.

Nothing here imports TensorFlow or Keras until it is first called.
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from typing import Any, Optional

__all__ = ["keras", "keras_major", "backend", "ops", "is_tensorflow_tensor", "value_and_grad", "to_numpy"]


@lru_cache(maxsize=None)
def _load() -> tuple[Any, int]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        module = importlib.import_module("keras")
        major = int(str(module.__version__).split(".")[0])
    except ImportError:
        module, major = None, 0
    if major >= 3:
        return module, major
    try:
        tf = importlib.import_module("tensorflow")
    except ImportError as error:
        raise ImportError(
            "companion's ranking loss needs Keras: Keras 3 (pip install "
            "'path/to/training-failures-book[keras3]' with TensorFlow or JAX, or '[jax]') "
            "or tf.keras 2 ('[tfr]'). The registry's 'companion' is another project."
        ) from error
    return tf.keras, 2


def keras() -> Any:
    """The Keras in use: the ``keras`` package if it is Keras 3, else ``tf.keras``."""
    return _load()[0]


def keras_major() -> int:
    """3 on Keras 3, 2 on tf.keras 2 (TensorFlow below 2.16)."""
    return _load()[1]


def backend() -> str:
    """``"tensorflow"``, ``"jax"`` or ``"torch"``: always ``"tensorflow"`` on tf.keras 2."""
    return str(keras().backend.backend()) if keras_major() >= 3 else "tensorflow"


def no_autograph(function: Any) -> Any:
    """Mark a function that has no Python control flow on tensors, so that AutoGraph leaves it alone.

    tf.keras 2 converts a loss's ``call`` with AutoGraph whenever it traces
    the train step; code that also runs under JAX's tracing has nothing to
    convert, and conversion only costs time (for :class:`ListMLELoss`: about
    4.5 s the first time in a process, and 15% of each later trace of a
    ranking scorer's train step; the same operations, so the same bits).
    Everything `function` calls runs unconverted too, so it must not call
    user code that may need AutoGraph (a ``rank_discount_fn``). On Keras 3,
    `function` itself.
    """
    if keras_major() >= 3:
        return function
    return _tf().autograph.experimental.do_not_convert(function)


def _tf() -> Any:
    # An import statement, not importlib: AutoGraph traces this inside tf.function.
    import tensorflow as tf

    return tf


def is_tensorflow_tensor(x: Any, kind: str) -> bool:
    """Whether `x` is a TensorFlow ``RaggedTensor`` (`kind` ``"ragged"``) without importing TensorFlow."""
    import sys

    tf = sys.modules.get("tensorflow")
    if tf is None:
        return False
    return isinstance(x, tf.RaggedTensor) if kind == "ragged" else False


class _TF2Ops:
    """The subset of ``keras.ops`` the package uses, on tf.keras 2 (TensorFlow ops)."""

    def __init__(self) -> None:
        self.tf = _tf()

    def convert_to_tensor(self, x: Any, dtype: Optional[str] = None) -> Any:
        return self.tf.convert_to_tensor(x, dtype=dtype)

    def cast(self, x: Any, dtype: str) -> Any:
        return self.tf.cast(x, dtype)

    def shape(self, x: Any) -> Any:
        return self.tf.shape(x)

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        return self.tf.where(condition, x, y)

    def take_along_axis(self, x: Any, indices: Any, axis: int) -> Any:
        assert axis == 1
        return self.tf.gather(x, indices, batch_dims=1)

    def argsort(self, x: Any, axis: int = -1) -> Any:
        return self.tf.argsort(x, axis=axis, stable=True)

    def exp(self, x: Any) -> Any:
        return self.tf.exp(x)

    def log(self, x: Any) -> Any:
        return self.tf.math.log(x)

    def softplus(self, x: Any) -> Any:
        return self.tf.math.softplus(x)

    def abs(self, x: Any) -> Any:
        return self.tf.abs(x)

    def min(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        return self.tf.reduce_min(x, axis=axis, keepdims=keepdims)

    def max(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        return self.tf.reduce_max(x, axis=axis, keepdims=keepdims)

    def sum(self, x: Any, axis: int) -> Any:
        return self.tf.reduce_sum(x, axis=axis)

    def all(self, x: Any) -> Any:
        return self.tf.reduce_all(x)

    def isfinite(self, x: Any) -> Any:
        return self.tf.math.is_finite(x)

    def stop_gradient(self, x: Any) -> Any:
        return self.tf.stop_gradient(x)

    def concatenate(self, xs: Any, axis: int) -> Any:
        return self.tf.concat(xs, axis=axis)

    def squeeze(self, x: Any, axis: int) -> Any:
        return self.tf.squeeze(x, axis=axis)

    def arange(self, n: Any) -> Any:
        return self.tf.range(n)

    def cond(self, pred: Any, true_fn: Any, false_fn: Any) -> Any:
        return self.tf.cond(pred, true_fn, false_fn)

    def zeros_like(self, x: Any) -> Any:
        return self.tf.zeros_like(x)

    def ones_like(self, x: Any) -> Any:
        return self.tf.ones_like(x)

    def full_like(self, x: Any, value: float) -> Any:
        return self.tf.fill(self.tf.shape(x), value)


@lru_cache(maxsize=None)
def ops() -> Any:
    """``keras.ops`` on Keras 3; the same names over TensorFlow on tf.keras 2."""
    return keras().ops if keras_major() >= 3 else _TF2Ops()


def order_with_shuffled_ties(keys: Any, noise: Any) -> Any:
    """Indices that sort each row of `keys` from largest to smallest, ties in random order.

    The order is that of a stable sort by `noise` (ascending) followed by a
    stable sort by `keys` (descending), as tensorflow-ranking shuffles ties.
    On TensorFlow it takes one sort instead of two: the key of an item packs
    its float32 key's bits (order-preserving) above its noise, which
    TensorFlow's uniform float32 draws as a multiple of 2**-23, and
    ``tf.math.top_k`` puts equal keys in index order, as the stable sorts do.
    """
    if backend() == "tensorflow":
        tf = _tf()
        bits = tf.bitcast(keys + 0.0, tf.int32)  # + 0.0: -0.0 sorts as 0.0
        # Flip the magnitude bits of negative floats: the int32 then orders as the float.
        ordered = tf.bitwise.bitwise_xor(bits, tf.bitwise.bitwise_and(tf.bitwise.right_shift(bits, 31), 0x7FFFFFFF))
        scale = 2**23
        key = tf.cast(ordered, tf.int64) * scale + (scale - 1 - tf.cast(noise * scale, tf.int64))
        return tf.math.top_k(key, k=tf.shape(key)[1], sorted=True).indices
    o = ops()
    shuffle = o.argsort(noise, axis=1)
    shuffled = o.take_along_axis(keys, shuffle, axis=1)
    return o.take_along_axis(shuffle, argsort_descending(shuffled), axis=1)


# Random bits per item below which the packed key of order_labels falls back to
# two sorts (2**-12: two tied items share their bits, and keep their position
# order, with probability 1 in 4096).
_MIN_TIE_BITS = 12


def order_labels(keys: Any, seed: Any, data: Any) -> Any:
    """Indices that sort each row of `keys` from largest to smallest, ties shuffled.

    `keys` are the labels with padding set to ``-inf``; `seed` and `data` are
    those of :func:`uniform_noise`. On TensorFlow (tf.keras 2 and Keras 3) it is
    :func:`order_with_shuffled_ties` of :func:`uniform_noise`, unchanged. On JAX
    it takes one sort of one int32 array where it can: when every label is a
    whole number, the key of an item packs, from the top bit down, its label's
    rank counted from the best (``r`` bits, padding last), ``b`` random bits
    and its position in the list (``p`` bits, ``2**p >= list_size``), with
    ``r + b + p = 31`` and ``b >= 12``. The sorted keys' low ``p`` bits are
    the order, and equal labels fall in a random order. (XLA's CPU sort of a
    single int32 array is about twice as fast as ``lax.top_k``, or as a sort
    that carries the indices along.) The random bits are a hash of the item's
    position and one random word per call (see :func:`_jax_seed_word`), far
    cheaper than a uniform draw per item. Other labels (fractional, or a
    range too wide for ``b >= 12``: 2047 or more, largest minus smallest,
    for lists of 200) take the two sorts of :func:`order_with_shuffled_ties`.
    """
    if backend() != "jax":
        return order_with_shuffled_ties(keys, uniform_noise(keys, seed, data))
    jnp = importlib.import_module("jax.numpy")
    lax = importlib.import_module("jax.lax")
    word = _jax_seed_word(seed, data)
    shape = keys.shape
    index = lax.broadcasted_iota(jnp.uint32, shape, 0) * jnp.uint32(shape[1])
    index = index + lax.broadcasted_iota(jnp.uint32, shape, 1)
    # 32 random bits per item: murmur3's finaliser of (position, word).
    h = index * jnp.uint32(0x9E3779B1) + word
    h = (h ^ (h >> 16)) * jnp.uint32(0x85EBCA6B)
    h = (h ^ (h >> 13)) * jnp.uint32(0xC2B2AE35)
    h = h ^ (h >> 16)
    valid = jnp.isfinite(keys)
    lo = jnp.min(jnp.where(valid, keys, jnp.inf))
    lo = jnp.where(jnp.isfinite(lo), lo, 0.0)
    rank = jnp.where(valid, keys - lo + 1.0, 0.0)  # padding 0, the lowest label 1
    top = jnp.max(rank)
    p = max(1, (int(shape[1]) - 1).bit_length())  # bits of a position
    # The labels fit when they are whole and their ranks leave _MIN_TIE_BITS random bits.
    whole = jnp.all(rank == jnp.floor(rank)) & (top < 2.0 ** (31 - p - _MIN_TIE_BITS))

    def one_sort() -> Any:
        top_int = top.astype(jnp.int32)
        bits = 31 - p - (32 - lax.clz(top_int))  # random bits: 31 - p - (bits of top)
        noise = (h >> (32 - bits).astype(jnp.uint32)).astype(jnp.int32)
        position = lax.broadcasted_iota(jnp.int32, shape, 1)
        key = ((top_int - rank.astype(jnp.int32)) << (bits + p)) | (noise << p) | position
        return lax.sort(key, dimension=1) & jnp.int32(2**p - 1)

    def two_sorts() -> Any:
        uniform = (h >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)  # in [0, 1), exact
        return order_with_shuffled_ties(keys, uniform)

    return cond(whole, one_sort, two_sorts)


def _jax_seed_word(seed: Any, data: Any) -> Any:
    """One random uint32 per call on JAX, for the order of ties.

    Run eagerly, a ``keras.random.SeedGenerator`` (or, with no seed, Keras'
    global one) draws it, so it changes on every call. Under ``jit``, where a
    generator that no layer owns cannot advance, and for an int seed, it is
    the seed (or the generator's state) mixed with a hash of the bits of
    `data` (the scores, which change at every training step).
    """
    jnp = importlib.import_module("jax.numpy")
    lax = importlib.import_module("jax.lax")
    random = keras().random
    tracing = isinstance(data, importlib.import_module("jax.core").Tracer)
    if not tracing and (seed is None or isinstance(seed, random.SeedGenerator)):
        drawn = random.randint((2,), 0, 2**16, seed=seed, dtype="int32")
        return (drawn[0].astype(jnp.uint32) << 16) | drawn[1].astype(jnp.uint32)
    if isinstance(seed, random.SeedGenerator):
        state = jnp.asarray(seed.state.value).astype(jnp.uint32)
        base = state[0] * jnp.uint32(0x9E3779B1) ^ state[1]
    else:
        base = jnp.uint32(0 if seed is None else seed)
    bits = lax.bitcast_convert_type(lax.stop_gradient(data).astype(jnp.float32), jnp.uint32).reshape(-1)
    # A cheap hash of the scores: a wrapping, position-weighted sum of their bits.
    weights = jnp.arange(bits.size, dtype=jnp.uint32) * jnp.uint32(2654435761) | jnp.uint32(1)
    digest = jnp.sum(bits * weights, dtype=jnp.uint32)
    return (base * jnp.uint32(0x85EBCA6B)) ^ digest


def cond(pred: Any, true_fn: Any, false_fn: Any) -> Any:
    """``ops.cond``; run eagerly on JAX (a concrete `pred`) it calls one branch, as TensorFlow does.

    JAX's ``lax.cond`` compiles both branches on every eager call (they are new
    closures each time), which costs about a second per call.
    """
    if backend() == "jax" and not isinstance(pred, importlib.import_module("jax.core").Tracer):
        return true_fn() if bool(pred) else false_fn()
    return ops().cond(pred, true_fn, false_fn)


def argsort_descending(x: Any) -> Any:
    """Indices that sort each row of `x` from largest to smallest, ties in their order (stable)."""
    if backend() == "tensorflow":
        return _tf().argsort(x, axis=1, direction="DESCENDING", stable=True)
    if backend() == "jax":  # lax.top_k keeps equal values in index order, and is faster than a sort
        lax = importlib.import_module("jax.lax")
        return lax.top_k(x, x.shape[1])[1]
    o = ops()
    return o.argsort(o.negative(x), axis=1)


def positions(x: Any) -> Any:
    """``[[0, 1, ..., n - 1]]`` (int32) for `x` of shape ``(m, n)``: the position along axis 1."""
    if backend() == "tensorflow":
        tf = _tf()
        return tf.range(tf.shape(x)[1])[None, :]
    o = ops()
    return o.arange(o.shape(x)[1], dtype="int32")[None, :]


def positions_of(n: Any) -> Any:
    """``[[0, 1, ..., n - 1]]`` (int32): the positions of a list of size `n`."""
    if backend() == "tensorflow":
        return _tf().range(n)[None, :]
    return ops().arange(n, dtype="int32")[None, :]


def reverse_exclusive_cumsum(x: Any) -> Any:
    """``out[:, i] = sum(x[:, i + 1:])`` along axis 1, summed from the right."""
    if backend() == "tensorflow":
        return _tf().cumsum(x, axis=1, exclusive=True, reverse=True)
    o = ops()
    shifted = o.concatenate([x[:, 1:], o.zeros_like(x[:, :1])], axis=1)
    if backend() == "jax":
        return importlib.import_module("jax.lax").cumsum(shifted, axis=1, reverse=True)
    return o.flip(o.cumsum(o.flip(shifted, axis=1), axis=1), axis=1)


def reverse_exclusive_cumlogsumexp(x: Any, last: Any) -> Any:
    """``out[:, i] = log(sum(exp(x[:, i + 1:])) + exp(last))`` along axis 1.

    `last` (shape ``(n, 1)``) is one more column after the last one, so that
    every position has a finite result.
    """
    if backend() == "tensorflow":
        tf = _tf()
        padded = tf.concat([x, last], axis=1)
        return tf.math.cumulative_logsumexp(padded, axis=1, exclusive=True, reverse=True)[:, :-1]
    o = ops()
    shifted = o.concatenate([x[:, 1:], last], axis=1)
    # A parallel prefix scan of logaddexp (JAX: lax.associative_scan), O(n log n).
    # Not lax.cumlogsumexp: on the CPU its forward pass is a reduce_window that
    # costs O(n**2) logaddexps per list (about 12 times slower on lists of 200).
    return o.associative_scan(o.logaddexp, shifted, reverse=True, axis=1)


def uniform_noise(like: Any, seed: Any, data: Any) -> Any:
    """Uniform [0, 1) noise of the shape of `like`, for the random order of ties.

    `seed` is an int or None (on tf.keras 2 TensorFlow's op-level seed, new
    noise on every call) or a ``keras.random.SeedGenerator`` (Keras 3: new
    noise on every call; an int there gives the same noise on every call).
    Under JAX's ``jit`` a seed generator that no layer owns cannot advance
    (Keras reads its state once, when it traces, and ``model.fit`` does not
    track a loss's variables), so on JAX the seed is combined with a hash of
    the bits of `data` (the scores, which change at every training step): the
    noise is a fixed function of the seed and the scores, and differs between
    training steps.
    """
    if keras_major() < 3:
        tf = _tf()
        return tf.random.uniform(tf.shape(like), seed=seed)
    o = ops()
    random = keras().random
    if backend() != "jax":
        return random.uniform(o.shape(like), seed=seed)
    jnp = importlib.import_module("jax.numpy")
    lax = importlib.import_module("jax.lax")
    tracing = isinstance(data, importlib.import_module("jax.core").Tracer)
    if isinstance(seed, random.SeedGenerator):
        if not tracing:
            return random.uniform(o.shape(like), seed=seed)
        key = jnp.asarray(seed.state.value).astype(jnp.uint32)
    elif seed is None and not tracing:
        return random.uniform(o.shape(like))
    else:
        key = jnp.asarray([0 if seed is None else seed, 0], dtype=jnp.uint32)
    bits = lax.bitcast_convert_type(lax.stop_gradient(data).astype(jnp.float32), jnp.uint32).reshape(-1)
    # A cheap hash of the scores: a wrapping, position-weighted sum of their bits.
    weights = jnp.arange(bits.size, dtype=jnp.uint32) * jnp.uint32(2654435761) | jnp.uint32(1)
    digest = jnp.sum(bits * weights, dtype=jnp.uint32)
    key = key.at[1].set(key[1] ^ digest)
    return random.uniform(o.shape(like), seed=key)


def assert_same_shape(labels: Any, logits: Any, message: str) -> Any:
    """A run-time check of equal shapes, for graph code whose static shapes are unknown.

    Returns `logits` (with a dependency on the check on TensorFlow). JAX and
    PyTorch always know shapes when the loss runs, so only TensorFlow needs it.
    """
    if backend() != "tensorflow":
        return logits
    tf = _tf()
    check = tf.debugging.assert_equal(tf.shape(labels), tf.shape(logits), message=message)
    with tf.control_dependencies([check]):
        return tf.identity(logits)


def to_numpy(x: Any) -> Any:
    """A tensor of any backend as a NumPy array."""
    import numpy as np

    return np.asarray(keras().ops.convert_to_numpy(x) if keras_major() >= 3 else x)


def value_and_grad(loss: Any, labels: Any, scores: Any) -> tuple[float, Any]:
    """``loss(labels, scores)`` and its gradient with respect to `scores` (NumPy), on the backend in use."""
    import numpy as np

    labels = np.asarray(labels, np.float32)
    scores = np.asarray(scores, np.float32)
    if backend() == "jax":
        jax = importlib.import_module("jax")
        value, grad = jax.value_and_grad(lambda s: loss(labels, s))(scores)
        return float(value), np.asarray(grad)
    if backend() == "torch":
        torch = importlib.import_module("torch")
        s = torch.tensor(scores, requires_grad=True)
        value = loss(torch.tensor(labels), s)
        value.backward()
        return float(value), s.grad.numpy()
    tf = _tf()
    variable = tf.Variable(scores)
    with tf.GradientTape() as tape:
        value = loss(tf.constant(labels), variable)
    return float(value), tape.gradient(value, variable).numpy()
