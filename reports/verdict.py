"""The verdict, computed: per workload, scenario and device, the fastest correct backend, its
speedup and break-even (cold and warm compile cache), and whether "static graphs are faster"
holds there, judged from the best static backend's interval widened for its selection (a
PyTorch static graph: ``reports.backends.static``, from the runs' backend records; the
margin, the widening and the verdict table in ``reports.claim``); the debuggability facts
come from ``reports.debuggability``. Every sentence is generated from the tables' numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from bench.schema import steady_scenarios
from reports import backends, metrics
from reports.claim import (
    CLAIM,
    DISTURBED,
    FAILS,
    HOLDS,
    MARGIN,
    UNDECIDED,
    bonferroni_interval,
    fmt_claim_interval,
    fmt_claim_speedup,
    judge_claim,
    verdict_table,
)
from reports.debuggability import debug_sentences
from reports.metrics import EAGER
from reports.recipes import recipe_frame, recipe_sentences
from reports.table import Table
from reports.units import counted, fmt_geomean, fmt_speedup, fmt_steps, fmt_time


@dataclass
class Verdict:
    """Sentences in four groups, and the per-cell table they were generated from."""

    summary: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    debuggability: list[str] = field(default_factory=list)
    recipes: list[str] = field(default_factory=list)  # the fastest PyTorch training recipes
    table: Table | None = None


def _fastest(rows: pd.DataFrame) -> pd.Series | None:
    """The ok row with the highest speedup against eager (the ratio to eager timed in the
    same process, so the ranking agrees with the speedups shown; eager counts as 1), or the
    shortest step where no speedup is known."""
    ok = rows[(rows["status"] == "ok") & rows["step_median_s"].notna()]
    if ok.empty:
        return None
    speedup = ok["speedup"].mask(ok["backend"] == EAGER, 1.0)
    if speedup.notna().all():
        return ok.loc[speedup.idxmax()]
    return ok.loc[ok["step_median_s"].idxmin()]


# The best static backend's numbers in a verdict row: best_static_KEY <- the case's column.
STATIC_FIELDS = {"speedup": "speedup", "speedup_low": "speedup_ci_low",
                 "speedup_high": "speedup_ci_high", "step_s": "step_median_s",
                 "eager_step_s": "eager_step_median_s", "break_even_steps": "break_even_steps"}


def _static_fields(g: pd.DataFrame, is_static: pd.Series) -> dict:
    """The best PyTorch static backend of one cell's cases ``g``: its numbers
    (``STATIC_FIELDS``), ``k_static`` (static backends with a valid speedup, the candidates
    it was picked from), its interval widened for that pick (``bonferroni_interval``:
    ``best_static_adjusted_low`` / ``_high``) and the claim's verdict judged from it."""
    static = _fastest(g[is_static])
    k = int(g.loc[is_static, "speedup"].notna().sum())
    out = {"best_static": None if static is None else static["backend"],
           **{f"best_static_{key}": math.nan if static is None else static[c]
              for key, c in STATIC_FIELDS.items()}, "k_static": k}
    low, high = (math.nan, math.nan) if static is None else bonferroni_interval(
        static["speedup"], static["speedup_ci_low"], static["speedup_ci_high"], k,
        static.get("rounds", math.nan))
    out.update(best_static_adjusted_low=low, best_static_adjusted_high=high,
               claim=None if static is None else judge_claim(low, high, static["disturbed"]))
    return out


def _fastest_fields(fastest: pd.Series | None, eager_status: str | None) -> dict:
    """The fastest correct backend of one cell: its name, step, eager twin, speedup (1 for
    eager itself) with its interval, compile times and break-even steps."""
    if fastest is None:
        return {"fastest": None, **{f"fastest_{c}": math.nan for c in FASTEST_FIELDS}}
    own = fastest["backend"] == EAGER and eager_status == "ok"
    out = {"fastest": fastest["backend"], **{f"fastest_{c}": fastest[col] for c, col in
                                             FASTEST_FIELDS.items()}}
    if own:
        out.update(fastest_speedup=1.0, fastest_speedup_low=math.nan,
                   fastest_speedup_high=math.nan)
    return out


# The fastest backend's numbers in a verdict row: fastest_KEY <- the case's column.
FASTEST_FIELDS = {"step_s": "step_median_s", "eager_step_s": "eager_step_median_s",
                  "speedup": "speedup", "speedup_low": "speedup_ci_low",
                  "speedup_high": "speedup_ci_high", "compile_s": "compile_s",
                  "break_even_steps": "break_even_steps", "compile_warm_s": "compile_warm_s",
                  "break_even_warm_steps": "break_even_warm_steps"}


def _cell(key: dict, g: pd.DataFrame) -> dict:
    """One verdict row for the cases ``g`` of one workload, scenario and device."""
    eager = g[g["backend"] == EAGER]
    eager_status = eager["status"].iloc[0] if len(eager) else None
    is_static = backends.static(g)
    jit, jeager = _fastest(g[g["backend"] == "jax_jit"]), _fastest(g[g["backend"] == "jax_eager"])
    bad = g[g["status"] != "ok"]
    return {
        **key,
        "eager_status": eager_status,
        "eager_step_s": eager["step_median_s"].iloc[0] if eager_status == "ok" else math.nan,
        **_fastest_fields(_fastest(g), eager_status),
        **_static_fields(g, is_static),
        "n_cases": len(g),
        "n_ok": int((g["status"] == "ok").sum()),
        "n_static": int(is_static.sum()),
        "jax_jit_vs_jax_eager": (jeager["step_median_s"] / jit["step_median_s"])
        if jit is not None and jeager is not None else math.nan,
        "not_ok": "; ".join(f"{b} {s}" for b, s in zip(bad["backend"], bad["status"],
                                                       strict=True)),
    }


def verdict_frame(df: pd.DataFrame) -> pd.DataFrame:
    """One row per workload, scenario and device (and run, when a device has several): the
    fastest correct backend, its step (s), speedup and break-even (steps), the best PyTorch
    static backend and whether it beats eager (``claim``: see ``judge_claim``)."""
    b = metrics.break_even(df)
    idx = metrics.case_index(b)
    rows = [_cell(dict(zip(idx, key, strict=True)), g)
            for key, g in b.groupby(idx, sort=False, dropna=False)]
    if not rows:
        return pd.DataFrame(columns=[*idx, *_cell({}, b.iloc[0:0]).keys()])
    return pd.DataFrame(rows)


def _where(r: pd.Series) -> str:
    run = f" [{r['run_id']}]" if "run_id" in r.index else ""
    return f"{r['workload']} / {r['scenario']} / {r['device']}{run}"


def _more_or_less(speedup: float) -> str:
    """2.0 -> "50% less time per step"; 0.5 -> "100% more time per step"; under 10% with one
    decimal (0.9536 -> "4.9% more"), so that a tie never reads as the 5% it is less than."""
    pct = (1 - 1 / speedup if speedup >= 1 else 1 / speedup - 1) * 100
    text = f"{pct:.1f}%" if pct < 10 else f"{pct:.0f}%"
    return f"{text} {'less' if speedup >= 1 else 'more'} time per step"


# How the widened interval of a judged cell lies against 1 + MARGIN, by verdict.
_SIDE = {HOLDS: "lies wholly above", FAILS: "lies wholly below", UNDECIDED: "straddles"}


def _claim_sentence(r: pd.Series) -> str:
    if r["claim"] is None or pd.isna(r["claim"]):
        why = ("eager did not run correctly" if r["eager_status"] != "ok" else
               "eager has no step time" if pd.isna(r["eager_step_s"]) else
               "its speedup has no interval" if pd.notna(r["best_static_speedup"]) else
               "no static backend ran correctly" if r["n_static"] else "no static backend measured")
        return f'Claim "{CLAIM}": cannot be judged ({why}).'
    s = r["best_static_speedup"]
    text = (f'Claim "{CLAIM}": {r["claim"]} (best static graph {r["best_static"]} at '
            f"{fmt_claim_speedup(s)} eager, {_more_or_less(s)}")
    if r["claim"] in _SIDE:
        ends = fmt_claim_interval(r["best_static_adjusted_low"], r["best_static_adjusted_high"])
        text += (f"; its 95% interval, widened for the best of {r['k_static']}, {ends}, "
                 f"{_SIDE[r['claim']]} {1 + MARGIN:.2f}x")
    return text + ")."


def _fastest_sentence(r: pd.Series) -> str:
    where, t = _where(r), fmt_time(r["fastest_step_s"])
    if pd.isna(r["fastest"]):
        return f"{where}: no backend ran correctly."
    if r["eager_status"] != "ok" or pd.isna(r["eager_step_s"]):
        status = "missing" if pd.isna(r["eager_status"]) else r["eager_status"]
        status += " without a step time" if status == "ok" else ""
        return f"{where}: eager {status}; the fastest correct backend is {r['fastest']} ({t})."
    if r["fastest"] == EAGER:
        what = ("only eager was measured" if r["n_cases"] == 1 else
                "only eager ran correctly" if r["n_ok"] == 1 else
                "no correct backend beats eager")
        return f"{where}: {what} ({t} per step)."
    text = (f"{where}: the highest speedup among correct backends is {r['fastest']}'s, "
            f"{fmt_speedup(r['fastest_speedup'])}: {t} per step against "
            f"{fmt_time(r['fastest_eager_step_s'])} for the eager step timed alongside it")
    be = r["fastest_break_even_steps"]
    if pd.notna(be) and math.isfinite(be):
        text += (f"; its {fmt_time(r['fastest_compile_s'])} of compilation pays for itself "
                 f"after {_steps(be)}")
        warm = r["fastest_break_even_warm_steps"]
        if pd.notna(warm) and math.isfinite(warm):
            text += (f" (with a warm compile cache {fmt_time(r['fastest_compile_warm_s'])}, "
                     f"after {_steps(warm)})")
    elif pd.isna(r["fastest_compile_s"]):
        text += "; no compile time recorded, so no break-even"
    return text + "."


def _steps(n: float) -> str:
    steps = fmt_steps(n)
    return f"{steps} step{'' if steps == '1' else 's'}"


def cell_sentences(frame: pd.DataFrame) -> list[str]:
    """One paragraph per verdict row: fastest backend, break-even, the claim, JAX, exclusions."""
    out = []
    for _, r in frame.iterrows():
        parts = [_fastest_sentence(r), _claim_sentence(r)]
        if pd.notna(r["jax_jit_vs_jax_eager"]):
            parts.append(f"In JAX, jax_jit runs at {fmt_speedup(r['jax_jit_vs_jax_eager'])} "
                         "jax_eager.")
        if r["not_ok"]:
            parts.append(f"Not counted: {r['not_ok']}.")
        out.append(" ".join(parts))
    return out


def summary_sentences(df: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """How often the claim holds, per device, and the geometric-mean speedups."""
    out = []
    judged = frame[frame["claim"].notna()]
    if judged.empty:
        out.append(f'The claim "{CLAIM}" could not be judged anywhere: no workload, scenario '
                   "and device has both an ok eager and an ok PyTorch static backend.")
    else:
        def counts(g: pd.DataFrame) -> str:
            n = g["claim"].value_counts()
            return (f"{n.get(HOLDS, 0)} hold, {n.get(FAILS, 0)} not, {n.get(UNDECIDED, 0)} "
                    "undecided" + (f", {n[DISTURBED]} disturbed" if DISTURBED in n else ""))

        per_dev = "; ".join(f"{dev}: {counts(g)}" for dev, g in judged.groupby("device"))
        out.append(f'The claim "{CLAIM}" (the best PyTorch static backend beats eager by '
                   f"more than {MARGIN:.0%}, its whole interval widened for the pick above "
                   f"{1 + MARGIN:.2f}x) holds in {(judged['claim'] == HOLDS).sum()} of "
                   f"{len(judged)} workload x scenario x device cells ({per_dev}).")
    geo = metrics.geomean_speedups(df)
    for dev, g in geo[geo["backend"] != EAGER].groupby("device"):
        g = g.sort_values("geomean_speedup", ascending=False)
        items = ", ".join(f"{r['backend']} " + fmt_geomean(
            r["geomean_speedup"], r["geomean_ci_low"], r["geomean_ci_high"], r["n"])
            for _, r in g.iterrows())
        out.append(f"On {dev}, geometric-mean speedup against eager "
                   f"({', '.join(steady_scenarios())}; the shapes scenarios are judged "
                   f"apart): {items}.")
    return out + _warm_sentences(df)


def _warm_sentences(df: pd.DataFrame) -> list[str]:
    """Per device: how much a warm compile cache saves, per compiling backend."""
    out = []
    for dev, g in metrics.warm_savings(df).groupby("device", sort=False):
        items = ", ".join(
            f"{r['backend']} {fmt_time(r['cold_s'])} -> {fmt_time(r['warm_s'])}"
            + ("" if pd.isna(r["saved_fraction"]) else f" ({r['saved_fraction'] * 100:.0f}% "
               f"{'less' if r['saved_fraction'] >= 0 else 'more'})")
            + f" over {counted(r['n'], 'case')}" for _, r in g.iterrows())
        out.append(f"On {dev}, compile time cold -> with a warm cache (the case's Inductor/JAX "
                   f"caches filled by its first round or an earlier process): {items}.")
    return out


def build_verdict(df: pd.DataFrame) -> Verdict:
    """The whole verdict of results ``df``: sentences and the table behind them."""
    frame = verdict_frame(df)
    return Verdict(summary_sentences(df, frame), cell_sentences(frame), debug_sentences(df),
                   recipe_sentences(recipe_frame(df)), verdict_table(frame))
