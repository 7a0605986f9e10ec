"""The report's plots (matplotlib, Agg): one function per plot, taking ``(df, ax)`` with ``df``
the tidy results and returning the Axes, laid out as figures by ``reports.layout``. Nothing
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

from bench.schema import SCENARIOS  # noqa: E402
from reports import backends, metrics  # noqa: E402
from reports.layout import (  # noqa: E402
    facet_figure,
    no_data,
    one_legend,
    place_labels,
    single_figure,
)
from reports.metrics import EAGER  # noqa: E402
from reports.units import fmt_steps  # noqa: E402

_DEVICE_MARKERS = {"cpu": "o", "cuda": "s"}
# The command that measures what the recompiles plot shows (the shape scenarios).
SHAPES_COMMAND = ("python -m bench run --backends all --scenarios shapes,shapes8 "
                  "--profile quick")


def _log_speedup_axis(ax: Axes) -> None:
    """A log y axis of speedups labelled 0.5x, 1x, 2x, 5x ... rather than powers of ten."""
    ax.set_yscale("log")
    axis = ax.yaxis
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    axis.set_minor_formatter(NullFormatter())


def _group(rows: pd.DataFrame) -> pd.Series:
    """The speedup plot's group label of each row: workload over scenario."""
    return rows["workload"] + "\n" + rows["scenario"]


def _groups(s: pd.DataFrame, valid: pd.DataFrame) -> list[str]:
    """The groups of ``valid`` (those with a valid speedup), workloads in their order of
    first appearance in ``s``, scenarios in the registry's order."""
    workloads = list(dict.fromkeys(s["workload"]))
    scenarios = [*SCENARIOS, *dict.fromkeys(s["scenario"])]
    keys = valid[["workload", "scenario"]].drop_duplicates()
    keys = sorted(keys.itertuples(index=False),
                  key=lambda k: (workloads.index(k[0]), scenarios.index(k[1])))
    return [f"{w}\n{sc}" for w, sc in keys]


def _not_drawn(s: pd.DataFrame, labels: list[str]) -> str:
    """The speedup plot's note on what it leaves out: cases without a valid speedup by status
    (or "eager not ok"), and the groups with none at all."""
    skipped = s[s["speedup"].isna()]
    counts = skipped["status"].where(skipped["status"] != "ok", "eager not ok").value_counts()
    parts = [", ".join(f"{n} {st}" for st, n in counts.items())] if len(counts) else []
    empty = [g.replace("\n", "/") for g in dict.fromkeys(_group(s)) if g not in labels]
    if empty:
        parts.append(f"no valid case at all: {', '.join(empty)}")
    return "not drawn: " + "; ".join(parts) if parts else ""


def interval_lines(ax: Axes, x: list[float] | pd.Series, rows: pd.DataFrame,
                   color: str = "0.25") -> None:
    """Error bars of ``rows``' speedups (``metrics.speedups``) at ``x``: a vertical line from
    ``speedup_ci_low`` to ``speedup_ci_high`` (the asymmetric 95% interval, its true ends on
    the log axis), none where the interval is missing. Drawn as lines, not an errorbar
    container, so that ``ax.containers`` holds only the bars."""
    low, high = rows["speedup_ci_low"].to_numpy(float), rows["speedup_ci_high"].to_numpy(float)
    keep = ~(np.isnan(low) | np.isnan(high))
    if keep.any():
        ax.vlines(np.asarray(x, dtype=float)[keep], low[keep], high[keep], colors=color,
                  linewidth=0.9, zorder=3)


def speedup_bars(df: pd.DataFrame, ax: Axes) -> Axes:
    """Bars of speedup against eager (log scale) per workload/scenario and backend, each with
    its 95% interval as an error bar, a line at 1; only groups with at least one valid speedup
    get a slot. Cases that are not ok (or whose eager is not) are counted in a note."""
    s = metrics.speedups(df)
    s = s[s["backend"] != EAGER]
    valid = s.dropna(subset=["speedup"])
    if valid.empty:
        return no_data(ax, "no valid speedups")
    labels = _groups(s, valid)
    names, colors = backends.order(valid), backends.colors(valid)
    width = min(0.8 / len(names), 0.3)
    for i, backend in enumerate(names):
        rows = valid[valid["backend"] == backend]
        x = [labels.index(g) + (i - (len(names) - 1) / 2) * width for g in _group(rows)]
        ax.bar(x, rows["speedup"] - 1.0, bottom=1.0, width=width, label=backend,
               color=colors[backend])  # from 1x: up is faster, down is slower
        interval_lines(ax, x, rows)
    ax.axhline(1.0, color="black", linewidth=1, linestyle="--")
    _log_speedup_axis(ax)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    low = valid["speedup_ci_low"].fillna(valid["speedup"]).clip(upper=valid["speedup"])
    high = valid["speedup_ci_high"].fillna(valid["speedup"]).clip(lower=valid["speedup"])
    ax.set_ylim(min(low.min(), 1.0) / 1.5, max(high.max(), 1.0) * 1.5)
    ax.set_ylabel("speedup vs eager (x, log)")
    ax.legend(fontsize=7, ncols=2)
    ax.set_xlabel(_not_drawn(s, labels), fontsize=7, color="0.4")
    return ax


def _ok_train(df: pd.DataFrame) -> pd.Series:
    """The ok rows of the plain training step in steady state (``train``)."""
    return df["scenario"].isin(metrics.plain_train_scenarios()) & (df["status"] == "ok")


def _horizon(crossings: pd.Series) -> float:
    """The x range (steps) of the wall-time plot: past the last finite crossing, >= 1e4."""
    finite = [c for c in crossings if np.isfinite(c)]
    return float(min(max([1e4, *(3 * c for c in finite)]), 1e9))


def _first_panel(df: pd.DataFrame) -> pd.DataFrame:
    """The ok train rows of the first run, workload and device of ``df`` with break-even steps
    (``metrics.break_even``: against each row's interleaved eager twin) and ``scale``
    (``metrics.eager_row_scale``); empty when that panel has no ok eager row."""
    m = metrics.break_even(df[_ok_train(df)]).dropna(subset=["first_call_s", "step_median_s"])
    if m.empty:
        return m
    first = m.iloc[0]
    m = m[(m["workload"] == first["workload"]) & (m["device"] == first["device"])
          & (m["run_id"] == first["run_id"])]
    eager = m[m["backend"] == EAGER]
    if eager.empty:
        return eager
    return m.assign(scale=metrics.eager_row_scale(m, eager["step_median_s"].iloc[0]))


def cumulative_time(df: pd.DataFrame, ax: Axes) -> Axes:
    """Cumulative wall time (s) against training steps for one workload and device (the first
    in ``df``), log-log: eager (black) as n of its steps; every other ok backend as its first
    call (graph building) + (n - 1) steps, times ``scale``: its interleaved eager twin put on
    the eager row's scale. So each line crosses eager's (a labelled dot) exactly at its
    break-even steps of the compile-cost table, compile time / (twin step - backend step)."""
    m = _first_panel(df)
    if m.empty:
        return no_data(ax, "no ok train rows with an ok eager row")
    eager_step = m.loc[m["backend"] == EAGER, "step_median_s"].iloc[0]
    n = np.logspace(0, np.log10(_horizon(m["break_even_steps"])), 200)
    colors, dots = backends.colors(m), []
    for _, r in m.iterrows():
        b = r["backend"]
        wall = n * eager_step if b == EAGER else \
            r["scale"] * metrics.cumulative_wall_s(r["first_call_s"], r["step_median_s"], n)
        ax.plot(n, wall, color=colors[b], linewidth=2.5 if b == EAGER else 1.2, label=b)
        if np.isfinite(r["break_even_steps"]) and r["break_even_steps"] >= 1:
            dots.append((r["break_even_steps"], r["break_even_steps"] * eager_step,
                         fmt_steps(r["break_even_steps"]), colors[b]))
    place_labels(ax, dots)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training steps")
    ax.set_ylabel("cumulative wall time (s)")
    ax.legend(fontsize=6)
    return ax


def compile_vs_speedup(df: pd.DataFrame, ax: Axes) -> Axes:
    """One point per ok case with a compile time: compile_s (x, symlog) against speedup
    vs eager (y, log) with its 95% interval as an error bar, colour per backend, marker per
    device; a line at speedup 1."""
    b = metrics.break_even(df)
    b = b[(b["backend"] != EAGER) & b["speedup"].notna() & b["compile_s"].notna()]
    if b.empty:
        return no_data(ax, "no ok cases with compile_s")
    for (backend, device), g in b.groupby(["backend", "device"], sort=False):
        color = backends.colors(g)[backend]
        interval_lines(ax, g["compile_s"], g, color)
        ax.scatter(g["compile_s"], g["speedup"], color=color,
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
    (``shapes`` at 2, ``shapes8`` at 8, ``shapes_droplast`` at 1), one point per ok case,
    colour per backend, a line joining one workload's points; the dotted line is one
    recompile per new size."""
    s = metrics.shapes_summary(df)
    s = s[(s["status"] == "ok")].dropna(subset=["recompiles", "distinct_batch_sizes"])
    if s.empty:
        return no_data(ax, f"no shapes data in these runs; measure it with\n{SHAPES_COMMAND}")
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


@dataclass(frozen=True)
class Plot:
    """A plot of the report: file stem, title, caption and how to draw it from the results."""

    name: str
    title: str
    caption: str
    draw: Callable[[pd.DataFrame], Figure]


def _by_device_width(df: pd.DataFrame) -> float:
    """The speedup panel's width (inches): 1.1 per group with a valid speedup, plus margins."""
    s = metrics.speedups(df)
    valid = s[(s["backend"] != EAGER) & s["speedup"].notna()]
    return max(6.0, 1.1 * valid.groupby(["workload", "scenario"]).ngroups + 2)


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
    fig = facet_figure(ok[ok.set_index(by).index.isin(keep)], by, cumulative_time)
    one_legend(fig, backends.order(ok))
    return fig


PLOTS = [
    Plot("speedup", "Speedup against eager", "Per workload and scenario, one panel per device, "
         "one above the other; above the dashed line is faster than eager; the error bars are "
         "each speedup's 95% interval (the speedup table's). A workload and "
         "scenario where no case has a valid speedup gets no slot; the note under the panel "
         "names it.",
         lambda df: facet_figure(metrics.cases(df), _run_and_device(df), speedup_bars,
                                 ncols=1, panel=(_by_device_width(df), 4.0))),
    Plot("cumulative_time", "Cumulative wall time against training steps",
         "Train scenario. Each backend: first call (graph building included) + (n - 1) median "
         "steps. The eager reference is the one the break-even table uses, the eager step timed "
         "interleaved with each backend in its process (eager_step_median_s): a backend's "
         "times are scaled by the eager row's step over that twin's, and eager is drawn as n "
         "steps (its first call's one-off start-up left out, as the break-even leaves it out). "
         "A line that crosses eager's (dot) has paid for its compilation after the labelled "
         "number of steps, the compile-cost table's break-even; one that stays above never "
         "does.", _train_panels),
    Plot("compile_vs_speedup", "Compile time against speedup",
         "One point per ok case with a measured cold compile time; error bars: the speedup's "
         "95% interval.",
         lambda df: single_figure(df, compile_vs_speedup)),
    Plot("recompiles_vs_shapes", "Recompiles against distinct batch sizes",
         "shapes (a DataLoader epoch: 2 distinct batch sizes), shapes8 (8 distinct sizes) and "
         "shapes_droplast (the epoch with drop_last=True: 1 size): "
         "how often a backend rebuilt its graph in one pass. Runs without these scenarios "
         f"leave it empty; {SHAPES_COMMAND} measures them.",
         lambda df: single_figure(df, recompiles_vs_shapes)),
]
