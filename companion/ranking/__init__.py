"""Part I of the book: ListMLE failures, their diagnosis and their fixes.

NumPy-only helpers import at once; :class:`ListMLELoss` loads TensorFlow the
first time it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from companion.ranking._data import (
    OVERFLOW_GAP,
    PADDED_BYTES_LIMIT,
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

if TYPE_CHECKING:
    from companion.ranking._keras import dead_units, make_scorer
    from companion.ranking._loss import ListMLELoss, listmle_per_list

# Names whose modules import TensorFlow: loaded on first use.
_LAZY = {
    "ListMLELoss": "_loss",
    "listmle_per_list": "_loss",
    "make_scorer": "_keras",
    "dead_units": "_keras",
}

__all__ = [
    "ListMLELoss",
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
    "RankingData",
    "RankingDataWarning",
    "ListIndex",
    "ZERO_LOSS_GAP",
    "OVERFLOW_GAP",
    "PADDED_BYTES_LIMIT",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"companion.ranking.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'companion.ranking' has no attribute {name!r}")
