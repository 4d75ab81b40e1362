"""Part I of the book: ListMLE failures, their diagnosis and their fixes.

NumPy-only helpers import at once. Five names load Keras the first time
they are used: :class:`ListMLELoss`, :class:`ListMLELambdaWeight` and
:func:`listmle_per_list` (the exact loss), :func:`make_scorer` and :func:`dead_units` (Keras helpers). They are
listed by ``dir()`` and ``help()`` like the others (``help()`` therefore
imports Keras). The book's own trial harness is :mod:`companion.book`.

Every function that takes labels and scores takes the labels first, as Keras
losses take ``(y_true, y_pred)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from companion.ranking._checks import RankingDataWarning, check_lists
from companion.ranking._grouping import ListIndex, group_lists
from companion.ranking._loader import RankingRows, load_svmlight_ranking, load_svmlight_rankings
from companion.ranking._synthetic import RankingData, make_ranking_data
from companion.ranking._limits import ROUND_TO_ZERO_GAP, UNDERFLOW_GAP
from companion.ranking._metrics import mean_ndcg, score_spread, single_feature_ndcg
from companion.ranking._reference import chance_level, epsilon_listmle, loss_floor, plackett_luce_nll

if TYPE_CHECKING:
    from companion.ranking._keras import dead_units, make_scorer
    from companion.ranking._loss import ListMLELambdaWeight, ListMLELoss, listmle_per_list

# Names whose modules import TensorFlow: loaded on first use.
_LAZY = {
    "ListMLELoss": "_loss",
    "ListMLELambdaWeight": "_loss",
    "listmle_per_list": "_loss",
    "make_scorer": "_keras",
    "dead_units": "_keras",
}

__all__ = [
    "ListMLELoss",
    "ListMLELambdaWeight",
    "listmle_per_list",
    "make_scorer",
    "dead_units",
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
    "load_svmlight_rankings",
    "RankingData",
    "RankingRows",
    "RankingDataWarning",
    "ListIndex",
    "UNDERFLOW_GAP",
    "ROUND_TO_ZERO_GAP",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"companion.ranking.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'companion.ranking' has no attribute {name!r}")
