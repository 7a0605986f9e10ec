"""The run's terminal table: each row's speedup is its own interleaved eager median over its
median, shown side by side."""

from __future__ import annotations

import pandas as pd

from bench.table import summary_table


def test_speedup_is_the_rows_own_eager_over_its_median():
    rows = pd.DataFrame([
        {"workload": "w", "scenario": "train", "backend": "eager", "status": "ok",
         "step_median_s": 0.0006, "step_iqr_s": 1e-5, "samples_per_s": 1.0,
         "achieved_flops_per_s": 1e9, "first_call_s": 0.001, "eager_step_median_s": 0.0006},
        {"workload": "w", "scenario": "train", "backend": "compile", "status": "ok",
         "step_median_s": 0.0007, "step_iqr_s": 1e-5, "samples_per_s": 1.0,
         "achieved_flops_per_s": 1e9, "first_call_s": 2.0, "eager_step_median_s": 0.00084},
        {"workload": "w", "scenario": "train", "backend": "jit_trace", "status": "mismatch",
         "step_median_s": 0.0001, "step_iqr_s": 1e-5, "samples_per_s": 1.0,
         "achieved_flops_per_s": 1e9, "first_call_s": 0.001, "eager_step_median_s": 0.0006},
    ])
    lines = summary_table(rows).splitlines()
    header = lines[0].split()
    assert header[-2:] == ["eager_ms", "speedup"]
    compile_row = lines[2].split()
    assert compile_row[-2:] == ["0.84", "1.2"]  # 0.84 ms / 0.70 ms, not the eager row's 0.6
    mismatch = lines[3].split()  # no eager_ms and no speedup: it ends at first_call_ms
    assert len(mismatch) == len(compile_row) - 2 and mismatch[-1] == "1"
