"""pytest plugin for the second environment (`make test-modern`): skip what needs the book's stack.

.venv-modern has no tensorflow-ranking (it needs TensorFlow below 2.16, which
does not install on Python 3.12+). Loaded with ``-p modern_plugin`` by the
Makefile only, it

* leaves out of doctest collection the modules of ``companion`` that import
  tensorflow_ranking when they are imported (none today; such a module would
  otherwise be a collection error), and
* reports a test that fails because tensorflow_ranking cannot be imported as
  skipped, with that reason, instead of failed.

Every other failure stays a failure, and the skips are counted in pytest's
summary line.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

_HAS_TFR = importlib.util.find_spec("tensorflow_ranking") is not None
_IMPORTS_TFR = re.compile(r"^(import|from)\s+tensorflow_ranking\b", re.MULTILINE)
REASON = "needs tensorflow-ranking, which only the book's environment (.venv, TensorFlow 2.15) has"


def _needs_tfr(error: BaseException) -> bool:
    return isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] == "tensorflow_ranking"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if _HAS_TFR or collection_path.suffix != ".py" or "companion" not in collection_path.parts:
        return None
    if _IMPORTS_TFR.search(collection_path.read_text(encoding="utf-8")):
        return True
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if _HAS_TFR or call.excinfo is None or not report.failed:
        return
    error = call.excinfo.value
    if hasattr(error, "exc_info"):  # doctest.UnexpectedException wraps the example's exception
        error = error.exc_info[1]
    # Look along the chain of causes too.
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if _needs_tfr(error):
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {REASON}")
            return
        error = error.__cause__ or error.__context__
    if "No module named 'tensorflow_ranking'" in str(call.excinfo.value):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {REASON}")
