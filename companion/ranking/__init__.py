"""Part I of the book: ListMLE failures, their diagnosis and their fixes.

NumPy-only helpers import at once. Six names load Keras the first time
they are used: :class:`ListMLELoss`, :class:`ListMLELambdaWeight` and
:func:`listmle_per_list` (the exact loss), :func:`make_scorer` and :func:`dead_units` (Keras helpers), and
:func:`listmle_gap_sweep` (companion and keras-rs side by side). They are
listed by ``dir()`` and ``help()`` like the others (``help()`` therefore
imports Keras).

Every function that takes labels and scores takes the labels first, as Keras
losses take ``(y_true, y_pred)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from companion.ranking._data import (
    OVERFLOW_GAP,
    PADDED_BYTES_LIMIT,
    UNDERFLOW_GAP,
    ZERO_LOSS_GAP,
    ListIndex,
    RankingData,
    RankingDataWarning,
    check_lists,
    group_lists,
    load_svmlight_ranking,
    make_ranking_data,
)
from companion.ranking._metrics import mean_ndcg, score_spread, single_feature_ndcg
from companion.ranking._reference import chance_level, epsilon_listmle, loss_floor, plackett_luce_nll
from companion.ranking._trials import (
    EPSILON_BEST_GAP,
    FLT_MIN,
    PADDED_UNDERFLOW_SCORE,
    ROUND_TO_ZERO_GAP,
    TFR_PAD_LOGIT,
    Summary,
    largest_gradients,
    listmle_numpy,
    longest_zero_list,
    oracle_loss,
    paired_grade,
    shuffled_label_loss,
    sigmoid_limits,
    summarize,
    tfr_loss_per_list,
    tfr_threshold,
    train_scorer,
    uniform_score_gradient,
)

if TYPE_CHECKING:
    from companion.ranking._keras import dead_units, listmle_gap_sweep, make_scorer
    from companion.ranking._loss import ListMLELambdaWeight, ListMLELoss, listmle_per_list

# Names whose modules import TensorFlow: loaded on first use.
_LAZY = {
    "ListMLELoss": "_loss",
    "ListMLELambdaWeight": "_loss",
    "listmle_per_list": "_loss",
    "make_scorer": "_keras",
    "dead_units": "_keras",
    "listmle_gap_sweep": "_keras",
}

__all__ = [
    "ListMLELoss",
    "ListMLELambdaWeight",
    "listmle_per_list",
    "make_scorer",
    "dead_units",
    "listmle_gap_sweep",
    "mean_ndcg",
    "score_spread",
    "single_feature_ndcg",
    "plackett_luce_nll",
    "epsilon_listmle",
    "chance_level",
    "loss_floor",
    "group_lists",
    "check_lists",
    "make_ranking_data",
    "load_svmlight_ranking",
    "RankingData",
    "RankingDataWarning",
    "ListIndex",
    "ZERO_LOSS_GAP",
    "OVERFLOW_GAP",
    "UNDERFLOW_GAP",
    "ROUND_TO_ZERO_GAP",
    "EPSILON_BEST_GAP",
    "PADDED_UNDERFLOW_SCORE",
    "FLT_MIN",
    "TFR_PAD_LOGIT",
    "Summary",
    "summarize",
    "paired_grade",
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
    "PADDED_BYTES_LIMIT",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"companion.ranking.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'companion.ranking' has no attribute {name!r}")
