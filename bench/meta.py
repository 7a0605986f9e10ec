"""``meta.json``: what a run was measured on, so that a number can be traced to its context."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from bench.backends import backend_infos
from bench.backends.jax_backends import match_torch_threads
from bench.precision import policy
from bench.runfolder import command_line


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


# What every run of one folder (a resumed one, merged shards) must share, device first.
MUST_AGREE = ("device", "python", "torch", "torchvision", "jax", "host_cpu", "threads",
              "precision", "profile", "rounds")
# What one invocation of a folder records: when, how, how isolated, and with what settings
# (``--resume-anyway`` may change them: each row's settings stay known).
INVOCATION = ("utc_time", "git_commit", "command", "isolation", *MUST_AGREE[1:])


def invocation(meta: dict[str, Any]) -> dict[str, Any]:
    """What one ``run`` call of a (possibly resumed) run folder was (``INVOCATION``'s keys;
    those a folder older than them lacks are left out)."""
    return {k: meta[k] for k in INVOCATION if k in meta}


def run_settings(device: str, threads: int, profile: str, rounds: int) -> dict[str, Any]:
    """This process's values of ``MUST_AGREE``, as ``meta.json`` records them (the precision
    policy in force now: ``bench.precision.apply_precision`` first)."""
    return {"device": device, "python": platform.python_version(), "torch": torch.__version__,
            "torchvision": _version("torchvision"), "jax": _version("jax"),
            "host_cpu": cpu_model(), "threads": threads, "precision": policy(),
            "profile": profile, "rounds": rounds}


# The environment that sets thread pools: OpenMP's and MKL's (torch's CPU kernels), XLA's.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS", "PJRT_NPROC", "NPROC")


def thread_settings(threads: int) -> dict[str, Any]:
    """The run's threads as ``meta.json`` records them: ``torch_threads`` (``intra_op``: the
    run's ``threads``, which every case sets with ``torch.set_num_threads`` and reads back as
    ``torch.get_num_threads()``; ``inter_op``: ``torch.get_num_interop_threads()``, left at
    torch's default), ``jax_threads`` (what JAX is given: ``jax_backends.match_torch_threads``,
    applied here, before any case starts JAX in this process or in a case's, which inherits the
    environment) and ``thread_env`` (``THREAD_ENV``'s values after that; None: unset)."""
    given = match_torch_threads(threads)
    return {"torch_threads": {"intra_op": threads, "inter_op": torch.get_num_interop_threads()},
            "jax_threads": given, "thread_env": {k: os.environ.get(k) for k in THREAD_ENV}}


def dynamo_limits() -> dict[str, int]:
    """Dynamo's recompile limits in force (``torch._dynamo.config``): a frame compiled more
    than ``recompile_limit`` times (or past ``accumulated_recompile_limit`` in all) runs eager
    from then on; a case that hits one is recorded ``eager_fallback``."""
    config = torch._dynamo.config
    return {"recompile_limit": int(config.recompile_limit),
            "accumulated_recompile_limit": int(config.accumulated_recompile_limit)}


def _shown(key: str, value: Any) -> str:
    if key == "precision" and isinstance(value, dict):
        return "TF32 on (--tf32)" if value.get("tf32_matmul") else "TF32 off"
    return str(value)


def resume_mismatch(old: dict[str, Any], now: dict[str, Any]) -> str | None:
    """The first setting of ``MUST_AGREE`` on which a folder's meta ``old`` and this run's
    ``now`` differ, as "it was measured with threads 4, this run has 2"; None when they agree
    (a key an older folder lacks is not compared)."""
    for key in MUST_AGREE:
        if key in old and old[key] != now.get(key):
            return (f"it was measured with {key} {_shown(key, old[key])}, this run has "
                    f"{_shown(key, now.get(key))}")
    return None


def collect_meta(device: str, threads: int, profile: str, rounds: int, *,
                 roofline: dict[str, float], shard: str, isolation: str,
                 previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything ``meta.json`` holds (DESIGN.md), built once: run id, UTC time, commit,
    host, versions, the exact command line, threads (``thread_settings``: torch's, JAX's and
    the thread environment; JAX is given the run's count here), the precision policy in force
    now, the ``roofline`` (``bench.roofline``), the ``shard`` (``"I/N"``), the ``isolation``
    (``"in-process"`` or ``"process per case"``), the backend registry
    (``bench.backends.backend_infos``, in order), Dynamo's recompile limits (``dynamo_limits``)
    and the ``invocations`` of the folder.
    ``previous``: the meta of the folder a ``--resume`` completes; its run id, warnings and
    invocations are kept, and ``resumed_from`` is its time."""
    this = {"utc_time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "git_commit": git_commit(), "command": command_line(), "isolation": isolation,
            **run_settings(device, threads, profile, rounds)}
    old = previous or {}
    resumed = {"resumed_from": old.get("utc_time")} if previous is not None else {}
    earlier = (old.get("invocations") or [invocation(old)]) if previous is not None else []
    return {
        "run_id": old.get("run_id") or new_run_id(device), **this, **resumed,
        "cpu_count": os.cpu_count(), **thread_settings(threads),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "shard": shard, "roofline": roofline, "dynamo": dynamo_limits(),
        "backends": [info.to_json() for info in backend_infos()],
        "warnings": old.get("warnings", []), "invocations": [*earlier, invocation(this)],
    }
