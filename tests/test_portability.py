"""The portability pass (tools/portability.py) must catch an output that moves with the BLAS kernel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import portability  # noqa: E402

# A float64 matrix product summed to the last bit: different OpenBLAS kernels
# add in different orders, so the 17th digit differs between them.
LAST_BITS = (
    "from companion import seed_everything\n"
    "seed_everything(0, tensorflow=False)\n"
    "import numpy as np\n"
    "rng = np.random.default_rng(0)\n"
    "a, b = rng.random((300, 300)), rng.random((300, 300))\n"
    "print({fmt})"
)
EXPR = "(a @ b).sum()"


def _sum_under(kernel: str) -> str:
    code = ("import numpy as np; rng = np.random.default_rng(0); "
            f"a, b = rng.random((300, 300)), rng.random((300, 300)); print(repr({EXPR}))")
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


def _two_kernels_that_differ() -> tuple[str, str]:
    kernels = portability.supported_kernels(portability.cpu_flags())
    sums = {k: _sum_under(k) for k in kernels}
    for first in kernels:
        for second in kernels:
            if sums[first] != sums[second]:
                return first, second
    pytest.skip(f"every OpenBLAS kernel of this CPU ({kernels}) sums the product to the same bits")


def _stored_notebook(path: Path, fmt: str, kernel: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(LAST_BITS.format(fmt=fmt))]
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel)
    old = dict(os.environ)
    os.environ.update(env)  # the kernel that NotebookClient starts inherits it
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    nbformat.write(nb, path)
    return path


def test_pass_catches_an_output_that_depends_on_the_last_bits(tmp_path: Path) -> None:
    stored_on, checked_on = _two_kernels_that_differ()
    nb = _stored_notebook(tmp_path / "last_bits.ipynb", f"repr({EXPR})", stored_on)
    ok, seen, _, log = portability.run([str(nb)], checked_on, 1)
    assert not ok, f"17-digit sum stored under {stored_on} passed under {checked_on}"
    assert checked_on.lower() in seen.lower()
    assert "Cell outputs differ" in log


def test_pass_accepts_the_same_figure_rounded(tmp_path: Path) -> None:
    stored_on, checked_on = _two_kernels_that_differ()
    nb = _stored_notebook(tmp_path / "rounded.ipynb", f"f'{{{EXPR}:.6g}}'", stored_on)
    ok, _, _, log = portability.run([str(nb)], checked_on, 2)
    assert ok, log[-2000:]


def test_configurations_cover_every_other_kernel_and_other_thread_counts() -> None:
    configs = portability.configurations(["SkylakeX", "Haswell", "Sandybridge", "Prescott"], "Haswell")
    assert [k for k, _ in configs] == ["SkylakeX", "Sandybridge", "Prescott"]
    assert {t for _, t in configs} == {1, 2, 4}
    assert portability.configurations(["Haswell"], "Haswell") == [("Haswell", 1)]


def test_kernels_follow_cpu_flags() -> None:
    assert portability.supported_kernels({"avx", "avx2", "fma", "pni"}) == ["Haswell", "Sandybridge", "Prescott"]
    assert "SkylakeX" not in portability.supported_kernels({"avx2", "fma", "avx512f"})
