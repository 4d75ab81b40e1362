"""The book's figures, in one style.

Every chapter draws with these functions, so "failing" is the same colour on
every page and every loss plot carries its reference lines (the chance level
and the floor for ListMLE). Defined in :doc:`/book/ranking/zero_loss`.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["COLORS", "plot_curves", "new_figure"]

#: One colour per role, across the whole book.
COLORS: dict[str, str] = {
    "failing": "#c0392b",   # red
    "fixed": "#1f6fb4",     # blue
    "other": "#7f7f7f",     # grey: a third run, a remedy that did not help
    "chance": "#444444",    # dark grey, dashed: the uniform-score level
    "floor": "#2ca02c",     # green, dotted: the lowest reachable loss
}
_REFERENCE_STYLE = {"chance": "--", "floor": ":"}

Curve = Union[Sequence[float], Tuple[Sequence[float], str]]


def new_figure(ncols: int = 1, *, width: float = 6.4, height: float = 3.6) -> tuple[Any, Any]:
    """A figure with `ncols` axes side by side, in the book's size.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : matplotlib.axes.Axes or ndarray of Axes
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols if ncols > 1 else width, height),
                             constrained_layout=True)
    return fig, axes


def plot_curves(
    ax: Any,
    curves: Mapping[str, Curve],
    *,
    references: Optional[Mapping[str, float]] = None,
    x: Optional[Sequence[float]] = None,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    title: Optional[str] = None,
    logx: bool = False,
    logy: bool = False,
    markers: bool = True,
) -> None:
    """Draw learning curves (or any curves) with reference lines.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    curves : mapping of str to values or (values, role)
        Label to a sequence of y values, or to ``(values, role)`` with `role`
        a key of :data:`COLORS` (``"failing"``, ``"fixed"``, ``"other"``).
        Non-finite values (NaN, -inf) are left as gaps and marked with an
        ``x`` on the axis, so a diverged run is visible.
    references : mapping of str to float, optional
        Horizontal lines, label to y. A label starting with ``"chance"`` or
        ``"floor"`` takes that role's colour and dash.
    x : sequence of float, optional
        Shared x values; default 1, 2, ... (epochs).
    xlabel, ylabel : str
        Axis labels; put units in them.
    title : str, optional
        A title that states the finding.
    logx, logy : bool, default=False
        Logarithmic axes.
    markers : bool, default=True
        Mark each point.

    Notes
    -----
    Returns nothing, so that a notebook cell ending with this call stores no
    ``<Axes ...>`` text output.
    """
    for i, (label, curve) in enumerate(curves.items()):
        if isinstance(curve, tuple) and len(curve) == 2 and isinstance(curve[1], str):
            values, role = curve
        else:
            values, role = curve, "other"
        y = np.asarray(values, dtype=np.float64)
        xs = np.arange(1, len(y) + 1) if x is None else np.asarray(x, dtype=np.float64)
        color = COLORS.get(role, COLORS["other"])
        finite = np.isfinite(y)
        ax.plot(xs, np.where(finite, y, np.nan), marker="o" if markers else None, markersize=3,
                color=color, label=label, linewidth=1.8, zorder=3 + i)
        if (~finite).any():
            ax.plot(xs[~finite], np.zeros((~finite).sum()), linestyle="none", marker="x", color=color,
                    markersize=7, transform=ax.get_xaxis_transform(), clip_on=False,
                    label=f"{label}: not finite")
    for label, value in (references or {}).items():
        ref_role = next((r for r in _REFERENCE_STYLE if label.lower().startswith(r)), None)
        ax.axhline(value, color=COLORS[ref_role] if ref_role else COLORS["other"],
                   linestyle=_REFERENCE_STYLE.get(ref_role or "", "-."), linewidth=1.2, label=label, zorder=1)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
