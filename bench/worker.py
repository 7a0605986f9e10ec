"""``python -m bench.worker SPEC.json``: measure one case in this fresh process and write its
row (and the warnings met) as JSON to the path the spec names. Spawned by ``bench.isolate``.

The worker dies with the run that spawned it (the spec's ``parent`` pid), so that a run killed
with ``kill -9`` leaves no case running unparented and without a timeout: on Linux the kernel
sends it ``SIGKILL`` when its parent exits (``prctl(PR_SET_PDEATHSIG)``, armed before torch is
imported); where ``prctl`` is not available, a daemon thread checks every 0.2 s that the
parent is still its parent. A parent that died before either was armed is caught by the same
comparison, at once. (Inductor's compile workers, its grandchildren, watch their own parent.)
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _prctl_death_signal() -> bool:
    """Ask Linux for ``SIGKILL`` when the parent exits; False where that cannot be done."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int, every_s: float = 0.2) -> None:
    """Kill this process as soon as ``parent`` is no longer its parent (it was reparented)."""
    while os.getppid() == parent:
        time.sleep(every_s)
    _die()


def die_with_parent(parent: int) -> None:
    """Arm this process to die with ``parent`` (prctl, else a watchdog thread); if ``parent``
    is already gone, die now. Raises nothing: a process that cannot arm either dies."""
    if not _prctl_death_signal():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:
        _die()


def main(spec_path: str) -> int:
    """Measure the spec's case; exit status 0 (a failure is the parent's to report)."""
    spec = json.loads(Path(spec_path).read_text())
    die_with_parent(spec["parent"])
    import torch

    from bench.case import Case, RunConfig
    from bench.plant import maybe_sleep
    from bench.precision import apply_precision
    from bench.runner import References, first_call_s, run_case
    from bench.toolchain import warm_compiler

    case, cfg = Case(**spec["case"]), RunConfig.from_json(spec["run"])
    maybe_sleep(case.label)
    torch.set_num_threads(cfg.threads)
    apply_precision(cfg.tf32)
    warm_compiler(case)  # the compilers' start-up: not the case's compile_s
    if spec.get("warm"):
        result = {"first_call_s": first_call_s(case, cfg)}
    else:
        row, warns = run_case(case, cfg, References(Path(spec["references"])))
        result = {"row": row, "warnings": warns}
    Path(spec["result"]).write_text(json.dumps(result, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
