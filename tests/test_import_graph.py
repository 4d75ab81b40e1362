"""The import graph of companion: no cycle, and no arrow from the library to the book's harness.

Every import statement counts, at module level or inside a function (a lazy
import is still a dependency). The library is every module outside

#: Runs no Keras: one Keras backend covers it (make test-modern).
pytestmark = pytest.mark.backend_neutral
``companion.book``; ``companion.book`` (the chapters' trials, grading, glue and
plotting) may import the library, never the other way round.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1] / "companion"
HARNESS = "companion.book"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(root: Path) -> dict[str, Path]:
    return {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str:
    """The innermost module of companion that `name` (a module or module.attribute) names."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of the package at `root` it imports (anywhere in its source)."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] or [base]
            for target in targets:
                if target.split(".")[0] == root.name:
                    resolved = _resolve(target, modules)
                    if resolved and resolved != name:
                        edges.add(resolved)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a list of modules (first == last), or [] if there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return []


def _is_harness(module: str) -> bool:
    return module == HARNESS or module.startswith(HARNESS + ".")


def test_graph_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The checker itself: a cycle through a function-level or a relative import is found."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.sub import b\n    return b\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("from .. import a\nimport numpy\n")
    graph = import_graph(package)
    assert graph == {"pkg": set(), "pkg.a": {"pkg.sub.b"}, "pkg.sub": set(), "pkg.sub.b": {"pkg.a"}}
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
    # On companion itself: a function-level import (the registry's detectors read list helpers).
    assert "companion.ranking._lists" in import_graph()["companion.diagnose._registry"]


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_library_never_imports_the_harness() -> None:
    arrows = sorted(
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        if not _is_harness(module)
        for target in targets
        if _is_harness(target)
    )
    assert not arrows, "library modules import the book's harness: " + "; ".join(arrows)


@pytest.mark.parametrize("package", ["companion", "companion.ranking", "companion.rbm", "companion.diagnose"])
def test_importing_the_library_loads_no_harness(package: str) -> None:
    code = (
        f"import sys, {package}\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('companion.book'))\n"
        "assert not loaded, loaded\n"
        "assert 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _notebook_imports() -> list[tuple[str, str, str]]:
    """(notebook, module, name) for every `from companion... import name` in a code cell."""
    import json

    found = []
    for path in sorted((ROOT.parent / "book").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts or "_build" in path.parts:
            continue
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            try:
                tree = ast.parse("".join(cell["source"]))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "companion":
                    found += [(path.name, node.module or "", alias.name) for alias in node.names]
                elif isinstance(node, ast.Import):
                    found += [(path.name, alias.name, "") for alias in node.names if alias.name.startswith("companion")]
    return found


def test_notebooks_import_public_names_only() -> None:
    """Chapters import from public modules, and only names those modules list in __all__."""
    import importlib

    imports = _notebook_imports()
    assert imports, "no notebook imports companion"
    wrong = []
    for notebook, module, name in imports:
        if any(part.startswith("_") for part in module.split(".")):
            wrong.append(f"{notebook}: from {module} (a private module)")
            continue
        public = getattr(importlib.import_module(module), "__all__", [])
        if name and name not in public:
            wrong.append(f"{notebook}: {name} is not in {module}.__all__")
    assert not wrong, "; ".join(wrong)
