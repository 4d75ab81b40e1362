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
:mod:`companion.rbm`; they never import it.

:class:`LossDoctor` and :func:`lists_sample` load TensorFlow the first time
they are used; ``dir()`` and ``help()`` list them with the others (``help()``
therefore imports TensorFlow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from companion.diagnose._cases import (
    DATA_CASES,
    KERAS_CASES,
    RANKING_CASES,
    RBM_CASES,
    KerasCase,
    RankingCase,
    data_case,
    fit_rbm,
    keras_case,
    make_keras_run,
    make_ranking_run,
    ranking_case,
    rbm_case,
)
from companion.diagnose._findings import BOOK_URL, CAUSES, DiagnosisWarning, Finding, TrainingFailure, findings_table
from companion.diagnose._registry import (
    CHANCE_TOLERANCE,
    DEAD_ALARM,
    DEAD_LAYER,
    DIVERGE_RISE,
    FLOOR_FRACTION,
    GAUSSIAN_MEAN_LIMIT,
    GAUSSIAN_STD_RANGE,
    LEAK_CHANCE,
    LOW_PROGRESS,
    OVERFIT_GAP,
    OVERFLOW_WARN_GAP,
    PATIENCE,
    RANKING_SCALE_LIMIT,
    REGISTRY,
    SCOPES,
    SEPARATION_GAP,
    NAN_AFTER_GAP,
    SPREAD_TOLERANCE,
    STUCK_PROGRESS,
    UNIFORM_TOLERANCE,
    VISIBLE_BIAS_ALARM,
    WEIGHT_ALARM,
    Case,
    Epoch,
    Failure,
    FittedRBM,
    Start,
    Threshold,
)
from companion.diagnose._static import diagnose_inputs, diagnose_ranking_data, diagnose_rbm, run_detectors
from companion.diagnose._holdout import (
    Scenario,
    book_cases,
    confusion_table,
    evaluate_doctor,
    holdout_scenarios,
    range_rule,
    run_scenario,
    scores_table,
)

if TYPE_CHECKING:
    from companion.diagnose._doctor import LossDoctor, lists_sample

# Names whose module imports TensorFlow: loaded on first use.
_LAZY = ("LossDoctor", "lists_sample")

__all__ = [
    "Finding",
    "TrainingFailure",
    "DiagnosisWarning",
    "CAUSES",
    "BOOK_URL",
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
    "SCOPES",
    "RankingCase",
    "KerasCase",
    "ranking_case",
    "keras_case",
    "make_keras_run",
    "KERAS_CASES",
    "rbm_case",
    "data_case",
    "make_ranking_run",
    "fit_rbm",
    "RANKING_CASES",
    "RBM_CASES",
    "DATA_CASES",
    "Scenario",
    "holdout_scenarios",
    "evaluate_doctor",
    "scores_table",
    "confusion_table",
    "book_cases",
    "run_scenario",
    "range_rule",
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
    "FLOOR_FRACTION",
    "OVERFLOW_WARN_GAP",
    "PATIENCE",
    "DIVERGE_RISE",
    "CHANCE_TOLERANCE",
    "DEAD_LAYER",
    "STUCK_PROGRESS",
    "NAN_AFTER_GAP",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from companion.diagnose import _doctor

        return getattr(_doctor, name)
    raise AttributeError(f"module 'companion.diagnose' has no attribute {name!r}")
