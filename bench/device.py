"""Devices: which exist here, and the synchronize call made before every clock read."""

from __future__ import annotations

from collections.abc import Callable

import torch

from bench.errors import UsageError

DEVICES = ("cpu", "cuda")


def available_devices() -> list[str]:
    """The devices this machine can run: always ``cpu``, plus ``cuda`` when torch sees a GPU."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def check_device(device: str) -> str:
    """Return ``device`` when it can run here; raise ``UsageError`` naming the valid choices."""
    if device not in DEVICES:
        raise UsageError(f"unknown device {device!r}; valid: {', '.join(DEVICES)}")
    if device not in available_devices():
        raise UsageError(
            f"device {device!r} is not available here (torch.cuda.is_available() is False); "
            f"valid here: {', '.join(available_devices())}"
        )
    return device


def torch_sync(device: str) -> Callable[[], None]:
    """The function that waits for all queued work on ``device``: ``torch.cuda.synchronize``
    on CUDA, a no-op on the CPU (CPU kernels run synchronously)."""
    if device == "cuda":
        return torch.cuda.synchronize
    return lambda: None


def peak_memory_bytes(device: str, backend: str = "") -> int:
    """The process's peak memory so far, in bytes: on CUDA ``torch.cuda.max_memory_allocated``
    (for a JAX backend, JAX's own ``memory_stats()["peak_bytes_in_use"]``, which torch cannot
    see); on the CPU the peak resident set size (``getrusage`` ``ru_maxrss``, KiB on Linux).
    A case reports the rise of this over its value before the workload was built."""
    if device == "cuda" and backend.startswith("jax"):
        import jax

        return int((jax.devices("gpu")[0].memory_stats() or {}).get("peak_bytes_in_use", 0))
    if device == "cuda":
        return int(torch.cuda.max_memory_allocated())
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def reset_peak_memory(device: str) -> None:
    """Start a new CUDA peak-memory window (the CPU's ``ru_maxrss`` cannot be reset: a case
    runs in its own process and reports the rise over its baseline instead)."""
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
