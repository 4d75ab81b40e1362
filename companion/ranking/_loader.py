"""A loader for LETOR / MSLR-WEB files (SVMlight format with ``qid:``).

Defined in :doc:`/book/ranking/zero_loss`: every chapter of Part I runs on
MSLR-WEB10K or your own data through it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, Optional, Sequence, Union

import numpy as np
from numpy.typing import NDArray

from companion.ranking._checks import RankingDataWarning

__all__ = ["RankingRows", "load_svmlight_ranking", "load_svmlight_rankings"]


class RankingRows(NamedTuple):
    """The rows of one ranking file: query ids, features, labels.

    Read the fields by name (``rows.X``, ``rows.y``, ``rows.qid``), or unpack
    them as ``qid, X, y``: the tuple's order, ``qid`` first, predates the
    package's argument order ``(X, y, qid)`` and is kept, since a reordered
    tuple would unpack into the wrong names without an error.

    Attributes
    ----------
    qid : ndarray of shape (n_rows,), int64
        Query id of each row.
    X : ndarray of shape (n_rows, n_features), dense float64
        Features.
    y : ndarray of shape (n_rows,), float64
        Relevance labels.
    """

    qid: NDArray[np.int64]
    X: NDArray[np.float64]
    y: NDArray[np.float64]


ZeroBased = Union[bool, Literal["auto"]]


def load_svmlight_ranking(
    path: Union[str, Path],
    *,
    n_features: Optional[int] = None,
    zero_based: ZeroBased = "auto",
) -> RankingRows:
    """Load a LETOR / MSLR-WEB file (SVMlight format with ``qid:``).

    Lines look like ``2 qid:10 1:0.03 2:0.5 ... # comment``. Pass the result
    to :func:`group_lists` to get lists for a listwise loss, so every chapter
    of Part I runs on MSLR-WEB10K or your own data. To load a training file
    with its validation and test files, use :func:`load_svmlight_rankings`,
    which gives them the same columns.

    Parameters
    ----------
    path : str or Path
        The file (for MSLR-WEB10K, ``Fold1/train.txt`` and its siblings).
    n_features : int, optional
        Number of features, so that train, validation and test files agree
        even when the last features are all zero in one of them (MSLR-WEB10K
        has 136).
    zero_based : bool or "auto", default="auto"
        Whether the feature indices start at 0 (``True``: index ``k`` is
        column ``k``) or at 1 (``False``: index ``k`` is column ``k - 1``, as
        in LETOR and MSLR-WEB files). ``"auto"``, as in scikit-learn's
        :func:`~sklearn.datasets.load_svmlight_file`: zero-based if index 0
        occurs in the file, else one-based. A zero-based file whose first
        feature is zero on every line (scikit-learn's
        :func:`~sklearn.datasets.dump_svmlight_file` writes no zeros) then
        loads shifted by one column: say which it is, or load the files of
        one data set together.

    Returns
    -------
    RankingRows
        ``(qid, X, y)``: query ids (int64), dense float64 features of shape
        ``(n_rows, n_features)``, labels; read them by name, ``rows.X``.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file has no ``qid:`` field, or a line without one, or a line
        that cannot be read (a label, query id or ``index:value`` pair that is
        not a number, a feature index beyond `n_features`, index 0 with
        ``zero_based=False``); the message names the line.

    Warns
    -----
    RankingDataWarning
        When a line gives the same feature index twice: the last value on the
        line wins, as if the pairs were assignments read from left to right.
        The warning names the first such line.

    Notes
    -----
    scikit-learn's fast parser (:func:`sklearn.datasets.load_svmlight_file`)
    reads well-formed files. It refuses feature indices that are unsorted or
    repeated within a line, which real LETOR files have, and names no line
    when it fails; such files are read again line by line, which is slower
    but accepts unsorted indices, resolves repeated ones as above, and names
    the line of any error.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    ...     _ = f.write("2 qid:1 2:0.5 1:0.1\\n0 qid:1 1:0.3\\n")
    >>> rows = load_svmlight_ranking(f.name)
    >>> rows.X
    array([[0.1, 0.5],
           [0.3, 0. ]])
    >>> from companion.ranking import group_lists
    >>> X_lists, y_lists = group_lists(rows.X, rows.y, qid=rows.qid)
    >>> os.remove(f.name)
    """
    loaded, messages = _load([path], n_features, zero_based)
    for message in messages:
        warnings.warn(message, RankingDataWarning, stacklevel=2)
    return loaded[0]


def load_svmlight_rankings(
    paths: Sequence[Union[str, Path]],
    *,
    n_features: Optional[int] = None,
    zero_based: ZeroBased = "auto",
) -> list[RankingRows]:
    """Load the files of one data set together (train, validation, test), so that their columns agree.

    Each file is read as by :func:`load_svmlight_ranking`, but the files
    share one indexing and one width: with ``zero_based="auto"`` they are
    zero-based if index 0 occurs in any of them, and every ``X`` has as many
    columns as the widest file (or `n_features`). Loaded one by one, a file
    in which the first or the last features happen to be all zero would
    come out narrower, or shifted by a column, against the others.

    Parameters
    ----------
    paths : sequence of str or Path
        The files, for example ``["Fold1/train.txt", "Fold1/vali.txt",
        "Fold1/test.txt"]``.
    n_features : int, optional
        Number of features of every file.
    zero_based : bool or "auto", default="auto"
        As in :func:`load_svmlight_ranking`, decided once for all the files.

    Returns
    -------
    list of RankingRows
        One ``(qid, X, y)`` per file, in the order of `paths`, as
        :func:`load_svmlight_ranking` returns them.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_svmlight_ranking`; also for an empty `paths`.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> train = os.path.join(folder, "train.txt")
    >>> test = os.path.join(folder, "test.txt")
    >>> _ = open(train, "w").write("1 qid:1 0:0.2 1:0.5\\n0 qid:1 0:0.1\\n")
    >>> # zero-based too, but with no index 0 in it:
    >>> _ = open(test, "w").write("1 qid:2 1:0.7\\n")
    >>> loaded = load_svmlight_rankings([train, test])
    >>> train_rows, test_rows = loaded
    >>> test_rows.X
    array([[0. , 0.7]])
    >>> import shutil; shutil.rmtree(folder)
    """
    loaded, messages = _load(paths, n_features, zero_based)
    for message in messages:
        warnings.warn(message, RankingDataWarning, stacklevel=2)
    return loaded


def _load(paths: Sequence[Union[str, Path]], n_features: Optional[int],
          zero_based: ZeroBased) -> tuple[list[RankingRows], list[str]]:
    """The files' rows, and the warnings for the caller: scikit-learn's fast reader, else line by line."""
    from sklearn.datasets import load_svmlight_files

    if zero_based not in (True, False, "auto") or not isinstance(zero_based, (bool, str)):
        raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}.")
    files = [Path(path) for path in paths]
    if not files:
        raise ValueError("load_svmlight_rankings needs at least one file.")
    for p in files:
        if not p.is_file():
            raise FileNotFoundError(f"no such ranking file: {p}")
    try:
        loaded = load_svmlight_files([str(p) for p in files], n_features=n_features, query_id=True,
                                     zero_based=zero_based)
    except ValueError:
        return _parse_svmlight(files, n_features, zero_based)
    out: list[RankingRows] = []
    for k in range(len(files)):
        X, y, qid = loaded[3 * k], loaded[3 * k + 1], loaded[3 * k + 2]
        if len(qid) != len(y):
            return _parse_svmlight(files, n_features, zero_based)
        out.append(RankingRows(qid.astype(np.int64), np.asarray(X.todense()), y.astype(np.float64)))
    return out, []


@dataclass
class _Parsed:
    """One file read line by line: labels, query ids and the (row, index, value) triples."""

    path: Path
    labels: NDArray[np.float64]
    qids: NDArray[np.int64]
    lines: NDArray[np.int64]
    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    values: NDArray[np.float64]
    warning: str  # for repeated indices; "" if none


def _parse_svmlight(files: Sequence[Path], n_features: Optional[int],
                    zero_based: ZeroBased) -> tuple[list[RankingRows], list[str]]:
    """Line-by-line SVMlight reader: unsorted and repeated indices, errors with line numbers."""
    parsed = [_read_svmlight(p) for p in files]
    if zero_based == "auto":
        zero_based = any(len(f.cols) and f.cols.min() == 0 for f in parsed)  # as scikit-learn decides
    offset = 0 if zero_based else 1
    for f in parsed:
        if offset and len(f.cols) and f.cols.min() == 0:
            first = int(np.argmax(f.cols == 0))
            raise ValueError(
                f"{f.path}, line {f.lines[int(f.rows[first])]}: feature index 0 in a file read as one-based "
                "(zero_based=False). Pass zero_based=True if its indices start at 0."
            )
    width = max((int(f.cols.max()) + 1 - offset for f in parsed if len(f.cols)), default=0)
    if n_features is not None:
        for f in parsed:
            beyond = f.cols - offset >= n_features
            if beyond.any():
                first = int(np.argmax(beyond))
                raise ValueError(
                    f"{f.path}, line {f.lines[int(f.rows[first])]}: feature index {int(f.cols[first])} is beyond "
                    f"n_features={n_features}."
                )
        width = n_features
    out: list[RankingRows] = []
    for f in parsed:
        X = np.zeros((len(f.qids), width))
        X[f.rows, f.cols - offset] = f.values  # (row, col) pairs are unique
        out.append(RankingRows(f.qids, X, f.labels))
    return out, [f.warning for f in parsed if f.warning]


def _read_svmlight(p: Path) -> _Parsed:
    """Read one file line by line, checking every line; the indices are kept as written."""
    from array import array

    labels, qids = array("d"), array("q")
    lines = array("q")  # the file line of each row, for error messages
    row_of, col_of, value_of = array("q"), array("q"), array("d")
    no_qid: list[int] = []
    repeated: list[int] = []
    with p.open() as handle:
        for number, raw in enumerate(handle, start=1):
            tokens = raw.split("#", 1)[0].split()
            if not tokens:
                continue
            label, qid, values, repeats = _parse_line(tokens, f"{p}, line {number}")
            if repeats:
                repeated.append(number)
            if qid is None:
                no_qid.append(number)
                qid = -1
            row_of.extend([len(qids)] * len(values))
            labels.append(label)
            qids.append(qid)
            lines.append(number)
            col_of.extend(values.keys())
            value_of.extend(values.values())
    _check_query_ids(p, len(qids), no_qid)
    warning = (f"{p}, line {repeated[0]} (and {len(repeated) - 1} other lines) repeats a feature index; "
               "the last value on the line is used.") if repeated else ""
    return _Parsed(p, _as_array(labels, np.float64), _as_array(qids, np.int64), _as_array(lines, np.int64),
                   _as_array(row_of, np.int64), _as_array(col_of, np.int64), _as_array(value_of, np.float64),
                   warning)


def _parse_line(tokens: list[str], where: str) -> tuple[float, Optional[int], dict[int, float], bool]:
    """One data line: its label, query id (None if it has none), features, and whether an index repeats."""
    try:
        label = float(tokens[0])
    except ValueError:
        raise ValueError(f"{where}: the label {tokens[0]!r} is not a number.") from None
    values: dict[int, float] = {}
    qid: Optional[int] = None
    repeats = False
    for token in tokens[1:]:
        key, sep, value = token.partition(":")
        if not sep:
            raise ValueError(f"{where}: {token!r} is not an index:value pair.")
        if key == "qid":
            try:
                qid = int(value)
            except ValueError:
                raise ValueError(f"{where}: {token!r} is not a whole-number query id.") from None
            continue
        try:
            index, number_value = int(key), float(value)
        except ValueError:
            raise ValueError(f"{where}: {token!r} is not a feature index:value pair.") from None
        if index < 0:
            raise ValueError(f"{where}: feature index {index} is negative.")
        repeats = repeats or index in values
        values[index] = number_value  # a repeated index: the last value wins
    return label, qid, values, repeats


def _check_query_ids(p: Path, n_rows: int, no_qid: list[int]) -> None:
    """Refuse a file without data lines, or with lines that have no ``qid:`` field."""
    if not n_rows:
        raise ValueError(f"{p} holds no data lines.")
    if len(no_qid) == n_rows:
        raise ValueError(f"{p} has no 'qid:' fields; a ranking file needs the query id of every row.")
    if no_qid:
        raise ValueError(
            f"{p}, line {no_qid[0]} has no 'qid:' field ({len(no_qid)} of {n_rows} data lines have none); "
            "a ranking file needs the query id of every row."
        )


def _as_array(values: Any, dtype: Any) -> Any:
    return np.frombuffer(values, dtype=dtype).copy() if len(values) else np.zeros(0, dtype=dtype)
