"""Running one case in the run's own process (``--isolation in-process``): no process start
per case, for a quick run or a machine whose time is short (a lent GPU). Compiles are cold in a
case's first round and warm in its later ones (``bench.isolate.case_folder``); the timeout is a
``SIGALRM``."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

from bench.backends import BACKENDS
from bench.case import Case, RunConfig
from bench.isolate import (
    case_folder,
    done_with,
    filled,
    scratch_root,
    timeout_row,
    warm_first_call,
)
from bench.plant import maybe_sleep
from bench.runner import References, refusal_of, run_case
from bench.toolchain import warm_compiler


class _CaseTimeout(BaseException):
    """Raised by the alarm inside an in-process case that ran past its timeout (a
    ``BaseException``, so that the runner's ``except Exception`` does not turn it into
    ``failed``)."""


def fresh_torch_cache():
    """Inductor's context for a clean, temporary FX-graph/AOT/Triton cache folder (in the
    run's scratch folder, so that a killed run leaves none) with its in-memory caches cleared
    (``fresh_cache``; ``fresh_inductor_cache`` before torch 2.8)."""
    from torch._inductor import utils

    fresh = getattr(utils, "fresh_cache", None) or utils.fresh_inductor_cache
    return fresh(dir=str(scratch_root()))


@contextmanager
def _case_torch_cache(folder: Path) -> Iterator[None]:
    """Inductor's FX-graph/AOT/Triton caches in ``folder`` (the case's: empty in its first
    round, warm after), Inductor's in-memory caches cleared before and after (so only the
    on-disk cache of this case can be warm)."""
    from unittest import mock

    from torch._inductor.utils import clear_caches

    clear_caches()
    env = {"TORCHINDUCTOR_CACHE_DIR": str(folder / "inductor"),
           "TRITON_CACHE_DIR": str(folder / "triton")}
    try:
        with mock.patch.dict(os.environ, env):
            yield
    finally:
        clear_caches()


class _Alarm:
    """SIGALRM's handler while an in-process case runs: it raises ``_CaseTimeout``, and
    raises it again every ``again_s`` seconds until the case is over, since one can be
    swallowed on its way out (an exception ignored in a garbage-collector callback, as XLA's).
    ``rung``: whether it went off at all."""

    def __init__(self, again_s: float = 0.5) -> None:
        self.again_s, self.rung = again_s, False

    def __call__(self, signum: int, frame: Any) -> None:
        self.rung = True
        signal.setitimer(signal.ITIMER_REAL, self.again_s)
        raise _CaseTimeout


@contextmanager
def _alarm(timeout_s: float) -> Iterator[_Alarm]:
    """An ``_Alarm`` that goes off in this (the main) thread once ``timeout_s`` seconds have
    passed inside the block; the previous SIGALRM handler is restored after it."""
    alarm = _Alarm()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        yield alarm
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_in_process(case: Case, cfg: RunConfig, references: Path,
                   timeout_s: float) -> tuple[dict[str, Any], list[str]]:
    """Measure ``case`` in this process (``--isolation in-process``): no process start per
    case, for a quick run or a machine whose time is short (a lent GPU). A case's first round
    compiles cold: Dynamo is reset, Inductor gets the case's empty cache folder and JAX's
    in-memory caches are cleared; its later rounds find that folder filled and JAX's caches
    as the last case left them (JAX's first call is then not reported as a warm compile).
    Differences from ``run_isolated``: no JAX ``compile_warm_s``; the
    timeout is a ``SIGALRM`` that stops Python code (not a hung kernel), the compiler's
    warm-up included, and is raised again until it lands (``_Alarm``); a JAX case's memory
    on a GPU is ``None`` (JAX's peak cannot be reset, so no one case owns it), and CPU
    memory is the resident-set rise over the case's start, which reuse of freed memory can
    hide."""
    if refusal_of(case) is not None:
        return run_case(case, cfg)  # unsupported by declaration: nothing to build or time
    folder = case_folder(case)
    warm_caches = filled(folder)
    try:
        with _alarm(timeout_s) as alarm:  # the compiler's warm-up counts against it too
            warm_compiler(case)
            if "jax" in sys.modules and not warm_caches:  # later rounds: JAX's stay warm
                sys.modules["jax"].clear_caches()
            maybe_sleep(case.label)
            # the debug scenario prints every step's loss, as the notes do: not to the terminal
            with (_case_torch_cache(folder), open(os.devnull, "w") as null,
                  redirect_stdout(null)):
                row, warns = run_case(case, cfg, References(references))
    except _CaseTimeout:
        row = timeout_row(case, cfg, timeout_s)
        done_with(case, cfg, row)
        return row, []
    done_with(case, cfg, row)
    if alarm.rung:  # every _CaseTimeout swallowed, and the case ended all the same
        return timeout_row(case, cfg, timeout_s), []
    if BACKENDS[case.backend].framework == "torch":  # JAX's in-memory caches are cleared
        warm_first_call(case, row, warm_caches)
    if case.device == "cuda" and BACKENDS[case.backend].framework == "jax":
        # JAX's peak cannot be reset: no one case owns it
        row["peak_mem_bytes"] = row["peak_mem_first_shape_bytes"] = None
    return row, warns
