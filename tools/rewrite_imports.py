"""Rewrite `from companion... import ...` lines after the harness moved to companion.book.

Usage::

    python tools/rewrite_imports.py book/**/*.ipynb tests/*.py bench/*.py

Rewrites only import statements (the code that uses the names is unchanged),
in notebooks' code cells (their stored outputs are kept: a pure import-path
edit changes no output) and in Python files, and the dotted names of moved
objects in notebooks' markdown cells (MyST roles, snippets in tips). Prints every file it changed and
any imported name it does not know. Running it twice changes nothing.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

BOOK = "companion.book"
_BOOK_RANKING = {
    "listmle_numpy", "uniform_score_gradient", "shuffled_label_loss", "oracle_loss", "Summary", "summarize",
    "paired_grade", "tfr_threshold", "tfr_loss_per_list", "longest_zero_list", "largest_gradients",
    "sigmoid_limits", "train_scorer", "listmle_gap_sweep", "FLT_MIN", "TFR_PAD_LOGIT", "PADDED_UNDERFLOW_SCORE",
    "EPSILON_BEST_GAP",
}
_BOOK_DIAGNOSE = {
    "RankingCase", "ranking_case", "rbm_case", "data_case", "make_ranking_run", "fit_rbm", "RANKING_CASES",
    "RBM_CASES", "DATA_CASES", "KERAS_CASES", "KerasCase", "keras_case", "make_keras_run",
    "keras_final_losses", "Scenario", "holdout_scenarios", "evaluate_doctor", "scores_table",
    "confusion_table", "book_cases", "run_scenario", "range_rule", "nan_watch", "DEAD_ALARM", "DIVERGE_RISE",
    "LOW_PROGRESS", "OVERFIT_GAP", "OVERFLOW_WARN_GAP", "PATIENCE", "SEPARATION_GAP", "SPREAD_TOLERANCE",
    "UNIFORM_TOLERANCE",
}
_REGISTRY_ONLY = {"GAUSSIAN_MEAN_LIMIT", "GAUSSIAN_STD_RANGE", "RANKING_SCALE_LIMIT", "WEIGHT_ALARM",
                  "VISIBLE_BIAS_ALARM", "LEAK_CHANCE", "FLOOR_FRACTION"}
#: Old float32-limit names: one name per limit now.
RENAMED = {"ZERO_LOSS_GAP": "ROUND_TO_ZERO_GAP", "OVERFLOW_GAP": "UNDERFLOW_GAP",
           "SIGMOID_ONE_FROM": "ROUND_TO_ZERO_GAP"}
#: Whole modules that moved.
MOVED_MODULES = {
    "companion.plotting": "companion.book.plotting",
    "companion._report": BOOK,
    "companion.rbm_trials": BOOK,
    "companion.ranking._trials": BOOK,
    "companion.diagnose._holdout": BOOK,
    "companion.diagnose._cases": BOOK,
    "companion.diagnose._external": BOOK,
}
LIMITS = {"UNDERFLOW_GAP", "ROUND_TO_ZERO_GAP"}


def new_home(module: str, name: str) -> str:
    """The module that exports `name` (already renamed) after the move."""
    if name in LIMITS and module in ("companion.ranking", "companion.ranking._trials", "companion.ranking._data"):
        return "companion.ranking"
    if module in MOVED_MODULES:
        return MOVED_MODULES[module]
    if module == "companion" and name in ("glue", "sig", "Table"):
        return BOOK
    if module in ("companion.ranking", "companion.ranking._keras") and name in _BOOK_RANKING:
        return BOOK
    if module in ("companion.diagnose", "companion.diagnose._registry") and name in _BOOK_DIAGNOSE:
        return BOOK
    if module == "companion.diagnose" and name in _REGISTRY_ONLY:
        return "companion.diagnose._registry"
    if module == "companion.diagnose" and name == "CAUSES":
        return "companion.diagnose._findings"
    if module == "companion.ranking" and name == "PADDED_BYTES_LIMIT":
        return "companion.ranking._grouping"
    return module


def _kind(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def _render(module: str, names: list[str], indent: str, width: int, comment: str) -> str:
    one = f"{indent}from {module} import {', '.join(names)}{comment}"
    if len(one) <= width:
        return one
    body = "".join(f"{indent}    {n},\n" for n in names)
    return f"{indent}from {module} import ({comment}\n{body}{indent})"


def rewrite(source: str, width: int) -> str:
    """`source` with every `from companion... import` statement pointed at the new homes."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: leave the cell alone
        return source
    lines = source.split("\n")
    edits = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("companion")):
            continue
        groups: dict[str, list[str]] = {}
        for alias in node.names:
            name = RENAMED.get(alias.name, alias.name)
            shown = name if alias.asname is None and name == alias.name else f"{name} as {alias.asname or alias.name}"
            groups.setdefault(new_home(node.module, name), []).append(shown)
        if list(groups) == [node.module] and all(RENAMED.get(a.name) is None for a in node.names):
            continue
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        tail = lines[last][(node.end_col_offset or 0):]
        head = lines[first].split("(", 1)[1] if first != last and "(" in lines[first] else ""
        notes = [t.strip() for t in (head, tail) if t.strip().startswith("#")]
        comment = f"  {notes[0]}" if notes else ""
        text = "\n".join(_render(m, sorted(groups[m], key=_kind), indent, width, comment) for m in sorted(groups))
        edits.append((first, last, text))
    for first, last, text in sorted(edits, reverse=True):
        lines[first:last + 1] = text.split("\n")
    return "\n".join(lines)


#: Dotted names in prose (markdown cells: MyST roles, snippets in tips) and their new spelling.
PROSE = [
    (re.compile(r"companion\.(ranking\._trials|rbm_trials|diagnose\._holdout|diagnose\._cases|_report)\."),
     "companion.book."),
    (re.compile(r"from companion\.(ranking\._trials|rbm_trials) import"), "from companion.book import"),
    (re.compile(r"companion\.plotting\b"), "companion.book.plotting"),
    (re.compile(r"companion\.(sig|glue|Table)\b"), r"companion.book.\1"),
    (re.compile(r"companion\.(?:diagnose|ranking)\.(" + "|".join(sorted(_BOOK_DIAGNOSE | _BOOK_RANKING)) + r")\b"),
     r"companion.book.\1"),
    (re.compile(r"# pip install \"companion\[(\w+)\]\" +\(from this book's repository\), plus"),
     r'# pip install "path/to/training-failures-book[\1]"\n# plus'),
    (re.compile(r"pip install \"companion\[(\w+)\]\""), r'pip install "path/to/training-failures-book[\1]"'),
]


def rewrite_prose(text: str) -> str:
    """`text` with the moved names spelled at their new homes."""
    for pattern, new in PROSE:
        text = pattern.sub(new, text)
    return text


def main(paths: list[str]) -> int:
    for path in map(Path, paths):
        if path.suffix == ".ipynb":
            nb = json.loads(path.read_text())
            changed = False
            for cell in nb["cells"]:
                if cell["cell_type"] not in ("code", "markdown"):
                    continue
                old = "".join(cell["source"])
                new = rewrite(old, 76) if cell["cell_type"] == "code" else rewrite_prose(old)
                if new != old:
                    cell["source"] = new.splitlines(keepends=True)
                    changed = True
            if changed:
                path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        else:
            old = path.read_text()
            new = rewrite(old, 110)
            changed = new != old
            if changed:
                path.write_text(new)
        if changed:
            print("rewrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
