"""Laying the report's plots out: a figure of one panel per group, one legend for all
panels, a note in an empty panel, and point labels that do not overlap. A label goes next to
its point, moved up or down by whole lines until it overlaps no label placed before it and
stays inside its Axes; sizes in pixels are known only when a figure is drawn (after its
layout), so the placing happens then, by an invisible artist drawn just before the labels:
the same in a PNG and an SVG, at any size."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

PlotFn = Callable[[pd.DataFrame, Axes], Axes]  # draws one plot of the results into an Axes
OFFSET = (4.0, -9.0)  # points from the point to the label's lower left corner
MAX_LINES = 12  # how many lines up or down a label may move
DOT = 5.0  # points: the diameter of a labelled point's dot


def _shifts() -> list[int]:
    """Lines to move a label by, nearest first: 0, -1, 1, -2, 2, ..."""
    return [0, *(s for n in range(1, MAX_LINES + 1) for s in (-n, n))]


def text_extent(label: Annotation, renderer: RendererBase) -> Bbox:
    """The display box of ``label``'s text alone (an Annotation's own extent adds its line)."""
    label.update_positions(renderer)
    return Text.get_window_extent(label, renderer)


class LabelPlacer(Artist):
    """Places ``labels`` (Annotations in offset points) at draw time; draws nothing itself."""

    zorder = 2.9  # just below text (3): it runs before the labels are drawn

    def __init__(self, ax: Axes, labels: list[Annotation]):
        super().__init__()
        self.ax, self.labels = ax, labels
        self.set_in_layout(False)  # no extent of its own for the layout engines

    def _dots(self, renderer: RendererBase) -> list[Bbox]:
        """The display boxes of the labelled points' dots (``DOT`` points wide)."""
        r = DOT / 2 * renderer.dpi / 72
        return [Bbox.from_extents(x - r, y - r, x + r, y + r)
                for x, y in self.ax.transData.transform([a.xy for a in self.labels])]

    def draw(self, renderer: RendererBase) -> None:
        """Move each label (left to right) to the nearest line inside the Axes that is free
        of the dots and of the labels placed before it."""
        frame = self.ax.get_window_extent(renderer)
        taken = self._dots(renderer)
        for label in sorted(self.labels, key=lambda a: a.xy[0]):
            line = text_extent(label, renderer).height * 72 / renderer.dpi + 1
            for shift in _shifts():
                label.xyann = (OFFSET[0], OFFSET[1] + shift * line)
                box = text_extent(label, renderer)
                inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and \
                    frame.y0 <= box.y0 and box.y1 <= frame.y1
                if inside and not any(box.overlaps(t) for t in taken):
                    break
            taken.append(box.padded(1))
        self.stale = False


def place_labels(ax: Axes, points: list[tuple[float, float, str, str]],
                 fontsize: float = 6) -> list[Annotation]:
    """Mark each ``(x, y, text, colour)`` of ``ax`` (data coordinates) with a dot and its
    label, so that once drawn no label overlaps another or a dot; returns the labels."""
    for x, y, _, colour in points:
        ax.plot([x], [y], "o", color=colour, markersize=DOT)
    labels = [ax.annotate(text, (x, y), textcoords="offset points", xytext=OFFSET,
                          fontsize=fontsize, color=colour,
                          bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                                "edgecolor": "none", "alpha": 0.8},  # legible over lines
                          arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 0.4,
                                      "shrinkA": 0, "shrinkB": DOT / 2})
              for x, y, text, colour in points]
    if labels:
        ax.add_artist(LabelPlacer(ax, labels))
    return labels


def no_data(ax: Axes, text: str) -> Axes:
    """Write ``text`` in the middle of an empty ``ax`` (no ticks); returns it."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def facet_figure(df: pd.DataFrame, by: list[str], plot: PlotFn, ncols: int = 3,
                 panel: tuple[float, float] = (5.0, 3.6)) -> Figure:
    """A figure with one Axes per group of ``df`` by ``by`` (titled by the group), each drawn
    by ``plot``; one "no data" Axes when ``df`` is empty. Panel size in inches."""
    groups = list(df.groupby(by, sort=False)) if not df.empty else []
    count = max(len(groups), 1)
    cols = min(ncols, count)
    rows = -(-count // cols)
    fig = Figure(figsize=(panel[0] * cols, panel[1] * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    if not groups:
        no_data(axes[0], "no data")
    for ax, (key, g) in zip(axes, groups, strict=False):
        plot(g, ax)
        ax.set_title(" / ".join(map(str, key if isinstance(key, tuple) else (key,))), fontsize=9)
    for ax in axes[len(groups) or 1:]:
        ax.set_visible(False)
    return fig


def single_figure(df: pd.DataFrame, plot: PlotFn, size: tuple[float, float] = (7, 4.5)) -> Figure:
    """A figure with one Axes drawn by ``plot``. Size in inches."""
    fig = Figure(figsize=size, layout="constrained")
    plot(df, fig.subplots())
    return fig


def one_legend(fig: Figure, names: list[str]) -> None:
    """One legend for every panel of ``fig``, outside them on the right, backends in
    ``names``' order, in place of each panel's own (which would hide lines and labels)."""
    handles: dict[str, object] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    shown = [n for n in names if n in handles]
    if shown:
        fig.legend([handles[n] for n in shown], shown, loc="outside right upper", fontsize=8)
