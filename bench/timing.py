"""The timer: first-call latency, warm-up, then steady-state step times through
``torch.utils.benchmark.Timer.adaptive_autorange``, the device synchronized before every clock
read (https://pytorch.org/docs/stable/benchmark_utils.html)."""

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


def steady_state(
    step: Callable[[], Any], sync: Callable[[], None], profile: Profile, threads: int
) -> StepStats:
    """Warm ``step`` up for ``profile.warmup_steps`` calls, then time it with
    ``Timer.adaptive_autorange`` on ``threads`` threads. Returns per-step statistics (seconds),
    one sample per timed block."""
    for _ in range(profile.warmup_steps):
        step()
    sync()
    timer = benchmark.Timer(
        stmt="step()", globals={"step": step}, num_threads=threads, timer=synced_clock(sync)
    )
    m = timer.adaptive_autorange(
        threshold=profile.iqr_threshold,
        min_run_time=profile.min_run_time_s,
        max_run_time=profile.max_run_time_s,
    )
    return StepStats.of(list(m.times))
