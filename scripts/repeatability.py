"""How well two runs of the same matrix agree (e.g. two back-to-back quick runs): for the
cases ok in both, the change of the absolute step median and of the speedup (the ratio to the
eager twin timed in the same process), and of each backend's geometric-mean speedup.

    PYTHONPATH=. python scripts/repeatability.py RUN_A RUN_B [--over-s 1e-3] [--within 0.05]

Changes are |b / a - 1|; "over" counts only cases whose step in RUN_A is above --over-s.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from bench.results import read_results
from bench.schema import KEY


def _changes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    m = a.merge(b, on=KEY, suffixes=("_a", "_b"))
    m = m[(m["status_a"] == "ok") & (m["status_b"] == "ok")].copy()
    m["step_change"] = (m["step_median_s_b"] / m["step_median_s_a"] - 1).abs()
    ratio_a = m["eager_step_median_s_a"] / m["step_median_s_a"]
    ratio_b = m["eager_step_median_s_b"] / m["step_median_s_b"]
    m["speedup_a"], m["speedup_b"] = ratio_a, ratio_b
    m["speedup_change"] = (ratio_b / ratio_a - 1).abs()
    return m


def _line(label: str, x: pd.Series, within: float) -> str:
    return (f"{label}: n={len(x)}, median change {x.median():.1%}, within {within:.0%}: "
            f"{int((x <= within).sum())}, largest {x.max():.1%}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("--over-s", type=float, default=1e-3)
    p.add_argument("--within", type=float, default=0.05)
    args = p.parse_args()
    m = _changes(read_results(args.run_a), read_results(args.run_b))
    over = m[m["step_median_s_a"] > args.over_s]
    print(_line(f"absolute step median, cases over {args.over_s:g} s", over["step_change"],
                args.within))
    compiled = m[m["backend"] != "eager"]
    print(_line("speedup (ratio to the interleaved eager twin), non-eager cases",
                compiled["speedup_change"], args.within))
    geo = compiled.groupby("backend")[["speedup_a", "speedup_b"]].agg(
        lambda s: float(np.exp(np.log(s).mean())))
    for backend, r in geo.iterrows():
        print(f"  geomean {backend}: {r['speedup_a']:.2f}x then {r['speedup_b']:.2f}x")


if __name__ == "__main__":
    main()
