"""The doctor: automatic diagnosis of the book's failures.

:class:`LossDoctor` watches a listwise ranking model train (a Keras callback;
it loads TensorFlow), :func:`diagnose_rbm` reads a fitted RBM, and
:func:`diagnose_inputs` checks feature scales before training. Each returns
:class:`Finding` objects that name the cause, the evidence, the fix and the
chapter. This package imports :mod:`companion.ranking` and
:mod:`companion.rbm`; they never import it.

:class:`LossDoctor` and its thresholds (``UNIFORM_TOLERANCE``,
``SPREAD_TOLERANCE``, ``SEPARATION_GAP``, ``OVERFLOW_WARN_GAP``, ``PATIENCE``,
``DIVERGE_RISE``) load TensorFlow the first time they are used; ``dir()`` and
``help()`` list them with the others (``help()`` therefore imports
TensorFlow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from companion.diagnose._cases import RANKING_CASES, RBM_CASES, RankingCase, ranking_case, rbm_case
from companion.diagnose._findings import BOOK_URL, CAUSES, DiagnosisWarning, Finding, TrainingFailure, findings_table
from companion.diagnose._static import (
    DEAD_ALARM,
    GAUSSIAN_MEAN_LIMIT,
    GAUSSIAN_STD_RANGE,
    LOW_PROGRESS,
    OVERFIT_GAP,
    RANKING_SCALE_LIMIT,
    VISIBLE_BIAS_ALARM,
    WEIGHT_ALARM,
    LEAK_CHANCE,
    diagnose_inputs,
    diagnose_ranking_data,
    diagnose_rbm,
)

if TYPE_CHECKING:
    from companion.diagnose._doctor import (
        DIVERGE_RISE,
        OVERFLOW_WARN_GAP,
        PATIENCE,
        SEPARATION_GAP,
        SPREAD_TOLERANCE,
        UNIFORM_TOLERANCE,
        LossDoctor,
    )

# Names whose module imports TensorFlow: loaded on first use.
_LAZY = ("LossDoctor", "UNIFORM_TOLERANCE", "SPREAD_TOLERANCE", "SEPARATION_GAP", "OVERFLOW_WARN_GAP",
         "PATIENCE", "DIVERGE_RISE")

__all__ = [
    "Finding",
    "TrainingFailure",
    "DiagnosisWarning",
    "CAUSES",
    "BOOK_URL",
    "findings_table",
    "LossDoctor",
    "diagnose_rbm",
    "diagnose_inputs",
    "diagnose_ranking_data",
    "RankingCase",
    "ranking_case",
    "rbm_case",
    "RANKING_CASES",
    "RBM_CASES",
    "GAUSSIAN_MEAN_LIMIT",
    "GAUSSIAN_STD_RANGE",
    "RANKING_SCALE_LIMIT",
    "DEAD_ALARM",
    "LOW_PROGRESS",
    "WEIGHT_ALARM",
    "VISIBLE_BIAS_ALARM",
    "OVERFIT_GAP",
    "LEAK_CHANCE",
    "UNIFORM_TOLERANCE",
    "SPREAD_TOLERANCE",
    "SEPARATION_GAP",
    "OVERFLOW_WARN_GAP",
    "PATIENCE",
    "DIVERGE_RISE",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from companion.diagnose import _doctor

        return getattr(_doctor, name)
    raise AttributeError(f"module 'companion.diagnose' has no attribute {name!r}")
