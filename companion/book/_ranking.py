"""Harness for the ranking chapters' trials: references, float32 measurements, seeds.

Defined in :doc:`/book/ranking/zero_loss` (the oracle reference and the
label-agnostic bound), :doc:`/book/ranking/uniform_scores` (the score gradient
at uniform scores, multi-seed trials and their grades) and
:doc:`/book/ranking/unscaled_features` (the float32 limits of
tensorflow-ranking's ListMLE, derived in :mod:`companion.ranking._limits` and
measured here).

NumPy only at import; the functions that measure tensorflow-ranking or train a
Keras model import TensorFlow when called.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from companion.book._fit import build_before_fit
from companion.ranking._limits import ROUND_TO_ZERO_GAP, UNDERFLOW_GAP

__all__ = [
    "listmle_numpy",
    "uniform_score_gradient",
    "shuffled_label_loss",
    "oracle_loss",
    "tfr_threshold",
    "tfr_loss_per_list",
    "longest_zero_list",
    "largest_gradients",
    "sigmoid_limits",
    "train_scorer",
    "max_zero_list_length",
    "SeedCount",
    "count_seeds",
    "saturation_by_step",
    "tfr_score_gradient",
    "split_by_query",
    "loss_text",
    "epsilon_pair_slope",
]


def _as_lists(labels: ArrayLike, scores: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 3 and s.shape[-1] == 1:
        s = s[..., 0]
    if y.ndim == 1:
        y, s = y[None, :], s[None, :] if s.ndim == 1 else s
    if y.ndim != 2 or s.shape != y.shape:
        raise ValueError(
            f"labels and scores must both have shape (n_lists, list_size); got {y.shape} and {s.shape}."
        )
    if np.isnan(y).any() or np.isnan(s).any():
        raise ValueError("labels and scores must not contain NaN; mark padding with a negative label.")
    return y, s


def listmle_numpy(
    labels: ArrayLike,
    scores: ArrayLike,
    *,
    n_draws: int = 1,
    random_state: Optional[int] = 0,
) -> float:
    """Mean exact ListMLE over lists, float64, ties broken at random.

    A vectorised NumPy reference: items are sorted by label (best first),
    equal labels in a random order drawn `n_draws` times, and each list's loss
    ``sum_i softplus(log(sum_{j > i} exp(s_j)) - s_i)`` is averaged over lists
    and draws. Padded items (label below 0) are ignored. This is the quantity
    tensorflow-ranking's ListMLE estimates with one draw per step.

    Parameters
    ----------
    labels : array-like of shape (n_lists, list_size)
        Labels; below 0 marks padding.
    scores : array-like of shape (n_lists, list_size)
        Scores.
    n_draws : int, default=1
        Random tie orders to average over (at least 1).
    random_state : int, optional
        Seed of the tie orders.

    Returns
    -------
    float
        The mean loss; lists with fewer than two valid items count as 0.

    Raises
    ------
    ValueError
        For mismatched shapes, NaN, or `n_draws` below 1.

    Examples
    --------
    >>> round(listmle_numpy([[2, 1, 0]], [[0.0, 0.0, 0.0]]), 4)  # log 3!
    1.7918
    """
    y, s = _as_lists(labels, scores)
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}.")
    rng = np.random.default_rng(random_state)
    valid = y >= 0
    total = 0.0
    for _ in range(n_draws):
        keys = rng.random(y.shape)
        # Sort by label descending, random among ties, padding last.
        order = np.lexsort((keys, -np.where(valid, y, -np.inf)), axis=1)
        z = np.take_along_axis(np.where(valid, s, -np.inf), order, axis=1)
        ok = np.take_along_axis(valid, order, axis=1)
        with np.errstate(invalid="ignore"):
            rest = np.logaddexp.accumulate(z[:, ::-1], axis=1)[:, ::-1]
        rest = np.concatenate([rest[:, 1:], np.full((len(z), 1), -np.inf)], axis=1)
        with np.errstate(invalid="ignore"):
            terms = np.logaddexp(0.0, rest - z)
        total += float(np.sum(np.where(ok, terms, 0.0)))
    return total / (n_draws * len(y))


def uniform_score_gradient(n: int) -> NDArray[np.float64]:
    """Gradient of ListMLE with respect to the scores, at uniform scores.

    For a list of `n` items without ties, with the items in their labelled
    order (best first), the derivative of the loss with respect to the score
    at position ``k`` (1-based) is ``sum_{i <= k} 1 / (n - i + 1) - 1``: a
    fixed vector that does not depend on the common score. It is non-zero and
    sums to 0, so uniform scores already pass a useful gradient to any weight
    whose effect differs between the items (:doc:`/book/ranking/uniform_scores`).

    Parameters
    ----------
    n : int
        Items in the list, at least 2.

    Returns
    -------
    ndarray of shape (n,)
        From ``1/n - 1`` for the best item up to ``H_n - 1`` for the worst.

    Raises
    ------
    ValueError
        If `n` is below 2.

    Examples
    --------
    >>> uniform_score_gradient(2)
    array([-0.5,  0.5])
    """
    if n < 2:
        raise ValueError(f"n must be at least 2 (a list of one item has no gradient), got {n}.")
    grad: NDArray[np.float64] = np.cumsum(1.0 / (n - np.arange(n))) - 1.0
    return grad


def shuffled_label_loss(scores: ArrayLike, *, n_draws: int = 200, random_state: Optional[int] = 0) -> float:
    """ListMLE of fixed scores against random orders: scores that ignore the labels.

    For each list, the labelled order is replaced by a uniformly random
    permutation, `n_draws` times. Averaged over the orders, the loss is the
    cross-entropy between the uniform distribution and the model's
    Plackett-Luce distribution, so it is at least ``log(n!)``, with equality
    only for uniform scores: a model whose scores carry no information about
    the labels sits *above* the chance level, never below it
    (:doc:`/book/ranking/zero_loss`).

    Parameters
    ----------
    scores : array-like of shape (n_lists, list_size)
        Scores of full lists (no padding).
    n_draws : int, default=200
        Random orders per list.
    random_state : int, optional
        Seed.

    Returns
    -------
    float
        The mean loss over lists and orders.

    Examples
    --------
    >>> round(shuffled_label_loss([[0.0, 0.0, 0.0]], n_draws=5), 4)  # log 3!
    1.7918
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must have shape (n_lists, list_size); got {s.shape}.")
    # Distinct labels, so each draw is one uniformly random order.
    labels = np.broadcast_to(np.arange(s.shape[1], dtype=np.float64), s.shape)
    rng = np.random.default_rng(random_state)
    total = 0.0
    for _ in range(n_draws):
        perm = np.argsort(rng.random(s.shape), axis=1)
        total += listmle_numpy(labels, np.take_along_axis(s, perm, axis=1))
    return total / n_draws


def oracle_loss(
    labels: ArrayLike,
    reference: ArrayLike,
    *,
    n_draws: int = 20,
    random_state: Optional[int] = 0,
) -> tuple[float, float]:
    """ListMLE of an oracle: the reference scores, at their best scale.

    ListMLE depends on the scale of the scores, so a reference such as the
    generator's true utility is scored at the scale ``c`` that minimises the
    mean loss ``listmle_numpy(labels, c * reference)`` over random tie orders.
    The result is a loss that a model ranking by that reference could reach:
    an achievable line on a loss plot, between the chance level and the tie
    floor (:doc:`/book/ranking/zero_loss`).

    Parameters
    ----------
    labels : array-like of shape (n_lists, list_size)
        Labels; below 0 marks padding.
    reference : array-like of shape (n_lists, list_size)
        Oracle scores, e.g. the true utility grouped like the labels.
    n_draws : int, default=20
        Tie orders averaged over for each scale.
    random_state : int, optional
        Seed of the tie orders (the same draws for every scale).

    Returns
    -------
    loss : float
        The smallest mean loss found.
    scale : float
        The scale that reaches it.
    """
    y, r = _as_lists(labels, reference)

    def at(c: float) -> float:
        return listmle_numpy(y, c * r, n_draws=n_draws, random_state=random_state)

    grid = np.geomspace(0.01, 100.0, 41)
    values = [at(float(c)) for c in grid]
    best = int(np.argmin(values))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    # Golden-section search on log(c) between the grid neighbours.
    a, b = math.log(lo), math.log(hi)
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c1, c2 = b - g * (b - a), a + g * (b - a)
    f1, f2 = at(math.exp(c1)), at(math.exp(c2))
    for _ in range(30):
        if f1 <= f2:
            b, c2, f2 = c2, c1, f1
            c1 = b - g * (b - a)
            f1 = at(math.exp(c1))
        else:
            a, c1, f1 = c1, c2, f2
            c2 = a + g * (b - a)
            f2 = at(math.exp(c2))
    c = math.exp((a + b) / 2.0)
    candidates = [(at(c), c), (values[best], float(grid[best]))]
    loss, scale = min(candidates)
    return float(loss), float(scale)


def tfr_loss_per_list(labels: ArrayLike, scores: ArrayLike) -> NDArray[np.float64]:
    """tensorflow-ranking's ListMLE of each list (no reduction), as float64.

    Parameters
    ----------
    labels, scores : array-like of shape (n_lists, list_size)
        As tensorflow-ranking takes them.

    Returns
    -------
    ndarray of shape (n_lists,)
    """
    import tensorflow as tf
    import tensorflow_ranking as tfr

    loss = tfr.keras.losses.ListMLELoss(reduction=tf.keras.losses.Reduction.NONE)
    y = tf.constant(np.asarray(labels, dtype=np.float32))
    s = tf.constant(np.asarray(scores, dtype=np.float32))
    return np.asarray(loss(y, s), dtype=np.float64).reshape(-1)


def tfr_threshold(
    make_list: Callable[[float], tuple[Sequence[float], Sequence[float]]],
    test: Callable[[float], bool],
    lo: float,
    hi: float,
    *,
    tol: float = 1e-6,
) -> float:
    """Where tensorflow-ranking's ListMLE of a one-parameter list starts to pass `test`.

    Bisection on ``x`` in ``[lo, hi]``: ``make_list(x)`` returns ``(labels,
    scores)`` of one list, and ``test(loss)`` must be False at `lo` and True
    at `hi`. Used to measure the gap at which the loss becomes -inf, or
    exactly 0, and compare it with the float32 limit derived by hand.

    Returns
    -------
    float
        The threshold, to within `tol`.

    Raises
    ------
    ValueError
        If `test` does not change between `lo` and `hi`.
    """

    def passes(x: float) -> bool:
        labels, scores = make_list(x)
        return bool(test(float(tfr_loss_per_list([labels], [scores])[0])))

    if passes(lo) or not passes(hi):
        raise ValueError(f"the test must fail at lo={lo} and pass at hi={hi}; widen the bracket.")
    while hi - lo > tol:
        mid = (lo + hi) / 2.0
        if passes(mid):
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2.0


def longest_zero_list(*, even: bool, max_len: int = 12, step: float = 0.01) -> tuple[int, NDArray[np.float64]]:
    """Longest tie-free list whose tensorflow-ranking ListMLE is exactly 0.0.

    Every term of the loss must round to 0 in float32, so each item must lie
    far enough below the one before it, while the last item must stay within
    :data:`~companion.ranking.UNDERFLOW_GAP` of the best, or the loss turns -inf. With `even`
    gaps, every gap from 16 to 40 is tried in steps of `step`; otherwise each
    next gap is the smallest (in steps of `step`, from 5) that keeps the loss
    exactly 0, the tightest packing float32 allows.

    Parameters
    ----------
    even : bool
        Equal gaps between neighbours (like a leaked, evenly spaced feature),
        or the greedy tightest packing.
    max_len : int, default=12
        Longest length tried.
    step : float, default=0.01
        Resolution of the gaps tried.

    Returns
    -------
    length : int
        The longest list found with a loss of exactly 0.0.
    scores : ndarray of shape (length,)
        Its scores, best first.
    """
    if even:
        gaps = np.arange(16.0, 40.0, step)
        best: tuple[int, NDArray[np.float64]] = (1, np.zeros(1))
        for n in range(2, max_len + 1):
            scores = -np.outer(gaps, np.arange(n))
            labels = np.broadcast_to(np.arange(n - 1, -1, -1, dtype=np.float64), scores.shape)
            zero = tfr_loss_per_list(labels, scores) == 0.0
            if not zero.any():
                break
            best = (n, scores[int(np.argmax(zero))])
        return best
    s = np.zeros(1)
    gaps = np.arange(5.0, 40.0, step)
    while len(s) < max_len:
        n = len(s) + 1
        cand = np.concatenate([np.broadcast_to(s, (len(gaps), len(s))), (s[-1] - gaps)[:, None]], axis=1)
        labels = np.broadcast_to(np.arange(n - 1, -1, -1, dtype=np.float64), cand.shape)
        zero = tfr_loss_per_list(labels, cand) == 0.0
        if not zero.any():
            break
        s = cand[int(np.argmax(zero))]
    return len(s), s


def split_bounds(n_queries: int = 300) -> tuple[int, int]:
    """The query ids that end the ranking chapters' training and validation splits.

    Two thirds of the queries train, a sixth validates, a sixth tests: of
    300, ids 0-199, 200-249 and 250-299. The one home of that split, read by
    :func:`split_by_query` and :func:`companion.book.query_split`.

    Examples
    --------
    >>> split_bounds(), split_bounds(60)
    ((200, 250), (40, 50))
    """
    return (2 * n_queries) // 3, (5 * n_queries) // 6


def split_by_query(
    qid: ArrayLike,
    X: ArrayLike,
    y: ArrayLike,
    *,
    train_below: Optional[int] = None,
    val_below: Optional[int] = None,
    list_size: Optional[int] = None,
) -> dict[str, tuple[NDArray[np.float32], NDArray[np.float32]]]:
    """Split rows by query id into training, validation and test lists.

    The ranking chapters split their synthetic queries by id: queries below
    `train_below` train, those below `val_below` validate, the rest test.
    Each split is grouped with :func:`companion.ranking.group_lists`.

    Parameters
    ----------
    qid : array-like of shape (n_rows,)
        Query id of each row (whole numbers).
    X : array-like of shape (n_rows, n_features)
        Features (scale them before, with a scaler fitted on training rows).
    y : array-like of shape (n_rows,)
        Labels.
    train_below, val_below : int, optional
        The query ids that end the training and the validation split;
        default :func:`split_bounds` of 300 queries (200 and 250).
    list_size : int, optional
        Pad every list to this length (label -1), as ``group_lists`` does.

    Returns
    -------
    dict
        ``{"train": (X_lists, y_lists), "val": ..., "test": ...}``.

    Raises
    ------
    ValueError
        If ``train_below >= val_below``, or a split has no rows.
    """
    from companion.ranking import group_lists

    q = np.asarray(qid)
    X_arr, y_arr = np.asarray(X), np.asarray(y)
    default_train, default_val = split_bounds()
    train_below = default_train if train_below is None else train_below
    val_below = default_val if val_below is None else val_below
    if train_below >= val_below:
        raise ValueError(f"train_below ({train_below}) must be below val_below ({val_below}).")
    masks = {"train": q < train_below, "val": (q >= train_below) & (q < val_below), "test": q >= val_below}
    out = {}
    for name, mask in masks.items():
        if not mask.any():
            raise ValueError(f"the {name} split has no rows: check train_below and val_below against the query ids.")
        out[name] = group_lists(X_arr[mask], y_arr[mask], qid=q[mask], list_size=list_size)
    return out


def loss_text(loss: float, chance: float) -> str:
    """A ListMLE value as the chapters print it.

    On the plateau (within 0.001 of the chance level), where uniform scores
    give exactly ``log(n!)``, four decimals show that it is the chance level;
    elsewhere three significant digits (:func:`companion.sig`).

    Examples
    --------
    >>> loss_text(15.104412, 15.104413), loss_text(11.8712, 15.1044)
    ('15.1044', '11.9')
    """
    from companion.book._report import sig

    return f"{loss:.4f}" if abs(loss - chance) < 1e-3 else f"{sig(loss)}"


def epsilon_pair_slope(gap: float, *, h: float = 0.5, epsilon: float = 1e-10) -> float:
    """Slope of the epsilon formula's loss of a correctly ranked pair, with respect to the gap.

    A central difference of :func:`companion.ranking.epsilon_listmle` for
    labels ``[1, 0]`` and scores ``[gap, 0]``. The exact slope,
    ``-1 / (1 + e**gap)``, is negative at every gap (a larger margin always
    lowers the loss); the epsilon formula's turns positive past
    ``ln(1 / epsilon) / 2`` (:data:`EPSILON_BEST_GAP`), so its gradient pulls
    a well-separated pair together (:doc:`/book/ranking/unscaled_features`).
    The formula is evaluated in float32: keep `h` well above the float32
    noise of the loss (the default 0.5 is).

    Parameters
    ----------
    gap : float
        Score gap of the pair.
    h : float, default=0.5
        Half the step of the central difference; positive.
    epsilon : float, default=1e-10
        The constant inside the log.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If `h` is not positive.

    Examples
    --------
    >>> round(epsilon_pair_slope(40.0), 3)
    1.0
    """
    from companion.ranking._reference import epsilon_listmle

    if not h > 0:
        raise ValueError(f"h must be positive, got {h}.")

    def at(g: float) -> float:
        return epsilon_listmle(labels=[1, 0], scores=[g, 0.0], epsilon=epsilon)

    return (at(gap + h) - at(gap - h)) / (2.0 * h)


def max_zero_list_length(slack_ulps: float = 4.0) -> int:
    """Longest tie-free list tensorflow-ranking can score exactly 0.0: a bound derived from float32.

    Position ``i`` of tensorflow-ranking's ListMLE adds ``log(sum_{j >= i}
    exp(x_j)) - x_i`` with ``x = s - max(s)``. For the first position
    (``x_1 = 0``) the term is exactly 0 only if ``1 + tail`` rounds to 1,
    which needs a gap of at least :data:`ROUND_TO_ZERO_GAP` (``24 ln 2``).
    Further down, ``log`` returns ``x_i`` exactly only if the tail moves the
    logarithm by less than a few units in the last place of ``x_i``; for
    ``|x_i| < 128`` a unit in the last place is at most ``2**-17``, so each
    later gap must be at least ``-ln(slack_ulps * 2**-17)``. Every item must
    also stay within :data:`UNDERFLOW_GAP` of the best one. Which gaps work
    exactly (and so the longest list a search finds) depends on how the
    CPU's float32 ``exp`` and ``log`` round; this bound does not
    (:doc:`/book/ranking/zero_loss`).

    Parameters
    ----------
    slack_ulps : float, default=4.0
        Units in the last place of ``x_i`` that the rounding of ``exp``,
        the float32 sum and ``log`` may absorb; generous by default, so the
        bound holds on any CPU.

    Returns
    -------
    int
        The largest ``n`` with ``ROUND_TO_ZERO_GAP + (n - 2) * later_gap <=
        UNDERFLOW_GAP``.

    Raises
    ------
    ValueError
        If `slack_ulps` is not positive.

    Examples
    --------
    >>> max_zero_list_length()
    8
    """
    if not slack_ulps > 0:
        raise ValueError(f"slack_ulps must be positive, got {slack_ulps}.")
    later_gap = -math.log(slack_ulps * 2.0**-17)
    return 2 + int(math.floor((UNDERFLOW_GAP - ROUND_TO_ZERO_GAP) / later_gap))


class SeedCount(NamedTuple):
    """How many seeds end on one side of a threshold, and which sit on its edge.

    Attributes
    ----------
    k : int
        Seeds whose value is above the threshold.
    n : int
        Seeds in all.
    edge : tuple of int
        Indices of the seeds within the margin of the threshold: a rounding
        difference could move them to the other side, so ``k`` is only a
        fact about the experiment when `edge` is empty.
    nearest : float
        The smallest distance of any seed from the threshold.
    text : str
        ``"k of n"``.
    """

    k: int
    n: int
    edge: tuple[int, ...]
    nearest: float
    text: str


def count_seeds(values: ArrayLike, threshold: float, *, margin: float) -> SeedCount:
    """Count the seeds above `threshold`, and name those within `margin` of it.

    A count "k of n" printed from chaotic runs (training on raw features,
    a remedy on the edge between stuck and not stuck) is portable only if
    no seed lies near the threshold: a one-ulp difference on another CPU
    moves a seed on the edge to the other side. The chapters assert that
    ``edge`` is empty, or say which seeds sit on it
    (:doc:`/book/ranking/uniform_scores`).

    Parameters
    ----------
    values : array-like of shape (n_seeds,)
        One outcome per seed.
    threshold : float
        The dividing line.
    margin : float
        Distance from the threshold inside which a seed counts as on the edge.

    Returns
    -------
    SeedCount

    Raises
    ------
    ValueError
        For no values, non-finite values or a negative margin.

    Examples
    --------
    >>> count_seeds([15.1, 15.1, 14.2], 15.0, margin=0.05).text
    '2 of 3'
    >>> count_seeds([15.1, 15.02], 15.0, margin=0.05).edge
    (1,)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0 or not np.isfinite(v).all():
        raise ValueError("values must be one finite outcome per seed (at least one).")
    if margin < 0:
        raise ValueError(f"margin must be non-negative, got {margin}.")
    distance = np.abs(v - threshold)
    k = int(np.sum(v > threshold))
    edge = tuple(int(i) for i in np.flatnonzero(distance <= margin))
    return SeedCount(k, int(v.size), edge, float(distance.min()), f"{k} of {v.size}")


def saturation_by_step(
    data: tuple[ArrayLike, ArrayLike],
    *,
    seed: int,
    steps: Optional[int] = None,
    learning_rate: float = 0.01,
    batch_size: int = 16,
    **scorer_args: Any,
) -> list[float]:
    """Share of a sigmoid head's scores at exactly 0 or 1, before and after each update.

    Seeds with :func:`companion.seed_everything`, builds
    :func:`companion.ranking.make_scorer` with a sigmoid output (and
    `scorer_args`) and trains it with Adam and tensorflow-ranking's ListMLE,
    one batch at a time, in order. Before the first update and after each
    one it scores every training list and records the share of scores that
    are exactly 0.0 or 1.0, where the sigmoid's derivative is exactly 0
    (:doc:`/book/ranking/uniform_scores`).

    Parameters
    ----------
    data : (X_lists, y_lists)
        Training lists.
    seed : int
        Seed of the initial weights.
    steps : int, optional
        Updates to make; default one epoch.
    learning_rate, batch_size
        Adam's rate and the batch size.
    **scorer_args
        Passed to :func:`companion.ranking.make_scorer`.

    Returns
    -------
    list of float
        ``steps + 1`` shares in [0, 1].
    """
    from companion import seed_everything

    seed_everything(seed)
    import tensorflow as tf
    import tensorflow_ranking as tfr

    from companion.ranking._keras import make_scorer

    X, y = (np.asarray(a, dtype=np.float32) for a in data)
    n_steps = -(-len(X) // batch_size) if steps is None else int(steps)
    model = make_scorer(output_activation="sigmoid", **scorer_args)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss=tfr.keras.losses.ListMLELoss())
    shares = []
    for step in range(n_steps + 1):
        scores = np.asarray(model(X))
        shares.append(float(np.mean((scores == 0.0) | (scores == 1.0))))
        if step < n_steps:
            start = (step * batch_size) % len(X)
            model.train_on_batch(X[start:start + batch_size], y[start:start + batch_size])
    return shares


def tfr_score_gradient(labels: ArrayLike, scores: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """tensorflow-ranking's ListMLE of each list and its gradient with respect to the scores.

    Shows where a NaN in training comes from (:doc:`/book/ranking/unscaled_features`):
    on a list whose ``exp`` underflows, the loss is ``-inf`` (not NaN), and
    the backward pass of ``log(exp(x))`` multiplies ``1 / 0 = inf`` by ``0``.

    Parameters
    ----------
    labels, scores : array-like of shape (n_lists, list_size)
        As tensorflow-ranking takes them.

    Returns
    -------
    loss : ndarray of shape (n_lists,)
        The loss of each list (no reduction).
    gradient : ndarray of shape (n_lists, list_size)
        ``d (sum of the losses) / d scores``.
    """
    import tensorflow as tf
    import tensorflow_ranking as tfr

    loss_fn = tfr.keras.losses.ListMLELoss(reduction=tf.keras.losses.Reduction.NONE)
    y = tf.constant(np.asarray(labels, dtype=np.float32))
    s = tf.Variable(np.asarray(scores, dtype=np.float32))
    with tf.GradientTape() as tape:
        per_list = tf.reshape(loss_fn(y, s), [-1])
        total = tf.reduce_sum(per_list)
    grad = tape.gradient(total, s)
    return np.asarray(per_list, dtype=np.float64), np.asarray(grad, dtype=np.float64)


def largest_gradients(model: Any, X_lists: ArrayLike, y_lists: ArrayLike, loss: Optional[Any] = None) -> tuple[float, float]:
    """Largest gradient of a listwise loss with respect to the scores, and to the weights.

    Tells two kinds of uniform scores apart (:doc:`/book/ranking/uniform_scores`):
    if the score gradient is non-zero but the weight gradient is (about) zero,
    no weight can move the scores of a list apart (inputs that do not vary
    within a list); if both the weight gradient and the derivative of the
    activation are zero, the output is saturated.

    Parameters
    ----------
    model : Keras model
        Maps ``(n_lists, list_size, n_features)`` to scores.
    X_lists, y_lists : array-like
        A batch of lists and their labels.
    loss : Keras loss, optional
        Default ``tfr.keras.losses.ListMLELoss()``.

    Returns
    -------
    by_score : float
        ``max |d loss / d score|``.
    by_weight : float
        ``max |d loss / d w|`` over every trainable weight.
    """
    import tensorflow as tf

    if loss is None:
        import tensorflow_ranking as tfr

        loss = tfr.keras.losses.ListMLELoss()
    X = tf.constant(np.asarray(X_lists, dtype=np.float32))
    y = tf.constant(np.asarray(y_lists, dtype=np.float32))
    with tf.GradientTape(persistent=True) as tape:
        scores = model(X, training=True)
        value = loss(y, scores)
    by_score = float(tf.reduce_max(tf.abs(tape.gradient(value, scores))))
    by_weight = max(float(tf.reduce_max(tf.abs(g))) for g in tape.gradient(value, model.trainable_variables))
    del tape
    return by_score, by_weight


def sigmoid_limits(step: float = 0.001) -> tuple[float, float]:
    """Where the float32 sigmoid of Keras returns exactly 1.0 and exactly 0.0.

    Measured on a grid of `step` from -100 to 30. In float32, ``sigmoid(x)``
    is exactly 1.0 from about :data:`~companion.ranking.ROUND_TO_ZERO_GAP` (16.64) on, but exactly
    0.0 only below about ``-UNDERFLOW_GAP`` (-87.34): a classifier's head
    saturates far sooner on the positive side (:doc:`/book/ranking/uniform_scores`).

    Returns
    -------
    one_from : float
        The smallest grid point where the output is exactly 1.0.
    zero_below : float
        The largest grid point where the output is exactly 0.0.
    """
    import tensorflow as tf

    x = np.arange(-100.0, 30.0, step).astype(np.float32)
    s = np.asarray(tf.keras.activations.sigmoid(tf.constant(x)))
    return float(x[s == 1.0].min()), float(x[s == 0.0].max())


def train_scorer(
    data: tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike],
    *,
    seed: int,
    loss: Optional[Any] = None,
    epochs: int = 10,
    learning_rate: float = 0.01,
    clipnorm: Optional[float] = None,
    batch_size: int = 16,
    track_ndcg: bool = False,
    record_batches: int = 0,
    **scorer_args: Any,
) -> dict[str, Any]:
    """Seed, build, train and measure one scorer: one arm of a multi-seed trial.

    Calls :func:`companion.seed_everything` with `seed`, builds
    :func:`companion.ranking.make_scorer` with `scorer_args`, trains it with
    Adam on the training lists and measures it on the validation lists
    (:doc:`/book/ranking/uniform_scores`).

    Parameters
    ----------
    data : (X_train, y_train, X_val, y_val)
        Lists as from :func:`companion.ranking.group_lists`.
    seed : int
        Seed of the initial weights, the batch order and the tie orders.
    loss : Keras loss, optional
        Default ``tfr.keras.losses.ListMLELoss()``.
    epochs, learning_rate, clipnorm, batch_size
        Training settings.
    track_ndcg : bool, default=False
        Also measure validation NDCG after every epoch.
    record_batches : int, default=0
        Keep the running loss Keras reports after each of the first
        `record_batches` batches (where a ``-inf`` first shows).
    **scorer_args
        Passed to :func:`companion.ranking.make_scorer`.

    Returns
    -------
    dict
        ``loss`` (reported per epoch, including any L2 penalty), ``listmle``
        (tensorflow-ranking's ListMLE on the training lists after training,
        without the penalty), ``val_listmle`` (the exact ListMLE on the
        validation lists, :func:`listmle_numpy` over the same 20 tie orders in
        every run, so that arms compare paired), ``ndcg`` and ``spread`` on validation lists
        (NaN if a score is not finite), ``scores`` (validation), ``model``,
        ``nan_share`` (the share of weights that are NaN), ``ndcg_by_epoch``
        (empty unless `track_ndcg`) and ``batches`` (the recorded running
        losses).
    """
    from companion import seed_everything

    seed_everything(seed)
    import tensorflow as tf
    import tensorflow_ranking as tfr

    from companion.ranking import make_scorer, mean_ndcg, score_spread

    X_tr, y_tr, X_va, y_va = (np.asarray(a, dtype=np.float32) for a in data)
    model = make_scorer(**scorer_args)
    opt = tf.keras.optimizers.Adam(learning_rate, clipnorm=clipnorm)
    model.compile(optimizer=opt, loss=loss if loss is not None else tfr.keras.losses.ListMLELoss())
    ndcg_by_epoch: list[float] = []
    batches: list[float] = []
    callbacks = []
    if track_ndcg:
        callbacks.append(tf.keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: ndcg_by_epoch.append(
                mean_ndcg(y_va, model.predict(X_va, verbose=0)))))
    if record_batches:
        callbacks.append(tf.keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: batches.append(float(logs["loss"]))
            if len(batches) < record_batches else None))
    build_before_fit(model, X_tr)
    history = model.fit(X_tr, y_tr, epochs=epochs, batch_size=batch_size, verbose=0,
                        callbacks=callbacks).history
    scores = model.predict(X_va, verbose=0)
    finite = bool(np.isfinite(scores).all())
    listmle = float(tfr.keras.losses.ListMLELoss()(y_tr, model.predict(X_tr, verbose=0)))
    # Exact, averaged over the same 20 tie orders in every run: arms pair up.
    val_listmle = listmle_numpy(y_va, scores, n_draws=20) if finite else float("nan")
    weights = np.concatenate([np.ravel(w) for w in model.get_weights()])
    return {"loss": list(history["loss"]), "listmle": listmle, "val_listmle": val_listmle,
            "ndcg": mean_ndcg(y_va, scores) if finite else float("nan"),
            "spread": score_spread(y_va, scores) if finite else float("nan"),
            "scores": scores, "model": model, "nan_share": float(np.isnan(weights).mean()),
            "ndcg_by_epoch": ndcg_by_epoch, "batches": batches}
