"""The registry's typed case specs, and the chapters that build their runs from them (issue 18, section 3)."""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from companion.book import (
    DataSpec,
    KerasSpec,
    RankingSpec,
    RBMSpec,
    SyntheticSpec,
    case_spec,
    fit_rbm,
    make_keras_run,
    query_split,
)
from companion.diagnose import REGISTRY, Case
from companion.diagnose._registry import SPEC_OF, spec_of
from companion.ranking import make_ranking_data

ROOT = Path(__file__).resolve().parents[1]

#: The calls that rebuild a registry case in a chapter.
BUILDERS = re.compile(r"\b(ranking_case|rbm_case|keras_case|keras_trial|keras_final_losses|data_case|case_spec)\(")

#: Cases whose chapter does not build its run from the case (yet), and why.
#: Each is a debt: a chapter that comes to build the run from its case must
#: leave this list (the test fails while both hold).
NOT_BUILT_BY_THEIR_CHAPTER = {
    "healthy": "ranking/zero_loss's fixed run keeps the raw features (the case standardises them)",
    "leaked feature": "ranking/zero_loss trains 40 epochs with tensorflow-ranking's loss, both label kinds "
                      "(the case: 20 epochs, exact loss, the doctor's run)",
    "raw features, tensorflow-ranking loss": "ranking/unscaled_features builds its raw run itself",
    "noise-free labels, tensorflow-ranking loss, rate 0.3": "ranking/unscaled_features builds its run itself",
    "raw digits, BernoulliRBM": "rbm/unscaled_data trains scikit-learn's RBM itself (train_sklearn)",
    "raw wine, Gaussian units": "rbm/unscaled_data trains its Gaussian RBMs itself (train_gaussian)",
    "healthy wine": "rbm/unscaled_data trains its Gaussian RBMs itself (train_gaussian)",
    "SGD at rate 50, ListMLE": "generic_failures runs the Keras cases only; this ranking twin is the doctor's",
    "200 digits, 400 epochs": "rbm/monitoring's run (likelihood_trace) holds no rows out inside fit; the "
                              "doctor's detector reads the free-energy gap of rows held out in fit, so the case "
                              "takes the chapter's settings and, of the first 400 binarised digits, trains on a "
                              "random 200 and holds the other 200 out",
}


def _all_cases() -> list[Case]:
    seen: dict[str, Case] = {}
    for failure in REGISTRY.values():
        for case in (*failure.failing, *failure.healthy):
            seen.setdefault(case.name, case)
    return list(seen.values())


def _code_cells(chapter: str) -> list[str]:
    notebook = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


def _builds(cells: list[str], case: Case) -> bool:
    """Whether a code cell names the case and calls a builder, or loops a builder over the case's family."""
    family_loop = f"in {case.family.upper()}_CASES"
    return any(BUILDERS.search(cell) and (f'"{case.name}"' in cell or family_loop in cell) for cell in cells)


@pytest.mark.parametrize("case", [c for c in _all_cases() if c.chapter], ids=lambda c: c.name)
def test_each_chapter_builds_its_cases(case: Case) -> None:
    built = _builds(_code_cells(case.chapter), case)
    if case.name in NOT_BUILT_BY_THEIR_CHAPTER:
        assert not built, f"{case.chapter} builds {case.name!r} now: remove it from NOT_BUILT_BY_THEIR_CHAPTER"
    else:
        assert built, (f"{case.chapter} does not build its run {case.name!r} from the registry: call "
                       f"ranking_case/rbm_case/keras_case/case_spec with the case's name")


def test_the_exception_list_names_real_cases() -> None:
    names = {c.name for c in _all_cases() if c.chapter}
    assert set(NOT_BUILT_BY_THEIR_CHAPTER) <= names


def test_every_case_holds_its_familys_spec() -> None:
    for case in _all_cases():
        assert isinstance(case.spec, SPEC_OF[case.family]), case.name
        hash(case.spec)  # frozen, lists made tuples


def test_the_generator_defaults_are_the_generators_own() -> None:
    parameters = inspect.signature(make_ranking_data).parameters
    for f in fields(SyntheticSpec):
        assert f.name in parameters, f.name
        if f.name not in ("n_queries", "list_size"):  # the book's: 300 queries of 10
            assert f.default == parameters[f.name].default, f.name
    assert SyntheticSpec().kwargs()["n_queries"] == 300


def test_a_misspelt_setting_is_an_error() -> None:
    with pytest.raises(TypeError):
        RankingSpec(rat=0.1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unknown RankingSpec settings \\['rat'\\]; known: data"):
        RankingSpec.of({"rat": 0.1})
    with pytest.raises(TypeError, match="unknown SyntheticSpec settings"):
        spec_of("ranking", {"data": {"n_query": 10}})
    with pytest.raises(TypeError, match="unknown KerasSpec settings"):
        make_keras_run({"rates": 0.1})
    with pytest.raises(ValueError, match="unknown family"):
        spec_of("svm", {})


def test_a_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="RankingSpec.loss must be one of"):
        RankingSpec(loss="listmle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="RBMSpec.scaling"):
        RBMSpec(scaling="raw")  # type: ignore[arg-type]
    assert RBMSpec(scaling=None).settings()[0] is None
    with pytest.raises(ValueError, match="SyntheticSpec.labels"):
        SyntheticSpec(labels="ordered")  # type: ignore[arg-type]


def test_a_case_needs_its_familys_spec() -> None:
    with pytest.raises(TypeError, match="needs a RankingSpec"):
        Case("x", "ranking", KerasSpec())
    with pytest.raises(TypeError, match="needs a KerasSpec"):
        Case("x", "keras", {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown family"):
        Case("x", "svm", KerasSpec())
    with pytest.raises(TypeError, match="got KerasSpec"):
        RankingSpec.of(KerasSpec())  # type: ignore[arg-type]


def test_a_mapping_and_its_spec_are_the_same_run() -> None:
    spec = spec_of("keras", {"scales": [1.0] * 6 + [500.0, 2000.0], "integer_columns": [6]})
    assert spec == case_spec("raw counts and prices, classifier")
    a, b = make_keras_run(spec, 3), make_keras_run(KerasSpec(scales=(1.0,) * 6 + (500.0, 2000.0),
                                                              integer_columns=(6,)), 3)
    for x, y in zip(a.X_train + [a.y_train], b.X_train + [b.y_train]):
        np.testing.assert_array_equal(x, y)
    assert spec_of("data", {"data": {"n_queries": 60, "list_size": [5, 12], "labels": "order"}}) == \
        DataSpec(SyntheticSpec(n_queries=60, list_size=(5, 12), labels="order"))


def test_task_defaults_resolve_in_the_spec() -> None:
    assert KerasSpec().head() == ("sigmoid", "binary_crossentropy")
    assert KerasSpec(task="regression").head() == (None, "mse")
    assert KerasSpec(task="regression", output_activation="sigmoid").head() == ("sigmoid", "mse")
    assert RBMSpec().settings() == ("minmax", 100, 0.06, 20)
    assert RBMSpec(visible="gaussian").settings() == ("standard", 16, 0.01, 50)


def test_query_split_is_two_thirds_a_sixth_a_sixth() -> None:
    train, val, test = query_split(np.repeat(np.arange(300), 3))
    assert (train.sum(), val.sum(), test.sum()) == (600, 150, 150)
    assert not (train & val).any() and (train | val | test).all()


def test_fit_rbm_keeps_one_split_over_seeds() -> None:
    from companion.rbm import load_split

    spec = replace(RBMSpec(), n_components=4, n_iter=1)
    _, X = fit_rbm(spec, 3, split_seed=0)
    np.testing.assert_array_equal(X, load_split("digits")[0])
    assert not np.array_equal(fit_rbm(spec, 3)[1], X)


def test_trial_needs_lists_and_adam() -> None:
    from companion.book import make_ranking_run

    with pytest.raises(ValueError, match="train_scorer trains lists with Adam"):
        spec = RankingSpec(optimizer="sgd", data=SyntheticSpec(n_queries=12), loss="exact")
        make_ranking_run(spec).trial(seed=0)
