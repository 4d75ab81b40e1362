"""Time companion.ranking.ListMLELoss against the reference ListMLE of its stack.

Forward plus backward pass on a [1024, 200] batch (lists of 200 items, labels
0-4 with ties, 10% of the items padding, standard-normal scores), on the CPU.

* In the book's environment (.venv: TensorFlow 2.15, tf.keras 2) the reference
  is tensorflow-ranking's ListMLELoss; both are compiled with tf.function.
* In .venv-modern (Keras 3) the reference is keras-rs' ListMLELoss: on the
  TensorFlow backend (tf.function), then, in a subprocess, on JAX (jax.jit),
  where rax's ``listmle_loss`` (exact: a running maximum inside its suffix
  sums) is timed in the same rounds, when rax is installed.

The losses are timed in alternation, ROUNDS rounds of REPEATS calls each, so
that drift in the machine's load hits both alike. Printed: each loss's median
time over all calls, the ratio of the medians, and the median and range of the
per-round ratios (the spread a noisy machine gives). Then companion's time for
score gaps past 60 (its log-sum-exp path; tensorflow-ranking returns -inf and
keras-rs the wrong value there).

Run with `make bench` (book environment) or `make bench-modern`, or
`python bench/bench_listmle.py [--json PATH]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

N_LISTS, LIST_SIZE, ROUNDS, REPEATS = 1024, 200, 10, 10


def batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=(N_LISTS, LIST_SIZE)).astype(np.float32)
    labels[rng.random(labels.shape) < 0.1] = -1.0
    return labels, rng.normal(size=(N_LISTS, LIST_SIZE)).astype(np.float32)


def compiled_step(loss: Any, labels: np.ndarray, scores: np.ndarray, backend: str) -> Callable[[], Any]:
    """A compiled forward+backward step that returns a NumPy gradient.

    The labels are an argument of the compiled function, not a constant of it:
    a compiler would otherwise sort constant labels once, at compile time (XLA
    does, for a loss whose sort depends on the labels alone).
    """
    if backend == "jax":
        import jax

        grad = jax.jit(jax.grad(lambda s, y: loss(y, s)))
        y, s = jax.numpy.asarray(labels), jax.numpy.asarray(scores)
        return lambda: np.asarray(grad(s, y).block_until_ready())
    import tensorflow as tf

    y, s = tf.constant(labels), tf.Variable(scores)

    @tf.function
    def step(y: Any) -> Any:
        with tf.GradientTape() as tape:
            value = loss(y, s)
        return tape.gradient(value, s)

    return lambda: step(y).numpy()


def race(steps: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Alternate the steps; per-name times, and per-round ratios of the first to each other."""
    for step in steps.values():
        step()  # trace, compile, warm up
    times: dict[str, list[float]] = {name: [] for name in steps}
    rounds: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(ROUNDS):
        for name, step in steps.items():
            this = []
            for _ in range(REPEATS):
                start = time.perf_counter()
                step()
                this.append(time.perf_counter() - start)
            times[name] += this
            rounds[name].append(statistics.median(this))
    first, second, *others = list(steps)
    ratios = {n: [a / b for a, b in zip(rounds[first], rounds[n])] for n in [second, *others]}
    return {"median_ms": {n: statistics.median(t) * 1e3 for n, t in times.items()},
            "ratio": statistics.median(times[first]) / statistics.median(times[second]),
            "round_ratios": ratios[second],
            "ratios": {n: statistics.median(times[first]) / statistics.median(times[n]) for n in ratios},
            "all_round_ratios": ratios}


def report(result: dict[str, Any], ours: str, theirs: str, where: str) -> None:
    med = result["median_ms"]
    for name in (theirs, ours):
        print(f"{where}: {name:20s} forward+backward on [{N_LISTS}, {LIST_SIZE}]: median {med[name]:.1f} ms")
    r = result["round_ratios"]
    print(f"{where}: ratio {ours} / {theirs}: {result['ratio']:.2f} (median of {ROUNDS} rounds "
          f"{statistics.median(r):.2f}, range {min(r):.2f}-{max(r):.2f})")


def wide_gap_ms(backend: str) -> float:
    from companion.ranking import ListMLELoss

    labels, scores = batch()
    wide = scores * 100.0
    valid = np.where(labels >= 0, wide, np.nan)
    # Every list wide: its valid scores span more than the fast path's bound (60).
    assert (np.nanmax(valid, axis=1) - np.nanmin(valid, axis=1)).min() > 60.0
    step = compiled_step(ListMLELoss(), labels, wide, backend)
    step()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def book_stack() -> dict[str, Any]:
    import tensorflow_ranking as tfr

    from companion.ranking import ListMLELoss

    labels, scores = batch()
    result = race({"companion": compiled_step(ListMLELoss(), labels, scores, "tensorflow"),
                   "tensorflow-ranking": compiled_step(tfr.keras.losses.ListMLELoss(), labels, scores, "tensorflow")})
    report(result, "companion", "tensorflow-ranking", "TF 2.15")
    slow = wide_gap_ms("tensorflow")
    print(f"TF 2.15: companion with score gaps past 60 (log-sum-exp path): median {slow:.1f} ms")
    med = result["median_ms"]
    return {"tfr_ms": med["tensorflow-ranking"], "companion_ms": med["companion"], "ratio": result["ratio"],
            "round_ratios": result["round_ratios"], "companion_wide_gap_ms": slow,
            "rounds": ROUNDS, "repeats": REPEATS}


def keras3_backend() -> dict[str, Any]:
    import keras
    import keras_rs

    from companion.ranking import ListMLELoss

    backend = keras.backend.backend()
    labels, scores = batch()
    steps = {"companion": compiled_step(ListMLELoss(), labels, scores, backend),
             "keras-rs": compiled_step(keras_rs.losses.ListMLELoss(), labels, scores, backend)}
    rax = None
    if backend == "jax":
        try:
            import rax
        except ImportError:
            print("rax is not installed: pip install rax (requirements-modern.txt) to time it beside keras-rs")
    if rax is not None:
        steps["rax"] = compiled_step(lambda y, s: rax.listmle_loss(s, y, where=y >= 0), labels, scores, backend)
    result = race(steps)
    where = f"Keras {keras.__version__} on {backend}"
    report(result, "companion", "keras-rs", where)
    if rax is not None:
        r = result["all_round_ratios"]["rax"]
        print(f"{where}: rax {rax.__version__:14s} forward+backward: median {result['median_ms']['rax']:.1f} ms; "
              f"ratio companion / rax: {result['ratios']['rax']:.2f} (rounds {min(r):.2f}-{max(r):.2f})")
    slow = wide_gap_ms(backend)
    print(f"{where}: companion with score gaps past 60 (log-sum-exp path): median {slow:.1f} ms")
    med = result["median_ms"]
    out = {"backend": backend, "keras": keras.__version__, "keras_rs_ms": med["keras-rs"],
           "companion_ms": med["companion"], "ratio": result["ratio"], "round_ratios": result["round_ratios"],
           "companion_wide_gap_ms": slow, "rounds": ROUNDS, "repeats": REPEATS}
    if rax is not None:
        out.update({"rax": rax.__version__, "rax_ms": med["rax"], "ratio_to_rax": result["ratios"]["rax"],
                    "round_ratios_to_rax": result["all_round_ratios"]["rax"]})
    return out


def machine() -> dict[str, Any]:
    """The CPU model and core count, recorded with the results: the ratios vary with the CPU."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model)
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--one-backend", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from companion import _keras

    if _keras.keras_major() < 3:
        results = book_stack()
    elif args.one_backend:
        print(json.dumps(keras3_backend()))
        return
    else:
        results = {"tensorflow": keras3_backend()}
        env = dict(os.environ, KERAS_BACKEND="jax")
        done = subprocess.run([sys.executable, __file__, "--one-backend"], env=env, capture_output=True, text=True,
                              check=True)
        lines = done.stdout.strip().splitlines()
        print("\n".join(lines[:-1]))
        results["jax"] = json.loads(lines[-1])
    results["machine"] = machine()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
