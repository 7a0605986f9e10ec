"""The timer: first-call latency, warm-up, then steady-state step times in blocks of
``torch.utils.benchmark.Timer.timeit``, several steps interleaved, the device synchronized
before every clock read (https://pytorch.org/docs/stable/benchmark_utils.html)."""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from torch.utils import benchmark

from bench.profiles import Profile
from bench.stats import StepStats


def synced_clock(sync: Callable[[], None]) -> Callable[[], float]:
    """A clock (seconds) that first waits for the device, so no queued work is left out."""

    def clock() -> float:
        sync()
        return timeit.default_timer()

    return clock


def time_first_call(step: Callable[[], Any], sync: Callable[[], None]) -> tuple[float, Any]:
    """Seconds taken by the very first call of ``step`` (graph building included), and its
    result."""
    clock = synced_clock(sync)
    start = clock()
    out = step()
    return clock() - start, out


def _block_size(timer: benchmark.Timer, target_s: float) -> int:
    """Calls per timed block so that a block lasts about ``target_s`` (at least one call)."""
    one = timer.timeit(1).median
    return max(1, int(target_s / max(one, 1e-9)))


def _narrow(times: list[float], halfwidth: float) -> bool:
    s = StepStats.of(times)
    return (s.ci_high_s - s.ci_low_s) / 2 <= halfwidth * s.median_s


def steady_state(steps: dict[str, Callable[[], Any]], sync: Callable[[], None],
                 profile: Profile, threads: int) -> dict[str, StepStats]:
    """Warm every step up, then time them interleaved, block by block (A B A B ...), so
    that a drift in the machine's speed hits all alike: each block is one
    ``torch.utils.benchmark.Timer.timeit(number)`` on ``threads`` threads, the device
    synchronized before every clock read. Stops when every step has ``profile.min_blocks``
    blocks, ``profile.min_run_time_s`` is spent, and the 95% CI of each median is within
    ``profile.ci_halfwidth`` of it; or when ``profile.max_run_time_s`` is spent. Returns the
    per-step statistics (seconds per step) of each, one sample per block."""
    for step in steps.values():
        for _ in range(profile.warmup_steps):
            step()
    sync()
    timers = {k: benchmark.Timer(stmt="step()", globals={"step": f}, num_threads=threads,
                                 timer=synced_clock(sync)) for k, f in steps.items()}
    number = {k: _block_size(t, profile.block_s) for k, t in timers.items()}
    times: dict[str, list[float]] = {k: [] for k in steps}
    spent = 0.0
    while True:
        for k, timer in timers.items():
            per_call = timer.timeit(number[k]).median
            times[k].append(per_call)
            spent += per_call * number[k]
        enough = len(times[next(iter(times))]) >= profile.min_blocks
        if enough and spent >= profile.min_run_time_s * len(steps) and all(
                _narrow(t, profile.ci_halfwidth) for t in times.values()):
            break
        if spent >= profile.max_run_time_s and len(times[next(iter(times))]) >= 3:
            break
    return {k: StepStats.of(t) for k, t in times.items()}
