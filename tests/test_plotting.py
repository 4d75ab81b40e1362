"""companion.book.plotting: the book's figures, drawn off-screen (Agg)."""

from __future__ import annotations

from typing import Any, Iterator

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # this test process only; notebook kernels keep their own backend

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from companion.book.plotting import (  # noqa: E402
    COLORS,
    COLUMN_WIDTH,
    DPI,
    filter_grid,
    STYLE,
    new_figure,
    place_legend,
    plot_curves,
    plot_histograms,
)


@pytest.fixture
def ax() -> Iterator[Any]:
    fig, axes = new_figure()
    yield axes
    plt.close(fig)


def _same_colour(a: Any, b: str) -> bool:
    return bool(mcolors.to_hex(a) == mcolors.to_hex(b))


def test_new_figure_sizes() -> None:
    fig, ax = new_figure()
    assert tuple(fig.get_size_inches()) == (COLUMN_WIDTH, 3.4) and hasattr(ax, "plot")
    assert fig.dpi == DPI == 150
    plt.close(fig)
    fig, ax = new_figure(width=4.0)
    assert tuple(fig.get_size_inches()) == (4.0, 3.4)
    plt.close(fig)
    # Never wider than the column: three panels wrap onto two rows of at most two.
    fig, axes = new_figure(3, width=4.0, height=2.0)
    assert len(axes) == 3 and tuple(fig.get_size_inches()) == (COLUMN_WIDTH, 4.0)
    assert len(fig.axes) == 3
    # An odd count: the first panel takes the top row, the two to compare stand side by side.
    first, left, right = (a.get_subplotspec() for a in axes)
    assert first.colspan == range(0, 2) and first.rowspan == range(0, 1)
    assert left.rowspan == right.rowspan == range(1, 2) and (left.colspan, right.colspan) == (range(0, 1),
                                                                                           range(1, 2))
    plt.close(fig)
    # Fonts sized for the column on a phone.
    assert matplotlib.rcParams["xtick.labelsize"] == STYLE["xtick.labelsize"] >= 11
    with pytest.raises(ValueError, match="ncols"):
        new_figure(0)


def test_plot_curves_colours_roles_and_draws_reference_lines(ax: Any) -> None:
    result = plot_curves(ax, {"tfr": ([3.0, 2.0, 1.0], "failing"), "ours": ([3.0, 1.0, 0.5], "fixed"),
                              "plain": [1.0, 1.0, 1.0]},
                         references={"chance log(n!)": 2.5, "floor": 0.2, "other": 1.5},
                         title="A title", logy=True)
    assert result is None  # a cell ending with it stores no text output
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert _same_colour(lines["tfr"].get_color(), COLORS["failing"])
    assert _same_colour(lines["ours"].get_color(), COLORS["fixed"])
    assert _same_colour(lines["plain"].get_color(), COLORS["other"])
    np.testing.assert_array_equal(lines["tfr"].get_xdata(), [1, 2, 3])  # epochs from 1
    assert lines["chance log(n!)"].get_linestyle() == "--"
    assert _same_colour(lines["chance log(n!)"].get_color(), COLORS["chance"])
    assert lines["floor"].get_linestyle() == ":" and _same_colour(lines["floor"].get_color(), COLORS["floor"])
    assert lines["other"].get_linestyle() == "-."
    assert ax.get_title() == "A title" and ax.get_yscale() == "log" and ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert ax.get_legend() is not None


def test_plot_curves_marks_non_finite_values(ax: Any) -> None:
    plot_curves(ax, {"diverged": ([2.0, np.nan, -np.inf, 1.0], "failing")}, x=[10, 20, 30, 40], logx=True)
    lines = {line.get_label(): line for line in ax.get_lines()}
    # One vertical line per non-finite x (the first labelled), across the whole height:
    # never a point that reads as a value.
    marks = [line for line in ax.get_lines() if line.get_xdata()[0] in (20, 30)
             and list(line.get_ydata()) == [0, 1]]
    assert sorted(line.get_xdata()[0] for line in marks) == [20, 30]
    assert "diverged: not finite" in lines and all(m.get_transform() != ax.transData for m in marks)
    drawn = np.asarray(lines["diverged"].get_ydata(), dtype=float)
    assert np.isnan(drawn[1]) and np.isnan(drawn[2]) and drawn[0] == 2.0  # gaps, not -inf
    assert ax.get_xscale() == "log"


def test_filter_grid_tiles_filters_and_checks_their_shape(ax: Any) -> None:
    W = np.arange(5 * 6, dtype=float).reshape(5, 6)
    W[1] = 3.0  # a constant filter is drawn flat, without dividing by zero
    with np.errstate(all="raise"):
        filter_grid(ax, W, (2, 3), n=4, title="Filters")
    (image,) = ax.get_images()
    canvas = np.asarray(image.get_array())
    assert canvas.shape == (2 * 3 + 1, 2 * 4 + 1)  # 4 filters: a 2 x 2 grid of 2 x 3 images, 1-pixel gaps
    np.testing.assert_allclose(canvas[1:3, 1:4].ravel(), np.linspace(0, 1, 6))  # each filter scaled to [0, 1]
    assert (canvas[1:3, 5:8] == 0).all()
    assert not ax.axison and ax.get_title() == "Filters"
    with pytest.raises(ValueError, match="cannot be shown as 3x3 images"):
        filter_grid(ax, W, (3, 3))


@pytest.mark.parametrize("logx", [False, True])
def test_plot_histograms_share_bins_and_colour_roles(ax: Any, logx: bool) -> None:
    rng = np.random.default_rng(0)
    plot_histograms(ax, {"lr 1.0": (rng.normal(size=200) * 100, "failing"),
                         "lr 0.06": (rng.normal(size=200), "fixed")},
                    bins=20, xlabel="weight", title="Weights", logx=logx)
    assert len(ax.patches) == 2 * 20
    faces = {mcolors.to_hex(p.get_facecolor()) for p in ax.patches}
    assert faces == {mcolors.to_hex(COLORS["failing"]), mcolors.to_hex(COLORS["fixed"])}
    assert ax.get_xscale() == ("log" if logx else "linear")
    assert ax.get_xlabel() == "weight" and ax.get_ylabel() == "count" and ax.get_title() == "Weights"


def test_plot_curves_keeps_coinciding_curves_and_zeros_visible(ax: Any) -> None:
    plot_curves(ax, {"tfr": ([1.0, 0.0, 0.0], "failing"), "keras-rs": ([1.0, 0.0, 0.5], "failing"),
                     "ours": ([1.0, 0.1, 0.01], "fixed")},
                references={"oracle NDCG": 0.5}, logy=True)
    lines = {line.get_label(): line for line in ax.get_lines()}
    # The same role twice: the second is dashed and of another shade; earlier curves are
    # thicker, with their own marker.
    assert lines["tfr"].get_linestyle() == "-" and lines["keras-rs"].get_linestyle() == "--"
    assert not _same_colour(lines["tfr"].get_color(), lines["keras-rs"].get_color())
    assert lines["tfr"].get_linewidth() > lines["keras-rs"].get_linewidth() > lines["ours"].get_linewidth()
    assert len({lines[k].get_marker() for k in ("tfr", "keras-rs", "ours")}) == 3
    # Exactly 0 cannot be drawn on a log axis: a gap in the curve, and a vertical mark at each x.
    assert np.isnan(np.asarray(lines["tfr"].get_ydata(), dtype=float)[1:]).all()
    np.testing.assert_array_equal(lines["tfr: exactly 0"].get_xdata(), [2, 2])
    np.testing.assert_array_equal(lines["keras-rs: exactly 0"].get_xdata(), [2, 2])
    tfr_marks = [line for line in ax.get_lines() if line.get_label() in ("tfr: exactly 0", "_nolegend_")
                 and _same_colour(line.get_color(), lines["tfr"].get_color())]
    assert sorted(m.get_xdata()[0] for m in tfr_marks) == [2, 3]
    assert "ours: exactly 0" not in lines
    assert lines["oracle NDCG"].get_linestyle() == "-." and _same_colour(lines["oracle NDCG"].get_color(),
                                                                         COLORS["oracle"])


def test_plot_curves_draws_zeros_on_a_linear_axis(ax: Any) -> None:
    plot_curves(ax, {"loss": ([1.0, 0.0], "failing")})
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["loss"].get_ydata(), [1.0, 0.0])
    assert "loss: exactly 0" not in lines


@pytest.mark.parametrize("where", ["below", "right", "inside"])
def test_place_legend_puts_the_legend_off_the_data(where: str) -> None:
    fig, ax = new_figure()
    plot_curves(ax, {"failing": ([3.0, 2.0, 1.0], "failing"), "fixed": ([3.0, 1.0, 0.5], "fixed")},
                legend=where)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box, axes_box = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    if where == "below":
        xlabel = ax.xaxis.label.get_window_extent(renderer)
        assert box.y1 <= xlabel.y0 + 1 and box.y0 >= 0  # under the x label, inside the figure
    elif where == "right":
        assert box.x0 >= axes_box.x1 and box.x1 <= fig.bbox.x1 + 1
    else:
        assert axes_box.contains(box.x0 + 1, box.y0 + 1)
    plt.close(fig)


def test_place_legend_rejects_an_unknown_place_and_skips_unlabelled_axes(ax: Any) -> None:
    with pytest.raises(ValueError, match="'below', 'right', 'inside' or 'none'"):
        place_legend(ax, "top")
    place_legend(ax)  # nothing labelled: no legend
    assert ax.get_legend() is None
    plot_curves(ax, {"x": [1.0, 2.0]}, legend="none")
    assert ax.get_legend() is None
