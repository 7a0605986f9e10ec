"""Derived numbers, tidy and SI: speedups against eager, geometric means, break-even steps
(cold and warm compile cache), debug-scenario cost, shapes-scenario summaries, memory ratios.
Only ``status == "ok"`` rows (with an ``ok`` eager row) ever yield a number; everything else
stays NaN. An ``ok`` row's ``error`` is a note (e.g. what ``fullgraph=True`` says), not a
failure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.schema import SCENARIOS, shape_scenarios

EAGER = "eager"  # the backend every speedup divides by (the results' ``eager_*`` columns)
# A case's baseline: the eager row of the same run, workload, scenario and device.
KEYS = ["run_id", "workload", "scenario", "device"]
BASE_COLUMNS = ["status", "step_median_s", "first_call_s", "peak_mem_bytes"]


def cases(df: pd.DataFrame) -> pd.DataFrame:
    """The steady-state rows (``train``, ``infer``, ``debug``): every scenario but the shape
    ones (``bench.schema.shape_scenarios``), whose ``step_median_s`` is a median within one
    pass of changing batch sizes."""
    return df[~df["scenario"].isin(shape_scenarios())].reset_index(drop=True)


def plain_train_scenarios() -> list[str]:
    """Names of the scenarios that time the plain training step in steady state (``train``):
    mode train, the fixed batch, no print."""
    return [s.name for s in SCENARIOS.values() if s.trains and s.steady and not s.prints]


def print_twins() -> dict[str, str]:
    """Each scenario whose step prints its loss -> the first scenario that runs the same
    step (mode and batch sizes) without the print: ``{"debug": "train"}``."""
    plain: dict[tuple, str] = {}
    for s in SCENARIOS.values():
        if not s.prints:
            plain.setdefault((s.mode, s.batch_sizes), s.name)
    return {s.name: plain[(s.mode, s.batch_sizes)] for s in SCENARIOS.values()
            if s.prints and (s.mode, s.batch_sizes) in plain}


def case_index(df: pd.DataFrame) -> list[str]:
    """Columns that name a case for people: device, workload, scenario, plus ``run_id`` when
    one device has several runs (otherwise the run is implied by the device)."""
    cols = ["device", "workload", "scenario"]
    if not df.empty and df.groupby("device")["run_id"].nunique().max() > 1:
        cols = ["run_id", *cols]
    return cols


def ci_halfwidth_fraction(low_s: float, high_s: float, median_s: float) -> float:
    """Half the width of a case's 95% interval of the median (``low_s`` to ``high_s``) over
    the median (dimensionless; 0.02 = +-2%), NaN where not recorded."""
    if pd.isna(low_s) or pd.isna(high_s) or not median_s > 0:
        return float("nan")
    return (high_s - low_s) / 2 / median_s


def with_baseline(df: pd.DataFrame, baseline: str = EAGER) -> pd.DataFrame:
    """``df`` with the baseline backend's ``status``, ``first_call_s`` and ``peak_mem_bytes``
    of the same run, workload, scenario and device added as ``eager_*`` columns (NaN when
    absent), its ``step_median_s`` as ``eager_row_step_median_s``, and ``eager_step_median_s``:
    the row's own (eager timed interleaved with the case, in its process) where the bench
    recorded one, else the baseline row's."""
    base = df[df["backend"] == baseline][KEYS + BASE_COLUMNS].drop_duplicates(KEYS, keep="last")
    base = base.rename(columns={c: f"eager_{c}" for c in BASE_COLUMNS})
    m = df.merge(base.rename(columns={"eager_step_median_s": "eager_row_step_median_s"}),
                 on=KEYS, how="left")
    own = m.get("eager_step_median_s", pd.Series(np.nan, index=m.index))
    m["eager_step_median_s"] = own.where(own > 0, m["eager_row_step_median_s"])
    return m


def _window_speedups(m: pd.DataFrame, valid: pd.Series) -> pd.DataFrame:
    """``speedups``' fallback: the eager step over the backend's median and over the ends of
    the backend step's 95% interval."""
    out = pd.DataFrame({"speedup": (m["eager_step_median_s"] / m["step_median_s"]).where(valid)})
    for col, end in (("speedup_ci_low", "step_ci_high_s"), ("speedup_ci_high", "step_ci_low_s")):
        out[col] = (m["eager_step_median_s"] / m[end]).where(valid & (m[end] > 0))
    return out


def speedups(df: pd.DataFrame, baseline: str = EAGER) -> pd.DataFrame:
    """Every steady-state case with ``speedup`` (eager's step over the backend's, > 1 is
    faster than eager) and its 95% interval ``speedup_ci_low`` / ``speedup_ci_high``; NaN
    unless the case and its eager row are ``ok`` and timed. Where the row records them
    (``bench.rounds.speedup_interval``): the geometric mean over the case's ``rounds``
    independent rounds of each round's ratio (eager twin and backend timed interleaved in
    that round's window), and Student's t interval of the log ratios (``rounds - 1`` degrees
    of freedom; one round: the window's own), which holds the variance a rerun sees.
    Fallback for runs without those columns (older runs): ``eager_step_median_s``
    (``with_baseline``) over ``step_median_s``, and that eager step over the ends of the
    backend step's 95% interval: one window of the backend's timing only, so narrower."""
    m = with_baseline(cases(df), baseline)
    valid = (
        (m["status"] == "ok") & (m["eager_status"] == "ok")
        & (m["step_median_s"] > 0) & (m["eager_step_median_s"] > 0)
    )  # fmt: skip
    fallback = _window_speedups(m, valid)
    recorded = valid & (m["speedup"] > 0) if "speedup" in m else pd.Series(False, m.index)
    for col in ("speedup", "speedup_ci_low", "speedup_ci_high"):
        own = m[col] if col in m else pd.Series(np.nan, index=m.index)
        m[col] = own.where(recorded, fallback[col]).astype(float)
    return m


def log_halfwidth(low: pd.Series, high: pd.Series) -> pd.Series:
    """Half the width of each interval ``low``-``high`` (positive ratios) in log space:
    (log high - log low) / 2; NaN where an end is missing."""
    return (np.log(high.astype(float)) - np.log(low.astype(float))) / 2


GEOMEAN_COLUMNS = ["device", "backend", "geomean_speedup", "n", "geomean_ci_low",
                   "geomean_ci_high"]


def geomean_speedups(df: pd.DataFrame) -> pd.DataFrame:
    """Geometric mean of the valid speedups per device and backend: columns ``device``,
    ``backend``, ``geomean_speedup`` (dimensionless), ``n`` (cases averaged) and its 95%
    interval ``geomean_ci_low`` / ``geomean_ci_high``: in log space the mean of the log
    speedups +- sqrt(sum of h_i^2) / n, h_i a case's log half-width (``log_halfwidth``), which
    treats the cases as independent (each has its own rounds). NaN where a case has none."""
    s = speedups(df).dropna(subset=["speedup"])
    if s.empty:
        return pd.DataFrame(columns=GEOMEAN_COLUMNS)
    s = s.assign(log=np.log(s["speedup"].astype(float)),
                 h2=log_halfwidth(s["speedup_ci_low"], s["speedup_ci_high"]) ** 2)
    out = s.groupby(["device", "backend"]).agg(
        mean=("log", "mean"), n=("log", "size"),
        h2=("h2", lambda x: x.sum(skipna=False))).reset_index()
    half = np.sqrt(out["h2"]) / out["n"]
    out["geomean_speedup"] = np.exp(out["mean"])
    out["geomean_ci_low"], out["geomean_ci_high"] = np.exp(out["mean"] - half), np.exp(
        out["mean"] + half)
    return out[GEOMEAN_COLUMNS]


def break_even(df: pd.DataFrame) -> pd.DataFrame:
    """Every case with ``break_even_steps`` = ``compile_s`` / (eager step - backend step), in
    steps: inf ("never") when the backend's step is not faster than eager's, NaN for eager
    itself, a case without a valid speedup, or a faster backend whose compile_s is missing.
    ``break_even_warm_steps`` is the same with ``compile_warm_s`` (caches already filled)."""
    m = speedups(df)
    gain = m["eager_step_median_s"] - m["step_median_s"]  # seconds saved per step
    faster = gain > 0
    known = m["speedup"].notna() & (m["backend"] != EAGER)
    for out, col in (("break_even_steps", "compile_s"), ("break_even_warm_steps",
                                                          "compile_warm_s")):
        steps = pd.Series(np.inf, index=m.index)
        steps[faster] = m.loc[faster, col] / gain[faster]
        m[out] = steps.where(known & (~faster | m[col].notna()))
    return m


def warm_savings(df: pd.DataFrame) -> pd.DataFrame:
    """Per device and backend, over the ok steady-state cases with both a cold and a warm
    compile time: ``n`` (cases), ``cold_s`` and ``warm_s`` (summed seconds) and
    ``saved_fraction`` = 1 - warm / cold (dimensionless; 0.75 = a warm cache saves 75%)."""
    c = cases(df)
    c = c[(c["status"] == "ok") & c["compile_s"].notna() & c["compile_warm_s"].notna()]
    cols = ["device", "backend", "n", "cold_s", "warm_s", "saved_fraction"]
    if c.empty:
        return pd.DataFrame(columns=cols)
    g = c.groupby(["device", "backend"], sort=False)
    out = g.agg(n=("compile_s", "size"), cold_s=("compile_s", "sum"),
                warm_s=("compile_warm_s", "sum")).reset_index()
    out["saved_fraction"] = (1 - out["warm_s"] / out["cold_s"]).where(out["cold_s"] > 0)
    return out[cols]


def eager_row_scale(m: pd.DataFrame, eager_row_step_s: float) -> pd.Series:
    """Per row of ``m`` (from ``with_baseline``), the factor that puts its times on the eager
    row's scale: ``eager_row_step_s`` over the row's own interleaved eager twin
    (``eager_step_median_s``), 1 where it has none. A row's times multiplied by it compare
    with the eager row's as its times compare with its twin's, so two medians taken in
    different cases (minutes apart on a drifting machine) are never compared directly."""
    twin = m["eager_step_median_s"]
    return (eager_row_step_s / twin).where(twin > 0, 1.0)


def step_on_eager_scale(m: pd.DataFrame, eager_row_step_s: float) -> pd.Series:
    """Each row's step time (s) on the eager row's scale (``eager_row_scale``): the eager
    row's median divided by the row's speedup against its own twin; for the eager row
    itself, its own median."""
    return m["step_median_s"] * eager_row_scale(m, eager_row_step_s)


def cumulative_wall_s(first_call_s: float, step_s: float, steps: np.ndarray) -> np.ndarray:
    """Wall time (s) after ``steps`` training steps: the first call (which builds the graph)
    plus ``steps - 1`` steady-state steps of ``step_s`` seconds."""
    return first_call_s + (np.asarray(steps, dtype=float) - 1.0) * step_s


FULLGRAPH_PREFIX = "fullgraph=True: "


def debug_costs(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of the scenarios that print (``debug``) with the row of their twin without
    the print (``train``, see ``print_twins``) of the same run, workload, backend and device:
    ``train_status``, ``train_step_median_s``, ``train_graph_breaks``, ``train_recompiles``,
    ``debug_cost_ratio`` (debug / train step, dimensionless) and ``debug_extra_s`` (seconds
    per step), numbers only when both are ok; and ``fullgraph_note``, the note an ok debug
    row carries in ``error`` (what ``torch.compile(fullgraph=True)`` raised), without its
    ``fullgraph=True: `` prefix."""
    twins = print_twins()
    keys = ["run_id", "workload", "backend", "device", "twin"]
    debug = df[df["scenario"].isin(twins)].assign(twin=lambda d: d["scenario"].map(twins))
    train_cols = ["status", "step_median_s", "graph_breaks", "recompiles"]
    train = df[df["scenario"].isin(twins.values())].rename(columns={"scenario": "twin"})
    train = train[keys + train_cols].drop_duplicates(keys, keep="last")
    train = train.rename(columns={c: f"train_{c}" for c in train_cols})
    m = debug.merge(train, on=keys, how="left").drop(columns="twin")
    valid = (m["status"] == "ok") & (m["train_status"] == "ok")
    m["debug_cost_ratio"] = (m["step_median_s"] / m["train_step_median_s"]).where(valid)
    m["debug_extra_s"] = (m["step_median_s"] - m["train_step_median_s"]).where(valid)
    note = m["error"].where(m["status"] == "ok")
    m["fullgraph_note"] = note.map(
        lambda v: v.removeprefix(FULLGRAPH_PREFIX) if isinstance(v, str) else v)
    return m


SHAPES_COLUMNS = ["status", "distinct_batch_sizes", "recompiles", "sequence_s", "first_call_s",
                  "step_median_s", "new_shape_s", "peak_mem_first_shape_bytes", "peak_mem_bytes"]


def shapes_summary(df: pd.DataFrame) -> pd.DataFrame:
    """One row per shape case (run, workload, device, backend, a shape scenario): its
    ``SHAPES_COLUMNS`` (``recompiles`` in that one pass; ``new_shape_s`` the steps that met a
    new batch size; the memory peak before them and over the pass; ``sequence_s`` the pass's
    wall time, NaN unless ok), the eager row's ``eager_status`` and ``eager_sequence_s``, and
    ``sequence_speedup`` = eager sequence_s / backend sequence_s (> 1 is faster than eager)."""
    keys = ["run_id", "workload", "device", "backend", "scenario"]
    rows = df[df["scenario"].isin(shape_scenarios())][keys + SHAPES_COLUMNS].copy()
    rows["sequence_s"] = rows["sequence_s"].where(rows["status"] == "ok")
    base_keys = [k for k in keys if k != "backend"]
    eager = rows[rows["backend"] == EAGER][base_keys + ["status", "sequence_s"]]
    eager = eager.rename(columns={"status": "eager_status", "sequence_s": "eager_sequence_s"})
    m = rows.merge(eager.drop_duplicates(base_keys, keep="last"), on=base_keys, how="left")
    valid = (m["sequence_s"] > 0) & (m["eager_sequence_s"] > 0)
    m["sequence_speedup"] = (m["eager_sequence_s"] / m["sequence_s"]).where(valid)
    return m


MIN_RATIO_BASE_BYTES = 2**20  # an eager peak under 1 MiB gives no meaningful ratio


def memory(df: pd.DataFrame) -> pd.DataFrame:
    """Cases (every scenario) with a measured ``peak_mem_bytes`` (CUDA: max_memory_allocated,
    JAX peak_bytes_in_use; CPU: RSS rise, sampled every 1 ms), ``mem_ratio`` = peak / eager's
    peak of the same run, workload, scenario and device (dimensionless) where both are ok and
    eager's peak is at least ``MIN_RATIO_BASE_BYTES`` (a CPU RSS rise of a few KiB would
    make a ratio of thousands)."""
    m = with_baseline(df)
    m = m[m["peak_mem_bytes"].notna()].reset_index(drop=True)
    valid = ((m["status"] == "ok") & (m["eager_status"] == "ok")
             & (m["eager_peak_mem_bytes"] >= MIN_RATIO_BASE_BYTES))
    m["mem_ratio"] = (m["peak_mem_bytes"] / m["eager_peak_mem_bytes"]).where(valid)
    return m


def eager_drift(df: pd.DataFrame) -> pd.DataFrame:
    """How much the machine's speed moved during a run, read off eager itself: per run,
    device, workload and scenario, the eager step's median as timed in every ok steady-state
    case (the eager row, and each backend's interleaved eager twin, ``eager_step_median_s``):
    ``n`` (cases), ``min_s``, ``median_s``, ``max_s`` (seconds) and ``spread`` = max / min - 1
    (dimensionless; 0.5 = the slowest reading of the same eager step was 50% above the
    fastest). Speedups divide by the twin of their own case, so this drift cancels in them;
    it does not cancel in a comparison of two rows' absolute times."""
    keys = ["run_id", "device", "workload", "scenario"]
    c = cases(df)
    c = c[(c["status"] == "ok") & (c["eager_step_median_s"] > 0)]
    cols = [*keys, "n", "min_s", "median_s", "max_s", "spread"]
    if c.empty:
        return pd.DataFrame(columns=cols)
    out = c.groupby(keys, sort=False)["eager_step_median_s"].agg(
        n="size", min_s="min", median_s="median", max_s="max").reset_index()
    out["spread"] = out["max_s"] / out["min_s"] - 1
    return out[cols]


def bandwidth(df: pd.DataFrame, metas: list[dict]) -> pd.DataFrame:
    """Cases whose workload states its least memory traffic (``bytes_per_step``, bytes), with
    the run's measured roofline (``meta.json``): ``copy_bytes_per_s`` and
    ``peak_flops_per_s`` (matmul), ``bandwidth_fraction`` = achieved bytes/s over the copy
    bandwidth, and ``roofline_fraction`` = the roofline's least time for the step,
    max(FLOPs / peak FLOP/s, bytes / copy bandwidth), over the step's median time
    (dimensionless; 1.0 = at the machine's limit). Roofline: Williams, Waterman and
    Patterson, CACM 52(4), 2009."""
    roof = {m.get("run_id"): m.get("roofline") or {} for m in metas}
    m = df[df["bytes_per_step"].fillna(0) > 0].reset_index(drop=True).copy()
    m["copy_bytes_per_s"] = [roof.get(r, {}).get("copy_bytes_per_s", np.nan) for r in m["run_id"]]
    m["peak_flops_per_s"] = [roof.get(r, {}).get("matmul_flops_per_s", np.nan)
                             for r in m["run_id"]]
    m["bandwidth_fraction"] = m["achieved_bytes_per_s"] / m["copy_bytes_per_s"]
    bound_s = np.maximum(m["flops_per_step"] / m["peak_flops_per_s"],
                         m["bytes_per_step"] / m["copy_bytes_per_s"])
    m["roofline_fraction"] = bound_s / m["step_median_s"]
    return m
