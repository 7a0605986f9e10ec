"""The claim "static graphs are faster" and how its verdict is shown: the practical margin,
the verdict of one interval, the Bonferroni widening that accounts for picking the best of
several static backends, and the verdict table that opens the report (one row per workload,
scenario and device: the verdict as a coloured cell, the best PyTorch static backend, its
speedup with its adjusted interval, eager's step, break-even steps, the fastest of all)."""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from reports.table import Columns, Table, format_columns
from reports.units import MISSING, fmt_speedup, fmt_speedup_ci, fmt_steps, fmt_text, fmt_time

CLAIM = "static graphs are faster"
# The practical margin: a static step at least 5% faster than eager's is the smallest gain
# the suite calls a finding (two back-to-back quick runs on the project's CPU machine, 3
# rounds each, moved a cell's speedup by 2.3%, median over 105 cells; 90th percentile 9.5%).
# The claim holds where the whole
# interval lies above 1 + MARGIN, does not hold where it lies wholly below.
MARGIN = 0.05
HOLDS, FAILS, UNDECIDED = "holds", "does not hold", "undecided"
# The verdict of a cell whose best static backend was timed while other processes used the
# CPUs even after its re-measures (the row's ``disturbed`` = 1): its speedup is not judged.
DISTURBED = "disturbed"
CONFIDENCE = 0.95  # of every interval the report shows


def _quantile(p: float, rounds: float) -> float:
    """Student's t quantile ``p`` with ``rounds - 1`` degrees of freedom, the normal one
    where ``rounds`` is 1 or missing (NaN, None)."""
    if rounds is None or pd.isna(rounds) or rounds < 2:
        return float(stats.norm.ppf(p))
    return float(stats.t.ppf(p, int(rounds) - 1))


def bonferroni_interval(speedup: float, low: float, high: float, k: float,
                        rounds: float = math.nan) -> tuple[float, float]:
    """The 95% interval ``low``-``high`` of ``speedup`` widened to confidence 1 - 0.05 / ``k``,
    for a backend selected as the best of ``k`` candidates (Bonferroni): in log space each
    end's distance from log ``speedup`` times q(1 - 0.025 / k) / q(0.975), q Student's t
    quantile with ``rounds - 1`` degrees of freedom (the interval's own, ``bench.rounds``),
    the normal one where ``rounds`` is 1 or missing. ``k`` <= 1 leaves it unchanged; NaN ends
    where the interval or the speedup is missing.

    >>> [round(v, 3) for v in bonferroni_interval(2.0, 1.5, 2.5, 1, 3)]
    [1.5, 2.5]
    """
    if any(v is None or pd.isna(v) or v <= 0 for v in (speedup, low, high)):
        return math.nan, math.nan
    if pd.isna(k) or k <= 1:
        return float(low), float(high)
    alpha = 1 - CONFIDENCE
    f = _quantile(1 - alpha / 2 / k, rounds) / _quantile(1 - alpha / 2, rounds)
    return speedup * (low / speedup) ** f, speedup * (high / speedup) ** f


def fmt_claim_speedup(speedup: float) -> str:
    """A best static speedup as the claim reads it: three decimals inside 0.9x-1.1x, where
    two decimals could put a value on the wrong side of the margin (1.05x)."""
    if speedup is not None and pd.notna(speedup) and 0.9 <= speedup <= 1.1:
        return f"{speedup:.3f}x"
    return fmt_speedup(speedup)


def judge_claim(low: float, high: float | None = None, disturbed: float = 0) -> str | None:
    """The claim's verdict for the interval ``low``-``high`` of a best static speedup
    (dimensionless; one value, ``high`` None, judges as a point): ``HOLDS`` when it lies wholly
    above ``1 + MARGIN`` (low > 1.05), ``FAILS`` wholly below (high < 1.05: not faster by a
    practical margin, or slower), ``UNDECIDED`` when it straddles it; ``None`` without an
    interval, ``DISTURBED`` when its row was timed on a busy machine."""
    high = low if high is None else high
    if any(v is None or pd.isna(v) for v in (low, high)):
        return None
    if disturbed == 1:
        return DISTURBED
    if low > 1 + MARGIN:
        return HOLDS
    return FAILS if high < 1 + MARGIN else UNDECIDED


CANNOT = "cannot judge"  # the verdict cell where there is no claim to judge
VERDICT = "verdict"  # the header of the claim's cell
# The verdict cell's class in the HTML page (its colour), by its text.
VERDICT_CLASSES = {HOLDS: "holds", FAILS: "fails", UNDECIDED: "tie", CANNOT: "none",
                   DISTURBED: "none"}
INTERVAL = f"interval ({CONFIDENCE:.0%}, k adjusted)"  # the header of the adjusted interval


def _claim_cell(claim: str | None) -> str:
    return CANNOT if claim is None or pd.isna(claim) else claim


def fmt_claim_interval(low: float, high: float) -> str:
    """``low``-``high`` as speedups, both ends with three decimals where the interval
    reaches into 0.9x-1.1x (as ``fmt_claim_speedup``), else two."""
    if pd.isna(low) or pd.isna(high):
        return MISSING
    if low <= 1.1 and high >= 0.9:
        return f"{low:.3f}x-{high:.3f}x"
    return f"{fmt_speedup(low)}-{fmt_speedup(high)}"


def _eager_cell(twin_s: float, row_s: float) -> str:
    return fmt_time(row_s if pd.isna(twin_s) else twin_s)


def _fastest_cell(backend: str | None, speedup: float, low: float, high: float) -> str:
    return fmt_text(backend) if pd.isna(speedup) else \
        f"{backend} {fmt_speedup_ci(speedup, low, high)}"


def _k_cell(k: float) -> str:
    return MISSING if pd.isna(k) or k < 1 else str(int(k))


# The verdict table's shown columns (its tidy frame is the whole verdict frame).
SHOWN: Columns = {
    VERDICT: ("claim", _claim_cell),
    "best static": ("best_static", fmt_text),
    "vs eager": ("best_static_speedup", fmt_claim_speedup),
    INTERVAL: (("best_static_adjusted_low", "best_static_adjusted_high"), fmt_claim_interval),
    "k": ("k_static", _k_cell),
    "eager step": (("best_static_eager_step_s", "eager_step_s"), _eager_cell),
    "break-even steps": ("best_static_break_even_steps", fmt_steps),
    "fastest of all": (("fastest", "fastest_speedup", "fastest_speedup_low",
                        "fastest_speedup_high"), _fastest_cell),
}
NOTE = (
    "Per workload, scenario and device, the claim's verdict: whether the best PyTorch static "
    "backend (the compiling torch backend with the highest speedup; not eager, its variants "
    f"or JAX) beats eager by the practical margin of {MARGIN:.0%}, the smallest gain the suite "
    "calls a finding (two back-to-back runs moved a cell's speedup by 2.3%, median): holds "
    "when its "
    f"interval lies wholly above {1 + MARGIN:.2f}x, does not hold when wholly below (not "
    f"faster by the margin, or slower), undecided when it straddles {1 + MARGIN:.2f}x. vs "
    "eager: its speedup, the geometric mean over the case's rounds of the eager step timed "
    "interleaved with it over its step (a run without rounds: its one window). interval: "
    "its 95% interval (Student's t over the rounds' log ratios; without rounds, the eager "
    "step over the ends of its step's interval), widened because it is the best of k "
    "candidates: Bonferroni over the k static backends with a valid speedup, confidence "
    "1 - 0.05/k (k = 1: unchanged). eager step: its twin (the eager row's where no static "
    "backend ran); break-even: its compile time / (eager step - its step). fastest of all: "
    "the ok backend with the highest speedup, JAX included, with its 95% interval (not "
    "adjusted). disturbed: timed while other processes used the CPUs (column disturbed), not "
    "judged.")


def verdict_table(frame: pd.DataFrame) -> Table:
    """The verdict table of ``frame`` (``reports.verdict.verdict_frame``): the case, then
    ``SHOWN``; its tidy frame is ``frame`` itself. The verdict cells carry their colour."""
    idx = [c for c in ("run_id", "device", "workload", "scenario") if c in frame.columns]
    shown = frame if frame.empty else pd.concat(
        [frame[idx].astype(object), format_columns(frame, SHOWN)], axis=1)
    return Table("verdict", "Verdict per case", NOTE, shown, frame,
                 classes={VERDICT: VERDICT_CLASSES})


