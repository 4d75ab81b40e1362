"""Execute notebooks in place, so that their stored outputs are refreshed.

Used by ``make execute``. Each notebook runs top to bottom in a fresh kernel of
the current environment, in its own folder, and is written back only if every
cell succeeded. The wall time of each notebook is printed (and recorded in
``bench/results/notebook_times.tsv`` when ``--times`` is given: its row is
replaced, the other notebooks' rows are kept).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--times", type=Path, help="record 'notebook<TAB>seconds' rows here")
    args = parser.parse_args(argv)
    times: dict[str, str] = {}
    if args.times and args.times.exists():  # other notebooks' rows are kept while they exist
        for line in args.times.read_text().splitlines()[1:]:
            name, _, seconds = line.partition("\t")
            if Path(name).exists():
                times[os.path.normpath(name)] = seconds
    for path in args.notebooks:
        print(f"executing {path} ...", end=" ", flush=True)
        seconds = execute(path, args.timeout)
        print(f"{seconds:.1f} s")
        times[os.path.normpath(path)] = f"{seconds:.1f}"
    if args.times:
        args.times.parent.mkdir(parents=True, exist_ok=True)
        rows = "".join(f"{name}\t{seconds}\n" for name, seconds in sorted(times.items()))
        args.times.write_text("notebook\tseconds\n" + rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
