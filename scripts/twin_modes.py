"""Why a freshly built eager step runs at one of two speeds: build ``N`` fresh workloads of one
cell's eager step in one process, time each alone (``torch.utils.benchmark.Timer.
blocked_autorange``, 0.5 s), and print, per build, the median and where its big buffers lie
(the input batch's and the first convolution's weight's address modulo 4 KiB and 2 MiB), so a
speed that follows an address shows itself.

    PYTHONPATH=. python scripts/twin_modes.py mnist_cnn infer 12 [threads]

Prints one JSON line per build, then the medians sorted (ms).
"""

from __future__ import annotations

import json
import sys

import torch
from torch.utils.benchmark import Timer

from bench.backends import BACKENDS
from bench.schema import SCENARIOS
from models import WorkloadConfig, build_workload


def one_build(workload: str, scenario: str, threads: int) -> dict:
    """Median ms of one freshly built eager step, and its buffers' offsets."""
    work = build_workload(workload, WorkloadConfig())
    prepared = BACKENDS["eager"].prepare(work, SCENARIOS[scenario])
    for _ in range(3):
        prepared.step()
    median = Timer("f()", globals={"f": prepared.step}, num_threads=threads).blocked_autorange(
        min_run_time=0.5).median
    x = work.batch[0] if hasattr(work, "batch") else None
    weight = next(work.module.parameters())
    where = {name: [t.data_ptr() % 4096, t.data_ptr() % (2 << 20)]
             for name, t in (("x", x), ("w0", weight)) if isinstance(t, torch.Tensor)}
    return {"ms": round(median * 1e3, 2), "offsets": where}


def main(argv: list[str]) -> None:
    workload, scenario, n = argv[0], argv[1], int(argv[2])
    threads = int(argv[3]) if len(argv) > 3 else torch.get_num_threads()
    builds = [one_build(workload, scenario, threads) for _ in range(n)]
    for b in builds:
        print(json.dumps(b))
    print(json.dumps({"sorted_ms": sorted(b["ms"] for b in builds)}))


if __name__ == "__main__":
    main(sys.argv[1:])
