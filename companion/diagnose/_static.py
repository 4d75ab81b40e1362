"""Diagnoses that need no training loop: input scales and a fitted RBM's history.

Defined in :doc:`/book/doctor`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple, Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

import warnings

from companion.diagnose._findings import DiagnosisWarning, Finding
from companion.ranking._lists import valid_mask

__all__ = [
    "run_detectors",
    "diagnose_inputs",
    "diagnose_rbm",
    "diagnose_ranking_data",
    "LEAK_CHANCE",
    "GAUSSIAN_MEAN_LIMIT",
    "GAUSSIAN_STD_RANGE",
    "RANKING_SCALE_LIMIT",
    "DEAD_ALARM",
    "LOW_PROGRESS",
    "WEIGHT_ALARM",
    "VISIBLE_BIAS_ALARM",
    "OVERFIT_GAP",
]

# Thresholds: each defined, with where its number comes from, in the registry.
from companion.diagnose._registry import (  # noqa: E402
    DEAD_ALARM,
    GAUSSIAN_MEAN_LIMIT,
    GAUSSIAN_STD_RANGE,
    LEAK_CHANCE,
    LOW_PROGRESS,
    OVERFIT_GAP,
    RANKING_SCALE_LIMIT,
    VISIBLE_BIAS_ALARM,
    WEIGHT_ALARM,
    FittedRBM,
    failures_of,
)


def _as_2d(X: ArrayLike) -> NDArray[Any]:
    A = np.asarray(X, dtype=np.float64)
    if A.ndim == 3:  # lists: (n_lists, list_size, n_features)
        A = A.reshape(-1, A.shape[-1])
    if A.ndim != 2:
        raise ValueError(f"X must be (n_samples, n_features) or (n_lists, list_size, n_features); got {A.shape}.")
    if not np.isfinite(A).all():
        raise ValueError("X contains NaN or infinity; impute or drop those values before diagnosing scales.")
    return A


def diagnose_inputs(X: ArrayLike, *, units: str = "bernoulli") -> list[Finding]:
    """Check input scales before training, for the units that will read them.

    One rule (:mod:`companion._scale`), the one :meth:`companion.rbm.RBM.fit`
    reads too: data that ``fit`` accepts silently gets no finding here.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_lists, list_size, n_features)
        The data as it will be fed to the model (integer columns included).
    units : {"bernoulli", "gaussian", "network", "ranking"}, default="bernoulli"
        ``"bernoulli"``: RBM visible units that need [0, 1] (values within
        ``RANGE_TOLERANCE`` = 1e-6 of it are rounding noise).
        ``"gaussian"``: RBM visible units with unit variance (standardised data).
        ``"network"``: the inputs of a neural network, any Keras model;
        ``"ranking"`` is the same rule for a listwise ranking network.

    Returns
    -------
    list of Finding
        Empty when the scales fit; else one ``unscaled-data`` finding naming
        the worst feature (numbered from 0).

    Raises
    ------
    ValueError
        For an unknown `units`, a wrong shape, or NaN in `X`.

    Examples
    --------
    >>> diagnose_inputs([[0.0, 0.5], [1.0, 0.2]])
    []
    >>> [f.cause for f in diagnose_inputs([[0.0, 16.0], [3.0, 2.0]])]
    ['unscaled-data']
    """
    from companion._scale import unscaled_mask

    if units not in ("bernoulli", "gaussian", "network", "ranking"):
        raise ValueError(f"units must be 'bernoulli', 'gaussian', 'network' or 'ranking', got {units!r}.")
    A = _as_2d(X)
    scope = {"ranking": "ranking", "network": "keras"}.get(units, "rbm")
    if units == "bernoulli":
        lo, hi = A.min(axis=0), A.max(axis=0)
        outside = unscaled_mask("bernoulli", low=lo, high=hi)
        if outside.any():
            worst = int(np.argmax(np.maximum(hi - 1, -lo)))
            return [Finding.within(scope, "unscaled-data", units=units, features_outside_0_1=int(outside.sum()),
                                   worst_feature=worst, worst_min=float(lo[worst]), worst_max=float(hi[worst]))]
        return []
    mean, std = A.mean(axis=0), A.std(axis=0)
    bad = unscaled_mask("gaussian" if units == "gaussian" else "network", mean=mean, std=std)
    if not bad.any():
        return []
    magnitude = np.sqrt(mean**2 + std**2)
    worst = int(np.argmax(np.where(bad, magnitude, -np.inf)))
    return [Finding.within(scope, "unscaled-data", units=units, unscaled_features=int(bad.sum()),
                           worst_feature=worst, worst_mean=float(mean[worst]), worst_std=float(std[worst]))]


def diagnose_rbm(rbm: Any, X: Optional[ArrayLike] = None) -> list[Finding]:
    """Name what went wrong in a fitted RBM, from its history (and its data).

    Reads :attr:`companion.rbm.RBM.history_` when the model has one; for a
    scikit-learn ``BernoulliRBM`` (no history) it checks the weights and, when
    given, the data.

    Parameters
    ----------
    rbm : companion.rbm.RBM, sklearn's BernoulliRBM, a Pipeline or a search
        A fitted model. In a fitted ``Pipeline`` the doctor reads its RBM
        step and passes `X` through the steps before it; a fitted search
        (``GridSearchCV``) is read through its ``best_estimator_``.
    X : array-like, optional
        The training data (for a pipeline: what the pipeline is fit on), to
        check its scale for the model's visible units and count dead units.

    Returns
    -------
    list of Finding
        Empty for a healthy run. Possible causes: ``unscaled-data``,
        ``learning-rate-too-high``, ``learning-rate-too-low``, ``overfitting``.
        When the data are unscaled, dead units are put down to that, not to
        the learning rate.

    Raises
    ------
    ValueError
        If `rbm` is not fitted, or a pipeline holds no RBM.

    Warns
    -----
    DiagnosisWarning
        When part of the diagnosis cannot be made, so that an empty list
        would not mean "healthy": a model without training history (scikit-
        learn's ``BernoulliRBM``, or :class:`companion.rbm.RBM` trained with
        ``partial_fit`` only) cannot be judged for a learning rate too low,
        and without `X` not for one too high either; and `X` that the model
        cannot have been fit on (:class:`companion.rbm.RBM` refuses Bernoulli
        data outside [0, 1]) is not used.
    """
    from companion._scale import unscaled_mask

    rbm, X = _rbm_and_data(rbm, X)
    history = getattr(rbm, "history_", None)
    if history and not history.get("reconstruction_error"):
        history = None
    units = str(getattr(rbm, "visible", "bernoulli"))
    data = None if X is None else np.asarray(X, dtype=np.float64)
    ours = type(rbm).__module__.startswith("companion.")
    if data is not None and ours and units == "bernoulli" and data.size and unscaled_mask(
            "bernoulli", low=data.min(axis=0), high=data.max(axis=0)).any():
        warnings.warn(
            f"X is not what this {type(rbm).__name__} was fit on: RBM.fit refuses Bernoulli data outside [0, 1], "
            f"and X ranges from {data.min():.4g} to {data.max():.4g}. The data were not used; pass the data the "
            "RBM saw (for a pipeline: diagnose_rbm(pipeline, X), which passes X through the earlier steps).",
            DiagnosisWarning,
            stacklevel=2,
        )
        data = None
    # The scale evidence is computed here, so that the registry does not import these checks.
    scale = [] if data is None else diagnose_inputs(data, units=units)
    obs = FittedRBM(rbm, data, units, history, dict(scale[0].evidence) if scale else None)
    findings = run_detectors(failures_of("rbm"), "rbm", obs)
    if history is None and not any(f.cause == "unscaled-data" for f in findings):
        why = ("it was trained with partial_fit, which records no history" if hasattr(rbm, "history_") else
               "it keeps no training history")
        judged = ("the data's scale, the dead hidden units and the weights" if data is not None else
                  "the weights only (without the data the dead hidden units cannot be counted: pass them, "
                  "diagnose_rbm(rbm, X))")
        warnings.warn(
            f"diagnose_rbm cannot judge the learning rate of this {type(rbm).__name__} fully: {why}, so a rate "
            f"too low (a reconstruction error that does not fall) cannot be seen. Checked: {judged}.",
            DiagnosisWarning,
            stacklevel=2,
        )
    return findings


def _rbm_and_data(model: Any, X: Optional[ArrayLike]) -> tuple[Any, Optional[ArrayLike]]:
    """The RBM in `model` (itself, a Pipeline's step, a search's best model) and X as that step sees it."""
    if hasattr(model, "best_estimator_"):
        model = model.best_estimator_
    elif hasattr(model, "param_grid") or hasattr(model, "param_distributions"):
        raise ValueError(f"the {type(model).__name__} is not fitted (or was fit with refit=False); call fit() "
                         "first, or pass its best estimator.")
    steps = getattr(model, "steps", None)
    if steps is None:
        if not hasattr(model, "components_"):
            raise ValueError("the RBM is not fitted; call fit() first.")
        return model, X
    for i, (name, step) in enumerate(steps):
        if hasattr(step, "intercept_visible_") or type(step).__name__ in ("RBM", "BernoulliRBM"):
            if not hasattr(step, "components_"):
                raise ValueError(f"the pipeline's RBM step {name!r} is not fitted; call fit() on the pipeline first.")
            if X is not None:
                for _, earlier in steps[:i]:
                    if earlier is not None and earlier != "passthrough":
                        X = earlier.transform(X)
            return step, X
    raise ValueError(f"the pipeline holds no RBM step (steps: {', '.join(n for n, _ in steps)}).")


def run_detectors(failures: Sequence[Any], phase: str, observation: Any,
                  found: Sequence[Finding] = ()) -> list[Finding]:
    """Run the `phase` detectors of `failures` on one observation, in order.

    The doctor's loop (:doc:`/book/doctor`): a failure whose cause is already
    among `found` (or found earlier in this call) is not checked again, one
    is skipped when a cause in its ``unless`` was found first, and one that
    does not apply to the observation's ``scope`` is never checked.

    Returns
    -------
    list of Finding
        The new findings.
    """
    causes = {f.cause for f in found}
    scope = getattr(observation, "scope", None)
    new: list[Finding] = []
    for failure in failures:
        if failure.cause in causes or causes.intersection(failure.unless):
            continue
        if scope is not None and scope not in failure.scopes:
            continue  # never a ranking cause outside ranking
        evidence = failure.detectors[phase](observation)
        if evidence is not None:
            new.append(Finding.within(scope, failure.cause, **evidence) if scope else
                       Finding.of(failure.cause, **evidence))
            causes.add(failure.cause)
    return new


def diagnose_ranking_data(
    X: ArrayLike,
    y: ArrayLike,
    qid: Optional[ArrayLike] = None,
    *,
    feature_names: Optional[Sequence[str]] = None,
) -> list[Finding]:
    """Check learning-to-rank data before training: everything the book teaches to see.

    No model is needed and TensorFlow is not loaded. This is what
    ``python -m companion check FILE`` runs.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features) or (n_lists, list_size, n_features)
        Features: one row per document with `qid`, or grouped lists as from
        :func:`companion.ranking.group_lists` (then `qid` is omitted and a
        label below 0 marks padding).
    y : array-like of shape (n_rows,) or (n_lists, list_size)
        Relevance labels, ``>= 0`` (below 0: padding, for grouped lists).
    qid : array-like of shape (n_rows,), optional
        Query id of each row; required for rows, omitted for lists.
    feature_names : sequence of str, optional
        Names used in the evidence (default: column numbers from 0).

    Returns
    -------
    list of Finding
        In this order, each when it applies:

        - ``single-item-lists`` (fatal): every query has one document, so
          every list is one item long and ListMLE is exactly 0
          (:doc:`/book/ranking/zero_loss`); the list checks below are skipped.
        - ``single-document-queries``: some queries have one document.
        - ``tied-lists``: lists whose labels are all equal; fatal when every
          list of two or more documents is tied (nothing to learn).
        - ``unscaled-data`` (fatal): feature scales that drive the scores to
          the float32 limit, by :func:`diagnose_inputs` with
          ``units="ranking"`` (:data:`RANKING_SCALE_LIMIT`).
        - ``leaked-feature``: one feature that alone ranks every list
          perfectly, in one direction for all lists (NDCG 1 by
          :func:`companion.ranking.single_feature_ndcg`).

    Raises
    ------
    ValueError
        For shapes that do not match, a missing `qid` with rows, NaN or
        infinite values, or negative labels in rows.

    Warns
    -----
    DiagnosisWarning
        When the leaked-feature check is skipped because too few lists hold
        two different labels for a perfect ranking to mean anything (see
        :data:`LEAK_CHANCE`).

    Examples
    --------
    >>> from companion.ranking import make_ranking_data
    >>> data = make_ranking_data(
    ...     60, list_size=8, labels="order", leak=True, random_state=0)
    >>> [f.cause for f in diagnose_ranking_data(data.X, data.y, data.qid)]
    ['leaked-feature']
    >>> per_row = np.arange(len(data.y))  # a query id per row: lists of one
    >>> [f.cause for f in diagnose_ranking_data(data.X, data.y, per_row)]
    ['single-item-lists']
    """
    rows_X, rows_y, rows_q = _as_rows(X, y, qid)
    # Examples are query ids for rows, list positions (from 0) for grouped lists.
    examples_key = "examples" if qid is not None else "example_lists"
    names = _feature_names(feature_names, rows_X.shape[1])
    uniq, order, start, counts = _query_blocks(rows_q)
    rows_X, rows_y, rows_q = rows_X[order], rows_y[order], rows_q[order]
    findings = _list_size_findings(uniq, counts, len(rows_y), examples_key)
    scan = _scan_lists(rows_X, rows_y, start, counts)
    findings += _tied_findings(scan, uniq, counts, examples_key)
    findings += _scale_findings(rows_X, names)
    findings += _leak_findings(scan, rows_X, rows_y, rows_q, uniq, names)
    return findings


class _ListScan(NamedTuple):
    """What one pass over the lists of two or more documents learns."""

    tied: NDArray[np.bool_]  # per query: every label equal
    informative: list[int]  # queries with two different labels
    log_chance: float  # log of the chance that an unrelated feature orders them all perfectly
    higher_is_better: NDArray[np.bool_]  # per feature: orders every informative list, ascending
    lower_is_better: NDArray[np.bool_]  # ... or descending


def _feature_names(feature_names: Optional[Sequence[str]], n_features: int) -> list[str]:
    names = list(feature_names) if feature_names is not None else [str(j) for j in range(n_features)]
    if len(names) != n_features:
        raise ValueError(f"feature_names has {len(names)} names for {n_features} features.")
    return names


def _list_size_findings(uniq: NDArray[Any], counts: NDArray[np.intp], n_documents: int,
                        examples_key: str) -> list[Finding]:
    """``single-item-lists`` when every query has one document, else ``single-document-queries`` for some."""
    single = counts == 1
    if single.all():
        return [Finding.of("single-item-lists", queries=len(uniq), documents=n_documents)]
    if single.any():
        return [Finding.of("single-document-queries", queries=int(single.sum()), of_queries=len(uniq),
                           **{examples_key: _examples(uniq[single])})]
    return []


def _scan_lists(rows_X: NDArray[np.float64], rows_y: NDArray[np.float64], start: NDArray[np.intp],
                counts: NDArray[np.intp]) -> _ListScan:
    """Tied lists, and the features that order every informative list perfectly (rows in query blocks)."""
    from scipy.special import gammaln

    n_features = rows_X.shape[1]
    tied = np.zeros(len(counts), dtype=bool)
    informative: list[int] = []
    log_chance = 0.0
    higher_is_better = np.ones(n_features, dtype=bool)
    lower_is_better = np.ones(n_features, dtype=bool)
    for i in np.flatnonzero(counts > 1):
        block = slice(start[i], start[i] + counts[i])
        labels = rows_y[block]
        grades, sizes = np.unique(labels, return_counts=True)
        if len(grades) == 1:
            tied[i] = True
            continue
        informative.append(int(i))
        # log of the chance that an unrelated feature orders this list perfectly.
        log_chance += float(np.sum(gammaln(sizes + 1.0)) - gammaln(len(labels) + 1.0))
        Xs = rows_X[block][np.argsort(labels, kind="stable")]
        bounds = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        lo, hi = np.minimum.reduceat(Xs, bounds, axis=0), np.maximum.reduceat(Xs, bounds, axis=0)
        higher_is_better &= (hi[:-1] < lo[1:]).all(axis=0)
        lower_is_better &= (lo[:-1] > hi[1:]).all(axis=0)
    return _ListScan(tied, informative, log_chance, higher_is_better, lower_is_better)


def _tied_findings(scan: _ListScan, uniq: NDArray[Any], counts: NDArray[np.intp],
                   examples_key: str) -> list[Finding]:
    """``tied-lists``, fatal when every list of two or more documents is tied."""
    multi = int((counts > 1).sum())
    if not scan.tied.any():
        return []
    finding = Finding.of("tied-lists", lists=int(scan.tied.sum()), of_lists=multi,
                         **{examples_key: _examples(uniq[scan.tied])})
    return [replace(finding, fatal=True) if scan.tied.sum() == multi else finding]


def _scale_findings(rows_X: NDArray[np.float64], names: list[str]) -> list[Finding]:
    """:func:`diagnose_inputs` for a ranking network, the worst feature by name."""
    findings = []
    for finding in diagnose_inputs(rows_X, units="ranking"):
        worst = finding.evidence.get("worst_feature")
        evidence = dict(finding.evidence)
        if worst is not None:
            evidence["worst_feature"] = names[int(worst)]
        findings.append(replace(finding, evidence=evidence))
    return findings


def _leak_findings(scan: _ListScan, rows_X: NDArray[np.float64], rows_y: NDArray[np.float64],
                   rows_q: NDArray[Any], uniq: NDArray[Any], names: list[str]) -> list[Finding]:
    """``leaked-feature`` for each feature that alone ranks every list perfectly (NDCG 1)."""
    from companion.ranking import group_lists, single_feature_ndcg

    if not scan.informative:
        return []
    if scan.log_chance + np.log(2 * rows_X.shape[1]) >= np.log(LEAK_CHANCE):
        warnings.warn(
            f"the leaked-feature check was skipped: {len(scan.informative)} lists hold two different labels, "
            "too few for a perfect ranking by one feature to rule out chance. Check more queries at once.",
            DiagnosisWarning,
            stacklevel=3,  # the caller of diagnose_ranking_data
        )
        return []
    candidates = np.flatnonzero(scan.higher_is_better | scan.lower_is_better)
    if not len(candidates):
        return []
    sample = scan.informative[:200]  # NDCG is slow; the order test above already covered every list
    keep = np.isin(rows_q, uniq[sample])
    X_l, y_l = group_lists(rows_X[keep][:, candidates], rows_y[keep], qid=rows_q[keep], max_bytes=None)
    findings = []
    for j, value in zip(candidates, single_feature_ndcg(X_l, y_l)):
        direction = "higher is more relevant" if scan.higher_is_better[j] else "lower is more relevant"
        findings.append(Finding.of("leaked-feature", feature=names[int(j)], ndcg_alone=round(float(value), 9),
                                   lists=len(scan.informative), direction=direction))
    return findings


def _as_rows(
    X: ArrayLike, y: ArrayLike, qid: Optional[ArrayLike]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[Any]]:
    """Rows (X, y, qid) from rows or from padded lists; valid items only."""
    A = np.asarray(X, dtype=np.float64)
    labels = np.asarray(y, dtype=np.float64)
    if A.ndim == 3:
        if qid is not None:
            raise ValueError("grouped lists (3-D X) carry their grouping; pass qid only with rows (2-D X).")
        if labels.shape != A.shape[:2]:
            raise ValueError(f"y must have shape (n_lists, list_size) = {A.shape[:2]}; got {labels.shape}.")
        valid = valid_mask(labels)
        q: NDArray[Any] = np.broadcast_to(np.arange(A.shape[0])[:, None], labels.shape)[valid]
        A, labels = A[valid], labels[valid]
    else:
        if A.ndim != 2:
            raise ValueError(f"X must be (n_rows, n_features) or (n_lists, list_size, n_features); got {A.shape}.")
        if qid is None:
            raise ValueError("rows need their query ids: pass qid (one per row), or grouped lists as X.")
        q = np.asarray(qid)
        if not (len(q) == len(A) == len(labels)) or labels.ndim != 1:
            raise ValueError(
                f"qid, X and y must have one entry per row; got {q.shape}, {A.shape} and {labels.shape}."
            )
        if (labels < 0).any():
            raise ValueError(f"y has negative labels (min {labels.min():g}); the least relevant grade must be 0.")
    if len(labels) == 0:
        raise ValueError("no rows to check.")
    if np.isnan(labels).any():
        raise ValueError("y contains NaN; every row needs a relevance label.")
    return _as_2d(A), labels, q


def _query_blocks(q: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Query ids in order of first appearance; the row order that puts each in one block; starts; sizes."""
    from companion.ranking._grouping import _missing_qid_rows

    missing, kind = _missing_qid_rows(q)
    if len(missing):
        raise ValueError(f"query id is missing ({kind}) in {len(missing)} rows, the first at row {missing[0]}.")
    try:
        uniq, first, inverse, counts = np.unique(q, return_index=True, return_inverse=True, return_counts=True)
    except TypeError as exc:
        raise ValueError("query ids must be of one comparable type (all numbers or all strings).") from exc
    by_appearance = np.argsort(first, kind="stable")
    rank = np.empty(len(uniq), dtype=np.intp)
    rank[by_appearance] = np.arange(len(uniq))
    order = np.argsort(rank[inverse.reshape(-1)], kind="stable")
    counts = counts[by_appearance]
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    return uniq[by_appearance], order, start, counts.astype(np.intp)


def _examples(ids: NDArray[Any], n: int = 5) -> str:
    shown = ", ".join(str(v) for v in ids[:n].tolist())
    return f"{shown}, ..." if len(ids) > n else shown
