"""A case's two steps timed alone (``torch.utils.benchmark``, 1 s) and by the suite's
interleaved loop under three block warm-ups: one untimed call before each block (the suite
until 2026-12-03), untimed calls for at least 20 ms, and that with 40-ms blocks (the suite
now). Run alone, on a quiet machine:

    PYTHONPATH=. python scripts/framework_switch.py autograd_mlp train jax_jit

The interleaved ratio should match the ratio alone; a gap is a switch cost the loop times."""

import os
import sys
from dataclasses import replace

os.environ.setdefault("PJRT_NPROC", "2")  # JAX on torch's thread count, as bench.meta sets

from torch.utils.benchmark import Timer  # noqa: E402

from bench.backends import BACKENDS  # noqa: E402
from bench.profiles import PROFILES  # noqa: E402
from bench.schema import SCENARIOS  # noqa: E402
from bench.timing import steady_state  # noqa: E402
from models import build_workload  # noqa: E402

VARIANTS = {"1 call, 10-ms blocks": {"block_warmup_s": 0.0, "block_s": 0.01},
            "20 ms, 10-ms blocks": {"block_warmup_s": 0.02, "block_s": 0.01},
            "20 ms, 40-ms blocks": {"block_warmup_s": 0.02, "block_s": 0.04}}


def alone(step) -> float:
    """Median seconds per call of ``step`` timed by itself for 1 s on 2 threads."""
    timer = Timer("step()", globals={"step": step}, num_threads=2)
    return timer.blocked_autorange(min_run_time=1).median


def main(work: str, scenario: str, other: str, repeats: int = 2) -> None:
    steps = {name: BACKENDS[name].prepare(build_workload(work), SCENARIOS[scenario]).step
             for name in ("eager", other)}
    for step in steps.values():
        step()
        step()
    for _ in range(repeats):
        t = {k: alone(f) for k, f in steps.items()}
        print(f"{work}/{scenario}/{other} alone: ratio {t['eager'] / t[other]:.3f}"
              f" (eager {t['eager'] * 1e3:.4f} ms)")
        for name, knobs in VARIANTS.items():
            s = steady_state(steps, lambda: None, replace(PROFILES["quick"], **knobs), 2)
            e, b = s["eager"].median_s, s[other].median_s
            print(f"   {name:22s} ratio {e / b:.3f} (eager {e * 1e3:.4f} ms)")


if __name__ == "__main__":
    main(*sys.argv[1:4])
