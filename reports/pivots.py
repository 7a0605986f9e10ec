"""The report's pivoted tables: speedup per case and backend, the geometric mean per device
and backend, and the shape scenarios side by side per workload and backend. Backends in the
report's order (``reports.backends``); a case that is not ``ok`` shows its status."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from bench.schema import shape_scenarios, steady_scenarios
from reports import backends, metrics
from reports.table import Columns, Table, format_columns
from reports.units import (
    MISSING,
    and_list,
    fmt_count,
    fmt_geomean,
    fmt_mib,
    fmt_speedup,
    fmt_speedup_ci,
    fmt_time,
)


def _against_eager(fmt: Callable[[float], str]) -> Callable[[str, float], str]:
    """A formatter of ``(eager_status, *values)``: ``fmt(*values)`` where eager is ok, else
    why there is no number (``no eager``, ``eager failed``...)."""
    def cell(eager_status: str, *values: float) -> str:
        if pd.isna(eager_status):
            return "no eager"
        return fmt(*values) if eager_status == "ok" else f"eager {eager_status}"
    return cell


def speedup_table(df: pd.DataFrame) -> Table:
    """Speedup against eager per case (rows) and backend (columns)."""
    s = metrics.speedups(df)
    idx = metrics.case_index(s)
    cell: Columns = {"shown": (("eager_status", "speedup", "speedup_ci_low", "speedup_ci_high"),
                               _against_eager(fmt_speedup_ci))}
    s["shown"] = format_columns(s, cell, str)["shown"]
    wide = s.pivot_table(index=idx, columns="backend", values="shown", aggfunc="first", sort=False)
    wide = wide.reindex(columns=backends.order(s)).astype(object).fillna("")
    wide = wide.reset_index()
    wide.columns.name = None
    tidy_cols = [*idx, "backend", "status", "eager_status", "step_median_s",
                 "eager_step_median_s", "eager_row_step_median_s", "speedup", "speedup_ci_low",
                 "speedup_ci_high", "rounds"]  # fmt: skip
    note = ("Eager's step over the backend's, same run, workload, scenario and device, with "
            "its 95% interval in brackets; > 1x is faster than eager. With rounds: the "
            "geometric mean over the case's independent rounds of each round's ratio (the "
            "eager twin timed interleaved with the backend in that round's window) and "
            "Student's t interval of the log ratios (rounds - 1 degrees of freedom). A run "
            "without rounds: the eager step timed interleaved with the case (else the eager "
            "row's) over the backend's median, and over the ends of its step's interval. A "
            "status instead of a number: that case (or its eager baseline) did not run "
            "correctly and enters no speedup or mean.")
    return Table("speedup", "Speedup against eager", note, wide, s[tidy_cols])


def geomean_table(df: pd.DataFrame) -> Table:
    """Geometric-mean speedup per device (rows) and backend (columns), with its case count."""
    g = metrics.geomean_speedups(df)
    g["shown"] = [fmt_geomean(v, lo, hi, n) for v, lo, hi, n in zip(
        g["geomean_speedup"], g["geomean_ci_low"], g["geomean_ci_high"], g["n"], strict=True)]
    wide = g.pivot_table(index="device", columns="backend", values="shown", aggfunc="first")
    wide = wide.reindex(columns=backends.order(metrics.cases(df)))
    wide = wide.astype(object).fillna(MISSING).reset_index()
    wide.columns.name = None
    note = ("Geometric mean of the valid speedups (status ok, eager ok) over workloads and "
            f"the {and_list(steady_scenarios())} scenarios, per device, with its 95% interval: "
            "in log space the mean of the cases' log speedups +- sqrt(sum of their squared "
            "log half-widths) / n, the cases taken as independent (no interval where a case "
            "has none); n = cases averaged; '-' = no valid case. The shapes scenarios measure "
            "recompiles, not a steady state: they are left out here and shown in their own "
            "table.")
    return Table("speedup_geomean", "Geometric-mean speedup per backend", note, wide, g.drop(
        columns="shown"))


# One shape case's cells, shown once per shape scenario ("shapes: recompiles", ...).
SHAPE_CELLS: Columns = {
    "recompiles": ("recompiles", fmt_count),
    "new sizes": ("new_shape_s", fmt_time),
    "peak before": ("peak_mem_first_shape_bytes", fmt_mib),
    "peak": ("peak_mem_bytes", fmt_mib),
    "sequence": ("sequence_s", fmt_time),
    "eager sequence": (("eager_status", "eager_sequence_s"), _against_eager(fmt_time)),
    "vs eager": (("eager_status", "sequence_speedup"), _against_eager(fmt_speedup)),
}


def _sizes_note(s: pd.DataFrame) -> str:
    sizes = [f"{sc} {'/'.join(fmt_count(n) for n in sorted(set(g.dropna())))}"
             for sc, g in s.groupby("scenario", sort=False)["distinct_batch_sizes"]
             if g.notna().any()]
    return f" Distinct batch sizes: {', '.join(sizes)}." if sizes else ""


def _shapes_shown(s: pd.DataFrame, keys: list[str], rank: dict[str, int]) -> pd.DataFrame:
    """One row per ``keys`` (backends in the report's order), then ``SHAPE_CELLS`` per shape
    scenario the runs measured (``-`` where that scenario has no row; a scenario no run
    measured, such as ``shapes_droplast`` in older runs, has no cells)."""
    shown = s[keys].drop_duplicates().sort_values(
        keys, key=lambda col: col.map(rank) if col.name == "backend" else col, kind="stable")
    shown = shown.reset_index(drop=True)
    cells = pd.concat([s[keys], format_columns(s, SHAPE_CELLS, str)], axis=1)
    for sc in (sc for sc in shape_scenarios() if (s["scenario"] == sc).any()):
        part = cells[s["scenario"] == sc].drop_duplicates(keys, keep="last")
        part = part.rename(columns={h: f"{sc}: {h}" for h in SHAPE_CELLS})
        shown = shown.merge(part, on=keys, how="left")
    return shown.astype(object).fillna(MISSING)


def shapes_table(df: pd.DataFrame) -> Table:
    """The shape scenarios (``shapes``, ``shapes8``, ``shapes_droplast``) side by side per
    workload and backend: recompiles, the pass's wall time, eager's, and eager's / the
    backend's."""
    s = metrics.shapes_summary(df)
    keys = [*(c for c in metrics.case_index(df) if c != "scenario"), "backend"]
    shown = _shapes_shown(s, keys, backends.ranks(df))
    note = ("shapes: train steps over one DataLoader epoch's batch sizes; shapes8: eight "
            "distinct batch sizes once each; shapes_droplast: the epoch with drop_last=True "
            "(one size). Recompiles in that one pass; new sizes: the steps that met a batch "
            "size for the first time after the first step (the tail batch's recompile is in "
            "it); the memory peak (MiB, over the case's start) before the first of them ('-' "
            "when no new size came) and over the pass (a dynamic graph's cost shows as the "
            "difference); its wall time "
            "(sequence, every recompile included), eager's, and eager's / the backend's "
            "(> 1x is faster than eager; one pass each, so no interval)." + _sizes_note(s))
    tidy_cols = [*keys, "scenario", *metrics.SHAPES_COLUMNS, "eager_status",
                 "eager_sequence_s", "sequence_speedup"]  # fmt: skip
    return Table("shapes", "Changing shapes: recompiles and sequence time", note, shown,
                 s[tidy_cols])
