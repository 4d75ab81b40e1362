"""Time one epoch of companion.rbm.RBM against scikit-learn's BernoulliRBM.

Both train PCD-1 with the same sizes, on the same data, in the same run:
a large case (20000 x 784 in [0, 1], 256 hidden units, batch 100, like MNIST)
and the book's digits (1257 x 64, 100 hidden units, batch 10). companion's time
includes its per-epoch monitoring (history_). Prints the median of repeated
runs and the ratio companion / scikit-learn (target at the large size: <= 0.5).

Run with `make bench` or `.venv/bin/python bench/bench_rbm.py [--json PATH]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from sklearn.neural_network import BernoulliRBM
from threadpoolctl import threadpool_info

from companion.rbm import RBM, load_split


def median_time(fit: Callable[[], Any], repeats: int) -> float:
    fit()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(name: str, X: np.ndarray, n_components: int, batch_size: int, repeats: int) -> dict[str, float]:
    ours = median_time(lambda: RBM(n_components=n_components, batch_size=batch_size, n_iter=1, persistent=True,
                                   learning_rate=0.05, random_state=0).fit(X), repeats)
    theirs = median_time(lambda: BernoulliRBM(n_components=n_components, batch_size=batch_size, n_iter=1,
                                              learning_rate=0.05, random_state=0).fit(X), repeats)
    ratio = ours / theirs
    print(f"{name}: companion {ours:.3f} s, scikit-learn {theirs:.3f} s per epoch; ratio {ratio:.2f}")
    return {"companion_s": ours, "sklearn_s": theirs, "ratio": ratio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    blas = ", ".join(sorted({f"{i['internal_api']} ({i['num_threads']} threads)" for i in threadpool_info()}))
    print(f"BLAS: {blas}")
    rng = np.random.default_rng(0)
    large = (rng.random((20000, 784)) < 0.15).astype(np.float64)
    results = {"large": compare("20000 x 784, 256 hidden, batch 100", large, 256, 100, repeats=3)}
    print(f"  target <= 0.5: {'met' if results['large']['ratio'] <= 0.5 else 'not met'}")
    results["digits"] = compare("digits 1257 x 64, 100 hidden, batch 10", load_split("digits")[0], 100, 10, repeats=5)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dict(results, blas=blas), indent=2))


if __name__ == "__main__":
    main()
