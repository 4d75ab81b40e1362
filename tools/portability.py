"""The chaos pass: strict nbval under what a reader's machine varies.

A stored output is a fact about the experiment only if it does not move with
the machine. This script re-runs notebooks under strict nbval in a few
configurations, each of which changes the rounding of the computation the way
another machine would:

- TensorFlow's oneDNN kernels on (``TF_ENABLE_ONEDNN_OPTS=1``; the Makefile
  and :func:`companion.seed_everything` set 0, a reader may not);
- TensorFlow's intra-/inter-op thread counts (``TF_NUM_INTRAOP_THREADS``,
  ``TF_NUM_INTEROP_THREADS``: Eigen splits sums by thread);
- the instruction set of oneDNN's sgemm, which TensorFlow's Eigen matrix
  products call even with oneDNN's ops off (``ONEDNN_MAX_CPU_ISA`` capped one
  level below this CPU's; see the README's portability section);
- NumPy's own SIMD kernels for exp, log, tanh and the like, which it picks
  from the CPU at import (``NPY_DISABLE_CPU_FEATURES`` turns the best level
  this CPU has off);
- OpenBLAS's kernel family and thread count (``OPENBLAS_CORETYPE``,
  ``OPENBLAS_NUM_THREADS``), under NumPy, SciPy and scikit-learn: every family
  this CPU can execute (read from ``/proc/cpuinfo``: forcing an AVX-512 kernel
  on a CPU without AVX-512 crashes);
- and, the general proxy for any other rounding difference, a one-ulp nudge
  of every generated feature and initial weight (``COMPANION_PERTURB=ulp``,
  read by :func:`companion.perturbed`).

All of these are switched at once in one configuration (``chaos``): the
notebooks run under it side by side, one per core, longest first. A figure
that moves is fragile. Before the runs, the configuration is probed: the report
says what was asked for and what really ran (the OpenBLAS kernel and thread
count, through threadpoolctl; whether TensorFlow's oneDNN ops are on).
On failure it prints nbval's diff of every moved cell.

Used by ``make test`` (``make portability``). Exit status 0 when every run
passes, 1 otherwise. ``--configs`` picks single-variable configurations
instead (``onednn``, ``ulp-only``, ``tf-threads-1``, ``tf-threads-4``,
``isa``, ``numpy``, ``blas``), to find out which variable moved a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Optional

ROOT = Path(__file__).resolve().parents[1]
TIMES = ROOT / "bench" / "results" / "notebook_times.tsv"

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
# What OpenBLAS reports for kernels that share a family's GEMM code.
ALIASES = {"zen": "Haswell", "cooperlake": "SkylakeX", "sapphirerapids": "SkylakeX"}
# oneDNN ISA levels (ONEDNN_MAX_CPU_ISA values), best first, with the flags
# each needs. The pass caps oneDNN one level below the best this CPU has.
ISA_LEVELS: list[tuple[str, tuple[str, ...]]] = [
    ("AVX512_CORE", ("avx512f", "avx512bw", "avx512dq", "avx512vl")),
    ("AVX2", ("avx2", "fma")),
    ("AVX", ("avx",)),
    ("SSE41", ("sse4_1",)),
]
# NumPy's dispatch levels (NPY_DISABLE_CPU_FEATURES names), best first, with
# the flag that marks each: the pass turns off the best one this CPU has.
NUMPY_LEVELS: list[tuple[str, str]] = [
    ("AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR", "avx512f"),
    ("AVX2 FMA3", "avx2"),
]
# -vv: pytest prints the whole diff of a moved output, not its first differing characters.
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "nbval_sanitize.cfg",
         "-p", "no:cacheprovider", "-vv", "--color=no"]
# Variables a configuration may set; cleared first so that each runs as described.
VARIED = ("TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
          "ONEDNN_MAX_CPU_ISA", "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
          "NPY_DISABLE_CPU_FEATURES", "COMPANION_PERTURB")


@dataclass(frozen=True)
class Config:
    """One configuration: a name and the environment variables it sets."""

    name: str
    env: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """What the configuration varies, in words."""
        e, parts = self.env, []
        if "TF_ENABLE_ONEDNN_OPTS" in e:
            parts.append(f"oneDNN ops {'on' if e['TF_ENABLE_ONEDNN_OPTS'] == '1' else 'off'}")
        if "TF_NUM_INTRAOP_THREADS" in e:
            parts.append(f"TF threads {e['TF_NUM_INTRAOP_THREADS']} intra-op, "
                         f"{e.get('TF_NUM_INTEROP_THREADS', 'default')} inter-op")
        if "ONEDNN_MAX_CPU_ISA" in e:
            parts.append(f"oneDNN ISA capped at {e['ONEDNN_MAX_CPU_ISA']}")
        if "NPY_DISABLE_CPU_FEATURES" in e:
            parts.append(f"NumPy without {e['NPY_DISABLE_CPU_FEATURES'].split()[0]}")
        if "OPENBLAS_CORETYPE" in e:
            parts.append(f"OpenBLAS {e['OPENBLAS_CORETYPE']} x{e.get('OPENBLAS_NUM_THREADS', 'default')}")
        if "COMPANION_PERTURB" in e:
            parts.append("data and initial weights nudged by one ulp")
        return "; ".join(parts) or "nothing varied"


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


def isa_cap(flags: set[str]) -> Optional[str]:
    """The oneDNN ISA one level below the best this CPU has (None if there is none below)."""
    have = [name for name, needs in ISA_LEVELS if flags.issuperset(needs)]
    return have[1] if len(have) >= 2 else None


def numpy_disable(flags: set[str]) -> Optional[str]:
    """NumPy's best dispatch level on this CPU, as ``NPY_DISABLE_CPU_FEATURES`` names it."""
    return next((names for names, flag in NUMPY_LEVELS if flag in flags), None)


def blas_plan(kernels: list[str], default: Optional[str]) -> Optional[tuple[str, int]]:
    """(kernel, threads) for the pass: another OpenBLAS kernel than `default`, one thread.

    The ordinary test run already covered `default` (the kernel OpenBLAS
    picked, or the one ``OPENBLAS_CORETYPE`` names) at the default thread
    count (one per core). The pass takes the newest of the other kernels this
    CPU runs, with one thread; with no other kernel, `default` with one thread.
    """
    others = [k for k in kernels if k != default]
    kernel = others[0] if others else (default or (kernels[0] if kernels else ""))
    return (kernel, 1) if kernel else None


def combined_config(flags: set[str], default: Optional[str]) -> Config:
    """The pass's configuration for a CPU with these flags: every switch at once.

    TensorFlow's oneDNN ops on (what a reader who runs the notebooks outside
    the Makefile gets), four TensorFlow threads (the ordinary run uses one per
    core), oneDNN's sgemm capped one ISA level lower, NumPy's best SIMD level
    off, another OpenBLAS kernel with one thread, and every generated feature
    and initial weight one ulp off. A chaotic figure moves under any rounding
    difference, so one run with all of them catches what one run per switch
    would, at a fraction of the time; ``--configs`` varies one at a time to
    find out which switch moved a figure.
    """
    env = {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_NUM_INTRAOP_THREADS": "4", "TF_NUM_INTEROP_THREADS": "4",
           "COMPANION_PERTURB": "ulp"}
    cap = isa_cap(flags)
    if cap:
        env["ONEDNN_MAX_CPU_ISA"] = cap
    npy = numpy_disable(flags)
    if npy:
        env["NPY_DISABLE_CPU_FEATURES"] = npy
    blas = blas_plan(supported_kernels(flags), default)
    if blas:
        kernel, threads = blas
        env.update(OPENBLAS_CORETYPE=kernel, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    return Config("chaos", env)


def single_configs(flags: set[str], default: Optional[str]) -> dict[str, Config]:
    """One variable at a time, to find out which one moved a figure."""
    configs = {
        "onednn": Config("onednn", {"TF_ENABLE_ONEDNN_OPTS": "1"}),
        "ulp-only": Config("ulp-only", {"COMPANION_PERTURB": "ulp"}),
        "tf-threads-1": Config("tf-threads-1", {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}),
        "tf-threads-4": Config("tf-threads-4", {"TF_NUM_INTRAOP_THREADS": "4", "TF_NUM_INTEROP_THREADS": "4"}),
    }
    cap = isa_cap(flags)
    if cap:
        configs["isa"] = Config("isa", {"ONEDNN_MAX_CPU_ISA": cap})
    npy = numpy_disable(flags)
    if npy:
        configs["numpy"] = Config("numpy", {"NPY_DISABLE_CPU_FEATURES": npy})
    blas = blas_plan(supported_kernels(flags), default)
    if blas:
        kernel, threads = blas
        configs["blas"] = Config("blas", {"OPENBLAS_CORETYPE": kernel, "OPENBLAS_NUM_THREADS": str(threads),
                                          "OMP_NUM_THREADS": str(threads)})
    return configs


def default_kernel(kernels: list[str]) -> Optional[str]:
    """The kernel the ordinary run used: ``$OPENBLAS_CORETYPE``, or what OpenBLAS reports."""
    named = os.environ.get("OPENBLAS_CORETYPE")
    if named:
        return named
    seen = probe(dict(os.environ), tensorflow=False).get("openblas", "").split(" x")[0]
    seen = ALIASES.get(seen.lower(), seen)
    return next((k for k in kernels if k.lower() == seen.lower()), seen or None)


PROBE = r"""
import json, os
out = {}
try:
    import numpy
    from threadpoolctl import threadpool_info
    found = sorted({f"{i.get('architecture')} x{i.get('num_threads')}" for i in threadpool_info()
                    if i.get('internal_api') == 'openblas'})
    out["openblas"] = ", ".join(found) or "no OpenBLAS found"
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # NumPy 1
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    levels = ["AVX512_SPR", "AVX512_ICL", "AVX512_SKX", "AVX512F", "AVX2", "AVX", "SSE42"]
    out["numpy"] = next((name for name in levels if name in __cpu_dispatch__
                         and __cpu_features__.get(name)), "baseline")
except Exception as error:
    out["openblas"] = f"unknown ({type(error).__name__})"
if os.environ.get("CHAOS_PROBE_TF") == "1":
    try:
        from companion import seed_everything
        seed_everything(0)
        from tensorflow.python.util import _pywrap_util_port
        out["onednn"] = "on" if _pywrap_util_port.IsMklEnabled() else "off"
    except Exception as error:
        out["onednn"] = f"unknown ({type(error).__name__}: {error})"[:120]
try:
    from companion._repro import perturbation
    out["perturb"] = perturbation() or "off"
except Exception as error:
    out["perturb"] = f"unknown ({type(error).__name__})"
print(json.dumps(out))
"""


def probe(env: dict[str, str], *, tensorflow: bool = True) -> dict[str, str]:
    """Ask the libraries what really runs under `env`: OpenBLAS kernel and threads, oneDNN, the nudge."""
    env = dict(env, CHAOS_PROBE_TF="1" if tensorflow else "0")
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        return {"openblas": f"crashed ({out.stderr.strip()[-200:]})"}
    result: dict[str, str] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def environment(config: Config) -> dict[str, str]:
    """The ordinary run's environment, with the varied variables cleared, then `config`'s set."""
    env = {k: v for k, v in os.environ.items() if k not in VARIED}
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # as the Makefile and seed_everything set it
    env.update(config.env)
    return env


class Result(NamedTuple):
    """One strict nbval run: passed, wall seconds, CPU seconds (its own and its kernels'), output."""

    ok: bool
    seconds: float
    cpu: float
    log: str


def run(notebooks: list[str], config: Config) -> Result:
    """Strict nbval over `notebooks` under `config`."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", *NBVAL, *notebooks],
                                cwd=ROOT, env=environment(config), stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # reaps it, with its CPU time
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        log = out.read()
    cpu = usage.ru_utime + usage.ru_stime
    return Result(proc.returncode == 0, time.perf_counter() - start, cpu, log)


def moved_cells(log: str, keep_input: int = 4) -> str:
    """nbval's report of each failed cell, its input cut to `keep_input` lines.

    In the diff, as pytest prints ``reference == test``, lines marked ``+``
    are the stored output and lines marked ``-`` the new run's.
    """
    sections = re.split(r"\n(?=_{3,} .+ _{3,}\n)", log)
    out = []
    for section in sections:
        if not re.match(r"_{3,} .+::Cell \d+ _{3,}", section.strip()):
            continue
        kept: list[str] = []
        in_input, n_input = False, 0
        for line in section.strip().splitlines():
            if line.strip() == "Input:":
                in_input, n_input = True, 0
            elif in_input and line.strip() == "Traceback:":
                in_input = False
            elif in_input:
                n_input += 1
                if n_input > keep_input:
                    if n_input == keep_input + 1:
                        kept.append("    [...]")
                    continue
            if line.startswith("=" * 10):  # pytest's summary: printed once, at the end
                break
            kept.append(line)
        out.append("\n".join(kept))
    if not out:  # not a cell failure (a crash, a collection error): the end of the log
        out.append("\n".join(log.splitlines()[-60:]))
    return "\n\n".join(out)


def expected_seconds(notebook: str, times: dict[str, float]) -> float:
    """A notebook's last measured run time (for scheduling the longest first)."""
    return times.get(notebook, 30.0)


def read_times(path: Path = TIMES) -> dict[str, float]:
    """Run times from ``make execute`` (``notebook<TAB>seconds``), if present."""
    try:
        rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if "\t" in line]
    except OSError:
        return {}
    return {name: float(seconds) for name, seconds in rows}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--configs", help="comma-separated single-variable configurations "
                        "(onednn, ulp-only, tf-threads-1, tf-threads-4, isa, numpy, blas) instead of the combined one")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="notebook runs at once (default: the number of cores)")
    args = parser.parse_args(argv)

    flags = cpu_flags()
    kernels = supported_kernels(flags)
    default = default_kernel(kernels) if kernels else None
    if args.configs:
        catalogue = single_configs(flags, default)
        unknown = [name for name in args.configs.split(",") if name not in catalogue]
        if unknown:
            parser.error(f"unknown configuration(s) {unknown}; choose from {sorted(catalogue)}")
        configs = [catalogue[name] for name in args.configs.split(",")]
    else:
        configs = [combined_config(flags, default)]
    print(f"chaos: OpenBLAS kernel families this CPU runs: {', '.join(kernels) or 'none recognised'}; "
          f"the ordinary run used {default}; oneDNN ISA cap for this CPU: {isa_cap(flags)}.", flush=True)

    times = read_times()
    jobs = sorted(((c, nb) for c in configs for nb in args.notebooks),
                  key=lambda job: -expected_seconds(job[1], times))
    start = time.perf_counter()
    # Most of a notebook's time is single-threaded Python: runs go side by side.
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        probes = {c.name: pool.submit(probe, environment(c)) for c in configs}
        futures = [(c, nb, pool.submit(run, [nb], c)) for c, nb in jobs]
        for c in configs:
            seen = probes[c.name].result()
            print(f"chaos: configuration {c.name}: {c.describe()}\n"
                  f"       really ran: OpenBLAS {seen.get('openblas')}; NumPy SIMD up to "
                  f"{seen.get('numpy')}; TensorFlow oneDNN ops "
                  f"{seen.get('onednn', 'not probed')}; nudge {seen.get('perturb')}", flush=True)
        failures = []
        cpu: dict[str, float] = {}
        for c, nb, future in futures:
            result = future.result()
            cpu[c.name] = cpu.get(c.name, 0.0) + result.cpu
            print(f"chaos: {c.name:<12} {nb:<40} {'passed' if result.ok else 'FAILED'} in {result.seconds:.0f} s "
                  f"({result.cpu:.0f} s CPU)", flush=True)
            if not result.ok:
                failures.append((c, nb, result.log))
    for c, nb, log in failures:
        print(f"\n==== {nb} moved under {c.name} ({c.describe()})\n"
              f"     (in each diff, '+' lines are the stored output, '-' lines this run's):\n"
              f"{moved_cells(log)}", flush=True)
    print(f"chaos: {len(jobs) - len(failures)} of {len(jobs)} notebook runs passed "
          f"({len(configs)} configurations) in {time.perf_counter() - start:.0f} s; CPU time "
          + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in cpu.items()))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
