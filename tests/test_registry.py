"""The registry of failures: every reproduction is named by exactly its own cause, every twin by none."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from companion import _keras, seed_everything
from companion.book import (
    DATA_CASES,
    KERAS_CASES,
    RANKING_CASES,
    RBM_CASES,
    data_case,
    keras_case,
    ranking_case,
    rbm_case,
)
from companion.diagnose import REGISTRY, LossDoctor, Threshold, diagnose_ranking_data, diagnose_rbm
from companion.diagnose._findings import CAUSES

ROOT = Path(__file__).resolve().parents[1]


def _named(family: str, name: str, seed: int | None = None) -> list[str]:
    if family == "data":
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return [f.cause for f in diagnose_ranking_data(*data_case(name, seed))]
    if family == "rbm":
        model, X = rbm_case(name, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's BernoulliRBM: "cannot judge a rate too low"
            return [f.cause for f in diagnose_rbm(model, X)]
    if family == "keras":
        seed_everything(seed or 0)
        run = keras_case(name, seed)
        watcher = LossDoctor(run.X_train, run.y_train, sample_weight=run.sample_weight, verbose=0)
        run.run([watcher])
        return [f.cause for f in watcher.findings]
    seed_everything(seed or 0)
    case = ranking_case(name, seed)
    X, y = case.doctor_sample()
    doctor = LossDoctor(X, y, validation=(case.X_val, case.y_val), verbose=0)
    case.run([doctor])
    return [f.cause for f in doctor.findings]


def test_causes_are_derived_from_the_registry() -> None:
    toc = (ROOT / "_toc.yml").read_text()
    assert list(CAUSES) == list(REGISTRY)
    for cause, failure in REGISTRY.items():
        assert CAUSES[cause] == {"fix": failure.fix, "chapter": failure.chapter, "fatal": failure.fatal,
                                 "scopes": failure.scopes}
        for fix, chapter in failure.variants.values():
            assert fix.endswith(".") and f"file: book/{chapter}\n" in toc, cause
        for threshold in failure.thresholds:
            assert isinstance(threshold, Threshold), (cause, threshold)
            chapter, _, measurement = threshold.source.partition(": ")
            assert measurement and (chapter == "doctor" or f"file: book/{chapter}\n" in toc), (cause, threshold)


def test_every_chapter_is_in_the_toc_and_every_case_name_is_unique() -> None:
    toc = (ROOT / "_toc.yml").read_text()
    names = []
    for failure in REGISTRY.values():
        assert f"file: book/{failure.chapter}\n" in toc, failure.cause
        for case in failure.failing:
            names.append(case.name)
            if case.chapter:
                assert f"file: book/{case.chapter}\n" in toc, case.name
    assert len(names) == len(set(names))
    assert set(RANKING_CASES) | set(RBM_CASES) | set(DATA_CASES) | set(KERAS_CASES) >= set(names)


def test_every_failure_can_be_detected() -> None:
    for failure in REGISTRY.values():
        assert failure.detectors or failure.static, failure.cause
        assert set(failure.unless) <= set(REGISTRY), failure.cause


CASES = [(family, name, expected) for family, cases in
         (("data", DATA_CASES), ("rbm", RBM_CASES), ("ranking", RANKING_CASES), ("keras", KERAS_CASES))
         for name, expected in cases.items()]


# A known gap of the doctor, on Keras 3 with JAX only (strict: a fix makes these pass and must remove
# the mark). There a rate far too high does not end in NaN (Keras 3's JAX cross-entropy clips the
# probabilities) nor in a dead layer: the output saturates and the loss stays flat far ABOVE the
# constant guess (8.16 against ln 2 for Adam at rate 3, seed 0; 10.3 against ln 3 for SGD at 1e4).
# No detector covers "flat, worse than chance" yet, so the doctor says nothing (issue 19's note).
_SATURATED_ON_JAX = pytest.mark.xfail(
    _keras.keras_major() >= 3 and _keras.backend() == "jax", strict=True,
    reason="JAX: the rate saturates the output; loss flat far above chance; no detector for it yet")
CASE_PARAMS = [pytest.param(*case, id=case[1],
                             marks=[_SATURATED_ON_JAX] if case[1] == "Adam at rate 3, ReLU" else [])
               for case in CASES]


@pytest.mark.parametrize(("family", "name", "expected"), CASE_PARAMS)
def test_each_case_is_named_by_exactly_its_cause(family: str, name: str, expected: str | None) -> None:
    assert _named(family, name) == ([expected] if expected else [])


@pytest.mark.parametrize("seed", [1, 2])
def test_healthy_twins_stay_silent_on_other_seeds(seed: int) -> None:
    for family, cases in (("data", DATA_CASES), ("ranking", RANKING_CASES), ("keras", KERAS_CASES)):
        for name, expected in cases.items():
            if expected is None:
                assert _named(family, name, seed) == [], (name, seed)


def test_readme_or_doctor_docs_mention_the_registry() -> None:
    import companion.diagnose as diagnose

    assert re.search(r"REGISTRY", diagnose.__doc__ or "")


def test_holdout_scenarios_differ_from_the_book_cases() -> None:
    from companion.book import book_cases, holdout_scenarios
    from companion.diagnose._registry import spec_of

    scenarios = holdout_scenarios()
    assert len({s.name for s in scenarios}) == len(scenarios)
    assert {s.expected for s in scenarios if s.expected} <= set(REGISTRY)
    book = {(spec_of(c.family, c.spec), c.seed) for c in book_cases(seeds=5)}
    assert not any((spec_of(s.family, s.spec), s.seed) in book for s in scenarios)
    assert {s.form for s in scenarios} == {"arrays", "dict", "dataset", "ragged"}
    ranking = [s for s in scenarios if s.family == "ranking"]
    assert {s.spec.get("loss", "tensorflow-ranking") for s in ranking} == {"exact", "tensorflow-ranking"}
    assert any(s.spec.get("sklearn") for s in scenarios if s.family == "rbm")
    assert sum(s.expected is None for s in scenarios) >= 5


def test_evaluate_doctor_scores_findings() -> None:
    from companion.book import Scenario, evaluate_doctor

    result = evaluate_doctor([
        Scenario("raw wine", "rbm", "unscaled-data", {"dataset": "wine", "scaling": None, "sklearn": True,
                                                      "n_components": 4, "n_iter": 2}),
        Scenario("healthy", "rbm", None, {"sklearn": True, "n_components": 4, "n_iter": 2}),
        Scenario("too low, unseen", "rbm", "learning-rate-too-low",
                 {"sklearn": True, "learning_rate": 1e-5, "n_components": 4, "n_iter": 2}),
    ])
    assert result["recall"] == 0.5 and result["precision"] == 1.0 and result["healthy_with_findings"] == 0


def test_no_ranking_cause_outside_ranking() -> None:
    from companion.book import SCOPES

    ranking_only = {c for c, f in REGISTRY.items() if f.scopes == ("ranking",)}
    assert {"single-item-lists", "uniform-scores", "score-underflow", "leaked-feature"} <= ranking_only
    for failure in REGISTRY.values():
        assert failure.scopes and set(failure.scopes) <= set(SCOPES), failure.cause
        assert set(failure.variants) <= set(failure.scopes), failure.cause
    for cause, expected in KERAS_CASES.items():
        assert expected is None or "keras" in REGISTRY[expected].scopes, cause


def test_every_generic_failure_has_a_failing_case_and_a_healthy_twin() -> None:
    for failure in REGISTRY.values():
        if "keras" in failure.scopes and failure.cause != "diverging":
            keras_failing = [c for c in failure.failing if c.family == "keras"]
            assert keras_failing and any(c.family == "keras" for c in failure.healthy), failure.cause
            assert all(c.chapter == "generic_failures" for c in keras_failing), failure.cause
