"""The run's terminal table: each row's speedup is its own interleaved eager median over its
median, shown side by side."""

from __future__ import annotations

import pandas as pd

from bench.table import summary_table


def test_speedup_is_the_rows_own_eager_over_its_median():
    rows = pd.DataFrame([
        {"workload": "w", "scenario": "train", "backend": "eager", "status": "ok",
         "step_median_s": 0.0006, "step_iqr_s": 1e-5, "samples_per_s": 1.0,
         "achieved_flops_per_s": 1e9, "first_call_s": 0.001, "eager_step_median_s": 0.0006,
         "error": None},
        {"workload": "w", "scenario": "train", "backend": "compile", "status": "ok",
         "step_median_s": 0.0007, "step_iqr_s": 1e-5, "samples_per_s": 1.0,
         "achieved_flops_per_s": 1e9, "first_call_s": 2.0, "eager_step_median_s": 0.00084,
         "error": "fullgraph=True: a note on an ok row, not shown"},
        {"workload": "w", "scenario": "train", "backend": "jit_trace", "status": "mismatch",
         "step_median_s": 0.0001, "step_iqr_s": 1e-5, "samples_per_s": 1.0,
         "achieved_flops_per_s": 1e9, "first_call_s": 0.001, "eager_step_median_s": 0.0006,
         "error": "parity error 9.9 > 0.1 (2 x eager's 1e-07 + 0.001) and more words " * 2},
    ])
    lines = summary_table(rows).splitlines()
    header = lines[0].split()
    assert header[-5:] == ["eager_ms", "speedup", "95%", "interval", "why"]
    compile_row = lines[2].split()
    assert compile_row[-2:] == ["0.84", "1.2"]  # 0.84 ms / 0.70 ms, not the eager row's 0.6
    assert "fullgraph" not in lines[2]  # an ok row's note stays in results.csv
    mismatch = lines[3]  # no eager_ms, no speedup; the reason cut to 60 characters
    assert "parity error 9.9 > 0.1" in mismatch and mismatch.rstrip().endswith("...")
    assert mismatch.split("parity")[0].split()[-1] == "1"  # first_call_ms, then the reason


def test_the_rounds_speedup_and_its_interval_are_shown():
    row = {"workload": "w", "scenario": "train", "backend": "compile", "status": "ok",
           "step_median_s": 0.0007, "step_iqr_s": 1e-5, "samples_per_s": 1.0,
           "achieved_flops_per_s": 1e9, "first_call_s": 2.0, "eager_step_median_s": 0.00084,
           "speedup": 1.21, "speedup_ci_low": 1.1, "speedup_ci_high": 1.33, "error": None}
    line = summary_table(pd.DataFrame([row])).splitlines()[1].split()
    assert line[-2:] == ["1.21", "1.1-1.33x"]  # the rounds' geometric mean, its t interval


def test_the_busy_warning_names_steal_time_when_the_hypervisor_took_it():
    import pandas as pd

    from bench.table import disturbance_warning

    df = pd.DataFrame({"disturbed": [1, 0], "other_cpu_cores": [0.02, 0.01],
                       "steal_fraction": [0.07, 0.0]})
    line = disturbance_warning(df)
    assert line.startswith("warning: the machine was busy: 1 of 2 timed cases")
    assert "other processes used up to 0.02 cores or the hypervisor stole up to 7%" in line
    quiet_steal = disturbance_warning(df.assign(steal_fraction=[0.0, 0.0]))
    assert "stole" not in quiet_steal and "up to 0.02 cores (columns" in quiet_steal
