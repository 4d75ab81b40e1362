"""Findings: a named cause, the numbers behind it, the fix, and where the book explains it.

Defined in :doc:`/book/doctor`.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from companion.diagnose._registry import REGISTRY

__all__ = ["Finding", "TrainingFailure", "DiagnosisWarning", "CAUSES", "BOOK_URL", "CHAPTER_TITLES",
           "findings_table"]

#: Where the book is published: the GitHub Pages site of the repository named
#: in ``_config.yml`` (``repository: url``, the one setting; a test keeps the
#: two in step). Empty while that setting is empty: then a finding points to
#: its chapter's notebook in the book's sources (:attr:`Finding.see`), never
#: to an address that does not exist.
BOOK_URL = ""

#: The short title of each chapter a finding can point to: its heading up to
#: the colon (a test keeps the two in step), shown where a reader would
#: otherwise see the chapter's file name.
CHAPTER_TITLES: dict[str, str] = {
    "ranking/zero_loss": "ListMLE loss is exactly zero",
    "ranking/uniform_scores": "ListMLE stuck at log(n!)",
    "ranking/unscaled_features": "ListMLE returns -inf, then NaN",
    "rbm/learning_rate": "RBM learning rate",
    "rbm/unscaled_data": "RBM on unscaled data",
    "rbm/monitoring": "RBM monitoring",
    "generic_failures": "Any Keras model",
}

#: Causes renamed since the last release, old name to new. ``Finding.of`` still
#: accepts an old name, with a ``DeprecationWarning``. ``score-overflow`` was an
#: underflow all along: tensorflow-ranking's ListMLE loses the lower scores'
#: terms to 0 in float32 (:doc:`/book/ranking/unscaled_features`).
RENAMED_CAUSES: dict[str, str] = {"score-overflow": "score-underflow"}

#: Every cause the doctor can name: its fix, the chapter that explains it, and
#: whether it is fatal (training cannot succeed until it is fixed). Derived from
#: :data:`companion.diagnose.REGISTRY`, where each cause is defined.
CAUSES: dict[str, dict[str, Any]] = {
    f.cause: {"fix": f.fix, "chapter": f.chapter, "fatal": f.fatal, "scopes": f.scopes} for f in REGISTRY.values()
}


@dataclass(frozen=True)
class Finding:
    """One diagnosed cause of a training failure.

    Attributes
    ----------
    cause : str
        A key of :data:`CAUSES`, such as ``"single-item-lists"``.
    evidence : dict of str to object
        The measured numbers that triggered the finding.
    fix : str
        One sentence: what to change.
    chapter : str
        The book chapter that explains the cause (a document name such as
        ``"ranking/zero_loss"``); :attr:`url` links to its rendered page.
    fatal : bool
        Whether training cannot succeed until the cause is fixed.

    Notes
    -----
    Findings are immutable and hashable, so they can be collected in a set
    or used as dictionary keys: two findings are equal when their cause,
    evidence (compared by value, arrays included), fix, chapter and severity
    are.

    Examples
    --------
    >>> f = Finding.of("single-item-lists", list_size=1)
    >>> f.cause, f.evidence, f.fatal
    ('single-item-lists', {'list_size': 1}, True)
    >>> f.fix
    'Group the rows of each query into one list: ...'
    >>> f.chapter
    'ranking/zero_loss'
    >>> f.see  # the rendered chapter's address once BOOK_URL is set
    'book/ranking/zero_loss.ipynb'
    """

    cause: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str = ""
    chapter: str = ""
    fatal: bool = False

    @classmethod
    def of(cls, cause: str, **evidence: Any) -> "Finding":
        """A finding for a known cause, with its fix, chapter and severity filled in.

        Raises
        ------
        ValueError
            If `cause` is not a key of :data:`CAUSES`.
        """
        if cause in RENAMED_CAUSES:
            warnings.warn(f"the cause {cause!r} is now called {RENAMED_CAUSES[cause]!r}; the old name will be "
                          "removed in the next release.", DeprecationWarning, stacklevel=2)
            cause = RENAMED_CAUSES[cause]
        if cause not in CAUSES:
            raise ValueError(f"unknown cause {cause!r}; known causes: {', '.join(CAUSES)}.")
        info = CAUSES[cause]
        return cls(cause, dict(evidence), info["fix"], info["chapter"], info["fatal"])

    @classmethod
    def within(cls, scope: str, cause: str, **evidence: Any) -> "Finding":
        """A finding for a known cause as it applies to `scope` (``"ranking"``, ``"keras"``, ``"rbm"``).

        The fix and the chapter are the scope's where the registry gives it
        its own (unscaled ranking features link to the ranking chapter).

        Raises
        ------
        ValueError
            If `cause` is unknown, or does not apply to `scope`.

        Examples
        --------
        >>> Finding.within("ranking", "unscaled-data", worst_feature=0).chapter
        'ranking/unscaled_features'
        """
        finding = cls.of(cause, **evidence)
        failure = REGISTRY[finding.cause]  # an old name, renamed by ``of``
        if scope not in failure.scopes:
            raise ValueError(f"cause {cause!r} does not apply to a {scope} model (it applies to "
                             f"{', '.join(failure.scopes)}).")
        fix, chapter = failure.fix_and_chapter(scope)
        return cls(finding.cause, dict(evidence), fix, chapter, failure.fatal)

    @property
    def url(self) -> str:
        """The address of the chapter's rendered page (``""`` without a chapter or a published book)."""
        return f"{BOOK_URL}book/{self.chapter}.html" if self.chapter and BOOK_URL else ""

    @property
    def see(self) -> str:
        """Where to read about it: :attr:`url`, or else the chapter's notebook in the book's sources."""
        if self.url:
            return self.url
        return f"book/{self.chapter}.ipynb" if self.chapter else ""

    @property
    def chapter_title(self) -> str:
        """The chapter's short title (its heading up to the colon); ``""`` without a chapter.

        Examples
        --------
        >>> Finding.of("single-item-lists", list_size=1).chapter_title
        'ListMLE loss is exactly zero'
        """
        return CHAPTER_TITLES.get(self.chapter, self.chapter)

    def _key(self) -> tuple[Any, ...]:
        return (self.cause, _frozen(self.evidence), self.fix, self.chapter, self.fatal)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Finding):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _evidence_text(self) -> str:
        return ", ".join(f"{key}={_fmt(value)}" for key, value in self.evidence.items())

    def __str__(self) -> str:
        return f"{self.cause}: {self._evidence_text()}\n  fix: {self.fix}\n  see: {self.see}"

    def _repr_html_(self) -> str:
        return findings_table([self])

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-ready values (arrays to lists, NumPy scalars to numbers).

        Returns
        -------
        dict
            ``cause``, ``fatal``, ``evidence``, ``fix``, ``chapter``, ``url``
            (empty until the book is published) and ``see``.

        Examples
        --------
        >>> Finding.of("single-item-lists", list_size=1).to_dict()["evidence"]
        {'list_size': 1}
        """
        return {"cause": self.cause, "fatal": self.fatal, "evidence": {str(k): _plain(v) for k, v in
                self.evidence.items()}, "fix": self.fix, "chapter": self.chapter, "url": self.url, "see": self.see}


def _plain(value: Any) -> Any:
    """JSON-ready: containers by value, arrays to lists, NumPy scalars to Python, non-finite floats to text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)  # JSON has no NaN or infinity
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _frozen(value: Any) -> Any:
    """A hashable stand-in for evidence values: containers and arrays by value."""
    if isinstance(value, dict):
        return tuple(sorted(((str(k), _frozen(v)) for k, v in value.items()), key=lambda kv: kv[0]))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_frozen(v) for v in value)
    if isinstance(value, np.ndarray):
        return ("ndarray", value.shape, tuple(_frozen(v) for v in value.ravel().tolist()))
    if isinstance(value, np.generic):
        return value.item()
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def findings_table(findings: Iterable[Finding]) -> str:
    """An HTML table of findings, for Jupyter.

    Parameters
    ----------
    findings : iterable of Finding

    Returns
    -------
    str
        ``<table>`` markup with one row per finding, the chapter by its
        title (linked to its page once the book is published); "no
        findings" if empty.
    """
    rows = [
        "<tr><td><b>{}</b>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            html.escape(f.cause), " (fatal)" if f.fatal else "", html.escape(f._evidence_text()),
            html.escape(f.fix), _chapter_link(f))
        for f in findings
    ]
    if not rows:
        return "<p>No findings.</p>"
    head = "<tr><th>cause</th><th>evidence</th><th>fix</th><th>chapter</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _chapter_link(f: Finding) -> str:
    if not f.url:
        return html.escape(f.chapter_title)
    return f'<a href="{html.escape(f.url)}">{html.escape(f.chapter_title)}</a>'


class DiagnosisWarning(UserWarning):
    """The doctor could not judge something, so an empty result does not mean healthy."""


class TrainingFailure(RuntimeError):
    """Raised by the doctor, when asked to stop, on a fatal finding.

    Attributes
    ----------
    finding : Finding
        What was diagnosed.
    """

    def __init__(self, finding: Finding) -> None:
        super().__init__(str(finding))
        self.finding = finding
