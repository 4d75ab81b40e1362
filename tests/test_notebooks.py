"""The guard around strict nbval: every notebook is in the book and stored executed."""

from __future__ import annotations

import base64
import copy
from pathlib import Path

import nbformat
import pytest

from notebook_guard import BOOK, ROOT, book_notebooks, execution_problems, toc_problems

#: Runs no Keras: one Keras backend covers it (make test-modern).
pytestmark = [pytest.mark.backend_neutral, pytest.mark.book_tooling]


NOTEBOOKS = book_notebooks()


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, f"no notebooks found under {BOOK}"


def test_toc_and_notebooks_agree() -> None:
    assert toc_problems() == []


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_stored_executed(nb_path: Path) -> None:
    assert execution_problems(nb_path) == []


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_error_or_warning_outputs(nb_path: Path) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{nb_path.name}: a cell stored an error"
            assert out.get("name") != "stderr", (
                f"{nb_path.name}: a cell stored stderr output (logs or warnings): "
                f"{out.get('text', '')[:200]!r}"
            )


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_object_reprs(nb_path: Path) -> None:
    # "<matplotlib.legend.Legend at 0x7f...>": a cell that ended with a call whose value
    # nobody meant to show. nbval masks the address, so only this test sees it.
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
            assert " at 0x" not in text, f"{nb_path.name}: a stored object repr: {text[:120]!r}"


def png_width(data: str) -> int:
    """Pixel width of a base64 PNG, from its IHDR header."""
    raw = base64.b64decode(data[:64])
    return int.from_bytes(raw[16:20], "big")


# Figures are drawn at companion.book.plotting.DPI (150) and sized to the column
# (companion.book.plotting.COLUMN_WIDTH, 6.9 in): a stored figure narrower than this
# was drawn at screen resolution and looks blurred when scaled to the column.
MIN_FIGURE_WIDTH_PX = 900


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_figures_are_high_resolution(nb_path: Path) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                assert png_width(png) >= MIN_FIGURE_WIDTH_PX, (
                    f"{nb_path.name}: a figure {png_width(png)} px wide; draw it with "
                    "companion.book.plotting.new_figure (150 dpi, column width)")


# The guard itself: it must catch the defects it exists for.

def _write(nb: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(nb, path)
    return path


def test_guard_catches_stripped_outputs(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    stripped = copy.deepcopy(nb)
    for cell in stripped.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    problems = execution_problems(_write(stripped, tmp_path / "stripped.ipynb"))
    assert any("never executed" in p for p in problems)
    assert any("stores no outputs" in p for p in problems)


def test_guard_catches_out_of_order_execution(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert len(code) >= 2
    code[0].execution_count, code[1].execution_count = code[1].execution_count, code[0].execution_count
    problems = execution_problems(_write(nb, tmp_path / "shuffled.ipynb"))
    assert any("out of order" in p for p in problems)


def test_guard_catches_missing_seed_call(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = "import numpy as np"
    problems = execution_problems(_write(nb, tmp_path / "unseeded.ipynb"))
    assert any("seed_everything" in p for p in problems)


def test_guard_catches_toc_mismatch(tmp_path: Path) -> None:
    (tmp_path / "book").mkdir()
    nbformat.write(nbformat.read(NOTEBOOKS[0], as_version=4), tmp_path / "book" / "orphan.ipynb")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/missing\n"
    )
    problems = toc_problems(tmp_path)
    assert any("book/missing" in p and "no book/missing.md" in p for p in problems)
    assert any("orphan.ipynb is not listed" in p for p in problems)
