"""The timer: first-call latency, warm-up, then steady-state step times in blocks of
``timeit.Timer.timeit(number)`` (the engine under ``torch.utils.benchmark.Timer``) on the
run's thread count (``torch.utils.benchmark``'s ``set_torch_threads``), several steps
interleaved, the device synchronized before every clock read
(https://pytorch.org/docs/stable/benchmark_utils.html).

Why not ``torch.utils.benchmark.Timer.timeit`` itself: it runs ``max(number // 100, 2)``
untimed calls before every block, so a block of one 200 ms step cost three steps of wall
time. The warm-up here is paid once per case (``Profile.warmup_steps``, the block-size probe
included), and untimed calls for at least ``Profile.block_warmup_s`` before each block."""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable
from typing import Any

from torch.utils.benchmark.utils.common import set_torch_threads

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


def _block_size(timer: timeit.Timer, target_s: float) -> int:
    """Calls per timed block so that a block lasts about ``target_s`` (at least one call)."""
    one = timer.timeit(1)
    return max(1, int(target_s / max(one, 1e-9)))


def _settle(step: Callable[[], Any], calls: int, seconds: float) -> None:
    """Untimed calls of ``step``: at least ``calls`` of them, and until ``seconds`` have
    passed: after the other step ran, calls run slow for about 10-20 ms (its idle threads
    spin; measured between torch's and JAX's thread pools in ``scripts/framework_switch.py``)."""
    start, done = time.perf_counter(), 0
    while done < calls or time.perf_counter() - start < seconds:
        step()
        done += 1


def _narrow(times: list[float], halfwidth: float) -> bool:
    s = StepStats.of(times)
    return (s.ci_high_s - s.ci_low_s) / 2 <= halfwidth * s.median_s


def steady_state(steps: dict[str, Callable[[], Any]], sync: Callable[[], None],
                 profile: Profile, threads: int) -> dict[str, StepStats]:
    """Warm every step up, then time them interleaved, block by block (A B A B ...), so
    that a drift in the machine's speed hits all alike: each block is one
    ``timeit.Timer.timeit(number)`` on ``threads`` threads, the device
    synchronized before every clock read. Stops when every step has ``profile.min_blocks``
    blocks, ``profile.min_run_time_s`` is spent, and the 95% CI of each median is within
    ``profile.ci_halfwidth`` of it; or when the loop has run ``profile.max_run_time_s`` of wall
    time, untimed block warm-ups included (and every step has 3 blocks). Returns the
    per-step statistics (seconds per step) of each, one sample per block."""
    with set_torch_threads(threads):
        return _interleaved(steps, sync, profile)


def _interleaved(steps: dict[str, Callable[[], Any]], sync: Callable[[], None],
                 profile: Profile) -> dict[str, StepStats]:
    """``steady_state``'s loop, on the threads already set. Each step's warm-up is
    ``profile.warmup_steps`` calls, the last of them the one-call probe that sizes its blocks
    (a step of 0.5 s is not run a fourth time only to learn how long it takes)."""
    timers = {k: timeit.Timer(stmt="step()", globals={"step": f}, timer=synced_clock(sync))
              for k, f in steps.items()}
    number = {}
    for k, step in steps.items():
        for _ in range(profile.warmup_steps - 1):
            step()
        number[k] = _block_size(timers[k], profile.block_s)
    times: dict[str, list[float]] = {k: [] for k in steps}
    spent, start = 0.0, time.perf_counter()
    while True:
        for k, timer in timers.items():
            if len(steps) > 1:  # untimed: the caches and threads the other step left are its own
                _settle(steps[k], profile.block_warmup, profile.block_warmup_s)
            per_call = timer.timeit(number[k]) / number[k]
            times[k].append(per_call)
            spent += per_call * number[k]
        enough = len(times[next(iter(times))]) >= profile.min_blocks
        if enough and spent >= profile.min_run_time_s * len(steps) and all(
                _narrow(t, profile.ci_halfwidth) for t in times.values()):
            break
        if (time.perf_counter() - start >= profile.max_run_time_s
                and len(times[next(iter(times))]) >= 3):
            break
    return {k: StepStats.of(t) for k, t in times.items()}
