"""scripts/repeatability.py: how two runs of one matrix agree (coverage of each other's
intervals, the change's 90th percentile, verdict flips), on literal rows."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.results import rows_frame

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import repeatability  # noqa: E402  (scripts/repeatability.py)


def _run(cells: dict[str, tuple[float, float, float]]) -> object:
    """A run's rows: eager, and one compile cell per workload with (speedup, low, high)."""
    rows = []
    for workload, (speedup, low, high) in cells.items():
        base = {"run_id": "r", "workload": workload, "scenario": "train", "device": "cpu",
                "status": "ok", "eager_step_median_s": 1.0, "disturbed": 0}
        rows.append({**base, "backend": "eager", "step_median_s": 1.0, "step_ci_low_s": 0.99,
                     "step_ci_high_s": 1.01})
        rows.append({**base, "backend": "compile", "step_median_s": 1 / speedup,
                     "step_ci_low_s": 1 / high, "step_ci_high_s": 1 / low, "speedup": speedup,
                     "speedup_ci_low": low, "speedup_ci_high": high, "rounds": 3})
    return rows_frame(rows)


def test_coverage_change_and_flips_of_two_runs():
    a = _run({"manual_mlp": (1.20, 1.10, 1.30), "mnist_cnn": (1.50, 1.40, 1.60),
              "autograd_mlp": (1.00, 0.95, 1.04)})
    b = _run({"manual_mlp": (1.25, 1.15, 1.35), "mnist_cnn": (1.80, 1.70, 1.90),
              "autograd_mlp": (1.10, 1.07, 1.13)})
    lines = repeatability.agreement_lines(repeatability._changes(a, b))
    assert lines[0] == ("non-eager cells ok in both: 3; A's speedup inside B's 95% interval: "
                        "33%, B's inside A's: 33%")
    assert lines[1].startswith("speedup change: median 10.0%, 90th percentile 18.0%")
    assert lines[2] == "cells that flip between 'holds' and 'does not hold': 1"
    assert lines[3].startswith("  flip autograd_mlp/train/compile: 1x (0.95-1.04) does not hold")
