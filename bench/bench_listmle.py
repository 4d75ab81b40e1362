"""Time companion.ranking.ListMLELoss against tensorflow-ranking's ListMLELoss.

Forward plus backward pass on a [1024, 200] batch (lists of 200 items, 10% of
them padding, standard-normal scores), each loss compiled with tf.function, on
the CPU. Prints the median of repeated runs and the ratio companion /
tensorflow-ranking (target: <= 1.3), then the time of companion's path for
score gaps past 60, where tensorflow-ranking returns -inf.

Run with `make bench` or `.venv/bin/python bench/bench_listmle.py [--json PATH]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_ranking as tfr  # noqa: E402

from companion.ranking import ListMLELoss  # noqa: E402

N_LISTS, LIST_SIZE, REPEATS = 1024, 200, 30


def timed(loss: tf.keras.losses.Loss, labels: tf.Tensor, scores: tf.Variable) -> list[float]:
    @tf.function
    def step() -> tf.Tensor:
        with tf.GradientTape() as tape:
            value = loss(labels, scores)
        return tape.gradient(value, scores)

    step()  # trace and warm up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        step().numpy()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=(N_LISTS, LIST_SIZE)).astype(np.float32)
    labels[rng.random(labels.shape) < 0.1] = -1.0
    scores = tf.Variable(rng.normal(size=(N_LISTS, LIST_SIZE)).astype(np.float32))
    y = tf.constant(labels)
    results = {}
    # Interleave to share any drift in machine load between the two.
    for _ in range(3):
        for name, loss in (("tensorflow-ranking", tfr.keras.losses.ListMLELoss()), ("companion", ListMLELoss())):
            results.setdefault(name, []).extend(timed(loss, y, scores))
    med = {name: statistics.median(t) for name, t in results.items()}
    for name, value in med.items():
        print(f"{name:20s} forward+backward on [{N_LISTS}, {LIST_SIZE}]: median {value * 1e3:.1f} ms")
    ratio = med["companion"] / med["tensorflow-ranking"]
    print(f"ratio companion / tensorflow-ranking: {ratio:.2f} (target <= 1.3)")
    # Gaps past 60 take the cumulative log-sum-exp path (tensorflow-ranking is -inf there).
    wide = tf.Variable(scores * 100.0)
    slow = statistics.median(timed(ListMLELoss(), y, wide))
    print(f"companion with score gaps past 60 (log-sum-exp path): median {slow * 1e3:.1f} ms, "
          f"{slow / med['tensorflow-ranking']:.2f} x tensorflow-ranking's finite case")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"tfr_ms": med["tensorflow-ranking"] * 1e3, "companion_ms": med["companion"] * 1e3,
                                         "ratio": ratio, "companion_wide_gap_ms": slow * 1e3}, indent=2))


if __name__ == "__main__":
    main()
