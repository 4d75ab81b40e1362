"""Cost and accuracy of companion.rbm's AIS on a digits RBM with 100 hidden units.

Issue 10's target: log Z of a digits RBM (``load_split("digits")``, 64
visible units) with 100 hidden units, to a standard error of 0.1 nat, in
seconds. Exact enumeration would need 2**100 hidden states.

Two models, trained as the book trains them (rate 0.06, float64): 20 epochs,
and 100 epochs (larger weights, harder for AIS). For each schedule, AIS is
run with 5 seeds: the script prints the median time of one estimate (wall
and CPU), the mean reported standard error, and the spread (standard
deviation) of the 5 estimates, which the standard error should match; and
the difference from a long reference run (30 000 steps, 200 chains).

Run with `make bench` or `.venv/bin/python bench/bench_ais.py [--json PATH]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info

from companion.rbm import AIS_N_BETAS, AIS_N_CHAINS, RBM, ais_log_likelihood, ais_log_partition, load_split

SEEDS = range(5)
SETTINGS = [  # (label, keyword arguments of ais_log_partition)
    (f"default: {AIS_N_BETAS} linear steps, {AIS_N_CHAINS} chains", {}),
    ("1000 linear steps", {"n_betas": 1000}),
    (f"{AIS_N_BETAS} steps, Salakhutdinov-Murray spacing", {"schedule": "sm"}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    blas = ", ".join(sorted({f"{i['internal_api']} ({i['num_threads']} threads)" for i in threadpool_info()}))
    print(f"BLAS: {blas}")
    X_train, X_test, *_ = load_split("digits")
    results: dict[str, Any] = {"blas": blas}
    for epochs in (20, 100):
        rbm = RBM(n_components=100, learning_rate=0.06, n_iter=epochs, dtype="float64", random_state=0).fit(X_train)
        ref_betas, ref_chains = 30_000, 200
        reference = ais_log_partition(rbm, X_train, n_betas=ref_betas, n_chains=ref_chains, random_state=1000)
        print(f"digits RBM, 100 hidden, {epochs} epochs: reference log Z {reference.log_z:.4f} "
              f"(standard error {reference.std_error:.4f}); test log-likelihood "
              f"{ais_log_likelihood(rbm, X_test, partition=reference).mean:.3f} nats")
        model: dict[str, Any] = {"reference_log_z": reference.log_z, "reference_std_error": reference.std_error,
                                 "reference_n_betas": ref_betas, "reference_n_chains": ref_chains}
        for label, kwargs in SETTINGS:
            walls, cpus, estimates, std_errors = [], [], [], []
            for seed in SEEDS:
                wall, cpu = time.perf_counter(), time.process_time()
                est = ais_log_partition(rbm, X_train, random_state=seed, **kwargs)
                cpus.append(time.process_time() - cpu)
                walls.append(time.perf_counter() - wall)
                estimates.append(est.log_z)
                std_errors.append(est.std_error)
            row = {
                "wall_median_s": statistics.median(walls), "cpu_median_s": statistics.median(cpus),
                "mean_std_error": float(np.mean(std_errors)), "spread_of_estimates": float(np.std(estimates, ddof=1)),
                "max_abs_difference_from_reference": float(np.max(np.abs(np.asarray(estimates) - reference.log_z))),
            }
            model[label] = row
            print(f"  {label}: {row['wall_median_s']:.2f} s wall, {row['cpu_median_s']:.2f} s CPU; standard error "
                  f"{row['mean_std_error']:.4f} (target <= 0.1: {'met' if row['mean_std_error'] <= 0.1 else 'not met'})"
                  f"; spread of {len(SEEDS)} estimates {row['spread_of_estimates']:.4f}; largest difference from "
                  f"the reference {row['max_abs_difference_from_reference']:.4f}")
        results[f"{epochs}_epochs"] = model
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
