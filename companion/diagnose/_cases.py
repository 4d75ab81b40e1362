"""The book's failures (and healthy twins), packaged to test a diagnostic tool on.

Defined in :doc:`/book/doctor`. Each case rebuilds, in a few lines, a run that
a chapter of Parts I and II reproduces, so that a detector can be scored on
all of them: the doctor of this package, or any other.
"""

from __future__ import annotations

import warnings

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
from numpy.typing import NDArray
from sklearn.preprocessing import StandardScaler

__all__ = ["RankingCase", "ranking_case", "rbm_case", "RANKING_CASES", "RBM_CASES"]

#: Ranking cases: name -> expected cause, or None for a healthy run.
RANKING_CASES: dict[str, Optional[str]] = {
    "one row per document": "single-item-lists",
    "query features only": "uniform-scores",
    "sigmoid head, raw features": "uniform-scores",
    "raw features, tensorflow-ranking loss": "score-overflow",
    "leaked feature": "perfect-separation",
    "healthy": None,
}
#: RBM cases: name -> expected cause or None for healthy.
RBM_CASES: dict[str, Optional[str]] = {
    "learning rate 1.0": "learning-rate-too-high",
    "learning rate 1e-4": "learning-rate-too-low",
    "raw digits, BernoulliRBM": "unscaled-data",
    "raw wine, Gaussian units": "unscaled-data",
    "50 digits, 400 epochs": "overfitting",
    "healthy digits": None,
    "healthy wine": None,
}


@dataclass
class RankingCase:
    """A ranking run ready to train: data, a model builder, loss and optimiser.

    Attributes
    ----------
    X_train, y_train, X_val, y_val : ndarray
        Inputs and labels as the model takes them.
    build : callable
        Returns a fresh, compiled Keras model.
    epochs : int
        Epochs to train.
    loss : object
        The model's loss (also what a doctor needs).
    """

    X_train: NDArray[Any]
    y_train: NDArray[Any]
    X_val: NDArray[Any]
    y_val: NDArray[Any]
    build: Callable[[], Any]
    loss: Any
    epochs: int = 10
    batch_size: int = 16

    def run(self, callbacks: Optional[list[Any]] = None) -> dict[str, list[float]]:
        """Train a fresh model with `callbacks`; return the Keras history."""
        model = self.build()
        history: dict[str, list[float]] = model.fit(
            self.X_train, self.y_train, validation_data=(self.X_val, self.y_val), epochs=self.epochs,
            batch_size=self.batch_size, verbose=0, callbacks=callbacks or []).history
        return history


def ranking_case(name: str, seed: int = 0) -> RankingCase:
    """Rebuild one of Part I's runs (see :data:`RANKING_CASES`).

    Parameters
    ----------
    name : str
        A key of :data:`RANKING_CASES`.
    seed : int, default=0
        Seed of the data; the model's initialisation follows TensorFlow's
        global seed (:func:`companion.seed_everything`).

    Returns
    -------
    RankingCase

    Raises
    ------
    ValueError
        For an unknown name.
    """
    import tensorflow as tf
    import tensorflow_ranking as tfr

    from companion.ranking import ListMLELoss, group_lists, make_ranking_data, make_scorer

    if name not in RANKING_CASES:
        raise ValueError(f"unknown ranking case {name!r}; known: {', '.join(RANKING_CASES)}.")
    tfr_loss = tfr.keras.losses.ListMLELoss()
    kwargs: dict[str, Any] = {"list_size": 10, "random_state": seed}
    if name == "query features only":
        kwargs["query_features"] = 3
    if name in ("sigmoid head, raw features", "raw features, tensorflow-ranking loss"):
        kwargs["feature_scales"] = [100.0] * 6 if name.startswith("sigmoid") else [2000, 500, 50, 1000, 5, 300]
    if name == "leaked feature":
        kwargs.update(labels="order", leak=True)
    data = make_ranking_data(300, **kwargs)
    train, val = data.qid < 200, (data.qid >= 200) & (data.qid < 250)
    X = data.X
    if name == "query features only":
        X = X[:, 6:]
    if name in ("healthy", "query features only", "leaked feature"):
        X = StandardScaler().fit(X[train]).transform(X)

    def lists(mask: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
        return group_lists(data.qid[mask], X[mask], data.y[mask])

    (X_tr, y_tr), (X_va, y_va) = lists(train), lists(val)
    if name == "one row per document":
        X_tr, y_tr, X_va, y_va = X[train], data.y[train][:, None], X[val], data.y[val][:, None]
    hidden: tuple[int, ...] = () if name == "leaked feature" else (32,)
    activation = "sigmoid" if name.startswith("sigmoid") else None
    rate = 0.1 if name == "leaked feature" else 0.01
    epochs = 20 if name == "leaked feature" else 10
    loss = ListMLELoss() if name == "leaked feature" else tfr_loss

    def build() -> Any:
        model = make_scorer(hidden=hidden, output_activation=activation)
        model.compile(optimizer=tf.keras.optimizers.Adam(rate), loss=loss)
        return model

    return RankingCase(X_tr, y_tr, X_va, y_va, build, loss, epochs=epochs,
                       batch_size=32 if name == "one row per document" else 16)


def rbm_case(name: str, seed: int = 0) -> tuple[Any, NDArray[Any]]:
    """Fit one of Part II's RBMs (see :data:`RBM_CASES`); return it and its training data.

    Parameters
    ----------
    name : str
        A key of :data:`RBM_CASES`.
    seed : int, default=0
        ``random_state`` of the RBM (and of the held-out split).

    Returns
    -------
    (model, X_train)
        The fitted model (:class:`companion.rbm.RBM`, or scikit-learn's
        ``BernoulliRBM`` for the raw-digits case) and the data it was fit on.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    from sklearn.neural_network import BernoulliRBM

    from companion.rbm import RBM, load_split
    from companion.rbm._estimator import DataRangeWarning

    if name not in RBM_CASES:
        raise ValueError(f"unknown RBM case {name!r}; known: {', '.join(RBM_CASES)}.")
    common: dict[str, Any] = {"dtype": "float64", "random_state": seed}
    if name == "raw digits, BernoulliRBM":
        X = load_split("digits", scaling=None, random_state=seed)[0]
        with np.errstate(over="ignore"):
            model: Any = BernoulliRBM(n_components=100, learning_rate=0.06, batch_size=10, n_iter=20,
                                      random_state=seed).fit(X)
        return model, X
    if "wine" in name:
        X = load_split("wine", scaling=None if name.startswith("raw") else "standard", random_state=seed)[0]
        with np.errstate(over="ignore"), warnings.catch_warnings():
            # The raw-wine case is the failure on purpose: RBM's own warning about
            # unstandardised data is expected here, and the doctor must find it too.
            warnings.simplefilter("ignore", DataRangeWarning)
            model = RBM(n_components=16, visible="gaussian", learning_rate=0.01, n_iter=50,
                        validation_fraction=0.1, **common).fit(X)
        return model, X
    X = load_split("digits", random_state=seed)[0]
    if name == "50 digits, 400 epochs":
        X = (X[:100] > 0.5).astype(np.float64)
        return RBM(n_components=16, learning_rate=0.1, n_iter=400, validation_fraction=0.5, **common).fit(X), X
    rate = {"learning rate 1.0": 1.0, "learning rate 1e-4": 1e-4}.get(name, 0.06)
    return RBM(n_components=100, learning_rate=rate, n_iter=20, validation_fraction=0.1, **common).fit(X), X
