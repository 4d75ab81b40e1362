"""``python -m companion check FILE``: the book's data checks on a user's ranking file.

Defined in :doc:`/book/doctor`. Reads a LETOR/SVMlight file (or a CSV file
with named query-id and label columns), groups its rows by query and reports,
without training and without loading TensorFlow, every problem that
:func:`companion.diagnose.diagnose_ranking_data` detects, each with its fix
and the chapter that explains it.

Exit status: 0 when nothing fatal was found, 1 on a fatal finding, 2 on bad
usage or a file that cannot be read.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import textwrap
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, TextIO, Union

import numpy as np
from numpy.typing import NDArray

__all__ = ["CheckReport", "check_file", "main"]

_FORMATS = ("svmlight", "csv")
#: The check reads a file densely; wider than this (a feature index of 1e9 by
#: mistake, say) it refuses with a clear error instead of allocating gigabytes.
MAX_FEATURES = 100_000
#: ... and a dense matrix larger than this many bytes.
MAX_DENSE_BYTES = 1 << 30
_GZIP_MAGIC = b"\x1f\x8b"


class UsageError(Exception):
    """A file that cannot be read, or options that do not fit it (exit status 2)."""


@dataclass
class CheckReport:
    """What ``check`` found in one file.

    Attributes
    ----------
    path : str
        The file checked.
    format : {"svmlight", "csv"}
        How it was read.
    n_rows, n_queries, n_features : int
        Its size.
    list_sizes : (int, float, int)
        Smallest, median and largest number of documents per query.
    findings : list of Finding
        The problems found, from :func:`companion.diagnose.diagnose_ranking_data`.
    notes : list of str
        Checks that could not be made, and why.
    """

    path: str
    format: str
    n_rows: int
    n_queries: int
    n_features: int
    list_sizes: tuple[int, float, int]
    findings: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def fatal(self) -> bool:
        """Whether any finding is fatal (training cannot succeed until it is fixed)."""
        return any(f.fatal for f in self.findings)

    @property
    def exit_status(self) -> int:
        """1 if a finding is fatal, else 0."""
        return 1 if self.fatal else 0

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready values, for ``check --json``.

        Returns
        -------
        dict
            ``path``, ``format``, ``n_rows``, ``n_queries``, ``n_features``,
            ``list_sizes`` (``min``, ``median``, ``max``), ``findings`` (each
            :meth:`companion.diagnose.Finding.to_dict`), ``notes``, ``fatal``
            and ``exit_status``.
        """
        low, median, high = self.list_sizes
        return {"path": self.path, "format": self.format, "n_rows": int(self.n_rows),
                "n_queries": int(self.n_queries), "n_features": int(self.n_features),
                "list_sizes": {"min": int(low), "median": float(median), "max": int(high)},
                "findings": [f.to_dict() for f in self.findings], "notes": list(self.notes),
                "fatal": self.fatal, "exit_status": self.exit_status}

    def render(self) -> str:
        """The report as text: a summary, each finding with fix and link, a verdict."""
        low, median, high = self.list_sizes
        lines = [
            # One line, however long the path: it is what a reader searches for.
            f"{self.path} ({self.format}): {self.n_rows} rows, {self.n_queries} queries, "
            f"{self.n_features} features",
            f"  documents per query: {low} to {high} (median {median:g})",
            "",
        ]
        for f in self.findings:
            lines += _wrap(f"{'FATAL' if f.fatal else 'warning'} {f.cause}: {f._evidence_text()}", "")
            lines += _wrap(f"fix: {f.fix}", "  ")
            lines.append(f"  see: {f.see}")
            lines.append("")
        for note in self.notes:
            lines += _wrap(f"note: {note}", "")
            lines.append("")
        n_fatal = sum(f.fatal for f in self.findings)
        if not self.findings:
            lines += textwrap.wrap("No problems found (checked: documents per query, tied labels, "
                                   "feature scales, leaked features).", width=76)
        else:
            lines.append(f"{len(self.findings)} problem{'s' if len(self.findings) != 1 else ''} found, "
                         f"{n_fatal} fatal.")
        return "\n".join(lines)


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, width=76, initial_indent=indent, subsequent_indent=indent + "     ",
                         break_long_words=False, break_on_hyphens=False)


def check_file(
    path: Union[str, Path],
    *,
    format: Optional[str] = None,
    qid_column: Optional[str] = None,
    label_column: Optional[str] = None,
    ignore: Sequence[str] = (),
    n_features: Optional[int] = None,
) -> CheckReport:
    """Read a ranking file and check it with :func:`companion.diagnose.diagnose_ranking_data`.

    Parameters
    ----------
    path : str or Path
        A LETOR/SVMlight file (``label qid:Q index:value ...``) or a CSV file
        with a header line.
    format : {"svmlight", "csv"}, optional
        Default: ``"csv"`` for a name ending in ``.csv``, else ``"svmlight"``.
    qid_column, label_column : str, optional
        CSV only, both required there: the columns of the query id and the
        relevance label. Every other column is a numeric feature.
    ignore : sequence of str
        CSV only: columns that are neither features nor used (a document id,
        a URL).
    n_features : int, optional
        SVMlight only: as in :func:`companion.ranking.load_svmlight_ranking`.

    Returns
    -------
    CheckReport

    Raises
    ------
    UsageError
        If the file is missing or cannot be read, or the options do not fit
        it; the message says what and where.
    """
    if str(path) == "-":  # standard input: kept in a temporary file for the two readers
        return _check_stdin(format=format, qid_column=qid_column, label_column=label_column, ignore=ignore,
                            n_features=n_features)
    p = Path(path)
    name = p.name[:-3] if p.name.lower().endswith(".gz") else p.name
    fmt = format or ("csv" if name.lower().endswith(".csv") else "svmlight")
    _check_arguments(p, fmt, n_features)
    if _is_gzip(p):
        return _check_gzip(p, name, format=fmt, qid_column=qid_column, label_column=label_column,
                           ignore=ignore, n_features=n_features)
    notes: list[str] = []
    if fmt == "csv":
        qid, X, y, names = _read_csv_rows(p, qid_column, label_column, ignore, n_features)
    else:
        qid, X, y, names = _read_svmlight_rows(p, qid_column, label_column, ignore, n_features, notes)
    findings = _diagnose(p, X, y, qid, names, notes)
    _, counts = np.unique(qid, return_counts=True)
    return CheckReport(str(p), fmt, len(y), len(counts), X.shape[1],
                       (int(counts.min()), float(np.median(counts)), int(counts.max())), findings, notes)


def _check_stdin(**options: Any) -> CheckReport:
    """Check standard input (SVMlight unless `format` says otherwise), kept in a temporary file."""
    import tempfile

    with tempfile.NamedTemporaryFile("wb", suffix=".stdin", delete=False) as tmp:
        tmp.write(sys.stdin.buffer.read())
    try:
        report = check_file(tmp.name, **{**options, "format": options["format"] or "svmlight"})
    finally:
        Path(tmp.name).unlink()
    report.path = "<stdin>"
    return report


def _check_arguments(p: Path, fmt: str, n_features: Optional[int]) -> None:
    """Refuse an unknown format, a path that is not a file, a width below 1."""
    if fmt not in _FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use svmlight or csv.")
    if p.is_dir():
        raise UsageError(f"{p} is a directory; give the path of a file in it.")
    if not p.is_file():
        raise UsageError(f"no such file: {p}")
    if n_features is not None and n_features < 1:
        raise UsageError(f"--n-features must be a positive number of features; got {n_features}.")


def _check_gzip(p: Path, name: str, **options: Any) -> CheckReport:
    """Check a gzipped file, unpacked into a temporary folder under its name without ``.gz``."""
    import gzip
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / name
        try:
            with gzip.open(p, "rb") as src, plain.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        except (OSError, EOFError) as exc:
            raise UsageError(f"{p}: a gzip file that cannot be read ({exc}).") from None
        report = check_file(plain, **options)
    report.path = str(p)
    return report


def _read_csv_rows(p: Path, qid_column: Optional[str], label_column: Optional[str], ignore: Sequence[str],
                   n_features: Optional[int]) -> tuple[NDArray[Any], NDArray[np.float64], NDArray[np.float64],
                                                      list[str]]:
    if n_features is not None:
        raise UsageError("--n-features is for SVMlight files; a CSV file names its columns.")
    if qid_column is None or label_column is None:
        raise UsageError("a CSV file needs --qid COLUMN and --label COLUMN (names from its header line).")
    return _read_csv(p, qid_column, label_column, ignore)


def _read_svmlight_rows(p: Path, qid_column: Optional[str], label_column: Optional[str], ignore: Sequence[str],
                        n_features: Optional[int], notes: list[str]) -> tuple[
        NDArray[Any], NDArray[np.float64], NDArray[np.float64], list[str]]:
    if qid_column is not None or label_column is not None or ignore:
        raise UsageError("--qid, --label and --ignore are for CSV files; an SVMlight file has 'qid:' fields.")
    first_index = _prescan_svmlight(p, n_features)
    qid, X, y = _read_svmlight(p, n_features, notes)
    # Columns numbered from 0, as in the array the loader returns and the
    # doctor reports; the file's own index beside it when it differs.
    offset = 0 if first_index == 0 else 1
    names = [str(j) if offset == 0 else f"{j} (file index {j + 1})" for j in range(X.shape[1])]
    return qid, X, y, names


def _diagnose(p: Path, X: NDArray[np.float64], y: NDArray[np.float64], qid: NDArray[Any], names: list[str],
              notes: list[str]) -> list[Any]:
    """The findings of :func:`companion.diagnose.diagnose_ranking_data`; its warnings become notes."""
    from companion.diagnose import DiagnosisWarning, diagnose_ranking_data

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DiagnosisWarning)
        try:
            findings = diagnose_ranking_data(X, y, qid=qid, feature_names=names)
        except ValueError as exc:
            raise UsageError(f"{p}: {exc}") from None
    for w in caught:
        if issubclass(w.category, DiagnosisWarning):
            notes.append(str(w.message))
        else:  # pragma: no cover - nothing else warns today
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return findings


def _read_svmlight(p: Path, n_features: Optional[int], notes: list[str]) -> tuple[
        NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    from companion.ranking import RankingDataWarning, load_svmlight_ranking

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RankingDataWarning)
        try:
            loaded = load_svmlight_ranking(p, n_features=n_features)
        except UnicodeDecodeError as exc:
            raise UsageError(f"{p} is not a text file ({exc}).") from None
        except ValueError as exc:
            raise UsageError(f"{p}: {exc}" if str(p) not in str(exc) else str(exc)) from None
    notes += [str(w.message) for w in caught if issubclass(w.category, RankingDataWarning)]
    return loaded


def _is_gzip(p: Path) -> bool:
    with p.open("rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def _prescan_svmlight(p: Path, n_features: Optional[int]) -> Optional[int]:
    """Check an SVMlight file's labels and width line by line; return its smallest feature index.

    Raises
    ------
    UsageError
        A label that is NaN, infinite or negative (naming the line), or a
        feature index so large that the dense matrix would not fit.
    """
    smallest: Optional[int] = None
    largest = -1
    rows = 0
    try:
        with p.open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                body = line.split("#", 1)[0].split()
                if not body:
                    continue
                rows += 1
                try:
                    label = float(body[0])
                except ValueError:
                    continue  # the loader names a label that is not a number
                if not np.isfinite(label) or label < 0:
                    raise UsageError(f"{p}, line {line_no}: the label {body[0]!r} is "
                                     f"{'negative' if label < 0 else 'not a finite number'}; relevance labels are "
                                     "grades >= 0.")
                for token in body[1:]:
                    key, _, _ = token.partition(":")
                    if key.isdigit():
                        index = int(key)
                        smallest = index if smallest is None else min(smallest, index)
                        if index > largest:
                            largest = index
                            if index > MAX_FEATURES and (n_features is None or index > n_features):
                                raise UsageError(
                                    f"{p}, line {line_no}: feature index {index} is beyond what the check reads "
                                    f"densely ({MAX_FEATURES} features). A LETOR file has a few hundred; check "
                                    "that line, or pass --n-features if the width is right.")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{p} is not a text file ({exc}).") from None
    width = max(largest + 1, n_features or 0)
    if rows * width * 8 > MAX_DENSE_BYTES:
        raise UsageError(f"{p}: {rows} rows by {width} features would take {rows * width * 8 / 2**30:.1f} GB "
                         "as a dense matrix; check a part of the file (head -n 100000).")
    return smallest


def _read_csv(
    p: Path, qid_column: str, label_column: str, ignore: Sequence[str]
) -> tuple[NDArray[Any], NDArray[np.float64], NDArray[np.float64], list[str]]:
    try:
        with p.open(newline="", encoding="utf-8-sig") as handle:  # a byte-order mark is not part of the header
            text = handle.read()
        first = text.split("\n", 1)[0]
        delimiter = max(",;\t", key=first.count) if first else ","
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{p} is not a text file ({exc}).") from None
    if not rows:
        raise UsageError(f"{p} is empty.")
    header = [name.strip() for name in rows[0]]
    for option, column in (("--qid", qid_column), ("--label", label_column), *(("--ignore", c) for c in ignore)):
        if column not in header:
            raise UsageError(f"{option} {column!r}: no such column in {p}; its columns are {', '.join(header)}.")
    q_at, y_at = header.index(qid_column), header.index(label_column)
    skip = {q_at, y_at, *(header.index(c) for c in ignore)}
    feature_at = [j for j in range(len(header)) if j not in skip]
    if not feature_at:
        raise UsageError(f"{p} has no feature columns besides the query id and the label.")
    qids: list[str] = []
    labels: list[float] = []
    X = np.empty((len(rows) - 1, len(feature_at)))
    n = 0
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UsageError(f"{p}, line {line}: {len(row)} fields, but the header names {len(header)}.")
        qid = row[q_at].strip()
        if not qid:
            raise UsageError(f"{p}, line {line}: the query id ({qid_column!r}) is empty.")
        qids.append(qid)
        labels.append(_number(row[y_at], p, line, label_column))
        X[n] = [_number(row[j], p, line, header[j]) for j in feature_at]
        n += 1
    if n == 0:
        raise UsageError(f"{p} has a header line but no data.")
    q = np.asarray(qids)
    try:  # numeric query ids sort and print as numbers
        q = q.astype(np.int64)
    except ValueError:
        pass
    return q, X[:n], np.asarray(labels), [header[j] for j in feature_at]


def _number(cell: str, p: Path, line: int, column: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise UsageError(f"{p}, line {line}, column {column!r}: {cell.strip()!r} is not a number.") from None
    if not np.isfinite(value):
        raise UsageError(f"{p}, line {line}, column {column!r}: {cell.strip()!r} is missing or infinite; "
                         "impute or drop that row first.")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of features, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m companion",
        description="Tools from the book 'Training failures, reproduced'.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="check a learning-to-rank file before training",
        description="Group the rows of a ranking file by query and report, without training, the problems "
                    "the book teaches to see: queries with one document, lists whose labels are all equal, "
                    "feature scales that overflow, a feature that alone ranks every list. Exit status: 0 "
                    "nothing fatal, 1 a fatal finding, 2 bad usage or an unreadable file.",
    )
    check.add_argument("file", help="a LETOR/SVMlight file (label qid:Q index:value ...) or a CSV file, "
                                    "gzipped or not; - reads standard input (SVMlight)")
    check.add_argument("--format", choices=_FORMATS, help="default: csv for *.csv, else svmlight")
    check.add_argument("--qid", metavar="COLUMN", help="CSV: the query id column")
    check.add_argument("--label", metavar="COLUMN", help="CSV: the relevance label column")
    check.add_argument("--ignore", metavar="COLUMN", action="append", default=[],
                       help="CSV: a column that is not a feature (repeatable)")
    check.add_argument("--n-features", type=_positive, metavar="N", help="SVMlight: number of features")
    check.add_argument("--json", action="store_true",
                       help="print the report as one JSON object (for CI); the exit status is the same")
    return parser


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after ``python -m companion`` (default: ``sys.argv[1:]``).
    out : file, optional
        Where the report goes (default: standard output). Errors go to
        standard error.

    Returns
    -------
    int
        0: nothing fatal; 1: a fatal finding; 2: bad usage or unreadable file.
    """
    stream = out if out is not None else sys.stdout
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the error
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        report = check_file(args.file, format=args.format, qid_column=args.qid, label_column=args.label,
                            ignore=args.ignore, n_features=args.n_features)
    except UsageError as exc:
        print(f"python -m companion check: error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.json:
            import json

            print(json.dumps(report.to_dict(), indent=2, allow_nan=False), file=stream)
        else:
            print(report.render(), file=stream)
        stream.flush()
    except BrokenPipeError:  # the reader stopped early (| head): not an error of ours
        if out is None:
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return report.exit_status
