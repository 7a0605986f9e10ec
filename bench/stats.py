"""Steady-state statistics of a list of step times: median, IQR, order-statistic CI of the median.

Pure functions on floats (seconds); tested with literal numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def median_ci_ranks(n: int, confidence: float = 0.95) -> tuple[int, int]:
    """1-based ranks ``(l, u)`` such that ``[x_(l), x_(u)]`` of ``n`` sorted samples covers the
    median with probability at least ``confidence`` (distribution-free; the binomial(n, 1/2)
    order-statistic interval, e.g. Conover, *Practical Nonparametric Statistics*, 3.2).

    With too few samples for that coverage (n < 6 at 95%) it returns ``(1, n)``, the widest
    interval there is. Raises ``ValueError`` when ``n < 1``.

    >>> median_ci_ranks(10)
    (2, 9)
    """
    if n < 1:
        raise ValueError("median_ci_ranks needs at least one sample")
    alpha_half = (1.0 - confidence) / 2.0
    tail, lower = 0.0, 1
    log_pmf = -n * math.log(2.0)  # log P(B = 0); the pmf is stepped in log space, O(n) floats
    for k in range(n // 2 + 1):  # tail = P(B <= k - 1) before adding P(B = k)
        tail_next = tail + math.exp(log_pmf)  # terms below 1e-308 underflow to 0: negligible
        if tail_next > alpha_half:
            break
        tail, lower = tail_next, k + 1
        log_pmf += math.log((n - k) / (k + 1))
    return lower, n - lower + 1


@dataclass(frozen=True)
class StepStats:
    """Summary of ``n`` step times in seconds."""

    median_s: float
    iqr_s: float  # 75th minus 25th percentile, linear interpolation (numpy's default)
    ci_low_s: float  # 95% order-statistic interval of the median
    ci_high_s: float
    repeats: int

    @classmethod
    def of(cls, times_s: list[float], confidence: float = 0.95) -> StepStats:
        """Statistics of ``times_s`` (seconds per step). Raises ``ValueError`` when empty."""
        if not times_s:
            raise ValueError("no step times to summarize")
        xs = np.sort(np.asarray(times_s, dtype=float))
        q1, med, q3 = np.percentile(xs, [25, 50, 75])
        lo, hi = median_ci_ranks(len(xs), confidence)
        return cls(float(med), float(q3 - q1), float(xs[lo - 1]), float(xs[hi - 1]), len(xs))
