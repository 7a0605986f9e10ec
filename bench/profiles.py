"""How long each case is warmed up and timed: the ``--profile`` choices."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Warm-up and steady-state budget of one case (seconds, steps)."""

    name: str
    warmup_steps: int  # untimed steps after the first call, before timing
    min_run_time_s: float  # adaptive_autorange: time spent before the IQR test may stop it
    max_run_time_s: float  # adaptive_autorange: hard cap on timed seconds per case
    iqr_threshold: float  # stop once IQR / median is below this (at least 4 blocks)
    case_timeout_s: float  # a case's process is killed after this, its row "timeout"


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", warmup_steps=3, min_run_time_s=0.2, max_run_time_s=3.0,
                     iqr_threshold=0.1, case_timeout_s=600.0),
    "full": Profile("full", warmup_steps=10, min_run_time_s=2.0, max_run_time_s=20.0,
                    iqr_threshold=0.02, case_timeout_s=1800.0),
}
