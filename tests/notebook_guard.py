"""Checks that keep strict nbval from passing vacuously.

nbval compares the outputs a notebook produces with the outputs stored in it. A
notebook stored without outputs, or never added to the book, would pass without
checking anything; these functions find such notebooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
TOC = ROOT / "_toc.yml"


def book_notebooks(book: Path = BOOK) -> list[Path]:
    """Every notebook under `book`, skipping checkpoints and build outputs."""
    return sorted(
        p for p in book.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts
    )


def toc_entries(toc: Path = TOC) -> list[str]:
    """The documents named in a Jupyter Book 1.x ``_toc.yml``, without suffixes."""
    data = yaml.safe_load(toc.read_text())

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    yield str(node[key])
            for value in node.values():
                if isinstance(value, (dict, list)):
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return [str(Path(entry).with_suffix("")) if Path(entry).suffix in {".md", ".ipynb"} else entry
            for entry in walk(data)]


def toc_problems(root: Path = ROOT) -> list[str]:
    """Notebooks missing from the table of contents, and entries with no file."""
    entries = toc_entries(root / "_toc.yml")
    problems = []
    for entry in entries:
        if not any((root / f"{entry}{ext}").is_file() for ext in (".md", ".ipynb")):
            problems.append(f"_toc.yml names {entry!r}, but there is no {entry}.md or {entry}.ipynb")
    listed = set(entries)
    for nb in book_notebooks(root / "book"):
        rel = str(nb.relative_to(root).with_suffix(""))
        if rel not in listed:
            problems.append(f"{rel}.ipynb is not listed in _toc.yml, so the book never shows it")
    return problems


def execution_problems(nb_path: Path) -> list[str]:
    """Why a stored notebook is not a faithful record of a top-to-bottom run.

    Every non-empty code cell must carry an execution count, the counts must be
    1, 2, 3, ... in cell order (one fresh run, no cell run twice or out of
    order), and the notebook must store at least one output.
    """
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    name = nb_path.name
    if not code:
        return [f"{name}: has no code cells"]
    counts = [c.get("execution_count") for c in code]
    problems = []
    missing = sum(count is None for count in counts)
    if missing:
        problems.append(f"{name}: {missing} of {len(code)} code cells were never executed")
    elif counts != list(range(1, len(code) + 1)):
        problems.append(f"{name}: execution counts {counts} are not 1..{len(code)}: "
                        "cells were run out of order or twice; run `make execute`")
    if not any(c.get("outputs") for c in code):
        problems.append(f"{name}: stores no outputs, so nbval would compare nothing")
    first = code[0].source
    if "seed_everything(" not in first:
        problems.append(f"{name}: the first code cell does not call companion.seed_everything")
    return problems
