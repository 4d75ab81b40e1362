"""The doctor's compiled look at a model: scores on the sample and the weights, in one call.

:class:`LossDoctor` reads, at the end of every epoch, the model's scores on
its sample, every weight (for the update/weight ratio and the largest weight)
and the learning rate. Read one by one, each weight costs a device-to-host
copy and, on TensorFlow, an eager op (about 0.1 ms each); the forward pass is
one more call. Here one traced function (``tf.function`` on tf.keras 2 and on
Keras 3's TensorFlow backend, ``jax.jit`` of a stateless call on JAX) returns
the scores and the weights, concatenated into one flat vector per dtype, so
that one call and one transfer per output happen per epoch. The weights come
back to the host bit for bit (a concatenation and a reshape copy values; they
compute nothing), so every statistic the doctor computes from them in NumPy
is the one it computed from ``get_weights``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from companion import _keras

#: Where each watched variable sits in the flat outputs: (output, start, stop, shape).
_Layout = list[tuple[int, int, int, tuple[int, ...]]]


def _layout(variables: list[Any]) -> tuple[list[list[int]], _Layout]:
    """Variables grouped by dtype (indices, in order), and where each lands in its group's flat vector."""
    groups: dict[str, list[int]] = {}
    for i, v in enumerate(variables):
        groups.setdefault(str(v.dtype), []).append(i)
    order = list(groups.values())
    where: dict[int, tuple[int, int, int, tuple[int, ...]]] = {}
    for g, members in enumerate(order):
        start = 0
        for i in members:
            shape = tuple(int(d) for d in variables[i].shape)
            size = int(np.prod(shape, dtype=np.int64))
            where[i] = (g, start, start + size, shape)
            start += size
    return order, [where[i] for i in range(len(variables))]


def unflatten(flats: list[NDArray[Any]], layout: _Layout) -> list[NDArray[Any]]:
    """Each variable's value (a view into its group's flat vector, in its own shape)."""
    return [flats[g][start:stop].reshape(shape) for g, start, stop, shape in layout]


class _Forward:
    """The model's forward pass on the doctor's sample, compiled once per fit.

    Not ``predict()``: it builds a data pipeline on every call, which costs
    more than a small epoch. The first call runs eagerly (it may build the
    model); later calls run a traced function (``tf.function`` on tf.keras 2
    and on Keras 3's TensorFlow backend, ``jax.jit`` of a stateless call on
    JAX) on inputs converted once. Where tracing fails, every call stays eager.
    :meth:`observe` returns the scores and the watched weights from one
    traced call, :meth:`snapshot` the weights alone (TensorFlow).
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self._eager = self._layer_by_layer if self._sequential3() else self._whole
        self._compiled: Optional[Any] = None
        self._failed = False
        self._inputs: dict[int, tuple[Any, Any]] = {}  # id(X) -> (X, X as the backend's tensors)
        self._convert: Any = None  # set with the compiled function
        self._single = False  # whether the model returns one tensor (observe needs it)
        self._watched: Optional[tuple[list[Any], list[list[int]], _Layout]] = None
        self._observers: dict[int, Any] = {}  # id(X) -> traced (scores, flats) of that input
        self._snapshot: Any = None
        self._observe_failed = False

    def _sequential3(self) -> bool:
        # A Keras 3 Sequential called as a whole fixes its input rank, and fit
        # may then feed another one (rows, where the sample has lists).
        return _keras.keras_major() >= 3 and isinstance(self.model, _keras.keras().Sequential)

    def _layer_by_layer(self, x: Any) -> Any:
        for layer in self.model.layers:
            x = layer(x, training=False)
        return x

    def _whole(self, x: Any) -> Any:
        return self.model(x, training=False)

    def __call__(self, X: Any) -> Any:
        if self._compiled is None and not self._failed:
            out = self._eager(X)  # builds the model if it is not built yet
            self._single = hasattr(out, "shape") and hasattr(out, "dtype")
            try:
                self._compiled = self._compile()
            except Exception:  # noqa: BLE001 - a backend or model that cannot be traced: stay eager
                self._failed = True
            return out
        if self._compiled is not None:
            try:
                return self._compiled(self._converted(X))
            except Exception:  # noqa: BLE001 - as above; the eager call raises a real error again
                self._compiled, self._failed = None, True
        return self._eager(X)

    def _converted(self, X: Any) -> Any:
        key = id(X)
        if key not in self._inputs or self._inputs[key][0] is not X:
            if len(self._inputs) > 4:
                self._inputs.clear()
                self._observers.clear()
            self._inputs[key] = (X, self._convert(X))
            self._observers.pop(key, None)
        return self._inputs[key][1]

    def _compile(self) -> Any:
        backend = _keras.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            def convert(x: Any) -> Any:
                return x if isinstance(x, (tf.Tensor, tf.RaggedTensor, tf.SparseTensor)) else tf.convert_to_tensor(x)

            self._convert = lambda X: tf.nest.map_structure(convert, X)
            return tf.function(self._eager, reduce_retracing=True)
        if backend == "jax":
            import importlib

            jax = importlib.import_module("jax")
            jnp = importlib.import_module("jax.numpy")
            trainable, fixed, pure = self._stateless()
            jitted = jax.jit(pure)
            self._convert = lambda X: jax.tree_util.tree_map(jnp.asarray, X)
            return lambda x: jitted([v.value for v in trainable], [v.value for v in fixed], x)
        raise NotImplementedError(backend)

    def _stateless(self) -> tuple[list[Any], list[Any], Any]:
        """JAX: the model's trainable and other variables, and its forward pass as a pure function of their values."""
        keras, model = _keras.keras(), self.model
        trainable, fixed = list(model.trainable_variables), list(model.non_trainable_variables)

        def pure(values: list[Any], fixed_values: list[Any], x: Any) -> Any:
            mapping = list(zip(trainable, values)) + list(zip(fixed, fixed_values))
            with keras.StatelessScope(state_mapping=mapping):
                return self._eager(x)

        return trainable, fixed, pure

    # ------------------------------------------------ scores and weights at once

    def observe(self, X: Any, variables: list[Any],
                rate: Any = None) -> Optional[tuple[NDArray[Any], list[NDArray[Any]], Optional[float]]]:
        """The model's outputs on `X`, a host copy of each of `variables` and `rate`'s value, in one call.

        `rate`, a Keras 3 variable (the learning rate), is read in the call on
        JAX only (on TensorFlow an argument costs what a separate read does):
        elsewhere the value returned is None. None where there is no traced
        path (the caller reads them one by one).
        """
        if self._compiled is None or not self._single or not variables or self._observe_failed:
            return None
        try:
            self._watch(variables)
            x = self._converted(X)
            if id(X) not in self._observers:
                self._observers[id(X)] = self._observer(x)
            jax = _keras.backend() == "jax"
            out, *flats = self._observers[id(X)](x, rate.value if jax and rate is not None else None)
        except Exception:  # noqa: BLE001 - a model the joint call cannot trace: the separate reads
            self._observe_failed = True
            return None
        assert self._watched is not None
        value = float(np.asarray(flats.pop())) if jax and rate is not None else None
        return out, unflatten(flats, self._watched[2]), value

    def snapshot(self, variables: list[Any]) -> Optional[list[NDArray[Any]]]:
        """A host copy of each of `variables` from one traced call (TensorFlow); None elsewhere."""
        if _keras.backend() != "tensorflow" or not variables or self._observe_failed:
            return None
        try:
            self._watch(variables)
            if self._snapshot is None:
                self._snapshot = self._tf_snapshot()
            flats = [t.numpy() for t in self._snapshot()]
        except Exception:  # noqa: BLE001 - as in observe
            self._observe_failed = True
            return None
        assert self._watched is not None
        return unflatten(flats, self._watched[2])

    def _watch(self, variables: list[Any]) -> None:
        if self._watched is None or len(self._watched[0]) != len(variables) or any(
                a is not b for a, b in zip(self._watched[0], variables)):
            self._watched = (list(variables), *_layout(variables))
            self._observers.clear()
            self._snapshot = None

    def _observer(self, x: Any) -> Any:
        """A callable: (converted input, rate) -> (output, flat weights of each dtype group[, rate]), as NumPy."""
        assert self._watched is not None
        variables, groups, _ = self._watched
        if _keras.backend() == "tensorflow":
            import tensorflow as tf

            flat = self._tf_flat(variables, groups)
            traced = tf.function(lambda x: (self._eager(x), *flat())).get_concrete_function(x)
            return lambda x, rate: [t.numpy() for t in traced(x)]
        return self._jax_observer(variables, groups)

    def _tf_flat(self, variables: list[Any], groups: list[list[int]]) -> Any:
        import tensorflow as tf

        three = _keras.keras_major() >= 3
        reads = [(lambda v=v: v.value) if three else (lambda v=v: v) for v in variables]
        return lambda: [tf.concat([tf.reshape(reads[i](), [-1]) for i in g], 0) for g in groups]

    def _tf_snapshot(self) -> Any:
        import tensorflow as tf

        assert self._watched is not None
        flat = self._tf_flat(*self._watched[:2])
        # No autograph: a concatenation, no user code (traces in a third of the time).
        return tf.function(lambda: tuple(flat()), autograph=False).get_concrete_function()

    def _jax_observer(self, variables: list[Any], groups: list[list[int]]) -> Any:
        import importlib

        jax = importlib.import_module("jax")
        jnp = importlib.import_module("jax.numpy")
        trainable, fixed, forward = self._stateless()
        position = {id(v): i for i, v in enumerate(trainable + fixed)}
        at = [position[id(v)] for v in variables]  # KeyError: a weight outside the model's state

        def pure(values: list[Any], fixed_values: list[Any], x: Any, rate: Any) -> Any:
            out = forward(values, fixed_values, x)
            state = values + fixed_values
            flats = [jnp.concatenate([jnp.ravel(state[at[i]]) for i in g]) for g in groups]
            return (out, *flats) if rate is None else (out, *flats, rate)

        jitted = jax.jit(pure)

        def call(x: Any, rate: Any) -> list[NDArray[Any]]:
            got = jitted([v.value for v in trainable], [v.value for v in fixed], x, rate)
            # Copies: fit may donate a buffer that an output forwards unchanged.
            return [np.array(a) for a in got]

        return call
