"""Devices: which exist here, and the synchronize call made before every clock read."""

from __future__ import annotations

import os
import threading
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


def _rss_bytes() -> int:
    """The resident set size now (``/proc/self/statm``; 0 where there is none)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


class RssPeak:
    """Samples this process's resident set size every ``interval_s`` on a thread and keeps
    the highest: unlike ``ru_maxrss`` it starts afresh when created, so the first call of a
    case is not hidden under the peak the imports left behind."""

    def __init__(self, interval_s: float = 0.001) -> None:
        self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)
        self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.peak = max(self.peak, _rss_bytes())

    def stop(self) -> int:
        """Stop sampling; the peak resident set size seen, in bytes."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return max(self.peak, _rss_bytes())


def peak_memory_bytes(device: str, framework: str = "torch", rss: RssPeak | None = None) -> int:
    """The process's peak memory so far, in bytes: on CUDA ``torch.cuda.max_memory_allocated``
    (for a backend whose ``framework`` is "jax", JAX's own
    ``memory_stats()["peak_bytes_in_use"]``, which torch cannot see); on the CPU the peak
    resident set size ``rss`` has sampled, or the RSS now if higher (or no ``rss``; ``rss``
    may still be sampling: a read so far). A case reports the rise of this
    over its value before the workload was built."""
    if device == "cuda" and framework == "jax":
        import jax

        return int((jax.devices("gpu")[0].memory_stats() or {}).get("peak_bytes_in_use", 0))
    if device == "cuda":
        return int(torch.cuda.max_memory_allocated())
    return max(rss.peak, _rss_bytes()) if rss is not None else _rss_bytes()


def peak_reserved_bytes(device: str, framework: str = "torch") -> int | None:
    """The peak memory torch's CUDA caching allocator has reserved so far, in bytes
    (``torch.cuda.max_memory_reserved``: the pool, free blocks included); None on the CPU and
    for a JAX backend (``framework`` "jax"), which have no such counter. Raises nothing."""
    if device == "cuda" and framework == "torch":
        return int(torch.cuda.max_memory_reserved())
    return None


def reset_peak_memory(device: str) -> None:
    """Start a new CUDA peak-memory window, allocated and reserved (the CPU's ``ru_maxrss``
    cannot be reset: a case runs in its own process and reports the rise over its baseline
    instead)."""
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
