"""Measuring one prepared case: the steady-state path (``Scenario.steady``: ``train``,
``infer``, ``debug``) and the batch-size sequence path (``shapes``, ``shapes8``,
``shapes_droplast``). Each returns the timing fields of a row."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from bench.backends import Prepared, Unsupported
from bench.case import Case, RunConfig
from bench.disturbance import Window, sample
from bench.parity import to_numpy
from bench.plant import maybe_slow
from bench.schema import SCENARIOS, Scenario
from bench.stats import StepStats
from bench.timing import settled_after, steady_state, synced_clock, time_first_call
from models import Workload

# The runner's memory reader: ``memory(final=True)`` -> ``{"peak_mem_bytes": rise,
# "peak_reserved_bytes": rise or None}`` (bytes); ``final=False`` reads the peak so far and
# keeps sampling
Memory = Callable[..., dict[str, int | None]]


def _stats_fields(stats: StepStats) -> dict[str, Any]:
    return {"step_median_s": stats.median_s, "step_iqr_s": stats.iqr_s,
            "step_ci_low_s": stats.ci_low_s, "step_ci_high_s": stats.ci_high_s,
            "repeats": stats.repeats}


def final_loss(work: Workload, scenario: Scenario, out: Any) -> float:
    """A train step's loss, or the loss of an inference output against the batch's targets."""
    if scenario.trains:
        return float(to_numpy(out))
    y = work.batch[1].cpu()
    return float(work.loss_fn(torch.as_tensor(to_numpy(out), dtype=torch.float64), y))


def measure_steady(case: Case, cfg: RunConfig, work: Workload, prepared: Prepared,
                   sync: Callable[[], None], compiles: bool, memory: Memory,
                   eager: Callable[[], Callable[[], Any]] | None = None,
                   first_call_s: float | None = None, calls_before: int = 1) -> dict[str, Any]:
    """First call (graph building included; ``first_call_s`` when the caller has already
    timed it, after ``calls_before`` calls of ``prepared.step``, the first included: parity's
    steps), warm-up, then steady state on the fixed batch, interleaved block by block with
    the step ``eager()`` builds (the same workload under eager, in this process) when given:
    ``eager_step_median_s`` then makes a speedup measured in one process. ``memory()`` is
    read after the first call (after the in-place parity steps, when the caller ran them),
    before eager's twin exists. ``settled_after`` counts the step's calls (``settled``)."""
    step = maybe_slow(case.backend, prepared.step)
    if first_call_s is None:
        first_call_s, _ = time_first_call(step, sync)
        calls_before = 1
    peak_mem = memory()
    eager_step = eager() if eager else None
    steps = {"backend": step, **({"eager": eager_step} if eager_step else {})}
    started, warmup_s = time.perf_counter(), {}
    all_stats, window = watched_steady_state(steps, sync, cfg, warmup_s)
    steady_wall_s = time.perf_counter() - started
    stats = all_stats["backend"]
    out = step()
    sync()
    scenario = SCENARIOS[case.scenario]
    return {
        "batch_size": work.batch_size, "first_call_s": first_call_s, **_stats_fields(stats),
        "compile_s": max(first_call_s - stats.median_s, 0.0) if compiles else None,
        **_work_fields(work, scenario.mode, stats.median_s),
        "final_loss": final_loss(work, scenario, out),
        "eager_step_median_s": all_stats["eager"].median_s if eager_step else stats.median_s,
        "_eager_stats": _twin_stats(all_stats.get("eager")),
        **peak_mem, "steady_wall_s": steady_wall_s,
        **settled(warmup_s.get("backend", []), stats.median_s, calls_before),
        **disturbance_fields(window),
    }


def _work_fields(work: Workload, mode: str, median_s: float) -> dict[str, Any]:
    """Throughput of a step of ``median_s`` seconds: samples/s, FLOPs and bytes per step and
    per second (bytes where the workload states them)."""
    flops, nbytes = work.flops(mode), work.bytes_per_step(mode)
    return {"samples_per_s": work.batch_size / median_s,
            "flops_per_step": flops, "achieved_flops_per_s": flops / median_s,
            "bytes_per_step": nbytes, "achieved_bytes_per_s": nbytes / median_s if nbytes else None}


def settled(warmup_s: list[float], median_s: float, calls_before: int) -> dict[str, Any]:
    """The row's ``settled_after`` (``bench.timing.settled_after`` of the warm-up calls'
    seconds ``warmup_s`` against the steady ``median_s`` seconds, after ``calls_before``
    calls); when the last warm-up call was still slower, also an ``error`` note saying so.
    Without warm-up times: ``settled_after`` None, no note."""
    after = settled_after(warmup_s, median_s, calls_before)
    if after is not None or not warmup_s:
        return {"settled_after": after}
    return {"settled_after": None, "error": f"warm-up did not settle: its last call took "
            f"{warmup_s[-1] * 1e3:.3g} ms against a steady median of {median_s * 1e3:.3g} ms"}


def _twin_stats(stats: StepStats | None) -> tuple | None:
    """The eager twin's ``(median, ci_low, ci_high, iqr, blocks)`` (seconds) for
    ``bench.rounds``; ``None`` without a twin."""
    if stats is None:
        return None
    return stats.median_s, stats.ci_low_s, stats.ci_high_s, stats.iqr_s, stats.repeats


# A machine that stays busy: after this many windows in a row still disturbed after all their
# retries, a window is timed once (no retry can help) until one comes back clean. In one
# process only (an in-process run); a case's own process always retries.
BUSY_STREAK = 3
_busy_streak = [0]


def watched_steady_state(steps: dict[str, Callable[[], Any]], sync: Callable[[], None],
                         cfg: RunConfig, warmup_s: dict[str, list[float]] | None = None
                         ) -> tuple[dict[str, StepStats], Window]:
    """``steady_state`` with the machine watched (``bench.disturbance``): a window in which
    other processes or the hypervisor took a share of the CPUs is measured again, up to
    ``cfg.profile.disturbed_retries`` times (none while the machine stays busy:
    ``BUSY_STREAK``); returns the last statistics and their window (still disturbed when
    every try was). ``warmup_s``, when given, gets the first try's warm-up call times
    (seconds, per step): the warm-up that followed the first call; a retry's starts warm."""
    retries = cfg.profile.disturbed_retries if _busy_streak[0] < BUSY_STREAK else 0
    for attempt in range(retries + 1):
        start = sample()
        stats = steady_state(steps, sync, cfg.profile, cfg.threads,
                             warmup_s if attempt == 0 else None)
        window = Window.between(start, sample())
        if not window.disturbed():
            break
    _busy_streak[0] = _busy_streak[0] + 1 if window.disturbed() else 0
    return stats, window


def disturbance_fields(window: Window) -> dict[str, Any]:
    """A row's record of what else ran during its timed window (schema columns
    ``other_cpu_cores``, ``steal_fraction``, ``disturbed``)."""
    return {"other_cpu_cores": window.other_cores, "steal_fraction": window.steal_fraction,
            "disturbed": int(window.disturbed())}


def new_shape_steps(sizes: tuple[int, ...]) -> list[int]:
    """0-based indices of the steps that meet a batch size for the first time, the very
    first step left out: ``(64, 64, 32)`` -> ``[2]``; ``(8, 16, 8)`` -> ``[1]``."""
    return [i for i, n in enumerate(sizes) if i > 0 and n not in sizes[:i]]


def measure_sequence(case: Case, work: Workload, prepared: Prepared,
                     sync: Callable[[], None], memory: Memory) -> dict[str, Any]:
    """One pass of train steps over the scenario's ``batch_sizes``, each step timed, the
    pass's wall time (``sequence_s``, every recompile included) and its statistics;
    ``new_shape_s``: the seconds of the steps that met a new batch size after the first
    (``new_shape_steps``; 0.0 without any), ``peak_mem_first_shape_bytes``: the memory peak
    rise read just before the first of them (None without any). Batches are built before the
    clock starts. Raises ``Unsupported`` for a backend that takes only its fixed batch."""
    if prepared.call is None:
        raise Unsupported(f"{case.backend} runs only the batch it was built for")
    scenario = SCENARIOS[case.scenario]
    sizes = scenario.batch_sizes
    batches = {n: work.make_batch(n) for n in sorted(set(sizes))}
    new = new_shape_steps(sizes)
    call = maybe_slow(case.backend, prepared.call)
    clock = synced_clock(sync)
    times, out, first_shape_mem = [], None, None
    start = clock()
    for i, n in enumerate(sizes):
        if new and i == new[0]:  # before a compiler meets the new size (a dynamic graph)
            first_shape_mem = memory(final=False)["peak_mem_bytes"]
        t = clock()
        out = call(*batches[n])
        times.append(clock() - t)
    total = clock() - start
    return {
        "batch_size": max(sizes), "first_call_s": times[0], **_stats_fields(StepStats.of(times)),
        "sequence_s": total, "distinct_batch_sizes": len(batches),
        "samples_per_s": sum(sizes) / total, "final_loss": final_loss(work, scenario, out),
        "new_shape_s": float(sum(times[i] for i in new)), **memory(),
        "peak_mem_first_shape_bytes": first_shape_mem,
    }
