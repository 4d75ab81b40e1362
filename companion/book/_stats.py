"""The statistics of the book's fair trials: mean and spread over seeds, paired grades.

Used by every chapter that compares over seeds (Part I and Part II): a
comparison that could go either way runs over at least 5 seeds and is
reported as mean and spread at the precision the spread supports; a remedy is
graded on paired seeds. Defined in :doc:`/book/ranking/uniform_scores`.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Summary", "summarize", "paired_grade", "paired_t", "t_edge"]


class Summary(NamedTuple):
    """Mean and spread of one measurement over seeds.

    Attributes
    ----------
    mean, sd : float
        Mean and sample standard deviation (``ddof=1``) over seeds.
    n : int
        Number of seeds.
    text : str
        ``"mean ± sd"``, the spread to 1 significant digit and the mean to
        the same decimal place: the precision the spread supports.
    """

    mean: float
    sd: float
    n: int
    text: str


def _decimals(sd: float) -> int:
    if sd == 0.0 or not math.isfinite(sd):
        return 3
    return max(0, -int(math.floor(math.log10(abs(sd)))))


def summarize(values: ArrayLike) -> Summary:
    """Mean and spread over seeds, printed at the precision the spread supports.

    Parameters
    ----------
    values : array-like of shape (n_seeds,)
        One measurement per seed; at least 2.

    Returns
    -------
    Summary
        Mean, standard deviation, count and a ``"12.3 ± 0.4"`` text. A spread
        of 0 prints the mean to 3 decimals.

    Raises
    ------
    ValueError
        With fewer than 2 values, or non-finite ones.

    Examples
    --------
    >>> summarize([11.71, 11.93, 11.52, 11.80, 11.62]).text
    '11.7 ± 0.2'
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size < 2:
        raise ValueError(f"a spread needs at least 2 seeds, got {v.size}.")
    if not np.isfinite(v).all():
        raise ValueError("values must be finite; report diverged runs separately.")
    mean, sd = float(v.mean()), float(v.std(ddof=1))
    sd_shown = float(f"{sd:.1g}") if sd > 0 else 0.0
    d = _decimals(sd_shown)
    return Summary(mean, sd, int(v.size), f"{mean:.{d}f} ± {sd_shown:.{d}f}")


def t_edge(n_seeds: int) -> float:
    """The edge of :func:`paired_grade`'s default test: Student's t at 97.5% with ``n_seeds - 1`` degrees of freedom.

    A paired t statistic (:func:`paired_t`) beyond it, either way, is a
    grade (*helps* or *harmful*) of a two-sided test at the 5% level.

    Parameters
    ----------
    n_seeds : int
        Number of paired seeds; at least 2.

    Returns
    -------
    float

    Examples
    --------
    >>> round(t_edge(5), 2), round(t_edge(20), 2)
    (2.78, 2.09)
    """
    if n_seeds < 2:
        raise ValueError(f"a paired t-test needs at least 2 seeds, got {n_seeds}.")
    from scipy.stats import t as student_t

    return float(student_t.ppf(0.975, n_seeds - 1))


def paired_t(difference: Summary, *, lower_is_better: bool = True) -> float:
    """The paired t statistic of a change, signed so that a positive value is better.

    Mean of the per-seed differences (``treated - baseline``, as
    :func:`paired_grade` returns them) over its standard error; with
    ``lower_is_better`` a fall counts as better. :func:`paired_grade` says
    *helps* where it exceeds :func:`t_edge` and *harmful* where it is below
    minus that; how far it sits from either edge says whether the grade
    could flip.

    Parameters
    ----------
    difference : Summary
        The differences' summary, from :func:`paired_grade`.
    lower_is_better : bool, default=True
        As given to :func:`paired_grade`.

    Returns
    -------
    float
        ``inf`` or ``-inf`` where every seed changed by the same non-zero
        amount; 0.0 where none changed.

    Examples
    --------
    >>> _, change = paired_grade([12.0, 12.1, 11.9], [11.0, 11.2, 10.8])
    >>> round(paired_t(change), 1)
    17.3
    """
    better = -difference.mean if lower_is_better else difference.mean
    if difference.sd == 0.0:
        return 0.0 if better == 0.0 else math.copysign(math.inf, better)
    return better / (difference.sd / math.sqrt(difference.n))


def paired_grade(
    baseline: ArrayLike,
    treated: ArrayLike,
    *,
    lower_is_better: bool = True,
    threshold: Optional[float] = None,
) -> tuple[str, Summary]:
    """Grade a change against its baseline over paired seeds.

    Each seed runs both arms, so the per-seed differences ``treated -
    baseline`` cancel what the seed shares. The change *helps* if the mean
    difference is better than `threshold` standard errors, is *harmful* if it
    is worse by as much, and has *no effect* otherwise: a two-sided paired
    t-test at the 5% level by default. (Whether a remedy is
    *unnecessary*, because the problem it targets does not occur, is a
    separate finding that the chapter measures directly.)

    Parameters
    ----------
    baseline, treated : array-like of shape (n_seeds,)
        One measurement per seed, same seeds in the same order.
    lower_is_better : bool, default=True
        True for a loss, False for NDCG.
    threshold : float, optional
        Standard errors the mean difference must exceed. Default: the 97.5%
        quantile of Student's t with ``n_seeds - 1`` degrees of freedom
        (2.78 for 5 seeds, 2.26 for 10), so that a paired t-test at the 5%
        level decides; 2 standard errors with 5 seeds is a 12% test.

    Returns
    -------
    grade : {"helps", "harmful", "no effect"}
    difference : Summary
        Of ``treated - baseline`` per seed.

    Examples
    --------
    >>> paired_grade([12.0, 12.1, 11.9, 12.2, 12.0], [11.0, 11.2, 10.9, 11.1, 11.0])[0]
    'helps'
    """
    b = np.asarray(baseline, dtype=np.float64).ravel()
    t = np.asarray(treated, dtype=np.float64).ravel()
    if b.shape != t.shape:
        raise ValueError(f"baseline and treated need one value per seed each; got {b.size} and {t.size}.")
    diff = summarize(t - b)
    se = diff.sd / math.sqrt(diff.n)
    if threshold is None:
        if diff.n < 2:
            raise ValueError("paired_grade needs at least 2 seeds to estimate the spread of the difference.")
        threshold = t_edge(diff.n)
    better = -diff.mean if lower_is_better else diff.mean
    if better > threshold * se and better != 0.0:
        return "helps", diff
    if -better > threshold * se and better != 0.0:
        return "harmful", diff
    return "no effect", diff
