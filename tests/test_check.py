"""``python -m companion check FILE``: output and exit status on small generated files."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest

from companion._check import check_file, main
from companion.diagnose import BOOK_URL
from companion.ranking import make_ranking_data

ROOT = Path(__file__).resolve().parents[1]


def write_svmlight(path: Path, qid: Any, X: Any, y: Any) -> Path:
    with path.open("w") as handle:
        for q, x, label in zip(qid, X, y):
            features = " ".join(f"{j + 1}:{v:.6g}" for j, v in enumerate(x))
            handle.write(f"{int(label)} qid:{q} {features} # doc\n")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m companion ARGS` in a fresh interpreter, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "companion", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def check(*args: str) -> tuple[int, str]:
    """Exit status and report; the report's wrapped lines are joined, so tests match whole findings."""
    out = io.StringIO()
    status = main(list(args), out=out)
    return status, out.getvalue().replace("\n     ", " ")


@pytest.fixture
def healthy(tmp_path: Path) -> Path:
    data = make_ranking_data(40, list_size=(4, 10), labels="order", random_state=0)
    return write_svmlight(tmp_path / "healthy.txt", data.qid, data.X, data.y)


def test_a_healthy_file_exits_0_without_loading_tensorflow(healthy: Path) -> None:
    code = ("import sys; from companion._check import main; status = main(['check', sys.argv[1]]); "
            "print('tensorflow loaded:', 'tensorflow' in sys.modules); sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code, str(healthy)], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "healthy.txt (svmlight): " in result.stdout and "40 queries, 6 features" in result.stdout
    assert "No problems found" in result.stdout
    assert "tensorflow loaded: False" in result.stdout


def test_one_row_per_query_is_fatal(tmp_path: Path) -> None:
    data = make_ranking_data(30, list_size=5, random_state=0)
    path = write_svmlight(tmp_path / "per_document.txt", np.arange(len(data.y)), data.X, data.y)
    result = run("check", str(path))
    assert result.returncode == 1, result.stderr
    assert "FATAL single-item-lists: queries=150, documents=150" in result.stdout
    assert "see: book/ranking/zero_loss.ipynb" in result.stdout
    assert result.stdout.rstrip().endswith("1 problem found, 1 fatal.")


def test_unscaled_features_are_fatal(tmp_path: Path) -> None:
    data = make_ranking_data(40, list_size=8, labels="order", feature_scales=[2000, 500, 50, 1000, 5, 300],
                             random_state=0)
    status, out = check("check", str(write_svmlight(tmp_path / "raw.txt", data.qid, data.X, data.y)))
    assert status == 1
    # Columns numbered from 0 as the doctor numbers them, the file's index beside (issue 18, 5.11).
    assert "FATAL unscaled-data: units=ranking, unscaled_features=6, worst_feature=0 (file index 1)," in out
    assert "StandardScaler" in out
    assert "see: book/ranking/unscaled_features.ipynb" in out  # not the RBM chapter


def test_warnings_alone_exit_0_and_each_names_its_fix_and_chapter(tmp_path: Path) -> None:
    data = make_ranking_data(40, list_size=8, labels="order", leak=True, random_state=0)
    y = data.y.copy()
    y[data.qid == 3] = 1.0  # one tied list
    qid = np.concatenate([data.qid, [900]])  # one query of a single document
    X, y = np.vstack([data.X, data.X[:1]]), np.concatenate([y, [0.0]])
    status, out = check("check", str(write_svmlight(tmp_path / "warn.txt", qid, X, y)))
    assert status == 0
    assert "warning single-document-queries: queries=1, of_queries=41, examples=900" in out
    assert "warning tied-lists: lists=1, of_lists=40, examples=3" in out
    assert ("warning leaked-feature: feature=6 (file index 7), ndcg_alone=1, lists=39, direction=higher is more "
            "relevant") in out
    assert "see: book/ranking/uniform_scores.ipynb" in out
    assert "3 problems found, 0 fatal." in out and "FATAL" not in out


def test_every_list_tied_is_fatal(tmp_path: Path) -> None:
    data = make_ranking_data(20, list_size=5, random_state=0)
    status, out = check("check", str(write_svmlight(tmp_path / "tied.txt", data.qid, data.X, np.ones(100))))
    assert status == 1 and "FATAL tied-lists: lists=20, of_lists=20" in out


def test_too_few_lists_for_the_leak_check_is_a_note(tmp_path: Path) -> None:
    path = write_svmlight(tmp_path / "small.txt", [1, 1, 2, 2], [[0.1], [0.2], [0.3], [0.4]], [1, 0, 1, 0])
    status, out = check("check", str(path))
    assert status == 0
    flat = " ".join(out.split())  # notes are wrapped at 100 characters
    assert "note: the leaked-feature check was skipped: 2 lists" in flat and "No problems found" in flat


def test_repeated_feature_indices_are_read_and_noted(tmp_path: Path) -> None:
    path = tmp_path / "letor.txt"
    path.write_text("1 qid:1 2:0.5 1:0.1 1:0.3\n0 qid:1 1:0.2 2:0.1\n1 qid:2 1:0.1\n0 qid:2 1:0.4\n")
    status, out = check("check", str(path))
    assert status == 0 and "2 features" in out
    flat = " ".join(out.split())  # notes are wrapped at 100 characters
    assert "note: " in flat and "line 1 (and 0 other lines) repeats a feature index" in flat


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_csv_file_with_named_columns(tmp_path: Path) -> None:
    data = make_ranking_data(30, list_size=6, labels="order", random_state=1)
    rows = [f"q{q},doc{i},{int(label)}," + ",".join(f"{v:.6g}" for v in x)
            for i, (q, x, label) in enumerate(zip(data.qid, data.X, data.y))]
    path = write_csv(tmp_path / "ranking.csv", "query,doc,grade," + ",".join(data.feature_names), rows)
    result = run("check", str(path), "--qid", "query", "--label", "grade", "--ignore", "doc")
    assert result.returncode == 0, result.stderr
    assert "ranking.csv (csv): 180 rows, 30 queries, 6 features" in result.stdout
    # Feature names come from the header.
    raw = write_csv(tmp_path / "raw.csv", "query,grade,price,f1",
                    [f"{q},{r % 3},{1000 + 500 * r},{r % 2}" for q in range(12) for r in range(4)])
    status, out = check("check", str(raw), "--qid", "query", "--label", "grade")
    assert status == 1 and "worst_feature=price" in out


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, (), "no such file"),
        ("1 qid:1 1:0.5\n0 1:0.2\n", (), "line 2 has no 'qid:'"),
        ("1 qid:1 1:0.5\n0 qid:1 1:abc\n", (), "line 2: '1:abc' is not a feature"),
        ("1 qid:1 1:0.5\n", ("--qid", "q"), "are for CSV files"),
        ("q,y,f\n1,1,0.5\n", ("--format", "csv"), "needs --qid COLUMN and --label COLUMN"),
        ("q,y,f\n1,1,0.5\n", ("--format", "csv", "--qid", "query", "--label", "y"),
         "--qid 'query': no such column.*columns are q, y, f"),
        ("q,y,f\n1,1,0.5\n1,0,\n", ("--format", "csv", "--qid", "q", "--label", "y"),
         "line 3, column 'f': '' is not a number"),
        ("q,y,f\n1,1,0.5\n,0,1\n", ("--format", "csv", "--qid", "q", "--label", "y"),
         "line 3: the query id \\('q'\\) is empty"),
        ("q,y,f\n1,1,0.5\n1,-1,1\n", ("--format", "csv", "--qid", "q", "--label", "y"), "negative labels"),
    ],
)
def test_bad_usage_and_unreadable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               content: Optional[str], args: tuple[str, ...], message: str) -> None:
    path = tmp_path / "input.txt"
    if content is not None:
        path.write_text(content)
    status, out = check("check", str(path), *args)
    err = capsys.readouterr().err
    assert status == 2 and out == ""
    assert err.startswith("python -m companion check: error: ")
    import re

    assert re.search(message, err), err


def test_command_line_usage_errors_exit_2() -> None:
    assert run().returncode == 2  # no command: the help, on standard error
    result = run("check")
    assert result.returncode == 2 and "the following arguments are required: file" in result.stderr


def test_check_file_returns_the_report(healthy: Path) -> None:
    report = check_file(healthy)
    assert (report.n_queries, report.n_features, report.findings, report.exit_status) == (40, 6, [], 0)
    assert report.list_sizes[0] >= 4 and report.list_sizes[2] <= 10


# --- issue 18, 5.9 and 5.10: inputs that used to crash, hang or confuse ------------


def test_a_huge_feature_index_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    path.write_text("1 qid:1 1:0.5\n0 qid:1 1000000000:0.5\n")
    status, _ = check("check", str(path))
    assert status == 2
    path.write_text("1 qid:1 1:0.5\n0 qid:1 1000000000000:0.5\n")
    with pytest.raises(Exception, match="line 2: feature index 1000000000000"):
        check_file(path)


def test_gzip_labels_directories_stdin_and_options(tmp_path: Path, healthy: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip

    packed = tmp_path / "healthy.txt.gz"
    packed.write_bytes(gzip.compress(healthy.read_bytes()))
    assert check_file(packed).n_queries == 40
    hidden = tmp_path / "healthy.dat"  # gzipped, without the .gz name
    hidden.write_bytes(packed.read_bytes())
    assert check_file(hidden).n_queries == 40
    for label, word in (("nan", "not a finite number"), ("inf", "not a finite number"), ("-1", "negative")):
        bad = tmp_path / "bad.txt"
        bad.write_text(f"1 qid:1 1:0.5\n{label} qid:1 1:0.2\n")
        with pytest.raises(Exception, match=f"line 2: the label '{label}' is {word}"):
            check_file(bad)
    with pytest.raises(Exception, match="is a directory"):
        check_file(tmp_path)
    assert check("check", str(healthy), "--n-features", "0")[0] == 2
    assert check("check", str(healthy), "--n-features", "-5")[0] == 2
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(healthy.read_bytes())))
    report = check_file("-")
    assert report.path == "<stdin>" and report.n_queries == 40


def test_a_csv_with_a_byte_order_mark_and_semicolons(tmp_path: Path) -> None:
    data = make_ranking_data(30, list_size=6, labels="order", random_state=0)
    lines = ["qid;label;" + ";".join(f"f{j}" for j in range(data.X.shape[1]))]
    lines += [f"{q};{int(v)};" + ";".join(f"{x:.5g}" for x in row) for q, v, row in zip(data.qid, data.y, data.X)]
    path = tmp_path / "semi.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode())
    report = check_file(path, qid_column="qid", label_column="label")
    assert report.n_queries == 30 and report.n_features == data.X.shape[1]


def test_json_output_for_ci(tmp_path: Path, healthy: Path) -> None:
    """``check --json``: one JSON object with the same findings and exit status (issue 18, 5.15)."""
    import json

    data = make_ranking_data(40, list_size=8, labels="order", feature_scales=[2000, 500, 50, 1000, 5, 300],
                             random_state=0)
    status, out = check("check", "--json", str(write_svmlight(tmp_path / "raw.txt", data.qid, data.X, data.y)))
    report = json.loads(out)
    assert status == report["exit_status"] == 1 and report["fatal"] is True
    assert report["n_queries"] == 40 and report["n_features"] == 6
    (finding,) = [f for f in report["findings"] if f["cause"] == "unscaled-data"]
    assert finding["fatal"] is True and finding["evidence"]["worst_feature"] == "0 (file index 1)"
    assert finding["see"] == "book/ranking/unscaled_features.ipynb" and finding["url"] == BOOK_URL == ""
    status, out = check("check", "--json", str(healthy))
    assert status == 0 and json.loads(out)["findings"] == []


def test_finding_to_dict_is_json_ready() -> None:
    import json

    from companion.diagnose import Finding

    finding = Finding.of("unscaled-data", units="ranking", worst_mean=np.float32(9.2e3), examples=np.arange(2),
                         loss=float("nan"))
    plain = json.loads(json.dumps(finding.to_dict(), allow_nan=False))
    assert plain["evidence"] == {"units": "ranking", "worst_mean": 9200.0, "examples": [0, 1], "loss": "nan"}
