"""The peak-memory counters of a row (``bench.device``, the runner's reader): CUDA's reserved
peak beside the allocated one, for torch only, empty on the CPU; a read before the end (the
shape scenarios' ``peak_mem_first_shape_bytes``) keeps the RSS sampler running."""

from __future__ import annotations

import torch

from bench.device import RssPeak, peak_reserved_bytes
from bench.runner import _memory_reader

MIB = 2**20


def test_the_reserved_peak_is_torchs_on_cuda_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "max_memory_reserved", lambda: 3 * MIB)
    assert peak_reserved_bytes("cuda", "torch") == 3 * MIB
    assert peak_reserved_bytes("cuda", "jax") is None  # JAX's pool is not torch's
    assert peak_reserved_bytes("cpu", "torch") is None


def test_the_reader_gives_both_rises_over_the_baseline_on_cuda(monkeypatch):
    """No GPU here: torch's two CUDA counters are faked, read once as the baseline."""
    allocated, reserved = [100], [1000]
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda: allocated[0])
    monkeypatch.setattr(torch.cuda, "max_memory_reserved", lambda: reserved[0])
    rss = RssPeak()
    memory = _memory_reader("cuda", "torch", rss)
    allocated[0], reserved[0] = 150, 1200
    assert memory(final=False) == {"peak_mem_bytes": 50, "peak_reserved_bytes": 200}
    assert rss._thread.is_alive()  # a read so far: still sampling
    allocated[0], reserved[0] = 180, 1300
    assert memory() == {"peak_mem_bytes": 80, "peak_reserved_bytes": 300}
    assert not rss._thread.is_alive()


def test_a_cpu_read_so_far_sees_the_peak_and_keeps_sampling():
    rss = RssPeak()
    memory = _memory_reader("cpu", "torch", rss)
    block = b"\x01" * (64 * MIB)  # written: 64 MiB of resident pages
    so_far = memory(final=False)
    assert rss._thread.is_alive()
    assert so_far["peak_mem_bytes"] >= 60 * MIB and so_far["peak_reserved_bytes"] is None
    del block
    final = memory()
    assert not rss._thread.is_alive()
    assert final["peak_mem_bytes"] >= so_far["peak_mem_bytes"]  # the peak, not the RSS now
    assert final["peak_reserved_bytes"] is None
