"""companion.diagnose: every cause on small deterministic runs, no finding on healthy ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tensorflow as tf

from companion import seed_everything
from companion.book import RANKING_CASES, ranking_case, rbm_case
from companion.diagnose import (
    DiagnosisWarning,
    Finding,
    LossDoctor,
    TrainingFailure,
    diagnose_inputs,
    diagnose_ranking_data,
    diagnose_rbm,
    findings_table,
)
from companion.diagnose._findings import CAUSES
from companion.ranking import ListMLELoss
from companion.rbm import RBM, load_split

# --- the package ---------------------------------------------------------------


def test_help_and_dir_list_the_lazily_loaded_names() -> None:
    import pydoc

    import companion.diagnose as diagnose

    assert {"LossDoctor", "lists_sample", "REGISTRY"} <= set(dir(diagnose))
    assert set(diagnose.__all__) <= set(dir(diagnose))
    text = pydoc.render_doc(diagnose, renderer=pydoc.plaintext)
    assert "class LossDoctor" in text and "REGISTRY =" in text


# --- Finding ------------------------------------------------------------------


def test_finding_text_and_html() -> None:
    f = Finding.of("score-underflow", epoch=2, largest_gap=123.456)
    text = str(f)
    assert text.startswith("score-underflow: epoch=2, largest_gap=123")
    assert "fix: Scale the features" in text and "see: book/ranking/unscaled_features.ipynb" in text
    html = f._repr_html_()
    assert html.startswith("<table>") and "score-underflow</b> (fatal)" in html
    assert findings_table([]) == "<p>No findings.</p>"
    assert "&lt;" in findings_table([Finding.of("diverging", note="<b>")])  # escaped


def test_finding_is_hashable() -> None:
    a = Finding.of("score-underflow", epoch=2, largest_gap=123.456, shape=(4, 1), values=[1.0, 2.0])
    b = Finding.of("score-underflow", epoch=2, largest_gap=123.456, shape=(4, 1), values=[1.0, 2.0])
    c = Finding.of("score-underflow", epoch=3, largest_gap=123.456, shape=(4, 1), values=[1.0, 2.0])
    assert a == b and hash(a) == hash(b) and a != c
    assert len({a, b, c}) == 2
    assert hash(Finding.of("diverging", curve=np.array([1.0, 2.0]))) == hash(
        Finding.of("diverging", curve=np.array([1.0, 2.0])))


def test_finding_links_to_the_rendered_chapter() -> None:
    from companion.diagnose import BOOK_URL

    f = Finding.of("single-item-lists", list_size=1)
    assert f.chapter == "ranking/zero_loss"  # the document name, as before
    assert BOOK_URL == "" and f.url == ""  # no published book yet: no link to an address that does not exist
    assert f.see == "book/ranking/zero_loss.ipynb"
    # the table names the chapter by its title, not its file name, and links nowhere
    table = findings_table([f])
    assert "ListMLE loss is exactly zero" in table and "ranking/zero_loss" not in table and "<a href" not in table
    assert Finding("custom").url == Finding("custom").see == ""  # no chapter, no link


def test_book_url_is_the_repositorys_pages_site_and_every_chapter_exists() -> None:
    import re
    from pathlib import Path

    from companion.diagnose import BOOK_URL

    root = Path(__file__).resolve().parents[1]
    # _config.yml's repository.url is the one setting; empty until the repository is public.
    found = re.search(r"url: https://github.com/([^/\s]+)/([^/\s]+)", (root / "_config.yml").read_text())
    if found:
        owner, name = found.groups()
        assert BOOK_URL == f"https://{owner}.github.io/{name}/"
    else:
        assert BOOK_URL == ""
    toc = (root / "_toc.yml").read_text()
    for cause, info in CAUSES.items():
        assert f"file: book/{info['chapter']}\n" in toc, cause


def test_chapter_titles_are_the_chapters_headings_up_to_the_colon() -> None:
    import json
    from pathlib import Path

    from companion.diagnose import CHAPTER_TITLES

    root = Path(__file__).resolve().parents[1]
    assert {info["chapter"] for info in CAUSES.values()} <= set(CHAPTER_TITLES)
    for chapter, title in CHAPTER_TITLES.items():
        cells = json.loads((root / "book" / f"{chapter}.ipynb").read_text(encoding="utf-8"))["cells"]
        heading = next(line[2:] for c in cells if c["cell_type"] == "markdown"
                       for line in "".join(c["source"]).splitlines() if line.startswith("# "))
        assert heading.split(":")[0] == title, chapter


def test_every_cause_has_fix_and_chapter() -> None:
    for cause, info in CAUSES.items():
        assert info["fix"].endswith(".") and info["chapter"], cause
    with pytest.raises(ValueError, match="unknown cause"):
        Finding.of("bad-luck")


# --- diagnose_inputs ----------------------------------------------------------


def test_diagnose_inputs_per_unit_type() -> None:
    digits_raw = load_split("digits", scaling=None)[0]
    digits = load_split("digits")[0]
    wine_raw = load_split("wine", scaling=None)[0]
    wine = load_split("wine", scaling="standard")[0]
    assert [f.cause for f in diagnose_inputs(digits_raw)] == ["unscaled-data"]
    assert diagnose_inputs(digits) == []
    found = diagnose_inputs(wine_raw, units="gaussian")
    assert found[0].evidence["worst_feature"] == 12  # proline
    assert diagnose_inputs(wine, units="gaussian") == []
    assert diagnose_inputs(wine, units="ranking") == []
    assert [f.cause for f in diagnose_inputs(wine_raw[None], units="ranking")] == ["unscaled-data"]  # 3-D lists


def test_diagnose_inputs_errors() -> None:
    with pytest.raises(ValueError, match="units"):
        diagnose_inputs([[0.0]], units="relu")
    with pytest.raises(ValueError, match="NaN"):
        diagnose_inputs([[0.0, np.nan]])
    with pytest.raises(ValueError, match="n_samples"):
        diagnose_inputs([0.0, 1.0])


# --- diagnose_ranking_data ---------------------------------------------------


def _causes(findings: list[Finding]) -> list[tuple[str, bool]]:
    return [(f.cause, f.fatal) for f in findings]


def test_diagnose_ranking_data_is_silent_on_healthy_data() -> None:
    from companion.ranking import make_ranking_data

    data = make_ranking_data(60, list_size=(5, 12), labels="order", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert diagnose_ranking_data(data.X, data.y, data.qid) == []


def test_diagnose_ranking_data_names_each_problem() -> None:
    from companion.ranking import group_lists, make_ranking_data

    data = make_ranking_data(60, list_size=8, labels="order", feature_scales=[1000.0] + [1.0] * 5,
                             random_state=0)
    X = np.hstack([data.X, -data.y[:, None] * 3.0])  # a leak, ranking best-last
    y = data.y.copy()
    y[data.qid < 3] = 2.0  # three tied lists
    qid = np.concatenate([data.qid, [100, 101]])
    X, y = np.vstack([X, X[:2]]), np.concatenate([y, [1.0, 0.0]])  # two queries of one document
    found = diagnose_ranking_data(X, y, qid, feature_names=[f"f{j}" for j in range(X.shape[1])])
    assert _causes(found) == [("single-document-queries", False), ("tied-lists", False),
                              ("unscaled-data", True), ("leaked-feature", False)]
    assert found[0].evidence == {"queries": 2, "of_queries": 62, "examples": "100, 101"}
    assert found[1].evidence["lists"] == 3 and found[1].evidence["examples"] == "0, 1, 2"
    assert found[2].evidence["worst_feature"] == "f0"
    assert found[3].evidence["feature"] == "f6" and found[3].evidence["ndcg_alone"] == 1.0
    assert found[3].evidence["direction"] == "lower is more relevant"
    # The same data as padded lists gives the same findings, bar the query ids.
    X_l, y_l = group_lists(X, y, qid=qid)
    assert _causes(diagnose_ranking_data(X_l, y_l)) == _causes(found)


def test_diagnose_ranking_data_fatal_cases() -> None:
    y = np.tile([2.0, 2.0, 2.0], 20)
    qid = np.repeat(np.arange(20), 3)
    X = np.random.default_rng(0).normal(size=(60, 2))
    assert _causes(diagnose_ranking_data(X, y, qid)) == [("tied-lists", True)]  # nothing to learn
    assert _causes(diagnose_ranking_data(X, np.arange(60.0) % 3, np.arange(60))) == [("single-item-lists", True)]


def test_diagnose_ranking_data_skips_the_leak_check_on_too_few_lists() -> None:
    y = np.tile([1.0, 0.0], 5)
    qid = np.repeat(np.arange(5), 2)
    X = np.stack([y, np.random.default_rng(0).normal(size=10)], axis=1)
    with pytest.warns(DiagnosisWarning, match="leaked-feature check was skipped: 5 lists"):
        assert diagnose_ranking_data(X, y, qid) == []


@pytest.mark.parametrize(
    ("X", "y", "qid", "match"),
    [
        (np.zeros((4, 1)), [1, 0, 1, 0], None, "pass qid"),
        (np.zeros((4, 1)), [1, 0, 1, 0], [1.0, np.nan, 1.0, 2.0], "missing \\(NaN\\)"),
        (np.zeros((4, 1)), [1, 0, -1, 0], [1, 1, 2, 2], "negative labels"),
        (np.zeros((4, 1)), [1, 0, 1], [1, 1, 2, 2], "one entry per row"),
        (np.zeros((2, 2, 1)), [[1, 0]], None, "y must have shape"),
        (np.zeros((2, 2, 1)), [[1, 0], [1, 0]], [1, 2], "pass qid only with rows"),
        (np.full((4, 1), np.nan), [1, 0, 1, 0], [1, 1, 2, 2], "NaN"),
    ],
)
def test_diagnose_ranking_data_errors(X, y, qid, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        diagnose_ranking_data(X, y, qid)


# --- diagnose_rbm -------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "cause"),
    [
        ("learning rate 1.0", "learning-rate-too-high"),
        ("learning rate 1e-4", "learning-rate-too-low"),
        ("raw digits, BernoulliRBM", "unscaled-data"),
        ("raw wine, Gaussian units", "unscaled-data"),
        ("200 digits, 400 epochs", "overfitting"),
    ],
)
def test_diagnose_rbm_names_each_failure(case: str, cause: str) -> None:
    model, X = rbm_case(case)
    assert [f.cause for f in diagnose_rbm(model, X)] == [cause]


def test_diagnose_rbm_without_data_uses_the_model() -> None:
    model, _ = rbm_case("raw digits, BernoulliRBM")
    assert [f.cause for f in diagnose_rbm(model)] == ["unscaled-data"]  # weights in the thousands
    gaussian, _ = rbm_case("raw wine, Gaussian units")
    assert [f.cause for f in diagnose_rbm(gaussian)] == ["unscaled-data"]  # visible biases near 750


@pytest.mark.parametrize("seed", range(3))
def test_diagnose_rbm_is_silent_on_healthy_runs(seed: int) -> None:
    for case in ("healthy digits", "healthy wine"):
        model, X = rbm_case(case, seed)
        assert diagnose_rbm(model, X) == []


def test_diagnose_rbm_says_when_it_cannot_judge() -> None:
    from sklearn.neural_network import BernoulliRBM

    from companion.diagnose import DiagnosisWarning

    X = load_split("digits")[0][:200]
    model = BernoulliRBM(n_components=8, n_iter=2, random_state=0).fit(X)
    with pytest.warns(DiagnosisWarning, match="cannot judge the learning rate.*diagnose_rbm\\(rbm, X\\)"):
        assert diagnose_rbm(model) == []
    # With the data it counts dead units, but a rate too low needs a history (issue 18, 5.14).
    with pytest.warns(DiagnosisWarning, match="rate too low.*Checked: the data's scale"):
        assert diagnose_rbm(model, X) == []


def test_diagnose_rbm_requires_a_fitted_model() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        diagnose_rbm(RBM())


# --- LossDoctor ---------------------------------------------------------------


def run_with_doctor(case_name: str, seed: int | None = None, **kwargs) -> LossDoctor:  # type: ignore[no-untyped-def]
    seed_everything(seed or 0)
    case = ranking_case(case_name, seed)
    doctor = LossDoctor(*case.doctor_sample(), validation=(case.X_val, case.y_val), **kwargs)
    case.run([doctor])
    return doctor


def test_doctor_reads_the_loss_from_the_model() -> None:
    doctor = run_with_doctor("healthy")
    assert type(doctor.loss).__module__.startswith("tensorflow_ranking")


def test_doctor_accepts_the_older_form_with_the_loss_first() -> None:
    case = ranking_case("healthy")
    doctor = LossDoctor(*case.doctor_sample(), loss=ListMLELoss())
    assert isinstance(doctor.loss, ListMLELoss) and doctor.y_sample.shape == (64, 10)


def test_a_wide_gap_is_not_fatal_with_the_exact_loss() -> None:
    # Noise-free labels, exact loss, rate 0.3: validation NDCG 1, gaps past 60 (86 at the end).
    # The doctor used to stop it as a fatal score-underflow.
    seed_everything(0)
    case = ranking_case("noise-free labels, exact loss, rate 0.3")
    doctor = LossDoctor(*case.doctor_sample(), stop_on_error=True)
    case.run([doctor])  # does not raise
    assert doctor.findings == []
    scores = case.build()  # the same loss with tensorflow-ranking's ListMLE is the failing twin
    assert RANKING_CASES["noise-free labels, tensorflow-ranking loss, rate 0.3"] == "score-underflow"
    del scores


def test_doctor_checks_the_data_before_the_first_epoch() -> None:
    # A tanh network on raw features: scores saturate instead of overflowing, so
    # no epoch check fires; the scale check names it before any epoch runs.
    from companion.book import make_ranking_run

    seed_everything(0)
    case = make_ranking_run({"data": {"n_queries": 60, "feature_scales": [50.0] * 6}, "standardise": False,
                             "activation": "tanh", "loss": "exact", "epochs": 1})
    doctor = LossDoctor(*case.doctor_sample(), stop_on_error=True)
    with pytest.raises(TrainingFailure) as caught:
        case.run([doctor])
    assert caught.value.finding.cause == "unscaled-data"
    assert doctor._losses == []  # no epoch ran


def test_doctor_finds_a_leak_and_single_documents_before_training() -> None:
    from companion.book import make_ranking_run

    seed_everything(0)
    case = make_ranking_run({"data": {"n_queries": 90, "labels": "order", "leak": True, "list_size": (1, 10)},
                             "loss": "exact", "epochs": 1})
    doctor = LossDoctor(*case.doctor_sample())
    doctor.set_model(case.build())
    doctor.on_train_begin()
    assert [f.cause for f in doctor.findings] == ["single-document-queries", "leaked-feature"]


def test_a_logged_zero_loss_is_a_finding_even_with_a_healthy_sample() -> None:
    from companion.book import make_ranking_run

    seed_everything(0)
    case = make_ranking_run({"data": {"n_queries": 60, "list_size": 8}, "rows": True, "sample": "lists",
                             "loss": "exact", "batch_size": 32, "epochs": 2})
    doctor = LossDoctor(*case.doctor_sample())
    case.run([doctor])
    (finding,) = doctor.findings
    assert finding.cause == "single-item-lists" and finding.evidence["logged_loss"] == 0.0


def test_doctor_takes_a_dataset_a_dict_and_ragged_lists() -> None:
    seed_everything(0)
    case = ranking_case("healthy")
    X, y = case.X_train, case.y_train
    dataset = tf.data.Dataset.from_tensor_slices((X, y)).batch(16)
    from_dataset = LossDoctor(dataset)
    assert from_dataset.y_sample.shape == (64, 10) and np.array_equal(from_dataset.y_sample, y[:64])
    # Each element of a dataset is one batch, as fit reads it: unbatched lists are rows of documents.
    unbatched = LossDoctor(tf.data.Dataset.from_tensor_slices((X, y)))
    assert unbatched.y_sample.shape == (64, 1)
    assert LossDoctor((X[:8], y[:8])).y_sample.shape == (8, 10)  # one (X, y) pair
    as_dict = LossDoctor({"features": X[:8]}, y[:8])
    assert set(as_dict.X_sample) == {"features"}
    lengths = np.array([3, 5, 10, 2])
    ragged = LossDoctor(tf.RaggedTensor.from_tensor(X[:4], lengths=lengths),
                        tf.RaggedTensor.from_tensor(y[:4], lengths=lengths))
    assert ragged.y_sample.shape == (4, 10) and ((ragged.y_sample >= 0).sum(axis=1) == lengths).all()
    unequal = LossDoctor([X[0, :3], X[1, :5]], [y[0, :3], y[1, :5]])
    assert unequal.y_sample.shape == (2, 5) and (unequal.y_sample[0, 3:] == -1).all()
    # A padded dataset of unequal batches: padded to the widest list.
    rows = [(X[i, :n], y[i, :n]) for i, n in enumerate([3, 5, 4, 6])]
    padded = tf.data.Dataset.from_generator(
        lambda: iter(rows), output_signature=(tf.TensorSpec((None, 6), tf.float32), tf.TensorSpec((None,), tf.float32))
    ).padded_batch(2, padding_values=(0.0, -1.0))
    assert LossDoctor(padded).y_sample.shape == (4, 6)


def test_doctor_on_a_dict_input_model_and_a_dataset_fit() -> None:
    from companion.book import Scenario
    from companion.book import run_scenario

    spec = {"data": {"n_queries": 60}, "epochs": 2}
    assert run_scenario(Scenario("dict", "ranking", None, spec, form="dict")) == []
    assert run_scenario(Scenario("dataset", "ranking", None, spec, form="dataset")) == []


def test_doctor_stops_on_a_fatal_finding() -> None:
    with pytest.raises(TrainingFailure) as caught:
        run_with_doctor("query features only", stop_on_error=True)
    assert caught.value.finding.cause == "uniform-scores"


def _fixed_scorer(scale: float) -> tf.keras.Model:
    """A model whose score is `scale` times the first feature."""
    inputs = tf.keras.Input((None, 2))
    outputs = tf.keras.layers.Lambda(lambda x: scale * x[..., 0])(inputs)
    return tf.keras.Model(inputs, outputs)


def _attach(doctor: LossDoctor, model: tf.keras.Model) -> LossDoctor:
    doctor.set_model(model)
    doctor.on_train_begin()
    return doctor


def test_doctor_finds_perfect_separation_and_the_leak() -> None:
    y = np.tile(np.arange(5, dtype=np.float32)[::-1], (8, 1))
    X = np.stack([y, np.random.default_rng(0).normal(size=y.shape)], axis=-1).astype(np.float32)
    doctor = _attach(LossDoctor(X, y, loss=ListMLELoss(), validation=(X, y), check_data=False), _fixed_scorer(10.0))
    doctor.on_epoch_end(0, {"loss": 0.0})
    (finding,) = doctor.findings
    assert finding.cause == "perfect-separation" and not finding.fatal
    # With the data check on, the leak is named before training, and explains the separation.
    checked = _attach(LossDoctor(X, y, loss=ListMLELoss(), validation=(X, y)), _fixed_scorer(10.0))
    checked.on_epoch_end(0, {"loss": 0.0})
    assert [f.cause for f in checked.findings] == ["leaked-feature"]


def test_doctor_finds_divergence_and_score_gaps_near_the_limit() -> None:
    y = np.tile(np.arange(5, dtype=np.float32), (8, 1))
    X = np.stack([np.random.default_rng(0).normal(size=y.shape), y], axis=-1).astype(np.float32)
    doctor = _attach(LossDoctor(X, y, loss=ListMLELoss(), check_data=False), _fixed_scorer(1.0))
    for epoch, loss in enumerate([3.0, 3.5, 4.0, 5.0]):
        doctor.on_epoch_end(epoch, {"loss": loss})
    assert [f.cause for f in doctor.findings] == ["diverging"]
    import tensorflow_ranking as tfr

    wide = _attach(LossDoctor(X * 40, y, loss=tfr.keras.losses.ListMLELoss(), check_data=False), _fixed_scorer(1.0))
    wide.on_epoch_end(0, {"loss": 4.0})
    assert [f.cause for f in wide.findings] == ["score-underflow"]
    exact = _attach(LossDoctor(X * 40, y, loss=ListMLELoss(), check_data=False), _fixed_scorer(1.0))
    exact.on_epoch_end(0, {"loss": 4.0})
    assert exact.findings == []  # exact at any gap: not a finding
    exact.on_epoch_end(1, {"loss": float("nan")})
    # The exact loss cannot underflow: a NaN with it is a learning rate too high, not score-underflow.
    assert [f.cause for f in exact.findings] == ["learning-rate-too-high"]
    # NaN weights: scores NaN, and the exact loss logs 0.0. Not lists of one item.
    nan_scores = _attach(LossDoctor(X, y, loss=ListMLELoss(), check_data=False), _fixed_scorer(float("nan")))
    nan_scores.on_epoch_end(0, {"loss": 0.0})
    assert [f.cause for f in nan_scores.findings] == ["learning-rate-too-high"]
    # tensorflow-ranking's ListMLE: a NaN after gaps past NAN_AFTER_GAP is its underflow ...
    tfr_wide = _attach(LossDoctor(X * 10, y, loss=tfr.keras.losses.ListMLELoss(), check_data=False),
                       _fixed_scorer(1.0))
    tfr_wide.on_epoch_end(0, {"loss": 4.0})
    tfr_wide.on_epoch_end(1, {"loss": float("nan")})
    assert [f.cause for f in tfr_wide.findings] == ["score-underflow"]
    # ... and one from small gaps is not.
    tfr_small = _attach(LossDoctor(X, y, loss=tfr.keras.losses.ListMLELoss(), check_data=False), _fixed_scorer(1.0))
    tfr_small.on_epoch_end(0, {"loss": float("nan")})
    assert [f.cause for f in tfr_small.findings] == ["learning-rate-too-high"]


def test_doctor_flags_a_per_document_prediction_shape() -> None:
    y = np.tile(np.arange(5, dtype=np.float32), (4, 1))
    X = np.zeros((4, 5, 2), dtype=np.float32)
    per_row = tf.keras.Sequential([tf.keras.Input((5, 2)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(1)])
    doctor = _attach(LossDoctor(X, y, loss=ListMLELoss()), per_row)
    assert doctor.findings[0].cause == "single-item-lists"
    assert doctor.findings[0].evidence["prediction_shape"] == (4, 1)


def test_doctor_rejects_mismatched_samples() -> None:
    with pytest.raises(ValueError, match="one row per list"):
        LossDoctor(np.zeros((4, 5, 2)), np.zeros((3, 5)), loss=ListMLELoss())
    with pytest.raises(ValueError, match="empty"):
        LossDoctor(tf.data.Dataset.from_tensor_slices((np.zeros((0, 5, 2)), np.zeros((0, 5)))).batch(2))


def test_the_older_form_with_the_loss_first_is_a_clear_error() -> None:
    """``LossDoctor(loss, X, y)`` is gone (issue 18, section 4): the sample comes first, the loss by name."""
    X, y = np.zeros((4, 3, 2), np.float32), np.zeros((4, 3), np.float32)
    with pytest.raises(TypeError, match=r"LossDoctor\(X, y, loss=\.\.\.\)"):
        LossDoctor(ListMLELoss(), X, y)
    assert LossDoctor(X, y, loss=ListMLELoss(), verbose=0).loss is not None


def test_the_old_name_of_a_renamed_cause_still_works_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="now called 'score-underflow'"):
        f = Finding.of("score-overflow", epoch=2)
    assert f == Finding.of("score-underflow", epoch=2)
    with pytest.warns(DeprecationWarning):
        scoped = Finding.within("ranking", "score-overflow", epoch=2)
    assert scoped.cause == "score-underflow"
