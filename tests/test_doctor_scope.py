"""The doctor's scope and the bugs a new user hit (issue 19.1; issue 18, 4 "Scale" and 5.1-5.14).

Each test failed before its fix.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import tensorflow as tf

from companion import _keras, seed_everything
from companion.diagnose import DiagnosisWarning, LossDoctor, diagnose_inputs, diagnose_rbm
from companion.ranking import ListMLELoss, make_scorer

RNG = np.random.default_rng(0)


def _attach(doctor: LossDoctor, model: tf.keras.Model) -> LossDoctor:
    doctor.set_model(model)
    doctor.on_train_begin()
    return doctor


def _fixed_scorer(scale: float, n_features: int = 2) -> tf.keras.Model:
    inputs = tf.keras.Input((None, n_features))
    outputs = tf.keras.layers.Lambda(lambda x: scale * x[..., 0])(inputs)
    return tf.keras.Model(inputs, outputs)


def _lists(n: int = 16, size: int = 5) -> tuple[np.ndarray, np.ndarray]:
    y = np.tile(np.arange(size, dtype=np.float32), (n, 1))
    X = np.stack([y + RNG.normal(size=y.shape), RNG.normal(size=y.shape)], axis=-1).astype(np.float32)
    return X, y


# --- scope (19.1) ----------------------------------------------------------------


def _classifier(units: int = 1, activation: str = "sigmoid", n_features: int = 4) -> tf.keras.Model:
    model = tf.keras.Sequential([tf.keras.Input((n_features,)), tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(units, activation=activation)])
    return model


def test_a_binary_classifier_gets_no_ranking_cause_and_one_note() -> None:
    seed_everything(0)
    X = RNG.normal(size=(200, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    model = _classifier()
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    out = io.StringIO()
    doctor = LossDoctor(X, y, out=out)
    model.fit(X, y, epochs=5, verbose=0, callbacks=[doctor])
    assert doctor.scope == "keras" and doctor.findings == []  # was fatal single-item-lists before epoch 1
    text = out.getvalue()
    assert text.count("not a listwise ranking model") == 1 and "no findings in 5 epochs" in text


# A known gap of the doctor, on Keras 3 with JAX only (strict: a fix makes these pass and must remove
# the mark). There a rate far too high does not end in NaN (Keras 3's JAX cross-entropy clips the
# probabilities) nor in a dead layer: the output saturates and the loss stays flat far ABOVE the
# constant guess (8.16 against ln 2 for Adam at rate 3, seed 0; 10.3 against ln 3 for SGD at 1e4).
# No detector covers "flat, worse than chance" yet, so the doctor says nothing (issue 19's note).
@pytest.mark.xfail(_keras.keras_major() >= 3 and _keras.backend() == "jax", strict=True,
                   reason="JAX: no NaN (clipped cross-entropy); loss flat far above chance; no detector yet")
def test_a_multiclass_nan_is_a_learning_rate_not_a_score_overflow() -> None:
    seed_everything(0)
    X = RNG.normal(size=(200, 4)).astype(np.float32)
    y = tf.keras.utils.to_categorical(np.argmax(X[:, :3], axis=1), 3)
    model = _classifier(3, "softmax")
    model.compile(optimizer=tf.keras.optimizers.SGD(1e4), loss="categorical_crossentropy")
    doctor = LossDoctor(X, y, verbose=0)
    model.fit(X, y, epochs=2, verbose=0, callbacks=[doctor])
    (finding,) = doctor.findings
    assert finding.cause == "learning-rate-too-high" and finding.evidence["rate"] == pytest.approx(1e4)
    assert finding.chapter == "generic_failures"


def test_output_activation_is_checked_before_training() -> None:
    X = RNG.normal(size=(64, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    linear = _classifier(1, "linear")
    linear.compile(loss=tf.keras.losses.BinaryCrossentropy())
    found = _attach(LossDoctor(X, y, verbose=0), linear).findings
    assert [f.cause for f in found] == ["output-activation-mismatch"]
    logits = _classifier(1, "linear")
    logits.compile(loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))
    assert _attach(LossDoctor(X, y, verbose=0), logits).findings == []


# --- 18.5.1: a model that normalises its own inputs ----------------------------


def test_a_model_that_normalises_its_inputs_is_not_unscaled_and_not_stopped() -> None:
    seed_everything(0)
    X, y = _lists()
    raw = (X * 5000.0).astype(np.float32)
    norm = tf.keras.layers.Normalization()
    norm.adapt(raw.reshape(-1, 2))
    model = tf.keras.Sequential([tf.keras.Input((None, 2)), norm, tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(1), tf.keras.layers.Reshape((-1,))])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss=ListMLELoss())
    doctor = LossDoctor(raw, y, stop_on_error=True, verbose=0)
    model.fit(raw, y, epochs=2, verbose=0, callbacks=[doctor])  # does not raise
    assert "unscaled-data" not in [f.cause for f in doctor.findings]
    # Without the layer, the same data is unscaled, and linked to the ranking chapter (18.5.11).
    plain = make_scorer()
    plain.compile(loss=ListMLELoss())
    (finding,) = _attach(LossDoctor(raw, y, verbose=0), plain).findings
    assert finding.cause == "unscaled-data" and finding.chapter == "ranking/unscaled_features"


# --- 18.5.2 / 18.5.3: know the loss family; negative losses -----------------------


def test_other_tensorflow_ranking_losses_do_not_overflow() -> None:
    import tensorflow_ranking as tfr

    X, y = _lists()
    for loss in (tfr.keras.losses.SoftmaxLoss(), tfr.keras.losses.ApproxNDCGLoss()):
        doctor = _attach(LossDoctor(X, y, loss=loss, check_data=False, verbose=0), _fixed_scorer(300.0))
        doctor.on_epoch_end(0, {"loss": -0.9})
        assert doctor.findings == [], type(loss).__name__


def test_a_negative_loss_that_wobbles_is_not_diverging() -> None:
    import tensorflow_ranking as tfr

    X, y = _lists()
    doctor = _attach(LossDoctor(X, y, loss=tfr.keras.losses.ApproxNDCGLoss(), check_data=False, verbose=0),
                     _fixed_scorer(1.0))
    for epoch, loss in enumerate([-0.80, -0.95, -0.90, -0.86, -0.82]):  # rises, but below where it started
        doctor.on_epoch_end(epoch, {"loss": loss})
    assert doctor.findings == []
    rising = _attach(LossDoctor(X, y, loss=tfr.keras.losses.ApproxNDCGLoss(), check_data=False, verbose=0),
                     _fixed_scorer(1.0))
    for epoch, loss in enumerate([-0.80, -0.70, -0.60, -0.50]):
        rising.on_epoch_end(epoch, {"loss": loss})
    assert [f.cause for f in rising.findings] == ["diverging"]


# --- 18.5.7 / 18.5.8 / 18.5.12: what fit takes -------------------------------------


def test_a_dataset_of_rows_is_lists_of_one_item_without_a_crash() -> None:
    X, y = _lists()
    rows = tf.data.Dataset.from_tensor_slices((X.reshape(-1, 2), y.reshape(-1))).batch(16)
    inputs = tf.keras.Input((2,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(inputs))
    model.compile(optimizer="adam", loss=ListMLELoss())
    doctor = LossDoctor(rows, verbose=0)
    model.fit(rows, epochs=1, verbose=0, callbacks=[doctor])
    assert [f.cause for f in doctor.findings] == ["single-item-lists"]


def test_a_list_or_tuple_of_inputs() -> None:
    X, y = _lists()
    mask = np.ones(y.shape, dtype=np.float32)
    features = tf.keras.Input((None, 2))
    keep = tf.keras.Input((None,))
    score = tf.keras.layers.Reshape((-1,))(tf.keras.layers.Dense(1)(features))
    model = tf.keras.Model([features, keep], tf.keras.layers.Multiply()([score, keep]))
    model.compile(optimizer="adam", loss=ListMLELoss())
    for sample in ([X, mask], (X, mask)):
        doctor = LossDoctor(sample, y, verbose=0)
        model.fit([X, mask], y, epochs=1, verbose=0, callbacks=[doctor])
        assert doctor.y_sample.shape == y.shape and doctor.findings == []


def test_all_zero_sample_weights_are_named() -> None:
    X, y = _lists()
    weights = np.zeros(len(y), dtype=np.float32)
    data = tf.data.Dataset.from_tensor_slices((X, y, weights)).batch(8)
    model = make_scorer()
    model.compile(optimizer="adam", loss=ListMLELoss())
    doctor = LossDoctor(data, verbose=0)
    model.fit(data, epochs=1, verbose=0, callbacks=[doctor])
    assert [f.cause for f in doctor.findings] == ["zero-sample-weights"]
    given = LossDoctor(X, y, sample_weight=weights, verbose=0)
    model.fit(X, y, sample_weight=weights, epochs=1, verbose=0, callbacks=[given])
    assert [f.cause for f in given.findings] == ["zero-sample-weights"]


def test_findings_are_printed_once_with_a_summary() -> None:
    X, y = _lists()
    out = io.StringIO()
    doctor = _attach(LossDoctor(X, y, loss=ListMLELoss(), check_data=False, out=out), _fixed_scorer(1.0))
    for epoch, loss in enumerate([3.0, 3.5, 4.0, 5.0, 6.0, 7.0]):
        doctor.on_epoch_end(epoch, {"loss": loss})
    doctor.on_train_end()
    text = out.getvalue()
    assert text.count("warning diverging") == 1 and "1 finding (0 fatal): diverging." in text


# --- integers, one scale rule (18.4), RBM (18.5.6, 18.5.14) ------------------------


def test_integer_columns_are_checked() -> None:
    counts = RNG.integers(0, 500, size=(100, 1))
    assert [f.cause for f in diagnose_inputs(counts, units="network")] == ["unscaled-data"]
    model = _classifier(n_features=2)
    model.compile(loss="binary_crossentropy")
    X = np.concatenate([RNG.normal(size=(100, 1)), counts], axis=1).astype(np.int64)
    found = _attach(LossDoctor(X, (X[:, 0] > 0).astype(np.float32), verbose=0), model).findings
    assert [f.cause for f in found] == ["unscaled-data"]


def test_data_that_rbm_fit_accepts_silently_gives_no_scale_finding() -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import MinMaxScaler

    from companion.rbm import RBM

    X = MinMaxScaler().fit_transform(load_breast_cancer().data)
    assert X.max() > 1.0  # 1.0000000000000002: rounding noise
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rbm = RBM(n_components=16, n_iter=20, learning_rate=0.06, random_state=0).fit(X)
        assert "unscaled-data" not in [f.cause for f in diagnose_rbm(rbm, X)]
        assert diagnose_inputs(X) == []
        G = 2.0 + RNG.normal(size=(300, 4))  # mean 2, std 1
        RBM(n_components=4, visible="gaussian", n_iter=2, random_state=0).fit(G)
        assert diagnose_inputs(G, units="gaussian") == []


def test_diagnose_rbm_reads_a_pipeline_and_rejects_data_fit_never_saw() -> None:
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    from companion.rbm import RBM, load_split

    X_raw = load_split("digits", scaling=None)[0][:300]
    pipe = Pipeline([("scale", MinMaxScaler()),
                     ("rbm", RBM(n_components=16, learning_rate=5.0, n_iter=5, random_state=0))]).fit(X_raw)
    assert [f.cause for f in diagnose_rbm(pipe, X_raw)] == ["learning-rate-too-high"]
    with pytest.warns(DiagnosisWarning, match="not what this RBM was fit on"):
        assert [f.cause for f in diagnose_rbm(pipe["rbm"], X_raw)] == ["learning-rate-too-high"]
    search = GridSearchCV(pipe, {"rbm__learning_rate": [5.0]}, cv=2, scoring=lambda *_: 0.0).fit(X_raw)
    assert [f.cause for f in diagnose_rbm(search, X_raw)] == ["learning-rate-too-high"]
    with pytest.raises(ValueError, match="not fitted"):
        diagnose_rbm(Pipeline([("rbm", RBM())]), X_raw)


def test_diagnose_rbm_after_partial_fit_and_on_sklearn_says_what_it_cannot_judge() -> None:
    from sklearn.neural_network import BernoulliRBM

    from companion.rbm import RBM, load_split

    X = load_split("digits")[0][:200]
    partial = RBM(n_components=8, random_state=0).partial_fit(X)
    with pytest.warns(DiagnosisWarning, match="partial_fit"):
        diagnose_rbm(partial, X)
    slow = BernoulliRBM(n_components=8, learning_rate=1e-5, n_iter=2, random_state=0).fit(X)
    with pytest.warns(DiagnosisWarning, match="rate too low"):
        assert diagnose_rbm(slow, X) == []


# --- programs written by others (issue 19.3) ----------------------------------------


def test_external_programs_are_labelled_with_causes_the_doctor_knows() -> None:
    from companion.diagnose import REGISTRY
    from companion.book import external_programs

    programs = external_programs()
    assert len({p.name for p in programs}) == len(programs) and all(p.source for p in programs)
    faults = [p for p in programs if p.expected]
    assert len(faults) == len(programs) - len(faults) == 8  # each fault with its fixed version
    assert all("keras" in REGISTRY[p.expected].scopes for p in faults)


@pytest.mark.parametrize("name", ["inputs times 1000", "fixed: standardised inputs",
                                  "SGD at rate 0.1 on a regression", "fixed: SGD at rate 0.01",
                                  "price regression with binary cross-entropy",
                                  "fixed: sigmoid on one unit, 3 bits"])
def test_a_few_external_programs(name: str) -> None:
    from companion.book import external_programs, run_program

    (program,) = [p for p in external_programs() if p.name == name]
    result = run_program(program)
    assert result["found"] == ([program.expected] if program.expected else [])
    assert result["fix_ok"] == bool(program.expected)  # the printed fix is the accepted answer's


# --- a classification loss on a regression target (issue 17, review finding 5) ---------


@pytest.mark.parametrize("activation", ["linear", "sigmoid"])
def test_a_cross_entropy_on_a_price_names_the_regression_loss_as_the_fix(activation: str) -> None:
    X = RNG.normal(size=(64, 4)).astype(np.float32)
    prices = (200.0 + 50.0 * X[:, 0]).astype(np.float32)
    model = _classifier(1, activation)
    model.compile(loss="binary_crossentropy")
    (finding,) = _attach(LossDoctor(X, prices, verbose=0), model).findings
    assert finding.cause == "output-activation-mismatch"
    assert "regression target" in finding.evidence["problem"] and finding.evidence["y_max"] > 1
    assert "regression loss" in finding.fix
    # Class labels with the same loss are fine; class indices with a sparse loss too.
    labels = (X[:, 0] > 0).astype(np.float32)
    sigmoid = _classifier(1, "sigmoid")
    sigmoid.compile(loss="binary_crossentropy")
    assert _attach(LossDoctor(X, labels, verbose=0), sigmoid).findings == []
    three = _classifier(3, "softmax")
    three.compile(loss="sparse_categorical_crossentropy")
    indices = RNG.integers(0, 3, size=64).astype(np.float32)
    assert _attach(LossDoctor(X, indices, verbose=0), three).findings == []
    three.compile(loss="sparse_categorical_crossentropy")
    assert "output-activation-mismatch" in [
        f.cause for f in _attach(LossDoctor(X, prices, verbose=0), three).findings]


def test_fixed_twins_change_only_what_the_answer_changed() -> None:
    from companion.book import external_programs

    programs = {p.name: p for p in external_programs()}

    def built(name: str) -> tuple:
        return programs[name].build(np.random.default_rng(0))

    # y = x^4 stays x^4: the twin standardises inputs and outputs, nothing else.
    _, x_raw, y_raw, *_ = built("y = x^4, inputs in [-100, 100]")
    _, x_std, y_std, *_ = built("fixed: inputs and outputs standardised")
    y64 = np.asarray(y_raw, dtype=np.float64)
    assert np.allclose(y_std, (y64 - y64.mean()) / y64.std(), atol=1e-4)
    assert np.allclose(x_std[:, 0], (x_raw[:, 0] - x_raw.mean()) / x_raw.std(), atol=1e-4)
    # The price twin changes the loss only: same raw target.
    price_model, _, price_y, *_ = built("fixed: price regression with squared error")
    _, _, bce_y, *_ = built("price regression with binary cross-entropy")
    assert np.array_equal(price_y, bce_y) and price_model.loss == "mse"
    # The SGD twin lowers the rate ten times, as the answer did.
    fast, *_ = built("SGD at rate 0.1 on a regression")
    slow, *_ = built("fixed: SGD at rate 0.01")
    ratio = float(fast.optimizer.learning_rate.numpy()) / float(slow.optimizer.learning_rate.numpy())
    assert ratio == pytest.approx(10.0)
    revised = sorted(p.name for p in programs.values() if p.revised)
    assert revised == ["fixed: SGD at rate 0.01", "fixed: inputs and outputs standardised",
                       "fixed: price regression with squared error"]
    assert all(p.url.startswith("http") for p in programs.values())
    assert all(p.answer for p in programs.values() if p.expected)
