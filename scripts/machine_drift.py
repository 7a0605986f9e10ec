"""How much this machine's speed drifts: one eager step timed window after window in one
process with nothing else running, each window by the suite's own steady-state timer
(``bench.timing.steady_state``, the quick profile's stop rule). Prints every window's median
and its 95% interval, then the spread of the medians (slowest / fastest - 1).

    PYTHONPATH=. python scripts/machine_drift.py --workload manual_mlp --windows 25

A spread far above the windows' own intervals means that single absolute step times from this
machine move between runs, while ratios timed interleaved in one process (the suite's
speedups) are not moved by it.
"""

from __future__ import annotations

import argparse
import time

import torch

from bench.backends import BACKENDS
from bench.profiles import PROFILES
from bench.schema import SCENARIOS, steady_scenarios
from bench.timing import steady_state
from models import WORKLOADS, WorkloadConfig, build_workload


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", default="manual_mlp", choices=sorted(WORKLOADS))
    p.add_argument("--scenario", default="train", choices=steady_scenarios())
    p.add_argument("--windows", type=int, default=25)
    p.add_argument("--pause-s", type=float, default=3.0, help="idle seconds between windows")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    work = build_workload(args.workload, WorkloadConfig())
    step = BACKENDS["eager"].prepare(work, SCENARIOS[args.scenario]).step
    medians, start = [], time.time()
    for i in range(args.windows):
        s = steady_state({"eager": step}, lambda: None, PROFILES["quick"],
                         torch.get_num_threads())["eager"]
        medians.append(s.median_s)
        print(f"{time.time() - start:6.1f} s  window {i}: median {s.median_s * 1e3:.3f} ms, "
              f"95% CI [{s.ci_low_s * 1e3:.3f}, {s.ci_high_s * 1e3:.3f}] ms, "
              f"{s.repeats} blocks", flush=True)
        time.sleep(args.pause_s)
    print(f"{args.workload}/{args.scenario} eager on {torch.get_num_threads()} threads: "
          f"fastest window {min(medians) * 1e3:.3f} ms, slowest {max(medians) * 1e3:.3f} ms, "
          f"spread {max(medians) / min(medians) - 1:.1%}")


if __name__ == "__main__":
    main()
