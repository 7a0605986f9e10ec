"""The report's tables: each a ``Table`` holding the tidy numbers (SI) and the shown strings
(people's units, pivoted only here). A case whose status is not ``ok`` shows its status,
never a number."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reports import metrics
from reports.load import SHAPE_SCENARIOS, backend_order
from reports.units import (
    MISSING,
    fmt_count,
    fmt_gflops,
    fmt_mib,
    fmt_rate,
    fmt_ratio,
    fmt_speedup,
    fmt_steps,
    fmt_time,
)  # fmt: skip


@dataclass
class Table:
    """One table of the report: ``shown`` is what people read, ``tidy`` the numbers behind it."""

    name: str  # file stem and HTML anchor
    title: str
    note: str  # one or two sentences: what a cell means, its units
    shown: pd.DataFrame
    tidy: pd.DataFrame


def _status_or(row: pd.Series, text: str) -> str:
    return text if row["status"] == "ok" else str(row["status"])


def _long(df: pd.DataFrame, columns: dict[str, Any]) -> pd.DataFrame:
    """A shown table: case index, backend, status, then ``columns`` {header: row -> str};
    the formatted cells of a non-ok row are ``-`` (its status column says why)."""
    idx = metrics.case_index(df)
    out = df[[*idx, "backend", "status"]].copy()
    for header, fmt in columns.items():
        out[header] = [fmt(r) if r["status"] == "ok" else MISSING for _, r in df.iterrows()]
    return out.reset_index(drop=True)


def _speedup_cell(row: pd.Series) -> str:
    if row["status"] != "ok":
        return str(row["status"])
    if pd.isna(row["eager_status"]):
        return "no eager"
    if row["eager_status"] != "ok":
        return f"eager {row['eager_status']}"
    return fmt_speedup(row["speedup"])


def speedup_table(df: pd.DataFrame) -> Table:
    """Speedup against eager per case (rows) and backend (columns)."""
    s = metrics.speedups(df)
    idx = metrics.case_index(s)
    s["shown"] = [_speedup_cell(r) for _, r in s.iterrows()]
    wide = s.pivot_table(index=idx, columns="backend", values="shown", aggfunc="first", sort=False)
    wide = wide.reindex(columns=backend_order(s["backend"])).astype(object).fillna("")
    wide = wide.reset_index()
    wide.columns.name = None
    tidy_cols = [*idx, "backend", "status", "eager_status", "step_median_s",
                 "eager_step_median_s", "eager_row_step_median_s", "speedup"]  # fmt: skip
    note = ("eager step / backend step_median_s, same run, workload, scenario and device; "
            "the eager step is the one timed interleaved with the case in its process where "
            "the bench recorded it, else the eager row's; > 1x is faster than eager. A status "
            "instead of a number: that case (or its eager baseline) did not run correctly and "
            "enters no speedup or mean.")
    return Table("speedup", "Speedup against eager", note, wide, s[tidy_cols])


def geomean_table(df: pd.DataFrame) -> Table:
    """Geometric-mean speedup per device (rows) and backend (columns), with its case count."""
    g = metrics.geomean_speedups(df)
    g["shown"] = [f"{fmt_speedup(v)} (n={n})" for v, n in zip(g["geomean_speedup"], g["n"],
                                                             strict=True)]
    wide = g.pivot_table(index="device", columns="backend", values="shown", aggfunc="first")
    backends = backend_order(metrics.cases(df)["backend"])
    wide = wide.reindex(columns=backends).astype(object).fillna(MISSING).reset_index()
    wide.columns.name = None
    note = ("Geometric mean of the valid speedups (status ok, eager ok) over workloads and "
            "the train, infer and debug scenarios, per device; n = cases averaged; '-' = no "
            "valid case. The shapes scenarios measure recompiles, not a steady state: they "
            "are left out here and shown in their own table.")
    return Table("speedup_geomean", "Geometric-mean speedup per backend", note, wide, g.drop(
        columns="shown"))


def _ci_cell(r: pd.Series) -> str:
    """The median's 95% interval as +- percent of the median (half its width)."""
    half = metrics.ci_halfwidth_fraction(r)
    return MISSING if pd.isna(half) else f"+-{half * 100:.1f}%"


def timing_table(df: pd.DataFrame) -> Table:
    """Step time median and IQR, throughput and achieved FLOP/s per case."""
    c = metrics.cases(df)
    shown = _long(c, {
        "batch": lambda r: fmt_count(r["batch_size"]),
        "step median": lambda r: fmt_time(r["step_median_s"]),
        "step IQR": lambda r: fmt_time(r["step_iqr_s"]),
        "95% CI": lambda r: _ci_cell(r),
        "throughput": lambda r: fmt_rate(r["samples_per_s"]),
        "achieved": lambda r: fmt_gflops(r["achieved_flops_per_s"]),
    })
    cols = ["batch_size", "step_median_s", "step_iqr_s", "step_ci_low_s", "step_ci_high_s",
            "samples_per_s", "achieved_flops_per_s"]
    tidy = c[[*metrics.case_index(c), "backend", "status", *cols]]
    note = ("Median and interquartile range of the steady-state step; 95% CI = half the width "
            "of the median's order-statistic interval, as a percentage of the median (the "
            "timer stops at +-2% quick, +-1% full, or at its time cap: a wider interval means "
            "the cap came first); throughput in samples per second; achieved GFLOP/s = "
            "analytic FLOPs per step / median step time.")
    return Table("step_time", "Step time, throughput, FLOP/s", note, shown, tidy)


def compile_table(df: pd.DataFrame) -> Table:
    """Graph-building cost: cold and warm compile, first call, break-even steps."""
    b = metrics.break_even(df)
    shown = _long(b, {
        "compile (cold)": lambda r: fmt_time(r["compile_s"]),
        "compile (warm)": lambda r: fmt_time(r["compile_warm_s"]),
        "first call": lambda r: fmt_time(r["first_call_s"]),
        "step": lambda r: fmt_time(r["step_median_s"]),
        "eager step": lambda r: fmt_time(r["eager_step_median_s"]),
        "break-even steps": lambda r: fmt_steps(r["break_even_steps"]),
        "break-even steps (warm)": lambda r: fmt_steps(r["break_even_warm_steps"]),
        "compile phases": lambda r: MISSING if pd.isna(r["compile_phases"])
        else str(r["compile_phases"]),
    })
    cols = ["compile_s", "compile_warm_s", "first_call_s", "step_median_s",
            "eager_step_median_s", "break_even_steps", "break_even_warm_steps",
            "compile_phases"]  # fmt: skip
    tidy = b[[*metrics.case_index(b), "backend", "status", *cols]]
    note = ("Cold: empty compile caches (a fresh process per case, or in an in-process run "
            "a fresh temporary cache after the compilers' one-time start-up; see the "
            "environment table's isolation); warm: a fresh process whose Inductor/JAX caches "
            "the cold one filled (process isolation only). Break-even = compile time / (eager step "
            "- backend step): the steps after which the compiled backend has paid for its "
            "compilation; 'never' when its step is not faster than eager's; '-' when not "
            "measured or not applicable.")
    return Table("compile_cost", "Graph-building cost and break-even", note, shown, tidy)


def _shapes_cells(r: pd.Series) -> dict[str, str]:
    """One shape case's shown cells: recompiles, sequence time, eager's, and the speedup."""
    if r["status"] != "ok":
        return dict.fromkeys(("recompiles", "sequence", "eager sequence", "vs eager"),
                             str(r["status"]))
    eager = ("no eager" if pd.isna(r["eager_status"]) else
             f"eager {r['eager_status']}" if r["eager_status"] != "ok" else None)
    return {"recompiles": fmt_count(r["recompiles"]), "sequence": fmt_time(r["sequence_s"]),
            "eager sequence": eager or fmt_time(r["eager_sequence_s"]),
            "vs eager": eager or fmt_speedup(r["sequence_speedup"])}


def _sizes_note(s: pd.DataFrame) -> str:
    sizes = [f"{sc} {'/'.join(fmt_count(n) for n in sorted(set(g.dropna())))}"
             for sc, g in s.groupby("scenario", sort=False)["distinct_batch_sizes"]
             if g.notna().any()]
    return f" Distinct batch sizes: {', '.join(sizes)}." if sizes else ""


def shapes_table(df: pd.DataFrame) -> Table:
    """``shapes`` and ``shapes8`` side by side per workload and backend: recompiles, the
    pass's wall time, eager's, and eager's / the backend's."""
    s = metrics.shapes_summary(df)
    idx = [c for c in metrics.case_index(df) if c != "scenario"]
    keys = [*idx, "backend"]
    order = {b: i for i, b in enumerate(backend_order(s["backend"]))}
    shown = s[keys].drop_duplicates().sort_values(
        keys, key=lambda col: col.map(order) if col.name == "backend" else col, kind="stable")
    shown = shown.reset_index(drop=True)
    for sc in SHAPE_SCENARIOS:
        cells = {tuple(r[keys]): _shapes_cells(r) for _, r in s[s["scenario"] == sc].iterrows()}
        for header in ("recompiles", "sequence", "eager sequence", "vs eager"):
            shown[f"{sc}: {header}"] = [cells.get(tuple(r), {}).get(header, MISSING)
                                        for r in shown[keys].itertuples(index=False)]
    note = ("shapes: train steps over one DataLoader epoch's batch sizes; shapes8: eight "
            "distinct batch sizes once each. Recompiles in that one pass, its wall time "
            "(sequence, every recompile included), eager's, and eager's / the backend's "
            "(> 1x is faster than eager)." + _sizes_note(s))
    tidy_cols = [*keys, "scenario", *metrics.SHAPES_COLUMNS, "eager_status",
                 "eager_sequence_s", "sequence_speedup"]  # fmt: skip
    return Table("shapes", "Changing shapes: recompiles and sequence time", note, shown,
                 s[tidy_cols])


def debug_table(df: pd.DataFrame) -> Table:
    """``debug`` scenario: graph breaks and recompiles against the ``train`` row, the step-time
    cost, and what ``torch.compile(fullgraph=True)`` says of the step."""
    d = metrics.debug_costs(df)
    idx = [c for c in metrics.case_index(df) if c != "scenario"]
    shown = d[[*idx, "backend", "status"]].copy()
    cells = {
        "graph breaks": lambda r: fmt_count(r["graph_breaks"]),
        "train graph breaks": lambda r: fmt_count(r["train_graph_breaks"]),
        "recompiles": lambda r: fmt_count(r["recompiles"]),
        "train recompiles": lambda r: fmt_count(r["train_recompiles"]),
        "debug step": lambda r: fmt_time(r["step_median_s"]),
        "train step": lambda r: fmt_time(r["train_step_median_s"]),
        "cost vs train": lambda r: fmt_speedup(r["debug_cost_ratio"]),
        "extra per step": lambda r: fmt_time(r["debug_extra_s"]),
        "fullgraph=True says": lambda r: (MISSING if pd.isna(r["fullgraph_note"])
                                          else str(r["fullgraph_note"])),
    }
    for header, fmt in cells.items():
        shown[header] = [_status_or(r, fmt(r)) for _, r in d.iterrows()]
    cols = ["graph_breaks", "train_graph_breaks", "recompiles", "train_recompiles",
            "step_median_s", "train_status", "train_step_median_s", "debug_cost_ratio",
            "debug_extra_s", "fullgraph_note"]  # fmt: skip
    note = ("The train step with a print of loss.item() inside: graph breaks and recompiles "
            "against the same backend's train step, its step time against train's (ratio and "
            "seconds), and the first line of the error torch.compile(fullgraph=True) raises on "
            "it (a note on an ok case, not a failure).")
    return Table("debug", "Debugging: graph breaks and their cost", note,
                 shown.reset_index(drop=True), d[[*idx, "backend", "status", *cols]])


def memory_table(df: pd.DataFrame) -> Table:
    """Peak memory (MiB) and its ratio to eager's, where measured."""
    m = metrics.memory(df)
    shown = _long(m, {
        "peak memory": lambda r: fmt_mib(r["peak_mem_bytes"]),
        "vs eager": lambda r: fmt_ratio(r["mem_ratio"]),
    })
    tidy = m[[*metrics.case_index(m), "backend", "status", "peak_mem_bytes", "mem_ratio"]]
    note = ("Peak memory in MiB (2^20 bytes): on a GPU the allocator's peak, on the CPU the "
            "rise of the process's peak RSS over its baseline; vs eager = backend peak / eager "
            "peak of the same workload, scenario and device.")
    return Table("memory", "Peak memory", note, shown, tidy)


def _percent(x: float | None) -> str:
    return MISSING if x is None or pd.isna(x) else f"{x * 100:.0f}%"


def bandwidth_table(df: pd.DataFrame, metas: list[dict[str, Any]]) -> Table:
    """How close each backend comes to the machine's memory limit (``tensor_ops``)."""
    m = metrics.bandwidth(df, metas)
    shown = _long(m, {
        "step": lambda r: fmt_time(r["step_median_s"]),
        "least traffic": lambda r: fmt_mib(r["bytes_per_step"]),
        "achieved": lambda r: fmt_rate(r["achieved_bytes_per_s"] / 1e9, "GB/s"),
        "copy bandwidth": lambda r: fmt_rate(r["copy_bytes_per_s"] / 1e9, "GB/s"),
        "of copy bandwidth": lambda r: _percent(r["bandwidth_fraction"]),
        "of roofline": lambda r: _percent(r["roofline_fraction"]),
    })
    cols = ["step_median_s", "bytes_per_step", "achieved_bytes_per_s", "copy_bytes_per_s",
            "peak_flops_per_s", "bandwidth_fraction", "roofline_fraction"]
    tidy = m[[*metrics.case_index(m), "backend", "status", *cols]]
    note = ("Workloads that state their least memory traffic per step (tensor_ops: the fused "
            "chain's, in MiB). achieved = that traffic / median step time (GB = 1e9 bytes); "
            "of copy bandwidth = achieved / the run's measured device copy bandwidth; of "
            "roofline = max(FLOPs / measured matmul FLOP/s, traffic / copy bandwidth) / step "
            "time. A backend that moves more than the least traffic (eager: every op "
            "reads and writes memory) stays far below 100%.")
    return Table("bandwidth", "Memory bandwidth reached", note, shown, tidy)


def drift_table(df: pd.DataFrame) -> Table:
    """The same eager step timed in every case of a workload: how far the machine drifted."""
    tidy = metrics.eager_drift(df)
    shown = tidy[["run_id", "device", "workload", "scenario"]].copy()
    shown["cases"] = [fmt_count(n) for n in tidy["n"]]
    for col, header in (("min_s", "fastest"), ("median_s", "median"), ("max_s", "slowest")):
        shown[header] = [fmt_time(v) for v in tidy[col]]
    shown["spread"] = [_percent(v) for v in tidy["spread"]]
    note = ("Eager's median step as timed alongside each case of the run (its own row and "
            "every backend's interleaved eager twin); spread = slowest / fastest - 1. Each "
            "speedup divides by its own case's twin, so this drift cancels in it, but not "
            "between two rows' absolute times.")
    return Table("drift", "Machine drift: one eager step, timed in every case", note, shown,
                 tidy)


def failures_table(df: pd.DataFrame) -> Table:
    """Every case whose status is not ``ok``, with the reason the bench recorded."""
    bad = df[df["status"] != "ok"].reset_index(drop=True)
    idx = metrics.case_index(df)
    tidy = bad[[*idx, "backend", "status", "error"]]
    shown = tidy.astype(object).fillna(MISSING)
    note = ("Cases that produced no valid number: failed, unsupported, mismatch or timeout. "
            "A note on an ok case (e.g. what fullgraph=True says) is not listed here.")
    return Table("not_ok", "Cases without a valid number", note, shown, tidy)


ENV_FIELDS = ["run_id", "utc_time", "git_commit", "host_cpu", "cpu_count", "threads", "gpu",
              "device", "profile", "isolation", "python", "torch", "torchvision", "jax",
              "precision", "command", "path"]  # fmt: skip


def _env_value(value: Any) -> str:
    if value is None or value == "":
        return MISSING
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def environment_table(metas: list[dict[str, Any]]) -> Table:
    """What each run was measured on (from ``meta.json``): one column per run."""
    tidy = pd.DataFrame([{f: m.get(f) for f in ENV_FIELDS} for m in metas], columns=ENV_FIELDS)
    tidy["meta_missing"] = [bool(m.get("missing")) for m in metas]
    shown = pd.DataFrame({"field": ENV_FIELDS})
    for i, meta in enumerate(metas):
        label = str(meta.get("run_id") or f"run {i + 1}")
        shown[label] = [_env_value(meta.get(f)) for f in ENV_FIELDS]
    note = "From each run's meta.json ('-' = not recorded; no meta.json: only run_id and path)."
    return Table("environment", "Environment of each run", note, shown, tidy)


def build_tables(df: pd.DataFrame, metas: list[dict[str, Any]]) -> list[Table]:
    """All tables of the report, in presentation order."""
    return [
        speedup_table(df), geomean_table(df), timing_table(df), compile_table(df),
        shapes_table(df), debug_table(df), memory_table(df), bandwidth_table(df, metas),
        drift_table(df), failures_table(df),
        environment_table(metas),
    ]  # fmt: skip
