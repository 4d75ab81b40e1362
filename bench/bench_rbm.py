"""Time one epoch of companion.rbm.RBM against scikit-learn's BernoulliRBM and against the GEMM bound.

Case (issue 10): 20000 x 784 binary data (15% ones, like MNIST), 256 hidden
units, batch 100: 200 mini-batches, each with five matrix products of
2 x 100 x 784 x 256 flops, about 40 GFLOP per epoch. Same dtype on both sides
(float32, then float64): the data are passed in that dtype and companion runs
with ``dtype`` set to it; scikit-learn's BernoulliRBM keeps float32 input in
float32. Both train PCD-1 (scikit-learn's only algorithm; companion with
``persistent=True``); companion's CD-1 is timed too. companion's time includes
its per-epoch monitoring (:attr:`RBM.history_`).

The GEMM bound is the time of the epoch's matrix products alone, in NumPy,
with the same shapes and dtype, in the same run: no implementation of the
algorithm can be faster than it.

The machine is shared and noisy, so the contenders are interleaved, each
timed `--repeats` times, and the median and the spread (min to max) are
reported, of the wall-clock time and of the process's CPU time. With
``--threads 1`` (the default) the CPU time is the work done, whatever else
runs on the machine; with more threads, BLAS threads that spin while waiting
count too, and the wall-clock time is the one to read (on an idle machine).
Targets: companion <= 0.4 x scikit-learn, and <= 1.5 x the GEMM bound.

With ``--profile``, one epoch of companion's PCD-1 (float32 and float64) is
also broken down by part (CPU milliseconds, median over `--repeats` epochs):
each part is timed by wrapping the function that does it (matrix products,
logistic, random numbers, the sampling comparison, update-ratio norms, the
batch gather, the history, the input checks and initialisation); "updates"
is the rest of the training step, "other" the rest of the epoch. In float64
the visible units' logistic is part of the sampling comparison (the
comparison screens with the exp form, see ``_Scratch.sample_logistic64``). The
wrappers add about a microsecond per call (a few milliseconds per epoch).
The table goes into the JSON file under ``profile_ms``.

Run with `make bench` or
`.venv/bin/python bench/bench_rbm.py [--repeats N] [--threads N] [--profile] [--json PATH]`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from sklearn.neural_network import BernoulliRBM
from threadpoolctl import threadpool_info, threadpool_limits

from companion.rbm import RBM, load_split
from companion.rbm import _estimator

N, D, H, BATCH = 20000, 784, 256, 100


#: Issue 20's goal for the float32 PCD-1 epoch against its GEMM bound.
GEMM_GOAL = 1.15

def gemm_epoch(dtype: Any) -> Callable[[], None]:
    """The five matrix products of one epoch, nothing else (preallocated outputs)."""
    rng = np.random.default_rng(1)
    W = rng.standard_normal((H, D)).astype(dtype)
    v = rng.random((BATCH, D)).astype(dtype)
    h = rng.random((BATCH, H)).astype(dtype)
    out_h, out_v, out_w = np.empty((BATCH, H), dtype), np.empty((BATCH, D), dtype), np.empty((H, D), dtype)

    def run() -> None:
        for _ in range(N // BATCH):
            np.matmul(v, W.T, out=out_h)    # positive hiddens
            np.matmul(h, W, out=out_v)      # negative visibles
            np.matmul(v, W.T, out=out_h)    # negative hiddens
            np.matmul(h.T, v, out=out_w)    # positive statistics
            np.matmul(h.T, v, out=out_w)    # negative statistics

    return run


CLOCK = "cpu"  # which clock the ratios use: "cpu" (process time) or "wall"


def timings(contenders: dict[str, Callable[[], Any]], repeats: int) -> dict[str, dict[str, list[float]]]:
    for fit in contenders.values():
        fit()  # warm up
    times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in contenders}
    for _ in range(repeats):
        for name, fit in contenders.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fit()
            times[name]["cpu"].append(time.process_time() - cpu)
            times[name]["wall"].append(time.perf_counter() - wall)
    return times


def summary(times: dict[str, list[float]]) -> dict[str, float]:
    out = {}
    for clock, values in times.items():
        out.update({f"{clock}_median_s": statistics.median(values), f"{clock}_min_s": min(values),
                    f"{clock}_max_s": max(values)})
    out["median_s"] = out[f"{CLOCK}_median_s"]
    out["min_s"], out["max_s"] = out[f"{CLOCK}_min_s"], out[f"{CLOCK}_max_s"]
    return out


def large_case(dtype: str, repeats: int) -> dict[str, Any]:
    X = (np.random.default_rng(0).random((N, D)) < 0.15).astype(dtype)
    common: dict[str, Any] = dict(n_components=H, batch_size=BATCH, n_iter=1, learning_rate=0.05, random_state=0)
    contenders: dict[str, Callable[[], Any]] = {
        "gemm_bound": gemm_epoch(np.dtype(dtype)),
        "companion_pcd1": lambda: RBM(**common, persistent=True, dtype=dtype).fit(X),
        "companion_cd1": lambda: RBM(**common, dtype=dtype).fit(X),
        "sklearn_pcd1": lambda: BernoulliRBM(**common).fit(X),
    }
    stats = {name: summary(t) for name, t in timings(contenders, repeats).items()}
    ours, theirs, bound = (stats[k]["median_s"] for k in ("companion_pcd1", "sklearn_pcd1", "gemm_bound"))
    result: dict[str, Any] = dict(stats, ratio_to_sklearn=ours / theirs, ratio_to_gemm_bound=ours / bound,
                                  cd1_ratio_to_gemm_bound=stats["companion_cd1"]["median_s"] / bound)
    print(f"{dtype}: " + ", ".join(f"{name} {s['median_s']:.3f} s [{s['min_s']:.3f}-{s['max_s']:.3f}]"
                                   for name, s in stats.items()))
    goal = GEMM_GOAL if dtype == "float32" else None
    met = goal is not None and result["ratio_to_gemm_bound"] <= goal
    verdict = "" if goal is None else f" (goal <= {goal}: {'met' if met else 'not met'})"
    print(f"  companion / scikit-learn {result['ratio_to_sklearn']:.2f}; companion / GEMM bound "
          f"{result['ratio_to_gemm_bound']:.2f}{verdict}; CD-1 / GEMM bound {result['cd1_ratio_to_gemm_bound']:.2f}")
    return result


class _TimedGenerator:
    """A random generator whose ``random`` calls are timed (everything else passes through)."""

    def __init__(self, generator: np.random.Generator, parts: dict[str, float]) -> None:
        self._generator, self._parts = generator, parts

    def random(self, *args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        out = self._generator.random(*args, **kwargs)
        self._parts["random numbers"] += time.process_time() - start
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._generator, name)


@contextlib.contextmanager
def _timed_parts(parts: dict[str, float]) -> Iterator[None]:
    """Wrap the functions of one epoch so that each adds its CPU time to `parts`."""
    targets = [
        (np, "matmul", "matrix products"),
        (_estimator, "_logistic_", "logistic"),
        (_estimator._Scratch, "sample", "sampling"),
        (_estimator._Scratch, "sample_logistic64", "sampling"),
        (_estimator, "_norm", "update-ratio norms"),
        (RBM, "_step", "step"),
        (RBM, "_rows", "batch gather"),
        (RBM, "_record_epoch", "history"),
        (RBM, "_check_X", "setup"),
        (RBM, "_initialise", "setup"),
    ]
    targets = [target for target in targets if hasattr(target[0], target[1])]  # earlier versions lack some
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]

    def timed(fn: Callable[..., Any], part: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            out = fn(*args, **kwargs)
            parts[part] += time.process_time() - start
            return out
        return wrapper

    for (owner, name, part), (_, _, fn) in zip(targets, saved):
        setattr(owner, name, timed(fn, part))
    make_rng = np.random.default_rng
    np.random.default_rng = lambda *a, **k: _TimedGenerator(make_rng(*a, **k), parts)  # type: ignore[assignment]
    try:
        yield
    finally:
        np.random.default_rng = make_rng
        for owner, name, fn in saved:
            setattr(owner, name, fn)


def profile(dtype: str, repeats: int) -> dict[str, float]:
    """CPU milliseconds of each part of one epoch of PCD-1 (median over `repeats` epochs)."""
    X = (np.random.default_rng(0).random((N, D)) < 0.15).astype(dtype)
    runs: list[dict[str, float]] = []
    for _ in range(repeats + 1):  # the first is a warm-up
        parts: dict[str, float] = dict.fromkeys(["matrix products", "logistic", "sampling", "random numbers",
                                                 "update-ratio norms", "step", "batch gather", "history",
                                                 "setup"], 0.0)
        rbm = RBM(n_components=H, batch_size=BATCH, n_iter=1, learning_rate=0.05, random_state=0,
                  persistent=True, dtype=dtype)
        with _timed_parts(parts):
            start = time.process_time()
            rbm.fit(X)
            parts["epoch"] = time.process_time() - start
        parts["sampling comparison"] = parts.pop("sampling") - parts["random numbers"]
        parts["updates"] = parts.pop("step") - sum(parts[k] for k in (
            "matrix products", "logistic", "sampling comparison", "random numbers", "update-ratio norms"))
        parts["other"] = parts["epoch"] - sum(v for k, v in parts.items() if k not in ("epoch", "other"))
        runs.append(parts)
    table = {name: 1e3 * statistics.median(run[name] for run in runs[1:]) for name in runs[0]}
    print(f"{dtype} PCD-1 epoch, CPU ms (median of {repeats}): "
          + ", ".join(f"{name} {ms:.0f}" for name, ms in table.items()))
    return table


def legacy_keys(results: dict[str, Any]) -> dict[str, Any]:
    """Add the keys the performance appendix reads (``large``, ``digits``: companion_s, sklearn_s, ratio).

    ``large`` is the float32 case (PCD-1 on both sides, same dtype).
    """
    f32, small = results["float32"], results["digits_float64"]
    results["large"] = {"companion_s": f32["companion_pcd1"]["median_s"], "sklearn_s": f32["sklearn_pcd1"]["median_s"],
                        "ratio": f32["ratio_to_sklearn"], "gemm_bound_s": f32["gemm_bound"]["median_s"],
                        "ratio_to_gemm_bound": f32["ratio_to_gemm_bound"]}
    results["digits"] = {"companion_s": small["companion"]["median_s"], "sklearn_s": small["sklearn"]["median_s"],
                         "ratio": small["ratio_to_sklearn"]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each contender (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1: CPU time is the work)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--profile", action="store_true", help="also break one epoch down by part")
    parser.add_argument("--profile-only", action="store_true", help="only the breakdown (no JSON written)")
    args = parser.parse_args()
    global CLOCK
    CLOCK = "cpu" if args.threads == 1 else "wall"
    threadpool_limits(limits=args.threads)
    blas = ", ".join(sorted({f"{i['internal_api']} ({i['num_threads']} threads)" for i in threadpool_info()}))
    print(f"BLAS: {blas}; {args.repeats} timed runs each, {CLOCK} time, median [min-max]")
    results: dict[str, Any] = {"blas": blas, "repeats": args.repeats, "clock": CLOCK}
    if args.profile or args.profile_only:
        results["profile_ms"] = {f"{dtype}_pcd1": profile(dtype, args.repeats) for dtype in ("float32", "float64")}
        if args.profile_only:
            return
    for dtype in ("float32", "float64"):
        results[dtype] = large_case(dtype, args.repeats)
    X = load_split("digits")[0]
    small = {name: summary(t) for name, t in timings({
        "companion": lambda: RBM(n_components=100, batch_size=10, n_iter=1, persistent=True, dtype="float64",
                                 learning_rate=0.05, random_state=0).fit(X),
        "sklearn": lambda: BernoulliRBM(n_components=100, batch_size=10, n_iter=1, learning_rate=0.05,
                                        random_state=0).fit(X),
    }, args.repeats).items()}
    small_ratio = small["companion"]["median_s"] / small["sklearn"]["median_s"]
    print(f"digits 1257 x 64, 100 hidden, batch 10, float64: companion {small['companion']['median_s']:.4f} s, "
          f"scikit-learn {small['sklearn']['median_s']:.4f} s; ratio {small_ratio:.2f}")
    results["digits_float64"] = dict(small, ratio_to_sklearn=small_ratio)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(legacy_keys(results), indent=2))


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        main()
