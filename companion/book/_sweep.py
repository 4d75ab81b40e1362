"""companion's ListMLE beside keras-rs', on a correctly ranked pair at growing gaps.

Defined in :doc:`/book/ranking/keras3`. Runs on Keras 3 only; another backend
than the one in use runs in a subprocess (``python -m companion.book._sweep``).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from companion import _keras

__all__ = ["listmle_gap_sweep"]


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
    import json
    import os
    import subprocess
    import sys

    gaps = [float(g) for g in gaps]
    if _keras.keras_major() < 3:
        raise ImportError("listmle_gap_sweep compares with keras-rs, which needs Keras 3 (see the keras3 chapter).")
    if backend is not None and backend != _keras.backend():
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
        done = subprocess.run([sys.executable, "-m", "companion.book._sweep", json.dumps(gaps)],
                              capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"the {backend} subprocess failed:\n{done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
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


if __name__ == "__main__":  # the subprocess of listmle_gap_sweep
    import json
    import sys

    print(json.dumps(listmle_gap_sweep(json.loads(sys.argv[1]))))
