"""Steady-state statistics against numbers worked out by hand."""

from __future__ import annotations

import math
import time

import pytest

from bench.stats import StepStats, median_ci_ranks


def test_median_ci_ranks_literal():
    # n=10: P(B<=1) = 11/1024 = 0.0107 <= 0.025 < P(B<=2) = 56/1024, so ranks 2 and 9.
    assert median_ci_ranks(10) == (2, 9)
    # n=6: P(B<=0) = 1/64 = 0.0156 <= 0.025 < P(B<=1) = 7/64, so ranks 1 and 6.
    assert median_ci_ranks(6) == (1, 6)
    # n=20: P(B<=5) = 0.0207 <= 0.025 < P(B<=6) = 0.0577, so ranks 6 and 15.
    assert median_ci_ranks(20) == (6, 15)
    assert median_ci_ranks(3) == (1, 3)  # too few for 95%: the widest interval


def test_median_ci_ranks_many_samples():
    # Thousands of timed blocks (a sub-millisecond step) must not overflow; check against the
    # exact binomial tail computed with fractions.
    from fractions import Fraction
    from math import comb

    n = 2000
    low, high = median_ci_ranks(n)
    tail = sum(Fraction(comb(n, k), 2**n) for k in range(low))  # P(B <= low - 1)
    assert tail <= Fraction(1, 40) < tail + Fraction(comb(n, low), 2**n)
    assert high == n - low + 1


def test_step_stats_literal():
    s = StepStats.of([0.010, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009])
    assert s.median_s == pytest.approx(0.0055)
    assert s.iqr_s == pytest.approx(0.00775 - 0.00325)  # numpy linear quartiles
    assert (s.ci_low_s, s.ci_high_s) == (0.002, 0.009)
    assert s.repeats == 10


def test_step_stats_rejects_empty():
    with pytest.raises(ValueError):
        StepStats.of([])


def _exact_ranks(n: int, confidence: float = 0.95) -> tuple[int, int]:
    """The same interval in exact integer arithmetic (the first implementation: O(n^2) big
    integers, which took minutes of a full-profile case once n reached a few thousand)."""
    alpha_half, tail, lower = (1 - confidence) / 2, 0.0, 1
    for k in range(n // 2 + 1):
        nxt = tail + math.comb(n, k) / (1 << n)
        if nxt > alpha_half:
            break
        tail, lower = nxt, k + 1
    return lower, n - lower + 1


def test_median_ranks_in_floats_match_exact_arithmetic():
    for n in [*range(1, 301), 1000, 1500]:
        assert median_ci_ranks(n) == _exact_ranks(n), n
    lo, hi = median_ci_ranks(5000)  # the normal approximation: 2500 -/+ 1.96 * sqrt(5000) / 2
    assert abs(lo - (2500 - 1.96 * math.sqrt(5000) / 2)) <= 2 and lo + hi == 5001


def test_the_window_cap_counts_block_warm_ups():
    """``max_run_time_s`` caps the window's wall time, untimed block warm-ups included: two
    20 ms steps, one call per block, each block warmed by one call, stop after about 0.5 s
    (about 6 blocks each), not after 0.5 s of timed calls (about 12 blocks each)."""
    import time
    from dataclasses import replace

    from bench.profiles import PROFILES
    from bench.timing import steady_state

    profile = replace(PROFILES["quick"], warmup_steps=0, min_run_time_s=10.0, max_run_time_s=0.5,
                      min_blocks=3, block_s=0.001, block_warmup=1)
    steps = {"a": lambda: time.sleep(0.02), "b": lambda: time.sleep(0.02)}
    start = time.perf_counter()
    stats = steady_state(steps, lambda: None, profile, threads=1)
    wall = time.perf_counter() - start
    assert 0.5 <= wall < 0.7
    assert all(4 <= s.repeats <= 8 for s in stats.values())


def test_a_blocks_warm_up_lasts_its_calls_and_its_seconds():
    """After a switch the other step's threads spin for 10-20 ms: a block's untimed warm-up
    runs until both its call count and its seconds are reached."""
    from bench.timing import _settle

    calls: list[float] = []
    start = time.perf_counter()
    _settle(lambda: calls.append(time.sleep(0.001)), 1, 0.02)
    assert time.perf_counter() - start >= 0.02 and 2 <= len(calls) <= 21
    calls.clear()
    _settle(lambda: calls.append(None), 3, 0.0)
    assert len(calls) == 3
