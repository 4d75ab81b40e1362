"""Out-of-sample scenarios: runs the doctor's thresholds were not tuned on.

Defined in :doc:`/book/doctor`. The thresholds of :data:`REGISTRY` were set on
the book's own cases. :func:`holdout_scenarios` lists other runs (other
generator settings, list sizes with padding, model shapes, both losses, the
input forms Keras takes, scikit-learn's ``BernoulliRBM``, other seeds), and
:func:`evaluate_doctor` runs the doctor on each and scores it.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

import numpy as np

from companion.book._cases import nan_watch  # defined there (no import cycle); part of this module's API
from companion.book._fit import build_before_fit
from companion.diagnose._registry import Spec

__all__ = ["Scenario", "holdout_scenarios", "book_cases", "evaluate_doctor", "run_scenario", "scores_table",
           "confusion_table", "range_rule", "nan_watch"]


@dataclass(frozen=True)
class Scenario:
    """One run to test the doctor on.

    Attributes
    ----------
    name : str
        What is different about it.
    family : {"ranking", "rbm", "keras"}
        Watched by :class:`LossDoctor` (a ranking model, or a pointwise
        Keras model built by :func:`make_keras_run`) or read by
        :func:`diagnose_rbm`.
    expected : str or None
        The cause it shows; ``None`` for a healthy run.
    spec : RankingSpec, RBMSpec, KerasSpec or dict
        Settings for :func:`make_ranking_run`, :func:`fit_rbm` or
        :func:`make_keras_run` (a dict of them is converted there).
    form : str
        How the ranking data reach ``fit`` and the doctor: ``"arrays"``,
        ``"dict"`` (a dict of features, functional model), ``"dataset"`` (a
        ``tf.data.Dataset``), ``"ragged"`` (the doctor's sample as ragged
        tensors).
    seed : int
        Seed of the data and the model.
    model_seed : int, optional
        Seed of the model's initialisation (:func:`companion.seed_everything`),
        if not `seed`: the book's chapters seed their models with 0.
    batch : int
        1: written before the doctor was first run on them; 2: written after
        the one change that first run led to (see :func:`holdout_scenarios`).
    """

    name: str
    family: str
    expected: Optional[str]
    spec: "Spec | Mapping[str, Any]" = field(default_factory=dict)
    form: str = "arrays"
    seed: int = 0
    batch: int = 1
    model_seed: Optional[int] = None


def holdout_scenarios() -> list[Scenario]:
    """Runs the thresholds were not tuned on: 11 failures and 7 healthy runs.

    Seeds, generator settings, list sizes, model shapes and input forms all
    differ from the book's cases (:data:`RANKING_CASES`, :data:`RBM_CASES`).
    Small and short, so that all of them run in about half a minute.

    Batch 1 (14 runs) was written before the doctor was run on any of them.
    Its first run missed one failure: uniform scores with lists of 3 to 12
    items, because the doctor compared the logged loss (the mean log(n!) of
    the *training* lists) with the chance level of its *sample*, which
    differs when list sizes vary. The uniform-scores detector now asks for a
    loss that does not move instead. Batch 2 (4 runs) was written after that
    change, so that some of the scenarios are still unseen by it.

    Returns
    -------
    list of Scenario
    """
    small: dict[str, Any] = {"n_queries": 150}
    return [
        # Failures.
        Scenario("rows to fit, lists to the doctor", "ranking", "single-item-lists",
                 {"data": {**small, "list_size": 8}, "rows": True, "sample": "lists", "loss": "exact",
                  "batch_size": 32, "epochs": 3}, seed=11),
        Scenario("query features only, lists of 3-12, exact loss", "ranking", "uniform-scores",
                 {"data": {**small, "list_size": (3, 12), "query_features": 4}, "columns": [6, 7, 8, 9],
                  "loss": "exact", "hidden": (16, 16), "epochs": 5}, seed=12),
        Scenario("raw features, tanh network, exact loss", "ranking", "unscaled-data",
                 {"data": {**small, "feature_scales": [50.0] * 6}, "standardise": False, "activation": "tanh",
                  "loss": "exact", "epochs": 3}, seed=13),
        Scenario("raw features, dict input, lists of 5-15", "ranking", "unscaled-data",
                 {"data": {**small, "list_size": (5, 15), "feature_scales": [300.0, 20.0, 1.0, 1.0, 1.0, 1.0]},
                  "standardise": False, "epochs": 3}, form="dict", seed=14),
        Scenario("noise-free labels, rate 0.5, tf.data input", "ranking", "score-underflow",
                 {"data": {**small, "labels": "order", "noise": 0.0, "list_size": 12}, "hidden": (),
                  "rate": 0.5, "epochs": 8}, form="dataset", seed=15),
        Scenario("graded labels with a leaked column", "ranking", "leaked-feature",
                 {"data": {**small, "leak": True}, "loss": "exact", "epochs": 3}, seed=16),
        Scenario("BernoulliRBM, learning rate 2", "rbm", "learning-rate-too-high",
                 {"sklearn": True, "learning_rate": 2.0, "n_components": 32, "n_iter": 10}, seed=17),
        Scenario("BernoulliRBM on raw wine", "rbm", "unscaled-data",
                 {"dataset": "wine", "scaling": None, "sklearn": True, "n_components": 16, "n_iter": 10}, seed=18),
        # Healthy runs.
        Scenario("healthy, lists of 5-15, tanh, exact loss", "ranking", None,
                 {"data": {**small, "list_size": (5, 15)}, "activation": "tanh", "loss": "exact", "epochs": 5},
                 seed=21),
        Scenario("healthy, tf.data input", "ranking", None,
                 {"data": {**small, "labels": "order"}, "epochs": 5}, form="dataset", seed=22),
        Scenario("healthy wide margins, exact loss, rate 0.5", "ranking", None,
                 {"data": {**small, "labels": "order", "noise": 0.0, "list_size": 12}, "hidden": (),
                  "rate": 0.5, "epochs": 8, "loss": "exact"}, seed=15),
        Scenario("healthy, ragged sample, lists of 4-9", "ranking", None,
                 {"data": {**small, "list_size": (4, 9)}, "loss": "exact", "epochs": 5}, form="ragged", seed=24),
        Scenario("healthy BernoulliRBM", "rbm", None,
                 {"sklearn": True, "n_components": 32, "n_iter": 10}, seed=25),
        Scenario("healthy Gaussian RBM, 8 units", "rbm", None,
                 {"dataset": "wine", "visible": "gaussian", "n_components": 8, "n_iter": 30}, seed=26),
        # Batch 2: written after the change to the uniform-scores detector.
        Scenario("query features only, lists of 6-20, tensorflow-ranking loss", "ranking", "uniform-scores",
                 {"data": {**small, "list_size": (6, 20), "query_features": 2}, "columns": [6, 7], "epochs": 5},
                 seed=31, batch=2),
        Scenario("raw features x20, lists of 2-6, tf.data input", "ranking", "unscaled-data",
                 {"data": {**small, "list_size": (2, 6), "feature_scales": [20.0] * 6}, "standardise": False,
                  "epochs": 3}, form="dataset", seed=32, batch=2),
        Scenario("BernoulliRBM, learning rate 1e-5", "rbm", "learning-rate-too-low",
                 {"sklearn": True, "learning_rate": 1e-5, "n_components": 32, "n_iter": 10}, seed=34, batch=2),
        Scenario("healthy, two hidden layers of 8, graded labels", "ranking", None,
                 {"data": {**small}, "hidden": (8, 8), "epochs": 5}, seed=33, batch=2),
    ]


def book_cases(seeds: int = 5, families: tuple[str, ...] = ("ranking", "rbm"),
               keras_seeds: Optional[int] = None) -> list[Scenario]:
    """The registry's cases of `families` as scenarios.

    Each failing run at its chapter's seed (the seed of its :class:`Case`,
    model seeded with 0), as in its chapter; each healthy twin at seeds
    ``0 .. seeds - 1`` (``0 .. keras_seeds - 1`` for the pointwise Keras
    twins, if given: they are also run over five seeds in their chapter).

    Parameters
    ----------
    seeds : int, default=5
    families : tuple of str, default=("ranking", "rbm")
        Any of ``"ranking"``, ``"rbm"``, ``"keras"``.
    keras_seeds : int, optional
        Seeds of the Keras healthy twins (default: `seeds`).

    Returns
    -------
    list of Scenario
    """
    from companion.diagnose._registry import case as _case
    from companion.diagnose._registry import cases_of

    unknown = set(families) - {"ranking", "rbm", "keras"}
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; book_cases takes 'ranking', 'rbm' and 'keras'.")
    out = []
    for family in families:
        n_healthy = keras_seeds if family == "keras" and keras_seeds is not None else seeds
        for name, expected in cases_of(family).items():
            found = _case(name)
            for seed in (range(n_healthy) if expected is None else [found.seed]):
                out.append(Scenario(name, family, expected, found.spec, seed=seed,
                                    model_seed=0 if expected is not None else None))
    return out


def _dict_model(build: Any, n_features: int) -> Any:
    from companion import _keras

    keras = _keras.keras()

    def dict_build() -> Any:
        inner = build()
        inputs = keras.Input((None, n_features), name="features")
        model = keras.Model({"features": inputs}, inner(inputs))
        model.compile(optimizer=inner.optimizer, loss=inner.loss)
        return model

    return dict_build


def range_rule(X: Any) -> bool:
    """UMLAUT's input rule: alarm when any input lies outside [-1, 1].

    UMLAUT (``check_input_normalization`` in ``umlaut/heuristics.py``) runs it
    at every epoch end and raises ``InputNotNormalizedError``. DeepDiagnosis
    has the same test (``np.min(X_train) < -1 or np.max(X_train) > 1``), but
    only inside its root-cause analyses, which run after a symptom (a NaN,
    dead or saturated units, a loss that does not fall) has fired: there it
    picks the advice "Normalize the data", and raises no alarm of its own.
    `X` may be a list of input arrays (a model with several inputs).
    """
    parts = X if isinstance(X, (list, tuple)) else [X]
    return any(bool(np.abs(np.asarray(p, dtype=np.float64)).max() > 1.0) for p in parts)


def run_scenario(scenario: Scenario, *, extra_callbacks: Iterable[Any] = ()) -> list[str]:
    """Run one scenario with the doctor watching (or reading); return the causes it named."""
    return _run(scenario, extra_callbacks=extra_callbacks)[0]


def _run(scenario: Scenario, *, extra_callbacks: Iterable[Any] = ()) -> tuple[list[str], Any]:
    from companion import seed_everything
    from companion.book._cases import fit_rbm, make_ranking_run
    from companion.diagnose._static import diagnose_rbm

    seed_everything(scenario.seed if scenario.model_seed is None else scenario.model_seed)
    if scenario.family == "rbm":
        model, X = fit_rbm(scenario.spec, scenario.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "cannot judge": scored as silence
            return [f.cause for f in diagnose_rbm(model, X)], X
    if scenario.family == "keras":
        from companion.book._cases import make_keras_run
        from companion.diagnose._doctor import LossDoctor

        keras_run = make_keras_run(scenario.spec, scenario.seed)
        watcher = LossDoctor(keras_run.X_train, keras_run.y_train, sample_weight=keras_run.sample_weight,
                             verbose=0)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            keras_run.run([watcher, *extra_callbacks])
        return [f.cause for f in watcher.findings], keras_run.X_train
    import tensorflow as tf

    from companion.diagnose._doctor import LossDoctor
    from companion.ranking._lists import n_valid

    run = make_ranking_run(scenario.spec, scenario.seed)
    X_s, y_s = run.doctor_sample()
    train: Any = run.X_train
    val: Any = (run.X_val, run.y_val)
    build = run.build
    sample: tuple[Any, ...] = (X_s, y_s)
    if scenario.form == "dict":
        build = _dict_model(run.build, run.X_train.shape[-1])
        train, val = {"features": run.X_train}, ({"features": run.X_val}, run.y_val)
        sample = ({"features": X_s}, y_s)
    elif scenario.form == "ragged":
        lengths = n_valid(y_s)
        sample = (tf.RaggedTensor.from_tensor(X_s, lengths=lengths), tf.RaggedTensor.from_tensor(y_s, lengths=lengths))
    if scenario.form == "dataset":
        dataset = tf.data.Dataset.from_tensor_slices((run.X_train, run.y_train)).batch(run.batch_size)
        doctor = LossDoctor(dataset, validation=val, verbose=0)
        model = build_before_fit(build(), dataset)
        model.fit(dataset, validation_data=val, epochs=run.epochs, verbose=0, callbacks=[doctor, *extra_callbacks])
    else:
        doctor = LossDoctor(*sample, validation=val, verbose=0)
        model = build_before_fit(build(), train)
        model.fit(train, run.y_train, validation_data=val, epochs=run.epochs, batch_size=run.batch_size,
                  verbose=0, callbacks=[doctor, *extra_callbacks])
    return [f.cause for f in doctor.findings], run.X_train


def evaluate_doctor(scenarios: Iterable[Scenario], *, baselines: bool = False) -> dict[str, Any]:
    """Run the doctor on every scenario and score it.

    A failure is *named* when the doctor reports its expected cause. Every
    other finding is a false alarm: on a failing run, a cause other than the
    expected one; on a healthy run, any finding.

    Parameters
    ----------
    scenarios : iterable of Scenario
    baselines : bool, default=False
        Also record, per run, whether Keras' ``TerminateOnNaN`` rule fired
        (:func:`nan_watch`; Keras runs only, ranking or pointwise, else
        ``None``) and whether UMLAUT's :func:`range_rule` raises an alarm on
        the training inputs.

    Returns
    -------
    dict
        ``rows`` (one per scenario: name, expected, found, seconds, and
        with `baselines` ``TerminateOnNaN`` and ``range rule``),
        ``recall`` (named failures / failures), ``precision`` (right findings
        / all findings; 1.0 when there is none), ``healthy_with_findings``,
        ``failures``, ``healthy``.
    """
    rows: list[dict[str, Any]] = []
    for scenario in scenarios:
        start = time.perf_counter()
        watch = nan_watch() if baselines and scenario.family in ("ranking", "keras") else None
        found, X = _run(scenario, extra_callbacks=[watch] if watch is not None else [])
        row = {"name": scenario.name, "family": scenario.family, "seed": scenario.seed, "batch": scenario.batch,
               "expected": scenario.expected, "found": found, "seconds": time.perf_counter() - start}
        if baselines:
            row["TerminateOnNaN"] = None if watch is None else bool(watch.fired)
            row["range rule"] = range_rule(X)
        rows.append(row)
    failing = [r for r in rows if r["expected"] is not None]
    healthy = [r for r in rows if r["expected"] is None]
    right = sum(r["expected"] in r["found"] for r in failing)
    findings = sum(len(r["found"]) for r in rows)
    return {
        "rows": rows,
        "failures": len(failing),
        "healthy": len(healthy),
        "recall": right / len(failing) if failing else float("nan"),
        "precision": right / findings if findings else 1.0,
        "healthy_with_findings": sum(bool(r["found"]) for r in healthy),
    }


def scores_table(result: Mapping[str, Any]) -> Any:
    """A :class:`companion.book.Table` of :func:`evaluate_doctor`'s rows: scenario, expected, found, outcome (right or wrong)."""
    from companion.book._report import Table

    body = []
    for r in result["rows"]:
        expected = r["expected"] or "(healthy)"
        found = ", ".join(r["found"]) or "nothing"
        right = r["found"] == ([r["expected"]] if r["expected"] else [])
        body.append([r["name"], expected, found, "right" if right else "wrong"])
    return Table(body, ["scenario", "expected", "doctor found", "outcome"])




def confusion_table(result: Mapping[str, Any]) -> Any:
    """One line per case of :func:`evaluate_doctor` with ``baselines=True``, seeds summed.

    A detector "names" a failure when it reports exactly the expected cause;
    the two generic detectors, which name no cause, count when they raise an
    alarm at all.
    """
    from companion.book._report import Table

    body = []
    names = list(dict.fromkeys(r["name"] for r in result["rows"]))
    for name in names:
        group = [r for r in result["rows"] if r["name"] == name]
        expected = group[0]["expected"]
        n = len(group)
        named = sum(r["found"] == ([expected] if expected else []) for r in group)
        nan = [r["TerminateOnNaN"] for r in group if r["TerminateOnNaN"] is not None]
        body.append([name, expected or "(healthy: no finding)", n, f"{named}/{n}",
                     f"{sum(nan)}/{n}" if nan else "n/a", f"{sum(r['range rule'] for r in group)}/{n}"])
    return Table(body, ["case", "expected", "runs", "doctor", "TerminateOnNaN", "range rule"])
