"""Each case in its own process: imports, compile caches and peak memory isolated, a per-case
timeout, and a crash or out-of-memory turned into a ``failed`` row while the run goes on.

A case's process gets a fresh, empty compile-cache folder (Inductor/Triton, JAX's persistent
cache), never the user's: its compile is cold. For a backend that compiles, a second process
reuses that folder and times the first call again: ``compile_warm_s`` (full profile only).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.case import Case, RunConfig
from bench.errors import one_line

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


def run_isolated(case: Case, cfg: RunConfig, references: Path,
                 timeout_s: float) -> tuple[dict[str, Any], list[str]]:
    """Measure ``case`` in a fresh process (cold caches), then, if it compiles and went well,
    time a warm first call in a second one. Returns the row and the warnings met."""
    from bench.backends import BACKENDS

    folder = Path(tempfile.mkdtemp(prefix="evc-case-"))
    spec = {"case": case.__dict__, "run": cfg.to_json(), "references": str(references)}
    try:
        result, why = _spawn(spec, folder, timeout_s)
        if result is None:
            row = {"run_id": cfg.run_id, **case.__dict__, "dtype": "float32",
                   "status": "timeout" if why == "timeout" else "failed",
                   "error": f"no result within {timeout_s:g} s" if why == "timeout" else why}
            return row, []
        row = result["row"]
        if cfg.profile.warm_compile and BACKENDS[case.backend].compiles and row["status"] == "ok":
            warm, _ = _spawn({**spec, "warm": True}, folder, timeout_s)
            if warm is not None:
                row["compile_warm_s"] = max(warm["first_call_s"] - row["step_median_s"], 0.0)
        return row, result["warnings"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
