"""Running one case: in its own process (``run_isolated``: imports, compile caches and peak
memory isolated, a per-case timeout, and a crash or out-of-memory turned into a ``failed`` row
while the run goes on), or in the run's process with fresh compile caches
(``run_in_process``).

A case's process gets a fresh, empty compile-cache folder (Inductor/Triton, JAX's persistent
cache), never the user's: its compile is cold. For a backend that compiles, a second process
reuses that folder and times the first call again: ``compile_warm_s`` (full profile only).
A case its declarations rule out (``runner.refusal_of``) starts no process: its row is written
at once.

Nothing outlives the run, however it ends. A case's process dies with the run's
(``bench.worker``: a parent-death signal, or a watchdog). Its folder lives in one scratch
folder per run process, ``<temp>/evc-run-<pid>-*/``, removed three ways: case by case when a
case ends; as a whole by a guard, a tiny process started with the scratch folder that reads a
pipe from the run until the kernel closes it at the run's end (``kill -9`` included) and then
removes the folder; and, should the guard be killed too, by the next run's start, which removes
every scratch folder whose pid is no longer alive.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

from bench.backends import BACKENDS
from bench.case import Case, RunConfig
from bench.errors import one_line
from bench.plant import maybe_sleep
from bench.runner import References, case_row, refusal_of, run_case

ROOT = Path(__file__).resolve().parent.parent


def cache_env(folder: Path) -> dict[str, str]:
    """Environment that points every compile cache, and the temporary files of the case
    (``TMPDIR``: AOTInductor's packages, ...), at ``folder``."""
    return {
        "TMPDIR": str(folder),
        "TORCHINDUCTOR_CACHE_DIR": str(folder / "inductor"),
        "TRITON_CACHE_DIR": str(folder / "triton"),
        "JAX_COMPILATION_CACHE_DIR": str(folder / "jax"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


SCRATCH_PREFIX = "evc-run-"
# the guard: wait for EOF on stdin (the run has ended); a scratch folder still there means the
# run died: remove it, and once more a second later, after any dying (grand)child's last write
_GUARD = """import os, shutil, sys, time
sys.stdin.buffer.read()
for pause in (1, 0):
    if not os.path.isdir(sys.argv[1]):
        break
    shutil.rmtree(sys.argv[1], ignore_errors=True)
    time.sleep(pause)
"""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a zombie or another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: alive
        pass
    return True


def sweep_stale(temp: Path) -> None:
    """Remove the scratch folders in ``temp`` whose run process is gone (guard included)."""
    for folder in temp.glob(f"{SCRATCH_PREFIX}*"):
        pid = folder.name.removeprefix(SCRATCH_PREFIX).partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _release(guard: subprocess.Popen, root: Path) -> None:
    """At a clean exit: remove the scratch folder, then let the guard go."""
    shutil.rmtree(root, ignore_errors=True)
    guard.stdin.close()
    try:
        guard.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


@functools.cache
def scratch_root() -> Path:
    """This process's scratch folder for case folders, made (and its guard started) on first
    use, after removing the stale ones of dead runs (see the module's docstring). Raises
    ``OSError`` when the temp folder cannot be written."""
    temp = Path(tempfile.gettempdir())
    sweep_stale(temp)
    root = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=temp))
    guard = subprocess.Popen([sys.executable, "-c", _GUARD, str(root)], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)  # a kill of the run's group spares it
    atexit.register(_release, guard, root)
    return root


def _spawn(spec: dict[str, Any], folder: Path, timeout_s: float) -> tuple[dict | None, str]:
    """Run the worker on ``spec``; returns ``(result or None, why there is none)``."""
    spec_path, result = folder / "spec.json", folder / "result.json"
    result.unlink(missing_ok=True)
    spec_path.write_text(json.dumps({**spec, "result": str(result), "parent": os.getpid()}))
    proc = subprocess.Popen([sys.executable, "-m", "bench.worker", str(spec_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **cache_env(folder)}, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None, "timeout"
    except BaseException:  # Ctrl-C: take the case's process group down with us
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if result.exists():
        return json.loads(result.read_text()), ""
    if proc.returncode < 0:
        return None, f"worker killed by signal {-proc.returncode} (out of memory?)"
    last = [line for line in err.splitlines() if line.strip()] or [""]
    return None, f"worker exited with status {proc.returncode}: {one_line(last[-1])}"


def _timeout_row(case: Case, cfg: RunConfig, timeout_s: float) -> dict[str, Any]:
    """The row of a case that gave no result within ``timeout_s`` seconds."""
    return case_row(case, cfg.run_id, status="timeout",
                    error=f"no result within {timeout_s:g} s")


def run_isolated(case: Case, cfg: RunConfig, references: Path,
                 timeout_s: float) -> tuple[dict[str, Any], list[str]]:
    """Measure ``case`` in a fresh process (cold caches), then, if it compiles and went well,
    time a warm first call in a second one. Returns the row and the warnings met."""
    if refusal_of(case) is not None:
        return run_case(case, cfg)  # unsupported by declaration: nothing to isolate
    folder = Path(tempfile.mkdtemp(prefix="case-", dir=scratch_root()))
    spec = {"case": case.__dict__, "run": cfg.to_json(), "references": str(references)}
    try:
        result, why = _spawn(spec, folder, timeout_s)
        if result is None:
            if why == "timeout":
                return _timeout_row(case, cfg, timeout_s), []
            return case_row(case, cfg.run_id, status="failed", error=why), []
        row = result["row"]
        if (cfg.profile.warm_compile and BACKENDS[case.backend].compiles
                and row["status"] == "ok" and row.get("compile_s") is not None):
            # warm only where a cold compile_s is reported (not the shape sequences, whose
            # first call is one step of the timed pass)
            warm, _ = _spawn({**spec, "warm": True}, folder, timeout_s)
            if warm is not None:
                row["compile_warm_s"] = max(warm["first_call_s"] - row["step_median_s"], 0.0)
        return row, result["warnings"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _CaseTimeout(BaseException):
    """Raised by the alarm inside an in-process case that ran past its timeout (a
    ``BaseException``, so that the runner's ``except Exception`` does not turn it into
    ``failed``)."""


def _fresh_torch_cache():
    """Inductor's context for a clean, temporary FX-graph/AOT/Triton cache folder (in the
    run's scratch folder, so that a killed run leaves none) with its in-memory caches cleared
    (``fresh_cache``; ``fresh_inductor_cache`` before torch 2.8)."""
    from torch._inductor import utils

    fresh = getattr(utils, "fresh_cache", None) or utils.fresh_inductor_cache
    return fresh(dir=str(scratch_root()))


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


def _jax_one_op(device: str) -> None:
    """Compile and run ``x * 2 + 1`` with ``jax.jit`` on ``device``."""
    import jax

    with jax.default_device(jax.devices("gpu" if device == "cuda" else "cpu")[0]):
        jax.jit(lambda x: x * 2 + 1)(jax.numpy.ones(8)).block_until_ready()


def _torch_one_op(device: str) -> None:
    """Compile and run ``x * 2 + 1`` with ``torch.compile`` on ``device``, in a throwaway
    cache."""
    import torch

    with _fresh_torch_cache():
        torch.compile(lambda x: x * 2 + 1)(torch.ones(8, device=device))
        torch._dynamo.reset()


COMPILE_ONE_OP = {"jax": _jax_one_op, "torch": _torch_one_op}  # by BackendInfo.framework
_WARMED: set[str] = set()


def _warm_compiler(case: Case) -> None:
    """Once per process and framework, compile a one-op function on ``case.device``, so
    that the first compiled case does not also pay what every later one is spared
    (Inductor's imports and compile-worker start, JAX's backend start-up). The cases'
    ``compile_s`` in-process therefore exclude that one-time cost. It runs inside the case's
    timeout; one that the timeout cut short is tried again by the next case."""
    backend = BACKENDS[case.backend]
    if backend.framework in _WARMED or not backend.compiles:
        return
    try:
        COMPILE_ONE_OP[backend.framework](case.device)
    except Exception:  # best effort: a compiler that cannot run here fails in its case's row
        pass
    _WARMED.add(backend.framework)


def run_in_process(case: Case, cfg: RunConfig, references: Path,
                   timeout_s: float) -> tuple[dict[str, Any], list[str]]:
    """Measure ``case`` in this process (``--isolation in-process``): no process start per
    case, for a quick run or a machine whose time is short (a lent GPU). Compiles stay cold:
    Dynamo is reset, Inductor gets a fresh temporary cache folder and JAX's in-memory caches
    are cleared before each case. Differences from ``run_isolated``: no ``compile_warm_s``; the
    timeout is a ``SIGALRM`` that stops Python code (not a hung kernel), the compiler's
    warm-up included, and is raised again until it lands (``_Alarm``); a JAX case's memory
    on a GPU is ``None`` (JAX's peak cannot be reset, so no one case owns it), and CPU
    memory is the resident-set rise over the case's start, which reuse of freed memory can
    hide."""
    if refusal_of(case) is not None:
        return run_case(case, cfg)  # unsupported by declaration: nothing to build or time
    try:
        with _alarm(timeout_s) as alarm:  # the compiler's warm-up counts against it too
            _warm_compiler(case)
            if "jax" in sys.modules:
                sys.modules["jax"].clear_caches()
            maybe_sleep(case.label)
            # the debug scenario prints every step's loss, as the notes do: not to the terminal
            with _fresh_torch_cache(), open(os.devnull, "w") as null, redirect_stdout(null):
                row, warns = run_case(case, cfg, References(references))
    except _CaseTimeout:
        return _timeout_row(case, cfg, timeout_s), []
    if alarm.rung:  # every _CaseTimeout swallowed, and the case ended all the same
        return _timeout_row(case, cfg, timeout_s), []
    if case.device == "cuda" and BACKENDS[case.backend].framework == "jax":
        row["peak_mem_bytes"] = None  # JAX's peak cannot be reset: no one case owns it
    return row, warns
