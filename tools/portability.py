"""The portability pass: strict nbval again under other BLAS kernels and thread counts.

A stored output is a fact about the experiment only if it does not move with
the machine. OpenBLAS (under NumPy, SciPy and scikit-learn) picks its compute
kernel from the CPU, and different kernels, like different thread counts, sum
in different orders. This script re-runs the given notebooks under strict
nbval once per configuration: every OpenBLAS kernel family this CPU can
execute (read from the ``/proc/cpuinfo`` flags: forcing an AVX-512 kernel on a
CPU without AVX-512 crashes) combined with a thread count, and reports which
kernel really ran in each (asked of OpenBLAS through threadpoolctl).

Used by ``make test`` (``make portability``). Exit status 0 when every
configuration passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]

# OpenBLAS kernel families for x86-64 (the DYNAMIC_ARCH names accepted by
# OPENBLAS_CORETYPE), with the /proc/cpuinfo flags each needs ("pni" is SSE3).
# One per instruction-set generation: kernels that share their GEMM code with
# one listed here (Zen and Nehalem with Haswell; Cooperlake with SkylakeX)
# summed a 300 x 300 product to the same bits here, so they add no new order.
KERNELS: dict[str, tuple[str, ...]] = {
    "SkylakeX": ("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"),
    "Haswell": ("avx2", "fma"),
    "Sandybridge": ("avx",),
    "Prescott": ("pni",),
}
# Thread counts to cover; the ordinary test run uses OpenBLAS's default (the
# number of cores), so the pass gives every other kernel one of these.
# OpenBLAS caps the count at the number of cores: the report says what ran.
THREADS = (1, 4, 2)
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "nbval_sanitize.cfg",
         "-p", "no:cacheprovider", "-q", "--color=no"]


def cpu_flags(path: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The feature flags of the first CPU in ``/proc/cpuinfo`` (empty elsewhere)."""
    try:
        text = path.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def supported_kernels(flags: set[str]) -> list[str]:
    """The kernel families of :data:`KERNELS` whose every flag the CPU has."""
    return [name for name, needs in KERNELS.items() if flags.issuperset(needs)]


def configurations(kernels: list[str], default: Optional[str]) -> list[tuple[str, int]]:
    """(kernel, threads) pairs: every kernel but the ordinary run's, each with a thread count.

    The ordinary test run already covered `default` (the kernel OpenBLAS
    picked, or the one ``OPENBLAS_CORETYPE`` names) at the default thread
    count; the other kernels take the counts of :data:`THREADS` in turn, so
    one thread and four threads are both covered whenever there are two other
    kernels. With no other kernel, `default` runs again with one thread.
    """
    others = [k for k in kernels if k != default]
    if not others:
        return [(kernels[0], 1)] if kernels else []
    return [(k, THREADS[i % len(THREADS)]) for i, k in enumerate(others)]


def default_kernel(kernels: list[str]) -> Optional[str]:
    """The kernel the ordinary run used: ``$OPENBLAS_CORETYPE``, or what OpenBLAS reports."""
    named = os.environ.get("OPENBLAS_CORETYPE")
    if named:
        return named
    seen = kernel_in_use(dict(os.environ)).split(" x")[0]
    return next((k for k in kernels if k.lower() == seen.lower()), seen or None)


def kernel_in_use(env: dict[str, str]) -> str:
    """Ask OpenBLAS (through threadpoolctl) which kernel and thread count it runs under `env`."""
    code = ("import numpy, json; from threadpoolctl import threadpool_info; "
            "print(json.dumps([(i.get('architecture'), i.get('num_threads')) "
            "for i in threadpool_info() if i.get('internal_api') == 'openblas']))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        return f"crashed ({out.stderr.strip()[-200:]})"
    found = {f"{arch} x{threads}" for arch, threads in json.loads(out.stdout)}
    return ", ".join(sorted(found)) or "no OpenBLAS found"


def run(notebooks: list[str], kernel: str, threads: int) -> tuple[bool, str, float, str]:
    """Strict nbval over `notebooks` with OpenBLAS forced to `kernel` and `threads`."""
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel, OPENBLAS_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads))
    seen = kernel_in_use(env)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", *NBVAL, *notebooks],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    return proc.returncode == 0, seen, elapsed, proc.stdout + proc.stderr


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--kernels", help="comma-separated kernels instead of every supported one")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="configurations run at once (default: the number of cores)")
    args = parser.parse_args(argv)

    flags = cpu_flags()
    kernels = args.kernels.split(",") if args.kernels else supported_kernels(flags)
    if not kernels:
        print("portability: no OpenBLAS kernel family recognised on this CPU "
              "(not x86-64 Linux?); nothing to compare against, so nothing was run.")
        return 0
    default = default_kernel(kernels)
    configs = configurations(kernels, default)
    print(f"portability: this CPU runs the OpenBLAS kernel families {', '.join(kernels)}; "
          f"the ordinary run used {default}. Strict nbval again under "
          + ", ".join(f"{k} with {t} thread(s)" for k, t in configs), flush=True)
    # Most of a notebook's time is single-threaded Python, so configurations
    # run side by side, one per core.
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda c: (c, run(args.notebooks, *c)), configs))
    failures = 0
    for (kernel, threads), (ok, seen, elapsed, log) in results:
        status = "passed" if ok else "FAILED"
        print(f"portability: {kernel:<12} {threads} thread(s) [OpenBLAS reports {seen}]: "
              f"{status} in {elapsed:.0f} s", flush=True)
        if not ok:
            failures += 1
            print("\n".join(line for line in log.splitlines()[-80:]))
    print(f"portability: {len(configs) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
