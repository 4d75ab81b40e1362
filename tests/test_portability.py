"""The chaos pass (tools/portability.py) must catch an output that moves with the BLAS kernel or by one ulp."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

#: Runs no Keras: one Keras backend covers it (make test-modern).
pytestmark = pytest.mark.backend_neutral

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


def _stored_notebook(path: Path, fmt: str, kernel: str, code: str = LAST_BITS) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code.format(fmt=fmt))]
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
    config = _blas(checked_on, 1)
    ok, _, _, log = portability.run([str(nb)], config)
    assert not ok, f"17-digit sum stored under {stored_on} passed under {checked_on}"
    assert checked_on.lower() in portability.probe(portability.environment(config), tensorflow=False)["openblas"].lower()
    assert "Cell outputs differ" in log
    assert "Cell outputs differ" in portability.moved_cells(log)


def test_pass_accepts_the_same_figure_rounded(tmp_path: Path) -> None:
    stored_on, checked_on = _two_kernels_that_differ()
    nb = _stored_notebook(tmp_path / "rounded.ipynb", f"f'{{{EXPR}:.6g}}'", stored_on)
    ok, _, _, log = portability.run([str(nb)], _blas(checked_on, 2))
    assert ok, log[-2000:]


def _blas(kernel: str, threads: int) -> portability.Config:
    return portability.Config("blas", {"OPENBLAS_CORETYPE": kernel, "OPENBLAS_NUM_THREADS": str(threads)})


# The general proxy: one ulp on the generated features (companion.perturbed,
# switched on by COMPANION_PERTURB=ulp), seen in a sum printed to 17 digits.
ONE_ULP = (
    "from companion import seed_everything\n"
    "seed_everything(0, tensorflow=False)\n"
    "from companion.ranking import make_ranking_data\n"
    "X = make_ranking_data(20, list_size=5, random_state=0).X\n"
    "print({fmt})"
)
ULP = portability.Config("ulp-only", {"COMPANION_PERTURB": "ulp"})


def test_pass_catches_a_figure_that_moves_by_one_ulp(tmp_path: Path) -> None:
    nb = _stored_notebook(tmp_path / "one_ulp.ipynb", "repr(X.sum())", "Haswell", ONE_ULP)
    ok, _, _, log = portability.run([str(nb)], ULP)
    assert not ok, "a 17-digit sum of the features passed with every feature one ulp off"
    assert "Cell outputs differ" in portability.moved_cells(log)
    # The switch is the only thing that moved it: the same run without it passes.
    ok, _, _, log = portability.run([str(nb)], portability.Config("plain", {"OPENBLAS_CORETYPE": "Haswell"}))
    assert ok, log[-2000:]


def test_pass_accepts_a_figure_rounded_to_what_survives_one_ulp(tmp_path: Path) -> None:
    nb = _stored_notebook(tmp_path / "one_ulp_rounded.ipynb", "f'{{X.sum():.6g}}'", "Haswell", ONE_ULP)
    ok, _, _, log = portability.run([str(nb)], ULP)
    assert ok, log[-2000:]


def test_the_combined_configuration_varies_every_switch() -> None:
    amd = {"avx", "avx2", "fma", "pni", "sse4_1"}
    chaos = portability.combined_config(amd, "Haswell")
    env = chaos.env
    assert env["TF_ENABLE_ONEDNN_OPTS"] == "1" and env["COMPANION_PERTURB"] == "ulp"
    assert env["TF_NUM_INTRAOP_THREADS"] == env["TF_NUM_INTEROP_THREADS"] == "4"
    assert env["ONEDNN_MAX_CPU_ISA"] == "AVX" and env["NPY_DISABLE_CPU_FEATURES"] == "AVX2 FMA3"
    assert (env["OPENBLAS_CORETYPE"], env["OPENBLAS_NUM_THREADS"]) == ("Sandybridge", "1")
    assert "oneDNN ops on" in chaos.describe() and "one ulp" in chaos.describe()
    # Each run gets exactly its configuration: the ordinary run's settings are cleared first.
    plain = portability.environment(portability.Config("plain"))
    assert plain["TF_ENABLE_ONEDNN_OPTS"] == "0" and "COMPANION_PERTURB" not in plain


def test_blas_plan_takes_another_kernel_with_one_thread() -> None:
    assert portability.blas_plan(["SkylakeX", "Haswell", "Sandybridge", "Prescott"], "SkylakeX") == ("Haswell", 1)
    assert portability.blas_plan(["Haswell", "Prescott"], "Haswell") == ("Prescott", 1)
    assert portability.blas_plan(["Haswell"], "Haswell") == ("Haswell", 1)
    assert portability.blas_plan([], None) is None


def test_isa_cap_is_one_level_below_the_best() -> None:
    assert portability.isa_cap({"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma", "avx"}) == "AVX2"
    assert portability.isa_cap({"avx2", "fma", "avx", "sse4_1"}) == "AVX"
    assert portability.isa_cap({"sse4_1"}) is None


def test_moved_cells_keeps_the_diff_and_cuts_the_input() -> None:
    log = ("....F\n" + "_" * 10 + " book/x.ipynb::Cell 3 " + "_" * 10 + "\nNotebook cell execution failed\n"
           "Cell 3: Cell outputs differ\n\nInput:\n" + "\n".join(f"line {i}" for i in range(30))
           + "\n\nTraceback:\n mismatch 'stdout'\n\n  - loss 69.7\n  + loss 60.4\n")
    report = portability.moved_cells(log)
    assert "::Cell 3" in report and "- loss 69.7" in report and "+ loss 60.4" in report
    assert "line 3" in report and "line 29" not in report


def test_kernels_follow_cpu_flags() -> None:
    assert portability.supported_kernels({"avx", "avx2", "fma", "pni"}) == ["Haswell", "Sandybridge", "Prescott"]
    assert "SkylakeX" not in portability.supported_kernels({"avx2", "fma", "avx512f"})
