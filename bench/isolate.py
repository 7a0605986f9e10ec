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
from pathlib import Path
from typing import Any

from bench.backends import BACKENDS
from bench.backends.base import CASE_FOLDER_ENV
from bench.case import Case, RunConfig
from bench.errors import one_line
from bench.runner import case_row, refusal_of, run_case
from bench.toolchain import TOOLCHAIN_ENV

ROOT = Path(__file__).resolve().parent.parent


def cache_env(folder: Path) -> dict[str, str]:
    """Environment that points every compile cache, and the temporary files of the case
    (``TMPDIR``), at ``folder``, and the compilers' start-up at the run's toolchain folder
    (``bench.toolchain``); ``CASE_FOLDER_ENV`` names it for what a backend keeps for the
    case's later rounds (``export_aoti``'s package)."""
    return {
        CASE_FOLDER_ENV: str(folder),
        "TMPDIR": str(folder),
        "TORCHINDUCTOR_CACHE_DIR": str(folder / "inductor"),
        "TRITON_CACHE_DIR": str(folder / "triton"),
        "JAX_COMPILATION_CACHE_DIR": str(folder / "jax"),
        TOOLCHAIN_ENV: str(scratch_root() / "toolchain"),
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


def timeout_row(case: Case, cfg: RunConfig, timeout_s: float) -> dict[str, Any]:
    """The row of a case that gave no result within ``timeout_s`` seconds."""
    return case_row(case, cfg.run_id, status="timeout",
                    error=f"no result within {timeout_s:g} s")


def case_folder(case: Case) -> Path:
    """The case's compile-cache folder for the whole run: empty in its first round (a cold
    compile), kept for its later rounds (a warm one: ``compile_warm_s``)."""
    folder = scratch_root() / "cases" / case.label.replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def done_with(case: Case, cfg: RunConfig, row: dict[str, Any]) -> None:
    """Remove the case's folder once no later round will use it."""
    if cfg.round >= cfg.profile.rounds or row.get("status") != "ok":
        shutil.rmtree(case_folder(case), ignore_errors=True)


def filled(folder: Path) -> bool:
    """Whether an earlier round of this run left compile caches in ``folder``."""
    return any(folder.iterdir())


def warm_first_call(case: Case, row: dict[str, Any], warm: bool) -> None:
    """Where the case's caches were ``warm`` (a later round), a compiling backend's
    ``compile_warm_s``: its first call less its steady step. Only where a cold ``compile_s``
    is reported (not the shape sequences, whose first call is one step of the timed pass)."""
    if (warm and BACKENDS[case.backend].compiles and row["status"] == "ok"
            and row.get("compile_s") is not None):
        row["compile_warm_s"] = max(row["first_call_s"] - row["step_median_s"], 0.0)


def run_isolated(case: Case, cfg: RunConfig, references: Path,
                 timeout_s: float) -> tuple[dict[str, Any], list[str]]:
    """Measure ``case`` in a fresh process (cold caches in its first round, warm in later
    ones), then, in a one-round run where it compiles and went well, time a warm first call
    in a second one. Returns the row and the warnings met."""
    if refusal_of(case) is not None:
        return run_case(case, cfg)  # unsupported by declaration: nothing to isolate
    folder = case_folder(case)
    warm_caches = filled(folder)
    spec = {"case": case.__dict__, "run": cfg.to_json(), "references": str(references)}
    row: dict[str, Any] = {}
    try:
        result, why = _spawn(spec, folder, timeout_s)
        if result is None:
            if why == "timeout":
                return timeout_row(case, cfg, timeout_s), []
            return case_row(case, cfg.run_id, status="failed", error=why), []
        row = result["row"]
        warm_first_call(case, row, warm_caches)
        if (cfg.profile.warm_compile and cfg.profile.rounds == 1
                and BACKENDS[case.backend].compiles and row["status"] == "ok"
                and row.get("compile_s") is not None):
            warm, _ = _spawn({**spec, "warm": True}, folder, timeout_s)
            if warm is not None:
                row["compile_warm_s"] = max(warm["first_call_s"] - row["step_median_s"], 0.0)
        return row, result["warnings"]
    finally:
        done_with(case, cfg, row)
