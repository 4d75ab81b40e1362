"""Part I of the book: ListMLE failures, their diagnosis and their fixes.

NumPy-only helpers import at once. Five names load Keras the first time
they are used: :class:`ListMLELoss`, :class:`ListMLELambdaWeight` and
:func:`listmle_per_list` (the exact loss), :func:`make_scorer` and
:func:`dead_units` (Keras helpers). They are listed by ``dir()`` and
``help()`` like the others (``help()`` therefore imports Keras). The book's
own trial harness is :mod:`companion.book`.

Conventions (the whole package follows them):

- **Argument order** is scikit-learn's: features, then labels, then the
  query ids, ``(X, y, qid)``, with ``qid`` easy to pass by name:
  ``group_lists(X, y, qid=qid)``, and in :mod:`companion.diagnose`
  ``diagnose_ranking_data(X, y, qid=qid)``. A function
  that takes labels and scores takes the labels first, as Keras losses
  take ``(y_true, y_pred)``: ``mean_ndcg(y_lists, scores)``,
  ``plackett_luce_nll(labels, scores)``, ``check_lists(y_true, y_pred)``.
  ``group_lists(qid, X, y)``, the order before this convention, is
  recognised (a 1-D first argument with a 2-D second), still works and
  issues a ``DeprecationWarning``; it goes in the next release.
- **Names**: ``X`` for row features, ``X_lists`` for grouped ones
  ``(n_lists, list_size, n_features)``; ``y`` for row labels, ``y_lists``
  for grouped ones, ``labels`` for one list or either shape; ``scores`` for
  a model's scores. Two exceptions mirror the library they stand in for:
  :func:`check_lists` and :class:`ListMLELoss` name labels and scores
  ``y_true`` and ``y_pred`` as a Keras loss does, and
  :func:`listmle_per_list` takes ``(labels, logits)`` as
  tensorflow-ranking's does.
- **Returns**: one number is a ``float``; arrays a Keras model is fed
  come as a plain tuple, ``X_lists, y_lists = group_lists(...)``, so that
  ``model.fit(*lists)`` works; rows of a data set come as a named tuple
  read by name (:class:`RankingData` from :func:`make_ranking_data`,
  :class:`RankingRows` from the loaders: ``rows.X``, ``rows.y``,
  ``rows.qid``); a result that carries evidence is a dataclass
  (:class:`ListIndex`, ``companion.diagnose.Finding``). The named tuples
  keep their order ``(qid, X, y, ...)``, older than the argument order:
  a reordered tuple would unpack into the wrong names without an error.
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
