"""The summary table printed at the end of ``python -m bench run`` (people's units)."""

from __future__ import annotations

import pandas as pd


def summary_table(df: pd.DataFrame) -> str:
    """One line per case: status, median and IQR of the step (ms), throughput, GFLOP/s and the
    speedup against ``eager`` of the same workload, scenario and device (blank when either
    side is not ``ok``)."""
    ok = df[df["status"] == "ok"]
    eager = ok[ok["backend"] == "eager"].set_index(["workload", "scenario", "device"])
    out = pd.DataFrame({
        "workload": df["workload"], "scenario": df["scenario"], "backend": df["backend"],
        "status": df["status"],
        "median_ms": df["step_median_s"] * 1e3,
        "iqr_ms": df["step_iqr_s"] * 1e3,
        "samples/s": df["samples_per_s"],
        "GFLOP/s": df["achieved_flops_per_s"] / 1e9,
        "first_call_ms": df["first_call_s"] * 1e3,
    })
    base = [eager["step_median_s"].get((w, s, d)) for w, s, d in
            zip(df["workload"], df["scenario"], df["device"], strict=True)]
    speedup = pd.Series(base, index=df.index, dtype=float) / df["step_median_s"]
    out["speedup"] = speedup.where(df["status"] == "ok")
    return out.to_string(index=False, float_format=lambda v: f"{v:,.3g}", na_rep="")
