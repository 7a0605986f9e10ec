"""A roofline reference for a run, measured in a few seconds on the run's device: the peak
float32 matmul rate, the copy bandwidth and the per-op launch floor, so that a report can show
each case's fraction of what the machine can do."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils import benchmark

from bench.device import torch_sync
from bench.timing import synced_clock


def _median_s(fn: Callable[[], object], device: str, threads: int) -> float:
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads,
                            timer=synced_clock(torch_sync(device)))
    return timer.blocked_autorange(min_run_time=0.5).median


def measure_roofline(device: str, threads: int) -> dict[str, float]:
    """``matmul_flops_per_s`` (an n x n float32 matmul, n = 4096 on CUDA, 1024 on the CPU),
    ``copy_bytes_per_s`` (read + write of a 256 MiB / 64 MiB tensor copy) and
    ``launch_floor_s`` (one tiny in-place add: the dispatch and launch cost every op pays)."""
    n = 4096 if device == "cuda" else 1024
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    out = torch.empty(n, n, device=device)
    matmul_s = _median_s(lambda: torch.mm(a, b, out=out), device, threads)
    size = (256 if device == "cuda" else 64) * 2**20 // 4
    src, dst = torch.randn(size, device=device), torch.empty(size, device=device)
    copy_s = _median_s(lambda: dst.copy_(src), device, threads)
    tiny = torch.zeros(1, device=device)
    launch_s = _median_s(lambda: tiny.add_(1), device, threads)
    return {"matmul_flops_per_s": 2 * n**3 / matmul_s,
            "copy_bytes_per_s": 2 * size * 4 / copy_s, "launch_floor_s": launch_s}
