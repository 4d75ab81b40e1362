"""The doctor's overhead: a healthy ranking fit with and without LossDoctor.

Times epochs of a healthy ListMLE run (32 hidden units, batch 16, lists of 10)
with and without the callback (sample of 64 lists), interleaved, and prints the
median overhead per epoch in the steady state, leaving out each fit's first
epoch (which traces functions once per fit) (target: <= 5%). Two sizes: the book's doctor chapter
(200 training lists, 13 steps an epoch, where any fixed cost is large) and a
more typical 2000 lists.

Run with `make bench` or `.venv/bin/python bench/bench_doctor.py [--json PATH]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from companion import seed_everything  # noqa: E402

seed_everything(0)

import tensorflow as tf  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from companion.book import RankingCase, ranking_case  # noqa: E402
from companion.diagnose import LossDoctor  # noqa: E402
from companion.ranking import group_lists, make_ranking_data  # noqa: E402

REPEATS = 5


class EpochTimer(tf.keras.callbacks.Callback):
    """Wall time of each epoch, including the callbacks listed before it."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.times.append(time.perf_counter() - self._start)


def epoch_times(case: RankingCase, with_doctor: bool) -> list[float]:
    """Steady-state epoch times (the first epoch, which traces functions, is left out)."""
    timer = EpochTimer()
    doctor = [LossDoctor(*case.doctor_sample(), verbose=0)] if with_doctor else []
    case.run(doctor + [timer])
    return timer.times[1:]


def measure(case: RankingCase) -> dict[str, float]:
    case.run()  # warm up
    times: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(REPEATS):
        times["without"] += epoch_times(case, False)
        times["with"] += epoch_times(case, True)
    result = {f"{label}_ms": statistics.median(t) * 1e3 for label, t in times.items()}
    result["overhead"] = result["with_ms"] / result["without_ms"] - 1
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    small = ranking_case("healthy")
    data = make_ranking_data(2500, list_size=10, random_state=0)
    X = StandardScaler().fit_transform(data.X)
    train, val = data.qid < 2000, data.qid >= 2000
    X_tr, y_tr = group_lists(data.qid[train], X[train], data.y[train])
    X_va, y_va = group_lists(data.qid[val], X[val], data.y[val])
    large = RankingCase(X_tr, y_tr, X_va, y_va, small.build, small.loss, epochs=4)
    results = {}
    for name, case in (("200 lists", small), ("2000 lists", large)):
        r = results[name] = measure(case)
        print(f"{name}: per epoch without doctor {r['without_ms']:.0f} ms, with {r['with_ms']:.0f} ms; "
              f"overhead {r['overhead']:+.1%} (target <= 5%)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
