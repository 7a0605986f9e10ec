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

import numpy as np
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


def _block_size(one_s: float, target_s: float) -> int:
    """Calls per timed block so that a block lasts about ``target_s`` when one call takes
    ``one_s`` seconds (at least one call)."""
    return max(1, int(target_s / max(one_s, 1e-9)))


def _warm_up(timer: timeit.Timer, profile: Profile) -> tuple[int, list[float]]:
    """A step's warm-up, each call timed alone on the timer's synced clock: its calls per
    block (``_block_size``, from the last call, the probe) and the seconds of every call
    (``profile.warmup_steps - 1`` calls, then the probe: at least one)."""
    times = [timer.timeit(1) for _ in range(max(profile.warmup_steps - 1, 0) + 1)]
    return _block_size(times[-1], profile.block_s), times


# A step has settled once the median of each run of SETTLE_WINDOW consecutive untimed calls
# is within this fraction above the steady median, plus SETTLE_SLACK_S: a call timed alone
# here (2-core VM) often ran one scheduler tick (4-5 ms) late while the blocks' calls did not
# (eager sequential_adam/train in the runner: single calls 1.5 or 5-7 ms, blocks 1.7-1.9 ms;
# 2026-12-03), so only a warm-up that costs more than that (TorchScript's optimizing call,
# a recompile) counts as not settled
SETTLED_WITHIN = 0.5
SETTLE_WINDOW = 5
SETTLE_SLACK_S = 0.005


def settled_after(call_times: list[float], steady_median_s: float,
                  calls_before: int) -> int | None:
    """The 1-based number of the step's call from which the untimed calls ``call_times``
    (seconds, in order: the warm-up, then the first block's settling calls) stay settled:
    that call, and the median of every ``SETTLE_WINDOW`` consecutive calls from there on (the
    last window ends with the last call), take at most ``(1 + SETTLED_WITHIN) *
    steady_median_s + SETTLE_SLACK_S``. Counts
    the ``calls_before`` calls that ran first (the first call, parity's steps). None when
    the last window is still slower, or there are no calls. Pure."""
    bound, n = (1 + SETTLED_WITHIN) * steady_median_s + SETTLE_SLACK_S, len(call_times)
    if n == 0:
        return None
    starts = [min(j, max(n - SETTLE_WINDOW, 0)) for j in range(n)]
    smooth = [float(np.median(call_times[j:j + SETTLE_WINDOW])) for j in starts]
    first = n
    while first > 0 and smooth[first - 1] <= bound:
        first -= 1
    while first < n and call_times[first] > bound:  # a window may hide a slow first call
        first += 1
    return None if first == n else calls_before + first + 1


def _settle(step: Callable[[], Any], calls: int, seconds: float,
            timed: tuple[Callable[[], float], list[float]] | None = None) -> None:
    """Untimed calls of ``step``: at least ``calls`` of them, and until ``seconds`` have
    passed: after the other step ran, calls run slow for about 10-20 ms (its idle threads
    spin; measured between torch's and JAX's thread pools in ``scripts/framework_switch.py``).
    ``timed``: a synced clock and a list that gets each call's seconds (``settled_after``)."""
    start, done = time.perf_counter(), 0
    while done < calls or time.perf_counter() - start < seconds:
        if timed is None:
            step()
        else:
            clock, times = timed
            t = clock()
            step()
            times.append(clock() - t)
        done += 1


def _narrow(times: list[float], halfwidth: float) -> bool:
    s = StepStats.of(times)
    return (s.ci_high_s - s.ci_low_s) / 2 <= halfwidth * s.median_s


def steady_state(steps: dict[str, Callable[[], Any]], sync: Callable[[], None],
                 profile: Profile, threads: int,
                 warmup_s: dict[str, list[float]] | None = None) -> dict[str, StepStats]:
    """Warm every step up, then time them interleaved, block by block (A B A B ...), so
    that a drift in the machine's speed hits all alike: each block is one
    ``timeit.Timer.timeit(number)`` on ``threads`` threads, the device
    synchronized before every clock read. Stops when every step has ``profile.min_blocks``
    blocks, ``profile.min_run_time_s`` is spent, and the 95% CI of each median is within
    ``profile.ci_halfwidth`` of it; or when the loop has run ``profile.max_run_time_s`` of wall
    time, untimed block warm-ups included (and every step has 3 blocks). Returns the
    per-step statistics (seconds per step) of each, one sample per block; when ``warmup_s``
    is given, also fills it with the seconds of each step's warm-up calls, timed one by one
    on the synced clock, in order (``settled_after`` reads them)."""
    with set_torch_threads(threads):
        return _interleaved(steps, sync, profile, warmup_s)


def _interleaved(steps: dict[str, Callable[[], Any]], sync: Callable[[], None],
                 profile: Profile, warmup_s: dict[str, list[float]] | None = None
                 ) -> dict[str, StepStats]:
    """``steady_state``'s loop, on the threads already set. Each step's warm-up is
    ``profile.warmup_steps`` calls, each timed alone (into ``warmup_s``), the last of them the
    one-call probe that sizes its blocks (a step of 0.5 s is not run a fourth time only to
    learn how long it takes), then the first block's settling calls, also timed alone."""
    timers = {k: timeit.Timer(stmt="step()", globals={"step": f}, timer=synced_clock(sync))
              for k, f in steps.items()}
    number = {}
    for k in steps:
        number[k], warm = _warm_up(timers[k], profile)
        if warmup_s is not None:
            warmup_s[k] = warm
    times: dict[str, list[float]] = {k: [] for k in steps}
    spent, start = 0.0, time.perf_counter()
    while True:
        for k, timer in timers.items():
            first = not times[k] and warmup_s is not None  # its settling calls are timed too
            if len(steps) > 1 or first:  # untimed: the caches and threads the other step left
                _settle(steps[k], profile.block_warmup, profile.block_warmup_s,
                        (synced_clock(sync), warmup_s[k]) if first else None)
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
