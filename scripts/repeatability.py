"""How well two runs of the same matrix agree (e.g. two back-to-back quick runs): for the
cases ok in both, the change of the absolute step median and of the speedup (the ratio to the
eager twin, from the runs' rounds where they have them), how often each run's speedup lies
inside the other's 95% interval, the verdicts that flip, and each backend's geometric mean.

    PYTHONPATH=. python scripts/repeatability.py RUN_A RUN_B [--over-s 1e-3] [--within 0.05]

Changes are |b / a - 1|; "over" counts only cases whose step in RUN_A is above --over-s. A
calibrated 95% interval of a mean of R rounds holds a second run's mean about 91% of the time
at R = 3 (tests/test_rounds.py simulates it), 83% for a normal interval of many samples.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from bench.results import read_results
from bench.schema import KEY
from reports.claim import FAILS, HOLDS, judge_claim
from reports.load import load_runs
from reports.metrics import speedups
from reports.verdict import verdict_frame


def _changes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    cols = ["speedup", "speedup_ci_low", "speedup_ci_high"]
    a, b = (speedups(x)[[*KEY, "status", "step_median_s", "disturbed", *cols]] for x in (a, b))
    m = a.merge(b, on=KEY, suffixes=("_a", "_b"))
    m = m[(m["status_a"] == "ok") & (m["status_b"] == "ok")].copy()
    m["step_change"] = (m["step_median_s_b"] / m["step_median_s_a"] - 1).abs()
    m["speedup_change"] = (m["speedup_b"] / m["speedup_a"] - 1).abs()
    m["a_in_b"] = m["speedup_a"].between(m["speedup_ci_low_b"], m["speedup_ci_high_b"])
    m["b_in_a"] = m["speedup_b"].between(m["speedup_ci_low_a"], m["speedup_ci_high_a"])
    for side in "ab":
        m[f"verdict_{side}"] = [judge_claim(lo, hi, d) for lo, hi, d in zip(
            m[f"speedup_ci_low_{side}"], m[f"speedup_ci_high_{side}"], m[f"disturbed_{side}"],
            strict=True)]
    return m


def agreement_lines(m: pd.DataFrame) -> list[str]:
    """Coverage, the 90th percentile of the change and the holds / does-not-hold flips of
    the non-eager cells of ``_changes``."""
    c = m[(m["backend"] != "eager") & m["speedup_a"].notna()]
    pair = c["verdict_a"].astype(str) + "/" + c["verdict_b"].astype(str)
    flips = c[pair.isin([f"{HOLDS}/{FAILS}", f"{FAILS}/{HOLDS}"])]
    lines = [f"non-eager cells ok in both: {len(c)}; A's speedup inside B's 95% interval: "
             f"{c['a_in_b'].mean():.0%}, B's inside A's: {c['b_in_a'].mean():.0%}",
             f"speedup change: median {c['speedup_change'].median():.1%}, 90th percentile "
             f"{c['speedup_change'].quantile(0.9):.1%}, largest {c['speedup_change'].max():.1%}",
             f"cells that flip between {HOLDS!r} and {FAILS!r}: {len(flips)}"]
    lines += [f"  flip {r.workload}/{r.scenario}/{r.backend}: {r.speedup_a:.3g}x "
              f"({r.speedup_ci_low_a:.3g}-{r.speedup_ci_high_a:.3g}) {r.verdict_a}, then "
              f"{r.speedup_b:.3g}x ({r.speedup_ci_low_b:.3g}-{r.speedup_ci_high_b:.3g}) "
              f"{r.verdict_b}" for r in flips.itertuples()]
    return lines


def _line(label: str, x: pd.Series, within: float) -> str:
    return (f"{label}: n={len(x)}, median change {x.median():.1%}, within {within:.0%}: "
            f"{int((x <= within).sum())}, largest {x.max():.1%}")


def verdict_lines(run_a: str, run_b: str) -> list[str]:
    """The verdict table's rows (best static backend, selection-adjusted interval) of the two
    run folders side by side, and how many flip between holds and does not hold."""
    keys = ["workload", "scenario", "device"]
    va, vb = (verdict_frame(load_runs([x]).results)[[*keys, "best_static", "claim"]]
              for x in (run_a, run_b))
    m = va.merge(vb, on=keys, suffixes=("_a", "_b"))
    flips = m[((m["claim_a"] == HOLDS) & (m["claim_b"] == FAILS))
              | ((m["claim_a"] == FAILS) & (m["claim_b"] == HOLDS))]
    same = int((m["claim_a"] == m["claim_b"]).sum())
    lines = [f"verdict table: {same} of {len(m)} rows give the same verdict, "
             f"{len(flips)} flip between {HOLDS!r} and {FAILS!r}"]
    lines += [f"  {r.workload}/{r.scenario}: {r.best_static_a} {r.claim_a}, then "
              f"{r.best_static_b} {r.claim_b}" for r in m.itertuples()
              if r.claim_a != r.claim_b]
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("--over-s", type=float, default=1e-3)
    p.add_argument("--within", type=float, default=0.05)
    args = p.parse_args()
    a, b = read_results(args.run_a), read_results(args.run_b)
    m = _changes(a, b)
    over = m[m["step_median_s_a"] > args.over_s]
    print(_line(f"absolute step median, cases over {args.over_s:g} s", over["step_change"],
                args.within))
    compiled = m[m["backend"] != "eager"]
    print(_line("speedup (ratio to the interleaved eager twin), non-eager cases",
                compiled["speedup_change"], args.within))
    print("\n".join(agreement_lines(m) + verdict_lines(args.run_a, args.run_b)))
    geo = compiled.groupby("backend")[["speedup_a", "speedup_b"]].agg(
        lambda s: float(np.exp(np.log(s).mean())))
    for backend, r in geo.iterrows():
        print(f"  geomean {backend}: {r['speedup_a']:.2f}x then {r['speedup_b']:.2f}x")


if __name__ == "__main__":
    main()
