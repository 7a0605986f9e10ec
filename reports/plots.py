"""The report's plots (matplotlib, Agg): one function per plot, taking ``(df, ax)`` with ``df``
the tidy results and returning the Axes, plus helpers that lay them out as figures. Nothing
here writes a file; the CLI does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
)

from reports import backends, metrics  # noqa: E402
from reports.metrics import EAGER  # noqa: E402
from reports.units import fmt_steps  # noqa: E402

PlotFn = Callable[[pd.DataFrame, Axes], Axes]
_DEVICE_MARKERS = {"cpu": "o", "cuda": "s"}


def _log_speedup_axis(ax: Axes) -> None:
    """A log y axis of speedups labelled 0.5x, 1x, 2x, 5x ... rather than powers of ten."""
    ax.set_yscale("log")
    axis = ax.yaxis
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    axis.set_minor_formatter(NullFormatter())


def _no_data(ax: Axes, text: str) -> Axes:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def speedup_bars(df: pd.DataFrame, ax: Axes) -> Axes:
    """Bars of speedup against eager (log scale) per workload/scenario and backend, a line at
    1; cases that are not ok (or whose eager is not) are counted in a note, not drawn."""
    s = metrics.speedups(df)
    s = s[s["backend"] != EAGER]
    valid = s.dropna(subset=["speedup"])
    if valid.empty:
        return _no_data(ax, "no valid speedups")
    labels = list(dict.fromkeys(s["workload"] + "\n" + s["scenario"]))
    names, colors = backends.order(valid), backends.colors(valid)
    width = min(0.8 / len(names), 0.3)
    for i, backend in enumerate(names):
        rows = valid[valid["backend"] == backend]
        x = [labels.index(w + "\n" + sc) + (i - (len(names) - 1) / 2) * width
             for w, sc in zip(rows["workload"], rows["scenario"], strict=True)]
        ax.bar(x, rows["speedup"] - 1.0, bottom=1.0, width=width, label=backend,
               color=colors[backend])  # from 1x: up is faster, down is slower
    ax.axhline(1.0, color="black", linewidth=1, linestyle="--")
    _log_speedup_axis(ax)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_ylim(min(valid["speedup"].min(), 1.0) / 1.5, max(valid["speedup"].max(), 1.0) * 1.5)
    ax.set_ylabel("speedup vs eager (x, log)")
    ax.legend(fontsize=7, ncols=2)
    skipped = s[s["speedup"].isna()]
    skipped = skipped["status"].where(skipped["status"] != "ok", "eager not ok").value_counts()
    if not skipped.empty:
        note = "not drawn: " + ", ".join(f"{n} {st}" for st, n in skipped.items())
        ax.set_xlabel(note, fontsize=7, color="0.4")
    return ax


def _ok_train(df: pd.DataFrame) -> pd.Series:
    """The ok rows of the plain training step in steady state (``train``)."""
    return df["scenario"].isin(metrics.plain_train_scenarios()) & (df["status"] == "ok")


def _horizon(crossings: list[float]) -> float:
    """The x range (steps) of the wall-time plot: past the last finite crossing, >= 1e4."""
    finite = [c for c in crossings if np.isfinite(c)]
    return float(min(max([1e4, *(3 * c for c in finite)]), 1e9))


def cumulative_time(df: pd.DataFrame, ax: Axes) -> Axes:
    """Cumulative wall time (s) against training steps for one workload and device (the first
    in ``df``): first_call_s + (n - 1) * step per ok backend, eager in black; a dot where a
    backend's line crosses eager's (its wall-time break-even). A backend's step is put on the
    eager row's scale (``metrics.step_on_eager_scale``), so its line and the speedup table
    rest on the same in-process ratio. Log-log axes."""
    m = metrics.with_baseline(df[_ok_train(df)])
    m = m.dropna(subset=["first_call_s", "step_median_s"])
    if m.empty:
        return _no_data(ax, "no ok train rows")
    first = m.iloc[0]
    m = m[(m["workload"] == first["workload"]) & (m["device"] == first["device"])
          & (m["run_id"] == first["run_id"])]
    eager = m[m["backend"] == EAGER]
    if eager.empty or eager["eager_status"].iloc[0] != "ok":
        return _no_data(ax, "no ok eager train row")
    e = eager.iloc[0]
    step = metrics.step_on_eager_scale(m, e["step_median_s"])
    cross = {r["backend"]: metrics.wall_time_crossing(r["first_call_s"], step[i],
                                                      e["first_call_s"], e["step_median_s"])
             for i, r in m.iterrows() if r["backend"] != EAGER}
    n = np.logspace(0, np.log10(_horizon(list(cross.values()))), 200)
    colors = backends.colors(m)
    for i, r in m.iterrows():
        b = r["backend"]
        ax.plot(n, metrics.cumulative_wall_s(r["first_call_s"], step[i], n),
                color=colors[b], linewidth=2.5 if b == EAGER else 1.2, label=b)
        if b in cross and np.isfinite(cross[b]) and cross[b] > 1:
            y = metrics.cumulative_wall_s(r["first_call_s"], step[i], cross[b])
            ax.plot([cross[b]], [y], "o", color=colors[b], markersize=5)
            ax.annotate(fmt_steps(cross[b]), (cross[b], y), textcoords="offset points",
                        xytext=(4, -9), fontsize=6, color=colors[b])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training steps")
    ax.set_ylabel("cumulative wall time (s)")
    ax.set_title(f"{first['workload']} / {first['device']}", fontsize=9)
    ax.legend(fontsize=6)
    return ax


def compile_vs_speedup(df: pd.DataFrame, ax: Axes) -> Axes:
    """One point per ok case with a compile time: compile_s (x, symlog) against speedup
    vs eager (y, log), colour per backend, marker per device; a line at speedup 1."""
    b = metrics.break_even(df)
    b = b[(b["backend"] != EAGER) & b["speedup"].notna() & b["compile_s"].notna()]
    if b.empty:
        return _no_data(ax, "no ok cases with compile_s")
    for (backend, device), g in b.groupby(["backend", "device"], sort=False):
        ax.scatter(g["compile_s"], g["speedup"], color=backends.colors(g)[backend],
                   marker=_DEVICE_MARKERS.get(device, "^"), label=f"{backend} ({device})")
    ax.axhline(1.0, color="black", linewidth=1, linestyle="--")
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_xlim(left=0)
    _log_speedup_axis(ax)
    ax.set_xlabel("compile time, cold (s)")
    ax.set_ylabel("speedup vs eager (x)")
    ax.legend(fontsize=6, ncols=2)
    return ax


def recompiles_vs_shapes(df: pd.DataFrame, ax: Axes) -> Axes:
    """Shape scenarios: recompiles in one pass against its number of distinct batch sizes
    (``shapes`` at 2, ``shapes8`` at 8), one point per ok case, colour per backend, a line
    joining one workload's points; the dotted line is one recompile per new size."""
    s = metrics.shapes_summary(df)
    s = s[(s["status"] == "ok")].dropna(subset=["recompiles", "distinct_batch_sizes"])
    if s.empty:
        return _no_data(ax, "no shapes data")
    colors = backends.colors(df)
    for backend in backends.order(df, among=s["backend"]):
        g = s[s["backend"] == backend]
        for i, (_, w) in enumerate(g.groupby(["run_id", "workload", "device"], sort=False)):
            w = w.sort_values("distinct_batch_sizes")
            ax.plot(w["distinct_batch_sizes"], w["recompiles"], "o-", color=colors[backend],
                    linewidth=0.8, markersize=5, label=None if i else backend)
    sizes = sorted(s["distinct_batch_sizes"].unique())
    ax.set_xticks(sizes)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    top = float(max(sizes))
    ax.plot([1, top], [0, top - 1], ":", color="0.5", label="one per new size")
    ax.set_xlim(0.5, top + 0.5)
    ax.set_xlabel("distinct batch sizes in the pass")
    ax.set_ylabel("recompiles")
    ax.legend(fontsize=7)
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
        _no_data(axes[0], "no data")
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


@dataclass(frozen=True)
class Plot:
    """A plot of the report: file stem, title, caption and how to draw it from the results."""

    name: str
    title: str
    caption: str
    draw: Callable[[pd.DataFrame], Figure]


def _by_device_width(df: pd.DataFrame) -> float:
    return max(6.0, 1.1 * metrics.cases(df).groupby(["workload", "scenario"]).ngroups + 2)


def _run_and_device(df: pd.DataFrame) -> list[str]:
    """Facet keys: the device, and the run too when one device has several runs."""
    return [c for c in metrics.case_index(df) if c not in ("workload", "scenario")]


def _train_panels(df: pd.DataFrame) -> Figure:
    """One cumulative-time panel per workload and device whose train scenario has an ok
    eager row and at least one other ok backend to compare with it."""
    by = [*_run_and_device(df), "workload"]
    ok = df[_ok_train(df)]
    has_eager = ok[ok["backend"] == EAGER].groupby(by).size()
    has_other = ok[ok["backend"] != EAGER].groupby(by).size()
    keep = has_eager.index.intersection(has_other.index)
    return facet_figure(ok[ok.set_index(by).index.isin(keep)], by, cumulative_time)


PLOTS = [
    Plot("speedup", "Speedup against eager", "Per workload and scenario, one panel per device; "
         "above the dashed line is faster than eager.",
         lambda df: facet_figure(metrics.cases(df), _run_and_device(df), speedup_bars,
                                 ncols=2, panel=(_by_device_width(df), 4.0))),
    Plot("cumulative_time", "Cumulative wall time against training steps",
         "Train scenario: first call (graph building included) + (n - 1) median steps. A "
         "compiled line that crosses eager's (dot) has paid for itself; one that stays above "
         "never does.", _train_panels),
    Plot("compile_vs_speedup", "Compile time against speedup",
         "One point per ok case with a measured cold compile time.",
         lambda df: single_figure(df, compile_vs_speedup)),
    Plot("recompiles_vs_shapes", "Recompiles against distinct batch sizes",
         "shapes (a DataLoader epoch: 2 distinct batch sizes) and shapes8 (8 distinct sizes): "
         "how often a backend rebuilt its graph in one pass.",
         lambda df: single_figure(df, recompiles_vs_shapes)),
]
