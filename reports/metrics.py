"""Derived numbers, tidy and SI: speedups against eager, geometric means, break-even steps,
debug-scenario cost, shapes-scenario summaries, memory ratios. Only ``status == "ok"`` rows
(with an ``ok`` eager row) ever yield a number; everything else stays NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd

# A case's baseline: the eager row of the same run, workload, scenario and device.
KEYS = ["run_id", "workload", "scenario", "device"]
BASE_COLUMNS = ["status", "step_median_s", "first_call_s", "peak_mem_bytes"]


def cases(df: pd.DataFrame) -> pd.DataFrame:
    """The rows with one measurement per case (every scenario but ``shapes``)."""
    return df[df["scenario"] != "shapes"].reset_index(drop=True)


def case_index(df: pd.DataFrame) -> list[str]:
    """Columns that name a case for people: device, workload, scenario, plus ``run_id`` when
    one device has several runs (otherwise the run is implied by the device)."""
    cols = ["device", "workload", "scenario"]
    if not df.empty and df.groupby("device")["run_id"].nunique().max() > 1:
        cols = ["run_id", *cols]
    return cols


def with_baseline(df: pd.DataFrame, baseline: str = "eager") -> pd.DataFrame:
    """``df`` with the baseline backend's ``status``, ``step_median_s``, ``first_call_s`` and
    ``peak_mem_bytes`` of the same run, workload, scenario and device added as ``eager_*``
    columns (NaN when absent)."""
    base = df[df["backend"] == baseline][KEYS + BASE_COLUMNS].drop_duplicates(KEYS, keep="last")
    base = base.rename(columns={c: f"eager_{c}" for c in BASE_COLUMNS})
    return df.merge(base, on=KEYS, how="left")


def speedups(df: pd.DataFrame, baseline: str = "eager") -> pd.DataFrame:
    """Every case with ``speedup`` = eager ``step_median_s`` / backend ``step_median_s``
    (dimensionless, > 1 is faster than eager). NaN unless both rows are ``ok`` and timed."""
    m = with_baseline(cases(df), baseline)
    valid = (
        (m["status"] == "ok") & (m["eager_status"] == "ok")
        & (m["step_median_s"] > 0) & (m["eager_step_median_s"] > 0)
    )  # fmt: skip
    m["speedup"] = (m["eager_step_median_s"] / m["step_median_s"]).where(valid)
    return m


def geomean_speedups(df: pd.DataFrame) -> pd.DataFrame:
    """Geometric mean of the valid speedups per device and backend: columns ``device``,
    ``backend``, ``geomean_speedup`` (dimensionless), ``n`` (cases averaged)."""
    s = speedups(df).dropna(subset=["speedup"])
    if s.empty:
        return pd.DataFrame(columns=["device", "backend", "geomean_speedup", "n"])
    grouped = s.groupby(["device", "backend"])["speedup"]
    out = grouped.agg(geomean_speedup=lambda x: float(np.exp(np.log(x).mean())), n="size")
    return out.reset_index()


def break_even(df: pd.DataFrame) -> pd.DataFrame:
    """Every case with ``break_even_steps`` = ``compile_s`` / (eager step - backend step), in
    steps: inf ("never") when the backend's step is not faster than eager's, NaN for eager
    itself, a case without a valid speedup, or a faster backend whose compile_s is missing."""
    m = speedups(df)
    gain = m["eager_step_median_s"] - m["step_median_s"]  # seconds saved per step
    steps = pd.Series(np.inf, index=m.index)
    faster = gain > 0
    steps[faster] = m.loc[faster, "compile_s"] / gain[faster]
    known = m["speedup"].notna() & (m["backend"] != "eager")
    m["break_even_steps"] = steps.where(known & (~faster | m["compile_s"].notna()))
    return m


def cumulative_wall_s(first_call_s: float, step_s: float, steps: np.ndarray) -> np.ndarray:
    """Wall time (s) after ``steps`` training steps: the first call (which builds the graph)
    plus ``steps - 1`` steady-state steps of ``step_s`` seconds."""
    return first_call_s + (np.asarray(steps, dtype=float) - 1.0) * step_s


def wall_time_crossing(first: float, step: float, eager_first: float, eager_step: float) -> float:
    """The step count at which the cumulative wall times of a backend and eager are equal
    (inf when the backend never catches up, 1 when it is ahead from the first call)."""
    if first <= eager_first and step <= eager_step:
        return 1.0
    if step >= eager_step:
        return float("inf")
    return 1.0 + (first - eager_first) / (eager_step - step)


def debug_costs(df: pd.DataFrame) -> pd.DataFrame:
    """``debug`` rows with the ``train`` row of the same run, workload, backend and device:
    ``train_status``, ``train_step_median_s``, ``debug_cost_ratio`` (debug / train step,
    dimensionless) and ``debug_extra_s`` (seconds per step); numbers only when both are ok."""
    keys = ["run_id", "workload", "backend", "device"]
    debug = df[df["scenario"] == "debug"]
    train = df[df["scenario"] == "train"][keys + ["status", "step_median_s"]]
    train = train.drop_duplicates(keys, keep="last").rename(
        columns={"status": "train_status", "step_median_s": "train_step_median_s"}
    )
    m = debug.merge(train, on=keys, how="left")
    valid = (m["status"] == "ok") & (m["train_status"] == "ok")
    m["debug_cost_ratio"] = (m["step_median_s"] / m["train_step_median_s"]).where(valid)
    m["debug_extra_s"] = (m["step_median_s"] - m["train_step_median_s"]).where(valid)
    return m


def shapes_summary(df: pd.DataFrame) -> pd.DataFrame:
    """One row per ``shapes`` case (run, workload, device, backend): ``status`` (the first
    non-ok one, if any), ``recompiles`` (summed over its rows), ``distinct_batch_sizes``
    (a ``distinct_batch_sizes`` column when the bench wrote one, else the distinct
    ``batch_size`` values of its rows), ``sequence_s`` (sum of its ``step_median_s``: the
    time of the whole sequence of batch sizes) and ``sequence_speedup`` against eager's."""
    keys = ["run_id", "workload", "device", "backend"]
    rows = df[df["scenario"] == "shapes"]
    if rows.empty:
        cols = [*keys, "status", "recompiles", "distinct_batch_sizes", "sequence_s"]
        return pd.DataFrame(columns=[*cols, "sequence_speedup"])
    g = rows.groupby(keys, sort=False, dropna=False)
    out = pd.DataFrame({
        "status": g["status"].agg(lambda s: next((v for v in s if v != "ok"), "ok")),
        "recompiles": g["recompiles"].sum(min_count=1),
        "distinct_batch_sizes": _distinct_sizes(rows, g),
        "sequence_s": g["step_median_s"].sum(min_count=1),
    }).reset_index()
    ok = out["status"] == "ok"
    out["sequence_s"] = out["sequence_s"].where(ok)
    eager = out[(out["backend"] == "eager") & ok].set_index(["run_id", "workload", "device"])
    base = out.set_index(["run_id", "workload", "device"]).index.map(eager["sequence_s"].to_dict())
    out["sequence_speedup"] = pd.Series(base, index=out.index, dtype=float) / out["sequence_s"]
    return out


def _distinct_sizes(rows: pd.DataFrame, g) -> pd.Series:
    if "distinct_batch_sizes" in rows.columns:
        return pd.to_numeric(g["distinct_batch_sizes"].max(), errors="coerce")
    return g["batch_size"].nunique().astype(float).replace(0.0, np.nan)


def memory(df: pd.DataFrame) -> pd.DataFrame:
    """Cases with a measured ``peak_mem_bytes``, with ``mem_ratio`` = peak / eager's peak
    (dimensionless) where both are ok and measured."""
    m = with_baseline(cases(df))
    m = m[m["peak_mem_bytes"].notna()].reset_index(drop=True)
    valid = (m["status"] == "ok") & (m["eager_status"] == "ok") & (m["eager_peak_mem_bytes"] > 0)
    m["mem_ratio"] = (m["peak_mem_bytes"] / m["eager_peak_mem_bytes"]).where(valid)
    return m
