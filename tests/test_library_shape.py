"""The library's shape (issue 18): short functions, declared public names, one argument order."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import companion
import companion.ranking

#: Runs no Keras: one Keras backend covers it (make test-modern).
pytestmark = [pytest.mark.backend_neutral, pytest.mark.book_tooling]


ROOT = Path(companion.__file__).parent
#: Longest body of a library function, in lines, docstring excluded.
MAX_BODY = 50
#: Functions still longer, owned by other work; each may not grow past its
#: line count here, and leaves this list once it is under MAX_BODY.
KNOWN_LONG = {
    "rbm/_ais.py:_anneal": 75,
    "diagnose/_doctor.py:LossDoctor.on_train_begin": 58,
}


def _body_lengths() -> dict[str, int]:
    """Lines from the first statement after the docstring to the last, per function."""
    lengths: dict[str, int] = {}
    for path in sorted(ROOT.rglob("*.py")):
        if "book" in path.relative_to(ROOT).parts:
            continue  # the book's harness, not the library
        tree = ast.parse(path.read_text(encoding="utf-8"))
        stack: list[tuple[ast.AST, str]] = [(tree, "")]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    body = child.body
                    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                            and isinstance(body[0].value.value, str)):
                        body = body[1:]
                    name = f"{path.relative_to(ROOT).as_posix()}:{prefix}{child.name}"
                    lengths[name] = (body[-1].end_lineno or 0) - body[0].lineno + 1 if body else 0
                    stack.append((child, f"{prefix}{child.name}."))
                elif isinstance(child, ast.ClassDef):
                    stack.append((child, f"{prefix}{child.name}."))
    return lengths


def test_no_library_function_is_longer_than_the_limit() -> None:
    lengths = _body_lengths()
    assert lengths, "no function found: is ROOT right?"
    too_long = {name: n for name, n in lengths.items() if n > MAX_BODY and name not in KNOWN_LONG}
    assert not too_long, (f"functions with a body over {MAX_BODY} lines (docstring excluded): {too_long}; "
                          "split them into well-named private helpers")
    for name, ceiling in KNOWN_LONG.items():
        assert name in lengths, f"{name} is gone: remove it from KNOWN_LONG"
        assert lengths[name] <= ceiling, f"{name} grew to {lengths[name]} lines (at most {ceiling})"
        assert lengths[name] > MAX_BODY, f"{name} is {lengths[name]} lines now: remove it from KNOWN_LONG"


def _ranking_modules() -> list[str]:
    return sorted(f"companion.ranking.{m.name}" for m in pkgutil.iter_modules(companion.ranking.__path__))


@pytest.mark.parametrize("module_name", _ranking_modules())
def test_each_ranking_module_declares_its_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{module_name} has no __all__"
    for name in declared:
        assert hasattr(module, name), f"{module_name}.__all__ names {name!r}, which it does not define"
        value = getattr(module, name)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert value.__module__ == module_name, f"{name} is declared in {module_name} but defined elsewhere"


#: Names a module of companion.ranking declares for its sibling modules and the
#: book's harness (companion.book re-exports the limits), not for users.
INTERNAL = {"PADDED_BYTES_LIMIT", "valid_mask", "n_valid", "within_list_gaps", "within_list_spread",
            "FLT_MIN", "TFR_PAD_LOGIT", "PADDED_UNDERFLOW_SCORE", "EPSILON_BEST_GAP"}


def test_companion_ranking_exports_exactly_what_its_modules_declare() -> None:
    declared: set[str] = set()
    for module_name in _ranking_modules():
        declared |= set(importlib.import_module(module_name).__all__)
    assert set(companion.ranking.__all__) == declared - INTERNAL


def test_functions_that_take_rows_take_features_labels_then_query_ids() -> None:
    from companion.diagnose import diagnose_ranking_data
    from companion.ranking import group_lists

    for function in (group_lists, diagnose_ranking_data):
        assert list(inspect.signature(function).parameters)[:3] == ["X", "y", "qid"], function.__name__
