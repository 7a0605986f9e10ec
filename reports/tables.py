"""The report's tables, each declared once: the per-case tables as ``CaseTable``s,
``{header: (column, formatter)}`` (the shown cells and the tidy frame both derive from that one
declaration), the pivoted ones in ``reports.pivots``, then the machine's drift, the cases
without a number and each run's environment; ``build_tables`` lists them in presentation
order. A case whose status is not ``ok`` shows its status or ``-``, never a number."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from reports import metrics
from reports.pivots import geomean_table, shapes_table, speedup_table
from reports.recipes import recipe_frame, recipe_table
from reports.table import CaseTable, Table
from reports.units import (
    MISSING,
    fmt_count,
    fmt_gbps,
    fmt_gflops,
    fmt_mib,
    fmt_percent,
    fmt_rate,
    fmt_ratio,
    fmt_speedup,
    fmt_steps,
    fmt_text,
    fmt_time,
)  # fmt: skip


def _ci_cell(low_s: float, median_s: float, high_s: float) -> str:
    """The median's 95% interval as +- percent of the median (half its width)."""
    half = metrics.ci_halfwidth_fraction(low_s, high_s, median_s)
    return MISSING if pd.isna(half) else f"+-{half * 100:.1f}%"


STEP_TIME = CaseTable("step_time", "Step time, throughput, FLOP/s", (
    "Median and interquartile range of the steady-state step (over several rounds: the "
    "geometric mean of the rounds' medians); 95% CI = half the width of its interval as a "
    "percentage of the median: over rounds, Student's t interval of the rounds' log medians "
    "(absolute step times move with the machine between rounds, so it is wide: read the "
    "speedups, timed against an interleaved eager twin); in one round, the median's "
    "order-statistic interval (the timer stops at +-2% quick, +-1% full, or at its time "
    "cap); throughput in samples per second; achieved GFLOP/s = "
    "analytic FLOPs per step / median step time; settled after: the call (the first "
    "included) from which the untimed calls before timing ran at the steady pace (a 5-call "
    "median within 1.5x the median + 5 ms); '-': it had not by the time timing began "
    "(the row's error says so), or the run predates the column."), {
    "batch": ("batch_size", fmt_count),
    "step median": ("step_median_s", fmt_time),
    "step IQR": ("step_iqr_s", fmt_time),
    "95% CI": (("step_ci_low_s", "step_median_s", "step_ci_high_s"), _ci_cell),
    "throughput": ("samples_per_s", fmt_rate),
    "achieved": ("achieved_flops_per_s", fmt_gflops),
    "settled after": ("settled_after", fmt_count),
})

COMPILE_COST = CaseTable("compile_cost", "Graph-building cost and break-even", (
    "Cold: empty compile caches (a fresh process per case, or in an in-process run "
    "a fresh temporary cache after the compilers' one-time start-up; see the "
    "environment table's isolation); warm: a fresh process whose Inductor/JAX caches "
    "the cold one filled (process isolation only). Break-even = compile time / (eager step "
    "- backend step): the steps after which the compiled backend has paid for its "
    "compilation; 'never' when its step is not faster than eager's; '-' when not "
    "measured or not applicable."), {
    "compile (cold)": ("compile_s", fmt_time),
    "compile (warm)": ("compile_warm_s", fmt_time),
    "first call": ("first_call_s", fmt_time),
    "step": ("step_median_s", fmt_time),
    "eager step": ("eager_step_median_s", fmt_time),
    "break-even steps": ("break_even_steps", fmt_steps),
    "break-even steps (warm)": ("break_even_warm_steps", fmt_steps),
    "compile phases": ("compile_phases", fmt_text),
})

DEBUG = CaseTable("debug", "Debugging: graph breaks and their cost", (
    "The train step with a print of loss.item() inside: graph breaks and recompiles "
    "against the same backend's train step, its step time against train's (ratio and "
    "seconds), and the first line of the error torch.compile(fullgraph=True) raises on "
    "it (a note on an ok case, not a failure)."), {
    "graph breaks": ("graph_breaks", fmt_count),
    "train graph breaks": ("train_graph_breaks", fmt_count),
    "recompiles": ("recompiles", fmt_count),
    "train recompiles": ("train_recompiles", fmt_count),
    "debug step": ("step_median_s", fmt_time),
    "train status": ("train_status", None),
    "train step": ("train_step_median_s", fmt_time),
    "cost vs train": ("debug_cost_ratio", fmt_speedup),
    "extra per step": ("debug_extra_s", fmt_time),
    "fullgraph=True says": ("fullgraph_note", fmt_text),
}, scenario=False, status_cells=True)

MEMORY = CaseTable("memory", "Peak memory", (
    "Peak memory in MiB (2^20 bytes), the rise over the case's baseline: on the CPU the "
    "process's resident set size, sampled every 1 ms; on CUDA torch.cuda.max_memory_allocated "
    "(torch.cuda.max_memory_reserved, the caching allocator's pool, beside it in results.csv "
    "as peak_reserved_bytes); JAX on CUDA its peak_bytes_in_use. vs eager = backend peak / "
    "eager peak of the same workload, scenario and device."), {
    "peak memory": ("peak_mem_bytes", fmt_mib),
    "vs eager": ("mem_ratio", fmt_ratio),
})

BANDWIDTH = CaseTable("bandwidth", "Memory bandwidth reached", (
    "Workloads that state their least memory traffic per step (tensor_ops: the fused "
    "chain's, in MiB). achieved = that traffic / median step time (GB = 1e9 bytes); "
    "of copy bandwidth = achieved / the run's measured device copy bandwidth; of "
    "roofline = max(FLOPs / measured matmul FLOP/s, traffic / copy bandwidth) / step "
    "time. A backend that moves more than the least traffic (eager: every op "
    "reads and writes memory) stays far below 100%."), {
    "step": ("step_median_s", fmt_time),
    "least traffic": ("bytes_per_step", fmt_mib),
    "achieved": ("achieved_bytes_per_s", fmt_gbps),
    "copy bandwidth": ("copy_bytes_per_s", fmt_gbps),
    "matmul peak": ("peak_flops_per_s", None),
    "of copy bandwidth": ("bandwidth_fraction", fmt_percent),
    "of roofline": ("roofline_fraction", fmt_percent),
})


def timing_table(df: pd.DataFrame) -> Table:
    """Step time median and IQR, throughput and achieved FLOP/s per steady-state case."""
    return STEP_TIME.build(metrics.cases(df))


def compile_table(df: pd.DataFrame) -> Table:
    """Graph-building cost: cold and warm compile, first call, break-even steps."""
    return COMPILE_COST.build(metrics.break_even(df))


def debug_table(df: pd.DataFrame) -> Table:
    """The printing scenario (``debug``): graph breaks and recompiles against ``train``, the
    step-time cost, and what ``torch.compile(fullgraph=True)`` says of the step."""
    return DEBUG.build(metrics.debug_costs(df))


def memory_table(df: pd.DataFrame) -> Table:
    """Peak memory (MiB) and its ratio to eager's, where measured."""
    return MEMORY.build(metrics.memory(df))


def bandwidth_table(df: pd.DataFrame, metas: list[dict[str, Any]]) -> Table:
    """How close each backend comes to the machine's memory limit (``tensor_ops``)."""
    return BANDWIDTH.build(metrics.bandwidth(df, metas))


def drift_table(df: pd.DataFrame) -> Table:
    """The same eager step timed in every case of a workload: how far the machine drifted."""
    tidy = metrics.eager_drift(df)
    shown = tidy[["run_id", "device", "workload", "scenario"]].copy()
    shown["cases"] = [fmt_count(n) for n in tidy["n"]]
    for col, header in (("min_s", "fastest"), ("median_s", "median"), ("max_s", "slowest")):
        shown[header] = [fmt_time(v) for v in tidy[col]]
    shown["spread"] = [fmt_percent(v) for v in tidy["spread"]]
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
    note = ("Cases that produced no valid number: failed, unsupported, mismatch, timeout or "
            "eager_fallback (a compiled frame passed Dynamo's recompile limit and ran eager). "
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
        speedup_table(df), recipe_table(recipe_frame(df)), geomean_table(df), timing_table(df),
        compile_table(df),
        shapes_table(df), debug_table(df), memory_table(df), bandwidth_table(df, metas),
        drift_table(df), failures_table(df),
        environment_table(metas),
    ]  # fmt: skip
