"""The book's figures, in one style.

Every chapter draws with these functions, so "failing" is the same colour on
every page and every loss plot carries its reference lines (the chance level
and the floor for ListMLE). Defined in :doc:`/book/ranking/zero_loss`.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["COLORS", "COLUMN_WIDTH", "DPI", "STYLE", "plot_curves", "new_figure", "filter_grid",
           "plot_histograms", "place_legend"]

#: One colour per role, across the whole book.
COLORS: dict[str, str] = {
    "failing": "#c0392b",   # red
    "fixed": "#1f6fb4",     # blue
    "other": "#7f7f7f",     # grey: a third run, a remedy that did not help
    "chance": "#444444",    # dark grey, dashed: the uniform-score level
    "floor": "#2ca02c",     # green, dotted: the lowest reachable loss
    "oracle": "#7b3294",    # purple, dash-dot: an achievable reference (oracle, exact value)
}
_REFERENCE_STYLE = {"chance": "--", "floor": ":", "oracle": "-."}
# Curves drawn earlier are drawn thicker and underneath, each with its own
# marker, so that a curve which coincides with a later one stays visible.
_MARKERS = ("o", "s", "^", "D", "v", "P")

Curve = Union[Sequence[float], Tuple[Sequence[float], str]]


#: Width of the book's text column, in inches at 96 CSS pixels per inch (660 px).
COLUMN_WIDTH = 6.9
#: Resolution of every figure (the book shows it scaled to the column).
DPI = 150
#: Panels per row: more would shrink tick labels below legibility in the column.
MAX_PANELS_PER_ROW = 2

#: Font sizes, in points, for a figure :data:`COLUMN_WIDTH` wide. The page
#: scales the figure to the column: 660 px at 1280 px, 358 px on a 390 px
#: phone, where a point of this figure is 0.72 px. Matplotlib's defaults (10
#: pt ticks, 8 pt legends) came out at 6 to 7 px on a phone; these give 8 to 9
#: px there and 15 to 17 px on a laptop, the size of the text beside them.
STYLE: dict[str, Any] = {
    "font.size": 12.5,
    "axes.titlesize": 12.5,
    "axes.labelsize": 12.5,
    "xtick.labelsize": 11.5,
    "ytick.labelsize": 11.5,
    "legend.fontsize": 11.5,
    "legend.title_fontsize": 11.5,
    "legend.frameon": False,
    "figure.titlesize": 13,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.markersize": 5,
}

#: Line styles given, in turn, to the runs that share a role, so that two
#: failing runs never draw as one red line (their shades differ too).
_LINESTYLES = ("-", "--", "-.", (0, (1, 1.5)), (0, (5, 1.5, 1, 1.5, 1, 1.5)))


def new_figure(ncols: int = 1, *, width: Optional[float] = None,
               height: float = 3.4) -> tuple[Any, Any]:
    """A figure with `ncols` panels, sized to the book's column, at :data:`DPI`.

    At most :data:`MAX_PANELS_PER_ROW` panels stand side by side; more wrap
    onto further rows (a figure three panels wide, scaled into the column,
    had tick labels too small to read). With an odd number of panels the
    first takes the whole top row, so no quarter of the figure is left
    empty and the panels to compare (the last two) stand side by side.
    Fonts follow :data:`STYLE`.

    Parameters
    ----------
    ncols : int, default=1
        Number of panels.
    width : float, optional
        Width of a single-panel figure in inches, at most :data:`COLUMN_WIDTH`
        (the default). Figures with several panels always take the column.
    height : float, default=3.4
        Height of one row of panels, in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : matplotlib.axes.Axes, or ndarray of `ncols` Axes in reading order
    """
    import matplotlib.pyplot as plt

    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}.")
    per_row = min(ncols, MAX_PANELS_PER_ROW)
    nrows = -(-ncols // per_row)
    fig_width = COLUMN_WIDTH if ncols > 1 else min(width or COLUMN_WIDTH, COLUMN_WIDTH)
    import matplotlib

    for key, value in STYLE.items():
        matplotlib.rcParams[key] = value  # type: ignore[index]
    fig = plt.figure(figsize=(fig_width, height * nrows), dpi=DPI, layout="constrained")
    grid = fig.add_gridspec(nrows, per_row)
    slots = [(r, c) for r in range(nrows) for c in range(per_row)]
    axes: list[Any] = []
    if ncols % per_row:  # an odd count: the first panel spans the top row
        axes.append(fig.add_subplot(grid[0, :]))
        slots = slots[per_row:]
    for r, c in slots[:ncols - len(axes)]:
        axes.append(fig.add_subplot(grid[r, c]))
    return fig, (axes[0] if ncols == 1 else np.array(axes, dtype=object))


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
    legend_outside: bool = False,
    legend: str = "below",
) -> None:
    """Draw learning curves (or any curves) with reference lines.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    curves : mapping of str to values or (values, role)
        Label to a sequence of y values, or to ``(values, role)`` with `role`
        a key of :data:`COLORS` (``"failing"``, ``"fixed"``, ``"other"``,
        ``"oracle"``), or a matplotlib colour (``"C3"``, ``"#8c564b"``) for a
        curve that has no role in the book's scheme: one colour per learning
        rate of a sweep (:doc:`/book/rbm/learning_rate`), for example.
        Runs that share a role get their own shade and line style (two
        failing runs never draw as one red line). Earlier curves are drawn
        thicker and underneath, each with its own marker, so no curve hides
        another.
        Non-finite values (NaN, -inf) are left as gaps, and each x where a
        curve is not finite is marked by a thin vertical line in the curve's
        colour (labelled "not finite" in the legend): a mark across the
        whole height, so it never reads as a value. On a log y-axis, values
        of exactly 0 are gaps marked the same way ("exactly 0").
    references : mapping of str to float, optional
        Horizontal lines, label to y. A label starting with ``"chance"``,
        ``"floor"`` or ``"oracle"`` takes that role's colour and dash.
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
    legend_outside : bool, default=False
        Same as ``legend="right"`` (kept for older calls).
    legend : {"below", "right", "inside", "none"}, default="below"
        Where the legend goes (:func:`place_legend`): below or right of the
        axes, off the data, or inside them.

    Notes
    -----
    Returns nothing, so that a notebook cell ending with this call stores no
    ``<Axes ...>`` text output.
    """
    n_curves = len(curves)
    role_uses: dict[str, int] = {}
    for i, (label, curve) in enumerate(curves.items()):
        if isinstance(curve, tuple) and len(curve) == 2 and isinstance(curve[1], str):
            values, role = curve
        else:
            values, role = curve, "other"
        y = np.asarray(values, dtype=np.float64)
        xs = np.arange(1, len(y) + 1) if x is None else np.asarray(x, dtype=np.float64)
        use = role_uses.get(role, 0)
        role_uses[role] = use + 1
        base = COLORS.get(role) or (role if _is_colour(role) else COLORS["other"])
        color = _shade(base, use)
        linestyle = _LINESTYLES[use % len(_LINESTYLES)]
        finite = np.isfinite(y)
        zero = finite & (y == 0.0) if logy else np.zeros_like(finite)
        shown = finite & ~zero
        ax.plot(xs, np.where(shown, y, np.nan), marker=_MARKERS[i % len(_MARKERS)] if markers else None,
                markersize=3 + 1.5 * (n_curves - 1 - i), color=color, label=label, linestyle=linestyle,
                linewidth=1.5 + 1.5 * (n_curves - 1 - i), alpha=0.85, zorder=3 + i)
        for mask, style, what in ((~finite, (0, (1, 2)), "not finite"), (zero, (0, (4, 2)), "exactly 0")):
            for k, at in enumerate(xs[mask]):
                ax.axvline(at, color=color, linestyle=style, linewidth=1.0, alpha=0.6, zorder=2,
                           label=f"{label}: {what}" if k == 0 else "_nolegend_")
    for label, value in (references or {}).items():
        ref_role = next((r for r in _REFERENCE_STYLE if label.lower().startswith(r)), None)
        ax.axhline(value, color=COLORS[ref_role] if ref_role else COLORS["other"],
                   linestyle=_REFERENCE_STYLE.get(ref_role or "", "-."), linewidth=1.2, label=label, zorder=1)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if x is None and not logx:
        # Epochs are whole numbers: no tick at epoch 2.5.
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    place_legend(ax, "right" if legend_outside else legend)


def place_legend(ax: Any, where: str = "below") -> None:
    """Put the legend of `ax` where it covers no data.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes whose labelled artists the legend lists.
    where : {"below", "right", "inside", "none"}, default="below"
        ``"below"``: under the axes and their x label, in up to two columns
        (best on a phone: the plot keeps the column's width); ``"right"``:
        beside the axes; ``"inside"``: matplotlib's best place inside the
        axes (only for a plot with room to spare); ``"none"``: no legend.
        The figure's constrained layout makes room for a legend outside.

    Raises
    ------
    ValueError
        If `where` is not one of the four places.
    """
    from matplotlib.transforms import ScaledTranslation

    if where not in ("below", "right", "inside", "none"):
        raise ValueError(f"where must be 'below', 'right', 'inside' or 'none', got {where!r}.")
    handles, labels = ax.get_legend_handles_labels()
    if where == "none" or not handles:
        return
    if where == "inside":
        ax.legend(loc="best")
    elif where == "right":
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    else:
        # Anchored a fixed distance under the axes (tick labels and x label), in points,
        # so the gap does not depend on the panel's height.
        fig = ax.figure
        below = ax.transAxes + ScaledTranslation(0, -42 / 72, fig.dpi_scale_trans)
        longest = max(len(str(label)) for label in labels)
        ncols = 1 if len(handles) == 1 or longest > 28 else 2
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below,
                  ncols=ncols, borderaxespad=0.0, handlelength=2.6)


def _shade(color: str, use: int) -> str:
    """The `use`-th shade of `color`: itself, then darker and lighter variants."""
    if use == 0:
        return color
    from matplotlib.colors import to_hex, to_rgb

    rgb = np.asarray(to_rgb(color))
    factor = (0.6, 1.45, 0.8, 1.25)[(use - 1) % 4]
    shaded = rgb * factor if factor < 1 else 1 - (1 - rgb) / factor
    r, g, b = (float(v) for v in np.clip(shaded, 0.0, 1.0))
    return str(to_hex((r, g, b)))


def _is_colour(value: str) -> bool:
    """Whether `value` is a colour matplotlib understands (a role name is not)."""
    from matplotlib.colors import is_color_like

    return bool(is_color_like(value))


def filter_grid(
    ax: Any,
    components: Any,
    image_shape: tuple[int, int],
    *,
    n: int = 64,
    title: Optional[str] = None,
) -> None:
    """Show the first `n` rows of a weight matrix as small images, in one axes.

    Each hidden unit's weights to the visible units form an image of
    `image_shape`; a healthy RBM on digits learns strokes and blobs, a failing
    one noise or nothing. Each filter is scaled to its own range.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    components : array-like of shape (n_components, n_features)
        Weights, hidden by visible (scikit-learn's ``components_``).
    image_shape : (int, int)
        Height and width; their product must equal n_features.
    n : int, default=64
        Filters to show (a square-ish grid).
    title : str, optional
        Title stating the finding.

    Raises
    ------
    ValueError
        If `image_shape` does not match the number of features.
    """
    W = np.asarray(components, dtype=np.float64)
    h, w = image_shape
    if W.ndim != 2 or W.shape[1] != h * w:
        raise ValueError(f"components of shape {W.shape} cannot be shown as {h}x{w} images.")
    W = W[:n]
    cols = int(np.ceil(np.sqrt(len(W))))
    rows = int(np.ceil(len(W) / cols))
    canvas = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1), np.nan)
    for i, f in enumerate(W):
        lo, hi = f.min(), f.max()
        img = (f - lo) / (hi - lo) if hi > lo else np.zeros_like(f)
        r, c = divmod(i, cols)
        canvas[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = img.reshape(h, w)
    ax.imshow(canvas, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def plot_histograms(
    ax: Any,
    samples: Mapping[str, Tuple[Any, str]],
    *,
    bins: int = 50,
    xlabel: str = "value",
    title: Optional[str] = None,
    logx: bool = False,
    legend: str = "below",
) -> None:
    """Overlaid histograms (weights, updates, activations), coloured by role.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    samples : mapping of str to (values, role)
        Label to ``(values, role)``, with `role` a key of :data:`COLORS`.
    bins : int, default=50
        Bins shared by all histograms.
    xlabel : str, default="value"
        Label of the x axis, with units.
    title : str, optional
        Title stating the finding.
    logx : bool, default=False
        Bin and draw on a log scale of ``|value|`` (for magnitudes that span
        decades, such as weights of a failing and a healthy run).
    legend : {"below", "right", "inside", "none"}, default="below"
        Where the legend goes (:func:`place_legend`).
    """
    arrays = {label: np.asarray(values, dtype=np.float64).ravel() for label, (values, _) in samples.items()}
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays.values()])
    if logx:
        finite = np.abs(finite[finite != 0])
        edges = np.logspace(np.log10(finite.min()), np.log10(finite.max()), bins + 1)
        ax.set_xscale("log")
    else:
        edges = np.linspace(finite.min(), finite.max(), bins + 1)
    for label, (_, role) in samples.items():
        a = arrays[label]
        a = np.abs(a[a != 0]) if logx else a
        ax.hist(a[np.isfinite(a)], bins=edges, alpha=0.55, color=COLORS.get(role, COLORS["other"]), label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    if title:
        ax.set_title(title)
    place_legend(ax, legend)
