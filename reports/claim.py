"""The claim "static graphs are faster" and how its verdict is shown: the noise threshold, the
verdict of one speedup, and the verdict table that opens the report (one row per workload,
scenario and device: the verdict as a coloured cell, the best PyTorch static backend, its
speedup with its interval, eager's step, break-even steps, and the fastest backend of all)."""

from __future__ import annotations

import pandas as pd

from reports.table import Columns, Table, format_columns
from reports.units import MISSING, fmt_speedup, fmt_steps, fmt_text, fmt_time

CLAIM = "static graphs are faster"
# A best static speedup within this fraction of 1 (0.952x to 1.05x) is called "within noise":
# on the project's CPU machine two back-to-back runs of the same case moved its speedup by
# 4.4% (median over 105 cases), so a smaller difference from eager is not a finding.
NOISE = 0.05
HOLDS, FAILS, TIE = "holds", "does not hold", "within noise"
# The verdict of a cell whose best static backend was timed while other processes used the
# CPUs even after its re-measures (the row's ``disturbed`` = 1): its speedup is not judged.
DISTURBED = "disturbed"


def fmt_claim_speedup(speedup: float) -> str:
    """A best static speedup as the claim reads it: three decimals inside 0.9x-1.1x, where
    two decimals could put a value on the wrong side of the thresholds (0.952x, 1.05x)."""
    if speedup is not None and pd.notna(speedup) and 0.9 <= speedup <= 1.1:
        return f"{speedup:.3f}x"
    return fmt_speedup(speedup)


def judge_claim(speedup: float, disturbed: float = 0) -> str | None:
    """The claim's verdict for a best static speedup (dimensionless): ``HOLDS`` at or above
    ``1 + NOISE``, ``FAILS`` at or below ``1 / (1 + NOISE)``, ``TIE`` between, ``None``
    when there is no speedup, ``DISTURBED`` when its row was timed on a busy machine."""
    if speedup is None or pd.isna(speedup):
        return None
    if disturbed == 1:
        return DISTURBED
    if speedup >= 1 + NOISE:
        return HOLDS
    return FAILS if speedup <= 1 / (1 + NOISE) else TIE


CANNOT = "cannot judge"  # the verdict cell where there is no claim to judge
VERDICT = "verdict"  # the header of the claim's cell
# The verdict cell's class in the HTML page (its colour), by its text.
VERDICT_CLASSES = {HOLDS: "holds", FAILS: "fails", TIE: "tie", CANNOT: "none",
                   DISTURBED: "none"}


def _claim_cell(claim: str | None) -> str:
    return CANNOT if claim is None or pd.isna(claim) else claim


def _interval_cell(low: float, high: float) -> str:
    """``low``-``high`` as speedups, both ends with three decimals where the interval
    reaches into 0.9x-1.1x (as ``fmt_claim_speedup``), else two."""
    if pd.isna(low) or pd.isna(high):
        return MISSING
    if low <= 1.1 and high >= 0.9:
        return f"{low:.3f}x-{high:.3f}x"
    return f"{fmt_speedup(low)}-{fmt_speedup(high)}"


def _eager_cell(twin_s: float, row_s: float) -> str:
    return fmt_time(row_s if pd.isna(twin_s) else twin_s)


def _fastest_cell(backend: str | None, speedup: float) -> str:
    return fmt_text(backend) if pd.isna(speedup) else f"{backend} {fmt_speedup(speedup)}"


# The verdict table's shown columns (its tidy frame is the whole verdict frame).
SHOWN: Columns = {
    VERDICT: ("claim", _claim_cell),
    "best static": ("best_static", fmt_text),
    "vs eager": ("best_static_speedup", fmt_claim_speedup),
    "95% interval": (("best_static_speedup_low", "best_static_speedup_high"), _interval_cell),
    "eager step": (("best_static_eager_step_s", "eager_step_s"), _eager_cell),
    "break-even steps": ("best_static_break_even_steps", fmt_steps),
    "fastest of all": (("fastest", "fastest_speedup"), _fastest_cell),
}
NOTE = (
    "Per workload, scenario and device, the claim's verdict: whether the best PyTorch static "
    f"backend (anything but eager and JAX) beats eager: holds at {1 + NOISE:.2f}x or more, "
    f"does not hold at {1 / (1 + NOISE):.3f}x or less, within noise (undecided) between "
    "(two runs of the same case moved a speedup by 4.4%). vs eager: its speedup, the eager "
    "step timed interleaved with it in its process over its step; 95% interval: that eager "
    "step over the ends of the backend step's 95% interval (the eager twin's own interval is "
    "not recorded, so the ratio's is somewhat wider); eager step: that twin (the eager row's "
    "where no static backend ran); break-even: its compile time / (eager step - its step). "
    "fastest of all: the ok backend with the highest speedup, JAX included. The best of "
    "several noisy ratios leans high: read a 'holds' near 1.05x with care. disturbed: timed "
    "while other processes used the CPUs (column disturbed), not judged.")


def verdict_table(frame: pd.DataFrame) -> Table:
    """The verdict table of ``frame`` (``reports.verdict.verdict_frame``): the case, then
    ``SHOWN``; its tidy frame is ``frame`` itself. The verdict cells carry their colour."""
    idx = [c for c in ("run_id", "device", "workload", "scenario") if c in frame.columns]
    shown = frame if frame.empty else pd.concat(
        [frame[idx].astype(object), format_columns(frame, SHOWN)], axis=1)
    return Table("verdict", "Verdict per case", NOTE, shown, frame,
                 classes={VERDICT: VERDICT_CLASSES})


