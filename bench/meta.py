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


def collect_meta(run_id: str, device: str, threads: int, profile: str) -> dict[str, Any]:
    """Everything ``meta.json`` holds (DESIGN.md): run id, UTC time, commit, host, versions,
    the exact command line, threads and the precision policy."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "run_id": run_id,
        "utc_time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "host_cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "gpu": gpu,
        "device": device,
        "profile": profile,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),
        "jax": _version("jax"),
        "command": " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
        "precision": policy(),
        "warnings": [],
    }
