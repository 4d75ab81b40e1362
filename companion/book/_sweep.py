"""companion's ListMLE beside keras-rs', on a correctly ranked pair at growing gaps.

Defined in :doc:`/book/ranking/keras3`, with the bisection of keras-rs' thresholds
and the training trial of that chapter. Runs on Keras 3 only; another backend
than the one in use runs in a subprocess (``python -m companion.book._sweep``).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from companion import _keras

__all__ = ["listmle_gap_sweep", "keras_rs_thresholds", "epsilon_training_trial"]


def listmle_gap_sweep(gaps: Sequence[float], *, backend: Optional[str] = None) -> dict[str, Any]:
    """companion's and keras-rs' ListMLE on a correctly ranked pair, at each score gap.

    For labels ``[1, 0]`` and scores ``[gap, 0]`` it computes the exact value
    (:func:`companion.ranking.plackett_luce_nll`, float64), and each loss's
    value and gradient with respect to the top score, on one Keras 3 backend.
    A process has one Keras backend, so another backend than the one in use
    runs in a subprocess (same Python, ``KERAS_BACKEND`` set). Used by
    :doc:`/book/ranking/keras3`.

    Parameters
    ----------
    gaps : sequence of float
        Score gaps, top minus bottom.
    backend : {"tensorflow", "jax"}, optional
        The Keras backend to compute on; default the one in use.

    Returns
    -------
    dict
        ``backend``; ``gap``, ``exact``; ``companion`` and ``keras_rs`` (loss
        values); ``companion_grad`` and ``keras_rs_grad`` (d loss / d top
        score: negative pulls the pair apart, positive pushes it together).
        Lists of float, one entry per gap.

    Raises
    ------
    ImportError
        Without Keras 3 or keras-rs (``pip install keras-rs``).
    """

    gaps = [float(g) for g in gaps]
    if _keras.keras_major() < 3:
        raise ImportError("listmle_gap_sweep compares with keras-rs, which needs Keras 3 (see the keras3 chapter).")
    if backend is not None and backend != _keras.backend():
        result: dict[str, Any] = _in_subprocess(backend, "sweep", gaps)
        return result
    import importlib

    from companion.ranking import ListMLELoss, plackett_luce_nll

    keras_rs = importlib.import_module("keras_rs")
    ours, theirs = ListMLELoss(), keras_rs.losses.ListMLELoss()
    out: dict[str, Any] = {"backend": _keras.backend(), "gap": gaps, "exact": [], "companion": [], "keras_rs": [],
                           "companion_grad": [], "keras_rs_grad": []}
    for gap in gaps:
        out["exact"].append(plackett_luce_nll(labels=[1, 0], scores=[gap, 0.0]))
        for name, loss in (("companion", ours), ("keras_rs", theirs)):
            value, grad = _keras.value_and_grad(loss, [[1.0, 0.0]], [[gap, 0.0]])
            out[name].append(value)
            out[f"{name}_grad"].append(float(grad[0, 0]))
    return out


def keras_rs_thresholds(*, tol: float = 1e-3, backend: Optional[str] = None,
                        list_size: int = 20) -> dict[str, Any]:
    """Where keras-rs' ListMLE goes wrong on a correctly ranked pair, found by bisection.

    On labels ``[1, 0]`` and scores ``[gap, 0]`` (see :func:`listmle_gap_sweep`),
    bisects keras-rs itself (float32, on one Keras 3 backend) for two gaps:

    * ``error_1pct``: where its loss first exceeds the exact value
      ``log(1 + exp(-gap))`` by 1% (bracket 5 to 10);
    * ``push``: where its derivative with respect to the top score turns
      positive, so that gradient descent pushes the pair together (bracket 10
      to 16).

    Then, on a list of `list_size` items with evenly spaced scores from the
    spread ``G`` down to 0, in label order, it bisects for the spread at
    which keras-rs' loss first exceeds the exact value by 1%
    (``list_error_1pct``, bracket 12 to 30) and at which its gradient first
    raises the lowest-labelled item (``list_push``, bracket 12 to 30): in a
    longer list the push starts later, once ``eps * e^G`` exceeds
    ``e^-(G / (list_size - 1))``, the last adjacent gap's pull.

    Used by :doc:`/book/ranking/keras3`.

    Parameters
    ----------
    tol : float, default=1e-3
        Width of the final bracket.
    backend : {"tensorflow", "jax"}, optional
        The backend to bisect on (another than the one in use runs in a
        subprocess); default the one in use.
    list_size : int, default=20
        Length of the evenly spaced list.

    Returns
    -------
    dict
        ``error_1pct`` and ``push`` (float gaps), ``list_error_1pct`` and
        ``list_push`` (float spreads) and ``backend``.
    """
    if backend is not None and backend != _keras.backend():
        found: dict[str, Any] = _in_subprocess(backend, "thresholds", tol)
        return found
    import importlib
    import math

    theirs = importlib.import_module("keras_rs").losses.ListMLELoss()
    seen: dict[float, tuple[float, float]] = {}

    def keras_rs_at(gap: float) -> tuple[float, float]:
        if gap not in seen:
            value, grad = _keras.value_and_grad(theirs, [[1.0, 0.0]], [[gap, 0.0]])
            seen[gap] = (value, float(grad[0, 0]))
        return seen[gap]

    def wrong(gap: float) -> bool:  # the exact value is log(1 + exp(-gap)), in float64
        return keras_rs_at(gap)[0] > 1.01 * math.log1p(math.exp(-gap))

    def pushes(gap: float) -> bool:
        return keras_rs_at(gap)[1] > 0

    def bisect(test: Any, lo: float, hi: float) -> float:
        if test(lo) or not test(hi):
            raise ValueError(f"keras-rs does not change between gaps {lo} and {hi}; widen the bracket.")
        while hi - lo > tol:
            mid = (lo + hi) / 2.0
            lo, hi = (lo, mid) if test(mid) else (mid, hi)
        return (lo + hi) / 2.0

    import numpy as np

    from companion.ranking import plackett_luce_nll

    labels = [[float(list_size - 1 - i) for i in range(list_size)]]
    listed: dict[float, tuple[float, float]] = {}

    def list_at(spread: float) -> tuple[float, float]:
        if spread not in listed:
            scores = np.linspace(spread, 0.0, list_size)[None, :]
            value, grad = _keras.value_and_grad(theirs, labels, scores)
            listed[spread] = (value, float(grad[0, -1]))
        return listed[spread]

    def list_wrong(spread: float) -> bool:
        exact = plackett_luce_nll(labels[0], np.linspace(spread, 0.0, list_size))
        return list_at(spread)[0] > 1.01 * exact

    def list_pushes(spread: float) -> bool:  # a negative derivative raises the bottom item
        return list_at(spread)[1] < 0

    return {"error_1pct": bisect(wrong, 5.0, 10.0), "push": bisect(pushes, 10.0, 16.0),
            "list_error_1pct": bisect(list_wrong, 12.0, 30.0), "list_push": bisect(list_pushes, 12.0, 30.0),
            "backend": _keras.backend()}


def _in_subprocess(backend: str, what: str, argument: Any) -> Any:
    """Run :func:`listmle_gap_sweep` or :func:`keras_rs_thresholds` on another Keras backend."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    done = subprocess.run([sys.executable, "-m", "companion.book._sweep", what, json.dumps(argument)],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"the {backend} subprocess failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def epsilon_training_trial(seed: int, *, epochs: int = 60, n_lists: int = 128, list_size: int = 20,
                           learning_rate: float = 0.1, batch_size: int = 32, noise: float = 0.0) -> dict[str, Any]:
    """Train one linear scorer with companion's and one with keras-rs' ListMLE, from one seed.

    The data: `n_lists` lists of `list_size` items with three standard-normal
    features, labelled by a strict order of the linear utility
    ``x @ [1, -0.5, 0.25]`` plus, if `noise` > 0, Gaussian noise of that
    standard deviation (then the lists do not separate); with no noise the
    lists separate perfectly and the exact loss can fall for ever. Each model
    (:func:`make_scorer` with no hidden layer, Adam at `learning_rate`,
    batches of `batch_size`) trains for `epochs` epochs from the same initial
    weights; after every epoch it records the median within-list score
    spread, the exact ListMLE of the scores (float64) and the share of
    correctly ordered pairs. At the end it scores `n_lists` held-out lists
    drawn the same way. Used by :doc:`/book/ranking/keras3`.

    Parameters
    ----------
    seed : int
        Seeds the data and the initial weights.
    epochs, n_lists, list_size : int
        Length of training and size of the data.
    learning_rate : float, default=0.1
        Adam's learning rate.
    batch_size : int, default=32
        Lists per batch.
    noise : float, default=0.0
        Standard deviation of the noise added to the utility before ranking.

    Returns
    -------
    dict
        For ``"companion"`` and ``"keras-rs"``: ``spread``, ``exact`` and
        ``ordered`` (lists of float, one per epoch) and ``bottom_raised``: the
        share of lists whose lowest-labelled item the loss's final gradient
        raises; ``held_out``: the share of pairs of the held-out lists whose
        scores are in label order.
    """
    import importlib

    import numpy as np

    from companion.ranking import ListMLELoss, make_scorer

    keras, o = _keras.keras(), _keras.ops()
    keras_rs = importlib.import_module("keras_rs")
    if noise < 0:
        raise ValueError(f"noise must be >= 0 (a standard deviation), got {noise}.")
    rng = np.random.default_rng(seed)

    def draw() -> tuple[Any, Any]:
        x = rng.normal(size=(n_lists, list_size, 3)).astype(np.float32)
        u = x @ np.array([1.0, -0.5, 0.25]) + noise * rng.normal(size=(n_lists, list_size))
        return x, np.argsort(np.argsort(u, axis=1), axis=1).astype(np.float32)

    X, y = draw()
    order = np.argsort(-y, axis=1)
    upper = np.triu(np.ones((list_size, list_size), bool), 1)
    X_test, y_test = draw()  # held-out lists, drawn the same way
    test_order = np.argsort(-y_test, axis=1)

    def held_out(scores: Any) -> float:
        z = np.take_along_axis(np.asarray(scores, np.float64), test_order, axis=1)
        return float(np.mean((z[:, :, None] > z[:, None, :])[:, upper]))

    def measure(scores: Any) -> tuple[float, float, float]:
        s = np.asarray(scores, np.float64)
        z = np.take_along_axis(s, order, axis=1)  # best first
        rest = np.logaddexp.accumulate(z[:, ::-1], axis=1)[:, ::-1]  # log sum_{j >= i} exp(z_j)
        exact = float(np.mean(np.sum(rest - z, axis=1)))
        ordered = float(np.mean((z[:, :, None] > z[:, None, :])[:, upper]))
        spread = float(np.median(s.max(axis=1) - s.min(axis=1)))
        return spread, exact, ordered

    out: dict[str, Any] = {}
    for name, loss in (("companion", ListMLELoss()), ("keras-rs", keras_rs.losses.ListMLELoss())):
        keras.utils.set_random_seed(seed)
        model = make_scorer(hidden=())
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
        record: list[tuple[float, float, float]] = []
        log = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: record.append(measure(_keras.to_numpy(model(X)))))
        model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[log], shuffle=True)
        _, grad = _keras.value_and_grad(loss, y, _keras.to_numpy(model(X)))
        out[name] = {"spread": [r[0] for r in record], "exact": [r[1] for r in record],
                     "ordered": [r[2] for r in record], "bottom_raised": float(np.mean(grad[y == 0] < 0)),
                     "held_out": held_out(_keras.to_numpy(model(X_test)))}
    return out


if __name__ == "__main__":  # the subprocess of listmle_gap_sweep and keras_rs_thresholds
    import json
    import sys

    _argument = json.loads(sys.argv[2])
    if sys.argv[1] == "sweep":
        print(json.dumps(listmle_gap_sweep(_argument)))
    else:
        print(json.dumps(keras_rs_thresholds(tol=_argument)))
