"""companion.book.sig and companion.book.glue: the rounded figures a notebook prints and glues."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import pytest

from companion.book import glue, sig

#: Runs no Keras: one Keras backend covers it (make test-modern).
pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize(
    ("x", "expected", "kind"),
    [
        (1791.7595, 1790, int),
        (155.3, 155, int),
        (2.0, 2, int),
        (np.float32(7.0), 7, int),
        (np.int64(123456), 123000, int),
        (-1791.7595, -1790, int),
        (0.0781234, 0.0781, float),
        (0.99951, 1, int),
        (0.5, 0.5, float),
        (12.34, 12.3, float),
        (-0.000123456, -0.000123, float),
        (0.0, 0.0, float),
        (-0.0, 0.0, float),
    ],
)
def test_sig_rounds_and_gives_whole_numbers_as_int(x: Any, expected: float, kind: type) -> None:
    value = sig(x)
    assert value == expected and type(value) is kind
    assert str(value) == str(expected)


def test_sig_zero_prints_without_a_sign_and_digits_count() -> None:
    assert str(sig(-0.0)) == "0.0"
    assert sig(1791.7595, digits=1) == 2000 and sig(1791.7595, digits=5) == 1791.8
    assert sig(math.pi, digits=6) == 3.14159
    assert math.isnan(sig(float("nan"))) and sig(float("inf")) == float("inf")
    with pytest.raises(ValueError, match="digits must be at least 1"):
        sig(1.0, digits=0)


@pytest.fixture
def glued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, bool]]:
    """Record what companion.book.glue hands to myst_nb.glue."""
    import myst_nb

    calls: list[tuple[str, Any, bool]] = []

    def fake(name: str, variable: Any, display: bool = True) -> None:
        calls.append((name, variable, display))

    monkeypatch.setattr(myst_nb, "glue", fake)
    return calls


@pytest.mark.parametrize(
    ("value", "kwargs", "shown"),
    [
        (0.0781234, {}, 0.0781),
        (np.float64(1791.7595), {}, 1790),
        (np.float32(0.5), {}, 0.5),
        (1791.7595, {"digits": 2}, 1800),
        (np.int64(42), {}, 42),
        (123456, {}, 123456),  # integers are counts: not rounded
        (True, {}, True),
        (np.bool_(False), {}, False),
        ("ranking/zero_loss", {}, "ranking/zero_loss"),
    ],
)
def test_glue_rounds_numbers_and_passes_the_rest(glued: list[tuple[str, Any, bool]], value: Any,
                                                 kwargs: dict[str, Any], shown: Any) -> None:
    assert glue("figure", value, **kwargs) is None  # a cell ending in glue displays nothing
    ((name, variable, display),) = glued
    assert name == "figure" and display is False
    assert variable == shown and type(variable) is type(shown)


def test_glue_with_a_format_glues_text_that_shows_without_quotes(glued: list[tuple[str, Any, bool]]) -> None:
    glue("share", 0.12345, fmt=".1%")
    glue("tiny", 4.2e-18, fmt=".2e")
    assert [(n, str(v), repr(v)) for n, v, _ in glued] == [("share", "12.3%", "12.3%"),
                                                          ("tiny", "4.20e-18", "4.20e-18")]


def test_glue_without_myst_nb_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # makes `import myst_nb` fail
    with pytest.raises(ImportError, match="pip install myst-nb"):
        glue("figure", 1.0)


def test_table_marks_the_verdict_column_for_its_badge() -> None:
    from companion.book._report import TEXT_WIDTH, VERDICTS, Table

    table = Table([["scores vanish", "1 seed", "false", "0.0"], ["scale", "5 seeds", "Not measured", "1"]],
                  ["Claim", "Tested under", "Verdict", "Evidence"])
    html_text = table._repr_html_()
    assert '<td class="verdict verdict-false"><span class="verdict-word">false</span></td>' in html_text
    assert "<td>Not measured</td>" in html_text  # not a verdict word: no badge
    assert "verdict" not in Table([["true"]], ["claim"])._repr_html_()  # no Verdict column
    assert set(VERDICTS) == {"true", "false", "partly", "harmful", "useless", "unnecessary", "helps"}
    assert TEXT_WIDTH == 76
