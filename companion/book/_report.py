"""Rounded, glued figures: how a notebook hands a number to the prose.

Defined in :doc:`/book/setup`. Strict ``nbval`` compares every stored output
character by character, so a figure must be rounded before it is printed or
glued: noise in the seventh digit differs between CPUs and must never reach a
stored output.
"""

from __future__ import annotations

import math
import html
from typing import Any, Optional, Sequence, Union

import numpy as np

__all__ = ["sig", "glue", "Table", "TEXT_WIDTH", "VERDICTS"]

#: Characters of monospace text a code cell or an output shows at 1280 px, the
#: book's reference width (measured in Chromium: 77 in a code cell, 78 in an
#: output; ``_static/book.css``). Code lines and printed text wrap at this width,
#: once, so the browser never wraps them again.
TEXT_WIDTH = 76

#: The verdict vocabulary (BOOK-DESIGN.md): a claim is true, false or partly; a
#: remedy is harmful, useless, unnecessary, helps or partly. A ``Verdict``
#: column of a :class:`Table` shows them as badges.
VERDICTS = ("true", "false", "partly", "harmful", "useless", "unnecessary", "helps")

Number = Union[int, float, "np.integer[Any]", "np.floating[Any]"]


def sig(x: Number, digits: int = 3) -> Union[int, float]:
    """Round `x` to `digits` significant digits; whole numbers come back as ``int``.

    Parameters
    ----------
    x : int or float
        The value. NaN and infinities are returned unchanged.
    digits : int, default=3
        Significant digits to keep, at least 1.

    Returns
    -------
    int or float
        The rounded value: an ``int`` when it is a whole number of magnitude
        at least 1 (so it prints as ``1180``, not ``1180.0``), otherwise a
        Python float. Zero stays ``0.0``, so a loss of exactly zero still
        reads as a float.

    Raises
    ------
    ValueError
        If `digits` is less than 1.

    Examples
    --------
    >>> sig(0.0781234)
    0.0781
    >>> sig(1791.7595)
    1790
    >>> sig(155.3)
    155
    >>> sig(2.0)
    2
    >>> sig(-0.0)
    0.0
    """
    if digits < 1:
        raise ValueError(f"digits must be at least 1, got {digits}.")
    value = float(x)
    if value == 0.0 or not math.isfinite(value):
        return abs(value) if value == 0.0 else value
    exponent = math.floor(math.log10(abs(value)))
    rounded = round(value, digits - 1 - exponent) + 0.0
    if abs(rounded) >= 1.0 and rounded.is_integer():
        return int(rounded)
    return rounded


class _Text(str):
    """A string whose repr is itself, so a glued figure shows without quotes."""

    def __repr__(self) -> str:
        return str(self)


def glue(name: str, value: Any, digits: int = 3, fmt: Optional[str] = None) -> None:
    """Round a figure and glue it into the book under `name`.

    The prose then shows it with ``{glue:text}`name``` (see the MyST-NB
    documentation on glue). Numbers are rounded with :func:`sig` first; other
    values (strings, figures, tables) are glued as they are. Nothing is
    displayed in the notebook itself.

    A matplotlib figure is glued and then closed, so the notebook does not
    also draw it inline: the page shows it once, where a ``{glue:figure}``
    directive places it, numbered, with its caption and alt text::

        ```{glue:figure} fig-zero-loss-gap
        :name: fig-zero-loss-gap
        :alt: What the figure shows, in words.

        The caption: the finding the figure shows.
        ```

    Parameters
    ----------
    name : str
        The key the prose refers to. Unique within a notebook.
    value : object
        The figure. Python and NumPy numbers are rounded; booleans and other
        objects are passed on unchanged.
    digits : int, default=3
        Significant digits for numbers.
    fmt : str, optional
        A format specification (``".1%"``, ``".2e"``) that replaces the
        rounding: the value is glued as the formatted text.

    Returns
    -------
    None
        Nothing, so that a cell ending in ``glue(...)`` displays nothing. To
        print or assert on the figure as the prose shows it, round it with
        :func:`sig` (``glue`` rounds with the same function).
    """
    try:
        from myst_nb import glue as _glue
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "companion.book.glue hands figures to a Jupyter Book through MyST-NB, which is not "
            "installed. Install it with `pip install myst-nb` (or this repository's `[book]` extra)."
        ) from exc

    if fmt is not None:
        shown: Any = _Text(format(value, fmt))
    elif isinstance(value, (bool, np.bool_)):
        shown = bool(value)
    elif isinstance(value, (int, np.integer)):
        shown = int(value)
    elif isinstance(value, (float, np.floating)):
        shown = sig(value, digits)
    else:
        shown = value
    _glue(name, shown, display=False)
    if _is_figure(value):
        import matplotlib.pyplot as plt

        plt.close(value)


def _is_figure(value: Any) -> bool:
    """Whether `value` is a matplotlib figure (without importing matplotlib)."""
    return any(
        cls.__module__ == "matplotlib.figure" and cls.__name__ == "Figure"
        for cls in type(value).__mro__
    )


class Table:
    """A small table that a notebook shows as HTML and a terminal as aligned text.

    The book's chapters display their summaries with it, so the rendered page
    has a real table (no fixed-width text cut off at the column's edge) and
    strict ``nbval`` still compares plain text. Numbers are shown as given:
    round them first (:func:`sig`, format strings).

    Parameters
    ----------
    rows : sequence of sequences
        One sequence of cells per row. A cell is shown with ``str``; a cell
        that has a ``_repr_html_`` method (a link, for example) is shown with
        it in HTML.
    columns : sequence of str
        Column headers, one per cell of a row.
    caption : str, optional
        A caption above the table.

    Raises
    ------
    ValueError
        If a row has a different number of cells than there are columns.

    Notes
    -----
    In a column headed ``Verdict``, a cell holding one word of
    :data:`VERDICTS` is marked ``class="verdict verdict-<word>"`` in HTML,
    which the book's stylesheet draws as a badge (as it does for Markdown
    tables, through ``_ext/book_html.py``).

    Examples
    --------
    >>> print(Table([["digits", 0.9], ["wine", 0.95]], ["data", "accuracy"]))
    data    accuracy
    digits       0.9
    wine        0.95
    """

    def __init__(self, rows: Sequence[Sequence[Any]], columns: Sequence[str],
                 caption: Optional[str] = None) -> None:
        self.columns = [str(c) for c in columns]
        self.rows = [list(r) for r in rows]
        self.caption = caption
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"row {i} has {len(row)} cells but there are "
                                 f"{len(self.columns)} columns ({self.columns}).")

    @staticmethod
    def _numeric(value: Any) -> bool:
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)

    def __str__(self) -> str:
        cells = [self.columns] + [[str(v) for v in row] for row in self.rows]
        widths = [max(len(r[j]) for r in cells) for j in range(len(self.columns))]
        numeric = [all(self._numeric(r[j]) for r in self.rows) and bool(self.rows)
                   for j in range(len(self.columns))]
        lines = [self.caption] if self.caption else []
        for r in cells:
            parts = [c.rjust(w) if num and j > 0 else c.ljust(w)
                     for j, (c, w, num) in enumerate(zip(r, widths, numeric))]
            lines.append("  ".join(parts).rstrip())
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        names = [c.strip().lower() for c in self.columns]
        verdict_column = names.index("verdict") if "verdict" in names else -1

        def cell(value: Any, tag: str, j: int = -1) -> str:
            inner = value._repr_html_() if hasattr(value, "_repr_html_") else html.escape(str(value))
            word = str(value).strip().lower()
            if tag == "td" and j == verdict_column and word in VERDICTS:
                return (f'<td class="verdict verdict-{word}">'
                        f'<span class="verdict-word">{inner}</span></td>')
            numeric = ' class="num"' if self._numeric(value) else ""
            return f"<{tag}{numeric}>{inner}</{tag}>"

        head = "".join(cell(c, "th") for c in self.columns)
        body = "".join("<tr>" + "".join(cell(v, "td", j) for j, v in enumerate(row)) + "</tr>"
                       for row in self.rows)
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
