"""``meta.json``: what a run was measured on, so that a number can be traced to its context."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from bench.backends import backend_infos
from bench.precision import policy


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The checkout's ``HEAD`` commit, with ``+dirty`` when files differ; None outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return sha + ("+dirty" if dirty else "")


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def new_run_id(device: str) -> str:
    """A fresh run id: the UTC time to the second and the device, ``20250131T120501Z-cpu``."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{device}"


def invocation(meta: dict[str, Any]) -> dict[str, Any]:
    """What one ``run`` call of a (possibly resumed) run folder was: when, how, how isolated."""
    return {k: meta.get(k) for k in ("utc_time", "git_commit", "command", "isolation")}


def collect_meta(device: str, threads: int, profile: str, *, roofline: dict[str, float],
                 shard: str, isolation: str, previous: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    """Everything ``meta.json`` holds (DESIGN.md), built once: run id, UTC time, commit,
    host, versions, the exact command line, threads, the precision policy in force now, the
    ``roofline`` (``bench.roofline``), the ``shard`` (``"I/N"``), the ``isolation``
    (``"in-process"`` or ``"process per case"``), the backend registry
    (``bench.backends.backend_infos``, in order) and the ``invocations`` of the folder.
    ``previous``: the meta of the folder a ``--resume`` completes; its run id, warnings and
    invocations are kept, and ``resumed_from`` is its time."""
    this = {"utc_time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "command": " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
            "isolation": isolation}
    old = previous or {}
    resumed = {"resumed_from": old.get("utc_time")} if previous is not None else {}
    earlier = (old.get("invocations") or [invocation(old)]) if previous is not None else []
    return {
        "run_id": old.get("run_id") or new_run_id(device), **this, **resumed,
        "host_cpu": cpu_model(), "cpu_count": os.cpu_count(), "threads": threads,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "device": device, "profile": profile, "shard": shard,
        "python": platform.python_version(), "torch": torch.__version__,
        "torchvision": _version("torchvision"), "jax": _version("jax"),
        "precision": policy(), "roofline": roofline,
        "backends": [info.to_json() for info in backend_infos()],
        "warnings": old.get("warnings", []), "invocations": [*earlier, this],
    }
