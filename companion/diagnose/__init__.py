"""The doctor: automatic diagnosis of the book's failures.

Every failure is defined once, in :data:`REGISTRY` (cause, fix, chapter,
thresholds with their sources, seeded reproductions, detectors); everything
else here is derived from it.

:class:`LossDoctor` watches a Keras model train (a Keras callback; it loads
TensorFlow): a listwise ranking model with the ranking causes, any other model
with the causes that happen in every model, never a ranking cause outside
ranking; :func:`diagnose_rbm` reads a fitted RBM, and
:func:`diagnose_inputs` checks feature scales before training. Each returns
:class:`Finding` objects that name the cause, the evidence, the fix and the
chapter. This package imports :mod:`companion.ranking` and
:mod:`companion.rbm`; they never import it. The registry's cases are rebuilt
into runs, and the doctor scored on them, by the book's harness
(:func:`companion.book.ranking_case`, :func:`companion.book.evaluate_doctor`).
Each threshold is a field of its failure (``REGISTRY[cause].thresholds``).

:class:`LossDoctor` and :func:`lists_sample` load TensorFlow the first time
they are used; ``dir()`` and ``help()`` list them with the others (``help()``
therefore imports TensorFlow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from companion.diagnose._findings import (
    BOOK_URL,
    CHAPTER_TITLES,
    DiagnosisWarning,
    Finding,
    TrainingFailure,
    findings_table,
)
from companion.diagnose._registry import REGISTRY, Case, Epoch, Failure, FittedRBM, Start, Threshold
from companion.diagnose._static import diagnose_inputs, diagnose_ranking_data, diagnose_rbm, run_detectors

if TYPE_CHECKING:
    from companion.diagnose._doctor import LossDoctor, lists_sample

# Names whose module imports TensorFlow: loaded on first use.
_LAZY = ("LossDoctor", "lists_sample")

__all__ = [
    "Finding",
    "TrainingFailure",
    "DiagnosisWarning",
    "BOOK_URL",
    "CHAPTER_TITLES",
    "findings_table",
    "REGISTRY",
    "Failure",
    "Case",
    "Threshold",
    "Start",
    "Epoch",
    "FittedRBM",
    "run_detectors",
    "LossDoctor",
    "lists_sample",
    "diagnose_rbm",
    "diagnose_inputs",
    "diagnose_ranking_data",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from companion.diagnose import _doctor

        return getattr(_doctor, name)
    raise AttributeError(f"module 'companion.diagnose' has no attribute {name!r}")
