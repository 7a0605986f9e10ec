"""Running one case: in its own process (``run_isolated``: imports, compile caches and peak
memory isolated, a per-case timeout, and a crash or out-of-memory turned into a ``failed`` row
while the run goes on), or in the run's process with fresh compile caches
(``run_in_process``).

A case's process gets a fresh, empty compile-cache folder (Inductor/Triton, JAX's persistent
cache), never the user's: its compile is cold. For a backend that compiles, a second process
reuses that folder and times the first call again: ``compile_warm_s`` (full profile only).
A case its declarations rule out (``runner.refusal_of``) starts no process: its row is written
at once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from bench.backends import BACKENDS
from bench.case import Case, RunConfig
from bench.errors import one_line
from bench.plant import maybe_sleep
from bench.runner import References, case_row, refusal_of, run_case

ROOT = Path(__file__).resolve().parent.parent


def cache_env(folder: Path) -> dict[str, str]:
    """Environment that points every compile cache at ``folder``."""
    return {
        "TORCHINDUCTOR_CACHE_DIR": str(folder / "inductor"),
        "TRITON_CACHE_DIR": str(folder / "triton"),
        "JAX_COMPILATION_CACHE_DIR": str(folder / "jax"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def _spawn(spec: dict[str, Any], folder: Path, timeout_s: float) -> tuple[dict | None, str]:
    """Run the worker on ``spec``; returns ``(result or None, why there is none)``."""
    spec_path, result = folder / "spec.json", folder / "result.json"
    result.unlink(missing_ok=True)
    spec_path.write_text(json.dumps({**spec, "result": str(result)}))
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
    folder = Path(tempfile.mkdtemp(prefix="evc-case-"))
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
    """Inductor's context for a clean, temporary FX-graph/AOT/Triton cache folder with its
    in-memory caches cleared (``fresh_cache``; ``fresh_inductor_cache`` before torch 2.8)."""
    from torch._inductor import utils

    return getattr(utils, "fresh_cache", None) or utils.fresh_inductor_cache


def _jax_one_op(device: str) -> None:
    """Compile and run ``x * 2 + 1`` with ``jax.jit`` on ``device``."""
    import jax

    with jax.default_device(jax.devices("gpu" if device == "cuda" else "cpu")[0]):
        jax.jit(lambda x: x * 2 + 1)(jax.numpy.ones(8)).block_until_ready()


def _torch_one_op(device: str) -> None:
    """Compile and run ``x * 2 + 1`` with ``torch.compile`` on ``device``, in a throwaway
    cache."""
    import torch

    with _fresh_torch_cache()():
        torch.compile(lambda x: x * 2 + 1)(torch.ones(8, device=device))
        torch._dynamo.reset()


COMPILE_ONE_OP = {"jax": _jax_one_op, "torch": _torch_one_op}  # by BackendInfo.framework
_WARMED: set[str] = set()


def _warm_compiler(case: Case) -> None:
    """Once per process and framework, compile a one-op function on ``case.device``, so
    that the first compiled case does not also pay what every later one is spared
    (Inductor's imports and compile-worker start, JAX's backend start-up). The cases'
    ``compile_s`` in-process therefore exclude that one-time cost."""
    backend = BACKENDS[case.backend]
    if backend.framework in _WARMED or not backend.compiles:
        return
    _WARMED.add(backend.framework)
    try:
        COMPILE_ONE_OP[backend.framework](case.device)
    except Exception:  # best effort: a compiler that cannot run here fails in its case's row
        pass


def run_in_process(case: Case, cfg: RunConfig, references: Path,
                   timeout_s: float) -> tuple[dict[str, Any], list[str]]:
    """Measure ``case`` in this process (``--isolation in-process``): no process start per
    case, for a quick run or a machine whose time is short (a lent GPU). Compiles stay cold:
    Dynamo is reset, Inductor gets a fresh temporary cache folder and JAX's in-memory caches
    are cleared before each case. Differences from ``run_isolated``: no ``compile_warm_s``; the
    timeout is a ``SIGALRM`` that stops Python code (not a hung kernel); a JAX case's memory
    on a GPU is ``None`` (JAX's peak cannot be reset, so no one case owns it), and CPU
    memory is the resident-set rise over the case's start, which reuse of freed memory can
    hide."""
    if refusal_of(case) is not None:
        return run_case(case, cfg)  # unsupported by declaration: nothing to build or time
    _warm_compiler(case)
    if "jax" in sys.modules:
        sys.modules["jax"].clear_caches()

    def alarm(signum, frame):
        raise _CaseTimeout

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        maybe_sleep(case.label)
        # the debug scenario prints every step's loss, as the notes do: not to the terminal
        with _fresh_torch_cache()(), open(os.devnull, "w") as null, redirect_stdout(null):
            row, warns = run_case(case, cfg, References(references))
    except _CaseTimeout:
        return _timeout_row(case, cfg, timeout_s), []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if case.device == "cuda" and BACKENDS[case.backend].framework == "jax":
        row["peak_mem_bytes"] = None  # JAX's peak cannot be reset: no one case owns it
    return row, warns
