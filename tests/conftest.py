"""Shared pytest set-up: quiet, deterministic TensorFlow before anything imports it.

MPLBACKEND is deliberately left alone: the notebook kernels that nbval starts
inherit this environment, and they need the inline backend to show figures.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import settings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# Let the tests import their helper modules (notebook_guard) by name.
sys.path.insert(0, str(Path(__file__).parent))

# One hypothesis profile for the whole session: a fixed number of examples,
# derandomised (the same examples on every run and machine), no deadline (a
# first TensorFlow call can take seconds). HYPOTHESIS_PROFILE=dev explores
# more, with fresh random examples, when hunting for a bug.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: "pytest.Config") -> None:  # noqa: F821 - pytest's hook
    config.addinivalue_line(
        "markers",
        "backend_neutral: the module never runs Keras, so one Keras backend covers it "
        "(make test-modern runs it on TensorFlow only, not again on JAX)",
    )
    config.addinivalue_line(
        "markers",
        "book_tooling: the module checks the book's repository files (the notebook guard, the "
        "library's source shape), the same in every environment; make test-modern leaves it out",
    )
