"""The doctor's overhead: a healthy ranking fit with and without LossDoctor.

A healthy ListMLE run (32 hidden units, batch 16, lists of 10, validation
every epoch) is fit with and without the callback (its default sample: the
first 64 training lists), in alternation, ROUNDS rounds of one fit each (the
order flips every round), so that drift in the machine's load hits both alike.
Each fit gives its median steady-state epoch time (its first epoch, which
traces functions, is left out); each round gives the ratio with/without.
Printed: the median of the per-round overheads (target: <= +5%), their range,
and the median epoch times. On a shared machine that A/B ratio is noisy, so
also printed: the time spent inside the doctor's own epoch hooks, as a share of
the rest of the same epoch (median and range over the rounds; it misses any
cost the doctor causes outside its hooks, which the A/B ratio includes), and
the doctor's cost once per fit: its start-up (``on_train_begin``: the data
check and a first, eager, forward pass) and, with it, how much longer the
first epoch is with the doctor than without (it traces the doctor's compiled
forward pass).

Two sizes: the book's doctor chapter (200 training lists, 13 steps an epoch,
where any fixed cost per epoch weighs most) and a more typical 2000 lists.
The epoch is timed from the first callback's ``on_epoch_begin`` to the last
callback's ``on_epoch_end``, so the doctor's own hooks are inside it.

On tf.keras 2 (the book's stack) the loss is tensorflow-ranking's ListMLE, as
in the chapter; on Keras 3 (no tensorflow-ranking) it is companion's exact
ListMLE, on whatever backend ``KERAS_BACKEND`` names.

``--profile`` adds where the doctor's time goes: the mean ms per steady-state
epoch of each of its parts (the one traced call that returns the scores on the
sample and the weights, the weights read at the epoch's start, the learning
rate, the weight statistics, the within-list statistics, the detectors).

Run with `make bench` / `make bench-modern`, or
`python bench/bench_doctor.py [--json PATH] [--profile]`.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from companion import _keras, seed_everything  # noqa: E402

seed_everything(0)

from companion.book import RankingCase  # noqa: E402
from companion.book._cases import make_ranking_run  # noqa: E402
from companion.diagnose import LossDoctor  # noqa: E402

ROUNDS = 9
_Callback: Any = _keras.keras().callbacks.Callback


class Clock:
    """Callbacks around the doctor: epoch times, and the time inside the doctor's own hooks.

    ``first`` and ``last`` go first and last in the list (the epoch), ``pre``
    and ``post`` right before and after the doctor (its share of the epoch);
    a fit without the doctor gets the same four.
    """

    def __init__(self) -> None:
        self.epochs: list[float] = []
        self.hooks: list[float] = []
        self.startup = 0.0
        clock, now = self, time.perf_counter

        class First(_Callback):  # type: ignore[misc]
            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                clock._epoch, clock._hook = now(), 0.0

        class Pre(_Callback):  # type: ignore[misc]
            def on_train_begin(self, logs: Any = None) -> None:
                clock._mark = now()

            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                clock._mark = now()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                clock._mark = now()

        class Post(_Callback):  # type: ignore[misc]
            def on_train_begin(self, logs: Any = None) -> None:
                clock.startup = now() - clock._mark

            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                clock._hook += now() - clock._mark

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                clock._hook += now() - clock._mark

        class Last(_Callback):  # type: ignore[misc]
            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                clock.epochs.append(now() - clock._epoch)
                clock.hooks.append(clock._hook)

        self.first, self.pre, self.post, self.last = First(), Pre(), Post(), Last()


def fit(case: RankingCase, with_doctor: bool) -> dict[str, float]:
    """Medians over the steady-state epochs (the first left out) of one fit, and its start-up, in s."""
    clock = Clock()
    doctor = [LossDoctor(*case.doctor_sample(), verbose=0)] if with_doctor else []
    case.run([clock.first, clock.pre, *doctor, clock.post, clock.last])
    epochs, hooks = clock.epochs[1:], clock.hooks[1:]
    return {"epoch": statistics.median(epochs), "hooks": statistics.median(hooks),
            "share": statistics.median(h / (e - h) for e, h in zip(epochs, hooks)), "startup": clock.startup,
            "first": clock.epochs[0]}


def measure(case: RankingCase) -> dict[str, Any]:
    case.run()  # warm up
    fit(case, True)
    without, with_, ratios, shares, hooks, startups, first = [], [], [], [], [], [], []
    for r in range(ROUNDS):
        order = (False, True) if r % 2 == 0 else (True, False)
        got = {flag: fit(case, flag) for flag in order}
        without.append(got[False]["epoch"])
        with_.append(got[True]["epoch"])
        ratios.append(got[True]["epoch"] / got[False]["epoch"] - 1)
        shares.append(got[True]["share"])
        hooks.append(got[True]["hooks"])
        startups.append(got[True]["startup"])
        first.append(got[True]["startup"] + got[True]["first"] - got[False]["first"])
    return {"without_ms": statistics.median(without) * 1e3, "with_ms": statistics.median(with_) * 1e3,
            "overhead": statistics.median(ratios), "overhead_min": min(ratios), "overhead_max": max(ratios),
            "hooks_ms": statistics.median(hooks) * 1e3, "hooks_share": statistics.median(shares),
            "hooks_share_min": min(shares), "hooks_share_max": max(shares),
            "startup_ms": statistics.median(startups) * 1e3, "per_fit_ms": statistics.median(first) * 1e3,
            "rounds": ROUNDS, "epochs": case.epochs}


def profile(case: RankingCase) -> dict[str, float]:
    """Mean ms per steady-state epoch of each part of the doctor's epoch hooks (by wrapping its functions)."""
    import companion.diagnose._doctor as doctor_module

    times: dict[str, list[float]] = collections.defaultdict(list)
    originals: list[tuple[Any, str, Any]] = []

    inside = [False]

    def wrap(owner: Any, name: str, label: str) -> None:
        if not hasattr(owner, name):
            return
        original = getattr(owner, name)
        originals.append((owner, name, original))

        def timed(*args: Any, **kwargs: Any) -> Any:
            hook = name.startswith("on_epoch")
            if hook:
                inside[0] = args[1] > 0  # steady state: each fit's first epoch (tracing) left out
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                if inside[0]:
                    times[label].append(time.perf_counter() - start)
                if hook:
                    inside[0] = False

        setattr(owner, name, timed)

    parts: dict[str, tuple[Any, str]] = {
        "on_epoch_begin (all)": (LossDoctor, "on_epoch_begin"),
        "on_epoch_end (all)": (LossDoctor, "on_epoch_end"),
        "scores and weights (one traced call)": (LossDoctor, "_observe"),
        "weights read at epoch begin": (LossDoctor, "_weights_now"),
        "learning rate (when not read in the call)": (doctor_module, "_rate"),
        "update ratio and largest weight": (LossDoctor, "_training"),
        "within-list gaps and spreads": (LossDoctor, "_list_stats"),
        "detectors": (doctor_module, "run_detectors"),
    }
    for label, (owner, name) in parts.items():
        wrap(owner, name, label)
    try:
        fit(case, True)  # warm up (traces)
        times.clear()
        runs = 5
        for _ in range(runs):
            fit(case, True)
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)
    epochs = runs * (case.epochs - 1)
    return {label: sum(t) / epochs * 1e3 for label, t in times.items()}


def cases() -> dict[str, RankingCase]:
    loss = "tensorflow-ranking" if _keras.keras_major() < 3 else "exact"
    small = make_ranking_run({"standardise": True, "loss": loss}, 0)  # the registry's "healthy"
    large = make_ranking_run({"standardise": True, "loss": loss, "epochs": 5,
                              "data": {"n_queries": 3000}}, 0)  # 2000 training lists
    return {"200 lists": small, "2000 lists": large}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--profile", action="store_true", help="also time the doctor's parts")
    args = parser.parse_args()
    import tensorflow as tf

    stack = (f"tf.keras on TensorFlow {tf.__version__}" if _keras.keras_major() < 3 else
             f"Keras {_keras.keras().__version__} on {_keras.backend()}")
    print(f"{stack}; {ROUNDS} interleaved rounds per size")
    results: dict[str, Any] = {}
    for name, case in cases().items():
        r = results[name] = {"stack": stack, **measure(case)}
        print(f"{name}: per epoch without doctor {r['without_ms']:.1f} ms, with {r['with_ms']:.1f} ms; overhead "
              f"median {r['overhead']:+.1%} (rounds {r['overhead_min']:+.1%} to {r['overhead_max']:+.1%}; "
              f"target <= +5%)\n  inside the doctor's hooks {r['hooks_ms']:.2f} ms an epoch, "
              f"{r['hooks_share']:+.1%} of the rest of the epoch (rounds {r['hooks_share_min']:+.1%} to "
              f"{r['hooks_share_max']:+.1%})\n  once per fit: start-up {r['startup_ms']:.0f} ms; start-up and first "
              f"epoch (tracing) {r['per_fit_ms']:.0f} ms more than without")
        if args.profile:
            parts = r["parts_ms"] = profile(case)
            print("  ms per epoch: " + "; ".join(f"{k} {v:.2f}" for k, v in parts.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

