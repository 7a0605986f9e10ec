"""A case's step time and its ratio to eager, each as a median with its 95% interval, from one
results row (a dict of ``bench.schema.COLUMNS``). ``compare`` gates on these, ``export``
publishes them.

The ratio and its interval come from the case's independent rounds (``bench.rounds``: the
between-round t interval of the speedup, inverted). In a run older than the rounds, the
ratio's interval is the step's order-statistic interval scaled by eager's median timed
interleaved with the case in the same process, ``[step_ci_low_s, step_ci_high_s] /
eager_step_median_s``: an approximation that treats eager's median as exact (its own interval
is not stored with the case), so the interval is somewhat too narrow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Interval:
    """A median and its 95% confidence interval, in one unit (seconds, or a ratio)."""

    value: float
    low: float
    high: float


def num(row: dict[str, Any], col: str) -> float:
    """``row[col]`` as a float; NaN when it is absent, empty or not a number."""
    value = row.get(col)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def raw_time(row: dict[str, Any]) -> Interval:
    """The step's median and interval, seconds."""
    return Interval(num(row, "step_median_s"), num(row, "step_ci_low_s"),
                    num(row, "step_ci_high_s"))


def eager_ratio(row: dict[str, Any]) -> Interval | None:
    """The step's time relative to eager's: the inverse of the row's recorded speedup and
    its interval, from its independent rounds (``bench.rounds``), where it has them; else,
    for a run older than them, ``step_median_s / eager_step_median_s`` in one window (the
    interval scaled by eager's median, see the module docstring). None for eager itself or
    without a finite, positive interleaved eager time."""
    eager = num(row, "eager_step_median_s")
    if row["backend"] == "eager" or not (math.isfinite(eager) and eager > 0):
        return None
    speedup, low, high = (num(row, c) for c in ("speedup", "speedup_ci_low", "speedup_ci_high"))
    if all(math.isfinite(v) and v > 0 for v in (speedup, low, high)):
        return Interval(1 / speedup, 1 / high, 1 / low)
    t = raw_time(row)
    return Interval(t.value / eager, t.low / eager, t.high / eager)
