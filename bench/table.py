"""The summary table printed at the end of ``python -m bench run`` (people's units)."""

from __future__ import annotations

import pandas as pd


def _short(reason: str, width: int = 60) -> str:
    return reason if len(reason) <= width else reason[: width - 3] + "..."


def _speedup(df: pd.DataFrame) -> pd.Series:
    """The recorded speedup (``bench.rounds``), else eager's twin over the step."""
    window = df["eager_step_median_s"] / df["step_median_s"]
    return df["speedup"].where(df["speedup"].notna(), window) if "speedup" in df else window


def _interval(df: pd.DataFrame) -> pd.Series:
    """The speedup's 95% interval as text, ``1.23-1.45x``; empty where none was recorded."""
    if "speedup_ci_low" not in df:
        return pd.Series(float("nan"), index=df.index, dtype=object)
    return pd.Series([f"{lo:.3g}-{hi:.3g}x" if lo == lo and hi == hi else float("nan")
                      for lo, hi in zip(df["speedup_ci_low"], df["speedup_ci_high"],
                                        strict=True)], index=df.index, dtype=object)


def summary_table(df: pd.DataFrame) -> str:
    """One line per case: status, median and IQR of the step (ms), throughput, GFLOP/s, the
    first call (ms), eager's median timed interleaved with the case in its process
    (``eager_ms``), the speedup (over the rounds, ``bench.rounds``; else ``eager_ms /
    median_ms``) with its 95% interval (blank unless ``ok``: a ``mismatch`` never shows a
    speedup), and for a row that is not ``ok`` the start of its
    reason (``why``; the whole reason is in ``results.csv``'s ``error``). Medians of
    different rows were taken minutes apart; compare a row with its own ``eager_ms``, not
    with the eager row."""
    ok = df["status"] == "ok"
    out = pd.DataFrame({
        "workload": df["workload"], "scenario": df["scenario"], "backend": df["backend"],
        "status": df["status"],
        "median_ms": df["step_median_s"] * 1e3,
        "iqr_ms": df["step_iqr_s"] * 1e3,
        "samples/s": df["samples_per_s"],
        "GFLOP/s": df["achieved_flops_per_s"] / 1e9,
        "first_call_ms": df["first_call_s"] * 1e3,
        "eager_ms": (df["eager_step_median_s"] * 1e3).where(ok),
        "speedup": _speedup(df).where(ok),
        "95% interval": _interval(df).where(ok),
        "why": df["error"].where(~ok).map(_short, na_action="ignore"),
    })
    if "disturbed" in df and (df["disturbed"] == 1).any():
        out.insert(out.columns.get_loc("speedup") + 1, "disturbed",
                   df["disturbed"].map({1: "yes"}))
    return out.to_string(index=False, float_format=lambda v: f"{v:,.3g}", na_rep="")


def disturbance_warning(df: pd.DataFrame) -> str | None:
    """One line when some timed case was measured while other processes (or the hypervisor)
    took a share of the CPUs even after its re-measures (``disturbed`` = 1), else ``None``."""
    if "disturbed" not in df:
        return None
    hit = df[df["disturbed"] == 1]
    if hit.empty:
        return None
    timed = int(df["disturbed"].notna().sum())
    worst = hit["other_cpu_cores"].max()
    steal = hit["steal_fraction"].max() if "steal_fraction" in hit else float("nan")
    stole = f" or the hypervisor stole up to {steal:.0%} of the CPU time" if steal > 0 else ""
    return (f"warning: the machine was busy: {len(hit)} of {timed} timed cases were measured "
            f"while other processes used up to {worst:.2f} cores{stole} (columns disturbed, "
            "other_cpu_cores, steal_fraction); their speedups are not to be trusted - rerun "
            "them on a quiet machine")
