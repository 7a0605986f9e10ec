"""Which PyTorch training recipe is fastest, per training cell: every ok PyTorch backend of
the ``train`` scenario ranked by its speedup against eager (the notes' code: eager counts as
1), the fastest named with its interval and the runner-up's, and "static beats dynamic"
asked again against the best dynamic code (eager, or ``eager_fused``: the same step with the
fused Adam), not only against the notes' defaults. Every sentence comes from the results."""

from __future__ import annotations

import pandas as pd

from reports import metrics
from reports.backends import COMPILES, FRAMEWORK
from reports.table import Table
from reports.units import fmt_speedup, fmt_speedup_ci

TRAIN = "train"


def _ranked(g: pd.DataFrame) -> pd.DataFrame:
    """The cell's ok PyTorch rows by speedup, fastest first (eager at exactly 1)."""
    ok = g[(g["status"] == "ok") & (g[FRAMEWORK] == "torch")].copy()
    eager = ok["backend"] == metrics.EAGER
    for col in ("speedup", "speedup_ci_low", "speedup_ci_high"):
        ok.loc[eager, col] = 1.0
    return ok[ok["speedup"].notna()].sort_values("speedup", ascending=False)


def _apart(a: pd.Series, b: pd.Series) -> bool:
    """Whether ``a``'s interval lies wholly above ``b``'s."""
    return bool(a["speedup_ci_low"] > b["speedup_ci_high"])


def _best(rows: pd.DataFrame, compiled: bool) -> pd.Series | None:
    picked = rows[rows[COMPILES] == compiled]
    return None if picked.empty else picked.iloc[0]


def recipe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """One row per training cell (``device``, ``workload``) with an ok PyTorch row: the
    fastest recipe and runner-up (``backend``, ``speedup`` and its 95% interval), whether
    the fastest's interval is clear of the runner-up's (``clear``), the best compiled and the
    best dynamic (non-compiling) recipe, and ``compiled_over_dynamic``: the best compiled
    speedup over the best dynamic one (> 1: the static graph beats the best eager code).
    ``df`` is ``reports.backends.describe``d results."""
    m = metrics.speedups(df)
    out = []
    for (device, workload), g in m[m["scenario"] == TRAIN].groupby(["device", "workload"]):
        rows = _ranked(g)
        if rows.empty:
            continue
        first = rows.iloc[0]
        second = rows.iloc[1] if len(rows) > 1 else None
        comp, dyn = _best(rows, True), _best(rows, False)
        out.append({
            "device": device, "workload": workload, "fastest": first["backend"],
            "speedup": first["speedup"], "low": first["speedup_ci_low"],
            "high": first["speedup_ci_high"],
            "runner_up": None if second is None else second["backend"],
            "runner_up_speedup": None if second is None else second["speedup"],
            "clear": second is not None and _apart(first, second),
            "best_compiled": None if comp is None else comp["backend"],
            "best_dynamic": None if dyn is None else dyn["backend"],
            "compiled_over_dynamic": (comp["speedup"] / dyn["speedup"]
                                      if comp is not None and dyn is not None else None),
            "recipes": len(rows),
        })  # fmt: skip
    return pd.DataFrame(out)


def _fastest_text(r: pd.Series) -> str:
    """The fastest recipe, and how it stands against the runner-up."""
    if r["fastest"] == metrics.EAGER:
        text = "eager itself (the notes' code)"
        if r["runner_up"] is not None:
            how = "below 1 (clearly slower)" if r["clear"] else "reaching 1 (a tie)"
            text += (f"; the next, {r['runner_up']} at {fmt_speedup(r['runner_up_speedup'])}, "
                     f"has its interval {how}")
        return text
    text = f"{r['fastest']} at {fmt_speedup_ci(r['speedup'], r['low'], r['high'])} eager's speed"
    if r["runner_up"] is not None:
        how = "clear of" if r["clear"] else "its interval overlapping"
        text += f", {how} {r['runner_up']} ({fmt_speedup(r['runner_up_speedup'])})"
    return text


def recipe_sentences(frame: pd.DataFrame) -> list[str]:
    """One sentence per training cell of ``recipe_frame``: the fastest PyTorch recipe, how
    sure (clear of the runner-up, or a tie with it), and compiled against the best eager."""
    out = []
    for _, r in frame.iterrows():
        text = (f"{r['workload']} on {r['device']}: the fastest PyTorch training recipe is "
                + _fastest_text(r))
        if pd.notna(r["compiled_over_dynamic"]) and r["best_dynamic"] != metrics.EAGER:
            text += (f"; the best compiled recipe ({r['best_compiled']}) runs at "
                     f"{fmt_speedup(r['compiled_over_dynamic'])} the best eager one "
                     f"({r['best_dynamic']})")
        out.append(text + f" ({r['recipes']} recipes timed).")
    return out


def recipe_table(frame: pd.DataFrame) -> Table:
    """``recipe_frame`` as a report table."""
    shown = pd.DataFrame({
        "device": frame.get("device", []), "workload": frame.get("workload", []),
        "fastest recipe": frame.get("fastest", []),
        "speedup (95% interval)": [
            "1.00x (the baseline)" if b == metrics.EAGER else fmt_speedup_ci(s, lo, hi)
            for b, s, lo, hi in zip(frame.get("fastest", []), frame.get("speedup", []),
                                    frame.get("low", []), frame.get("high", []), strict=True)],
        "runner-up": frame.get("runner_up", []),
        "clear of it": ["yes" if c else "tie" for c in frame.get("clear", [])],
        "best compiled / best eager": [fmt_speedup(v) for v in
                                       frame.get("compiled_over_dynamic", [])],
    })  # fmt: skip
    return Table("recipes", "PyTorch training recipes, fastest first",
                 "The train scenario's ok PyTorch backends ranked by speedup against eager (the "
                 "notes' code). clear: the fastest's 95% interval lies above the runner-up's. "
                 "best compiled / best eager: the fastest compiled recipe's speedup over the "
                 "fastest non-compiling one (eager, or eager_fused: the fused Adam).",
                 shown, frame)
