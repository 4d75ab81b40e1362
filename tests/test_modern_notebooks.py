"""Which environment checks which notebook: every notebook by exactly one of them.

`make test` runs strict nbval in .venv (TensorFlow 2.15, tensorflow-ranking)
over the notebooks without ``"companion_env": "modern"`` in their metadata;
`make test-modern` runs it in .venv-modern (Keras 3, NumPy 2) over the ones
with it. This reads the commands make would run (``make -n``), so a notebook
left out of both, or a typo in the metadata, fails here.
"""

from __future__ import annotations

import shutil
import subprocess

import nbformat
import pytest

from notebook_guard import ROOT, book_notebooks

NOTEBOOKS = book_notebooks()


def _nbval_commands(target: str) -> str:
    done = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    # Strict nbval runs either directly or through the chaos pass (tools/portability.py).
    return "\n".join(line for line in done.stdout.splitlines() if "--nbval" in line or "tools/portability.py" in line)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_every_notebook_is_checked_in_exactly_one_environment() -> None:
    book, modern = _nbval_commands("test"), _nbval_commands("test-modern")
    assert book and modern, "make test and make test-modern must each run nbval"
    for path in NOTEBOOKS:
        name = str(path.relative_to(ROOT))
        is_modern = nbformat.read(path, as_version=4).metadata.get("companion_env") == "modern"
        assert (name in modern) == is_modern, f"{name}: make test-modern {'misses' if is_modern else 'runs'} it"
        assert (name in book) != is_modern, f"{name}: make test {'runs' if is_modern else 'misses'} it"


def test_modern_notebooks_need_no_tensorflow_ranking() -> None:
    modern = [p for p in NOTEBOOKS if nbformat.read(p, as_version=4).metadata.get("companion_env") == "modern"]
    assert modern, "book/ranking/keras3.ipynb is marked modern"
    for path in modern:
        source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert "tensorflow_ranking" not in source, f"{path.name} runs in .venv-modern, which has no tensorflow-ranking"
