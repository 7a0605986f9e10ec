"""Test hooks that plant faults, set only by the suite's own tests through the environment:
``BENCH_PLANT_SLEEP="<case label>=<seconds>"`` makes that case sleep before it starts (to test
timeouts); ``BENCH_PLANT_SLOWDOWN="<backend>=<factor>"`` stretches every step of that backend
(to test the regression gate). Unset, they do nothing."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any


def _planted(var: str, key: str) -> float | None:
    spec = os.environ.get(var, "")
    name, _, value = spec.partition("=")
    return float(value) if spec and name == key else None


def maybe_sleep(label: str) -> None:
    """Sleep if ``BENCH_PLANT_SLEEP`` names the case ``label``."""
    seconds = _planted("BENCH_PLANT_SLEEP", label)
    if seconds:
        time.sleep(seconds)


def maybe_slow(backend: str, step: Callable[..., Any]) -> Callable[..., Any]:
    """``step`` made ``factor`` times slower if ``BENCH_PLANT_SLOWDOWN`` names ``backend``."""
    factor = _planted("BENCH_PLANT_SLOWDOWN", backend)
    if not factor or factor <= 1:
        return step

    def slowed(*args: Any) -> Any:
        start = time.perf_counter()
        out = step(*args)
        until = start + factor * (time.perf_counter() - start)
        while time.perf_counter() < until:  # a spin, not a sleep: a sleep of 50 us overshoots
            pass
        return out

    return slowed
