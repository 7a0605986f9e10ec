"""How long each case is warmed up and timed: the ``--profile`` choices."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Warm-up and steady-state budget of one case (seconds, steps)."""

    name: str
    warmup_steps: int  # untimed steps after the first call, before timing
    min_run_time_s: float  # timed seconds (per timed step function) before stopping may happen
    max_run_time_s: float  # cap on a window's wall seconds: all interleaved steps, block warm-ups
    # included (a step of 80 ms timed one call per block pays as much again in warm-ups)
    ci_halfwidth: float  # stop once every 95% CI of the median is within +- this fraction
    case_timeout_s: float  # a case's process is killed after this, its row "timeout"
    warm_compile: bool = True  # also time a warm-cache first call in a second process
    in_process: bool = False  # default isolation: every case in the run's process
    min_blocks: int = 5  # never fewer timed blocks per step function
    block_s: float = 0.04  # calls per block are chosen so that one block lasts about this
    block_warmup: int = 1  # untimed calls before each interleaved block (after a switch)
    block_warmup_s: float = 0.02  # ... and untimed calls until this many seconds have passed
    disturbed_retries: int = 2  # a window disturbed by other processes is timed again
    rounds: int = 5  # independent rounds of the whole matrix, each in a shuffled order
    cross_check: int = 3  # cells timed again by torch.utils.benchmark (bench.crosscheck)


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", warmup_steps=3, min_run_time_s=0.3, max_run_time_s=2.0,
                     ci_halfwidth=0.02, case_timeout_s=600.0, warm_compile=False,
                     in_process=True, rounds=3, cross_check=0),
    "full": Profile("full", warmup_steps=10, min_run_time_s=2.0, max_run_time_s=30.0,
                    ci_halfwidth=0.01, case_timeout_s=1800.0, min_blocks=10),
}
