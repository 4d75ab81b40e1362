"""The book's harness: what the chapters use to run, grade and show their trials.

Nothing here is needed to use :mod:`companion.ranking`, :mod:`companion.rbm`
or :mod:`companion.diagnose` in your own code; this subpackage holds what the
book itself runs on top of them:

- trials over seeds and their statistics (:func:`summarize`,
  :func:`paired_grade`, :func:`paired_t`, :func:`t_edge`, :func:`over_seeds`), and the reference computations of
  the ranking chapters (:func:`oracle_loss`, :func:`tfr_threshold`, ...);
- the failures rebuilt from the doctor's registry (:func:`ranking_case`,
  :func:`rbm_case`, :func:`data_case`) and the doctor's out-of-sample
  evaluation (:func:`holdout_scenarios`, :func:`evaluate_doctor`);
- printing and gluing figures into the prose (:func:`sig`, :func:`glue`,
  :class:`Table`) and drawing them (:mod:`companion.book.plotting`).

The library never imports this subpackage (``tests/test_import_graph.py``).
NumPy, scikit-learn and matplotlib only at import; the functions that train a
Keras model or measure tensorflow-ranking import TensorFlow when called.
"""

from __future__ import annotations

from companion.book._cases import (
    DATA_CASES,
    KERAS_CASES,
    RANKING_CASES,
    RBM_CASES,
    KerasCase,
    RankingCase,
    case_spec,
    data_case,
    fit_rbm,
    keras_case,
    keras_final_losses,
    keras_trial,
    make_keras_run,
    make_ranking_run,
    query_split,
    ranking_case,
    rbm_case,
)
from companion.book._external import (
    Program,
    external_programs,
    external_scores,
    external_table,
    run_program,
    scores_by_batch,
)
from companion.book._holdout import (
    Scenario,
    book_cases,
    confusion_table,
    evaluate_doctor,
    holdout_scenarios,
    nan_watch,
    range_rule,
    run_scenario,
    scores_table,
)
from companion.book._ranking import (
    count_seeds,
    epsilon_pair_slope,
    largest_gradients,
    listmle_numpy,
    longest_zero_list,
    loss_text,
    max_zero_list_length,
    oracle_loss,
    saturation_by_step,
    SeedCount,
    shuffled_label_loss,
    sigmoid_limits,
    split_by_query,
    tfr_loss_per_list,
    tfr_score_gradient,
    tfr_threshold,
    train_scorer,
    uniform_score_gradient,
)
from companion.book._rbm import (
    SEEDS,
    LikelihoodTrace,
    SeedTrial,
    error_jitter,
    fit_with_schedule,
    held_out_likelihood,
    likelihood_trace,
    over_seeds,
    train_from,
)
from companion.book._report import Table, glue, sig
from companion.book._stats import Summary, paired_grade, paired_t, summarize, t_edge
from companion.book._sweep import epsilon_training_trial, keras_rs_thresholds, listmle_gap_sweep

# The float32 limits the ranking chapters derive and the doctor's thresholds
# the doctor chapter prints: defined in the library, listed here for the book.
from companion.diagnose._registry import (
    CHANCE_TOLERANCE,
    CONSTANT_OUTPUT,
    DEAD_ALARM,
    DEAD_LAYER,
    DIVERGE_RISE,
    LOW_PROGRESS,
    NAN_AFTER_GAP,
    OVERFIT_GAP,
    OVERFLOW_WARN_GAP,
    PATIENCE,
    RANKING_SCALE_LIMIT,
    SCOPES,
    SEPARATION_GAP,
    SPREAD_TOLERANCE,
    STUCK_PROGRESS,
    UNIFORM_TOLERANCE,
    DataSpec,
    KerasSpec,
    RankingSpec,
    RBMSpec,
    SyntheticSpec,
)
from companion.ranking._limits import EPSILON_BEST_GAP, FLT_MIN, PADDED_UNDERFLOW_SCORE, TFR_PAD_LOGIT

__all__ = [
    # printing and gluing
    "sig",
    "glue",
    "Table",
    # statistics over seeds
    "Summary",
    "summarize",
    "paired_grade",
    "paired_t",
    "t_edge",
    # Part I: references and measurements
    "listmle_numpy",
    "uniform_score_gradient",
    "shuffled_label_loss",
    "oracle_loss",
    "tfr_loss_per_list",
    "tfr_threshold",
    "longest_zero_list",
    "largest_gradients",
    "sigmoid_limits",
    "train_scorer",
    "SeedCount",
    "count_seeds",
    "epsilon_pair_slope",
    "loss_text",
    "max_zero_list_length",
    "saturation_by_step",
    "split_by_query",
    "tfr_score_gradient",
    "listmle_gap_sweep",
    "keras_rs_thresholds",
    "epsilon_training_trial",
    "FLT_MIN",
    "TFR_PAD_LOGIT",
    "PADDED_UNDERFLOW_SCORE",
    "EPSILON_BEST_GAP",
    # Part II: trials over seeds, likelihood traces
    "SEEDS",
    "SeedTrial",
    "over_seeds",
    "train_from",
    "fit_with_schedule",
    "error_jitter",
    "held_out_likelihood",
    "LikelihoodTrace",
    "likelihood_trace",
    # Part III: the registry's runs and the doctor's evaluation
    "RankingCase",
    "KerasCase",
    "keras_case",
    "keras_final_losses",
    "keras_trial",
    "make_keras_run",
    "KERAS_CASES",
    "Program",
    "external_programs",
    "run_program",
    "external_scores",
    "external_table",
    "scores_by_batch",
    "ranking_case",
    "rbm_case",
    "data_case",
    "make_ranking_run",
    "fit_rbm",
    "case_spec",
    "query_split",
    "RankingSpec",
    "KerasSpec",
    "RBMSpec",
    "DataSpec",
    "SyntheticSpec",
    "RANKING_CASES",
    "RBM_CASES",
    "DATA_CASES",
    "Scenario",
    "holdout_scenarios",
    "book_cases",
    "evaluate_doctor",
    "run_scenario",
    "scores_table",
    "confusion_table",
    "range_rule",
    "nan_watch",
    "DEAD_ALARM",
    "DEAD_LAYER",
    "CHANCE_TOLERANCE",
    "CONSTANT_OUTPUT",
    "NAN_AFTER_GAP",
    "RANKING_SCALE_LIMIT",
    "SCOPES",
    "STUCK_PROGRESS",
    "DIVERGE_RISE",
    "LOW_PROGRESS",
    "OVERFIT_GAP",
    "OVERFLOW_WARN_GAP",
    "PATIENCE",
    "SEPARATION_GAP",
    "SPREAD_TOLERANCE",
    "UNIFORM_TOLERANCE",
]
