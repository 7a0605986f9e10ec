"""Where an interleaved speedup departs from timing each step alone: for each CELL
(workload/scenario/backend), the backend's step and an eager twin (the suite's own workloads and
backends) are timed twice each way, in one process on THREADS threads:

- ``alone``: each step by itself, ``torch.utils.benchmark.Timer.blocked_autorange`` (1 s);
- ``cur``: the suite's interleaved loop with no untimed call between blocks (one call per block
  for a slow step: every timed call follows the other step's);
- ``warm1``: the same loop with one untimed call before each block (the suite's default);
- ``block0.2``: no untimed call, blocks of about 0.2 s.

    PYTHONPATH=. python scripts/switch_cost.py 2 mnist_cnn/infer/compile manual_mlp/train/compile

Prints one JSON line per cell: the speedups (eager over backend) and the two medians in ms.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import torch
from torch.utils.benchmark import Timer

from bench.backends import BACKENDS
from bench.profiles import PROFILES
from bench.schema import SCENARIOS
from bench.timing import steady_state
from models import WorkloadConfig, build_workload


def _step(backend: str, workload: str, scenario: str):
    """A warmed-up step of ``workload`` under ``backend``."""
    step = BACKENDS[backend].prepare(build_workload(workload, WorkloadConfig()),
                                     SCENARIOS[scenario]).step
    for _ in range(4):
        step()
    return step


def cell(workload: str, scenario: str, backend: str, threads: int) -> dict[str, list]:
    """The four ways of timing one cell, twice each."""
    own, eager = _step(backend, workload, scenario), _step("eager", workload, scenario)
    quick = replace(PROFILES["quick"], block_warmup=0)
    ways = {"cur": quick, "warm1": replace(quick, block_warmup=1),
            "block0.2": replace(quick, block_s=0.2)}
    out: dict[str, list] = {}
    for _ in range(2):
        alone = [Timer("f()", globals={"f": f}, num_threads=threads).blocked_autorange(
            min_run_time=1).median for f in (eager, own)]
        out.setdefault("alone", []).append(round(alone[0] / alone[1], 3))
        out.setdefault("alone_ms", []).append([round(t * 1e3, 2) for t in alone])
        for name, profile in ways.items():
            s = steady_state({"backend": own, "eager": eager}, lambda: None, profile, threads)
            e, b = s["eager"].median_s, s["backend"].median_s
            out.setdefault(name, []).append(round(e / b, 3))
            out.setdefault(f"{name}_ms", []).append([round(e * 1e3, 2), round(b * 1e3, 2)])
    return out


def main() -> None:
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    for spec in sys.argv[2:]:
        workload, scenario, backend = spec.split("/")
        print(spec, json.dumps(cell(workload, scenario, backend, threads)), flush=True)


if __name__ == "__main__":
    main()
