"""The cross-check (``bench.crosscheck``): a cell the suite measured in its rounds, timed again
by ``torch.utils.benchmark``, agrees with it within the two 95% intervals; a disagreement is
named in one line."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from bench.case import Case, RunConfig
from bench.crosscheck import cross_check, disagreement_lines, sample_cells
from bench.matrix import run_matrix
from bench.profiles import PROFILES
from bench.results import ResultsWriter


def test_the_suite_and_torch_utils_benchmark_agree_on_a_small_cell(tmp_path):
    case = Case("manual_mlp", "infer", "jit_trace", "cpu")
    cfg = RunConfig("check", replace(PROFILES["quick"], rounds=3), 1)
    with ResultsWriter(tmp_path) as writer:
        rows = run_matrix([case], cfg, writer, {"warnings": [], "round_seed": 1})
    assert rows[0]["status"] == "ok" and rows[0]["rounds"] == 3
    frame = cross_check(rows, cfg, 1, 0, tmp_path)
    row = frame.iloc[0]
    assert row["check_blocks"] == 3 and row["check_ci_low"] <= row["check_speedup"]
    assert row["agree"], row.to_dict()  # the two 95% intervals overlap
    assert pd.read_csv(tmp_path / "crosscheck.csv")["agree"].tolist() == [True]
    assert disagreement_lines(frame) == [
        "cross-check: 1 of 1 sampled cells agree with torch.utils.benchmark within their 95% "
        "intervals (crosscheck.csv)"]


def test_a_disagreement_is_named_with_both_intervals():
    frame = pd.DataFrame([{"workload": "mnist_cnn", "scenario": "infer", "backend": "compile",
                           "speedup": 1.3, "speedup_ci_low": 1.2, "speedup_ci_high": 1.4,
                           "check_speedup": 1.8, "check_ci_low": 1.7, "check_ci_high": 1.9,
                           "agree": False}])
    assert disagreement_lines(frame) == [
        "cross-check disagrees: mnist_cnn/infer/compile: suite 1.3x (1.2-1.4), "
        "torch.utils.benchmark 1.8x (1.7-1.9)",
        "cross-check: 0 of 1 sampled cells agree with torch.utils.benchmark within their 95% "
        "intervals (crosscheck.csv)"]


def test_only_timed_cells_with_an_interval_are_sampled():
    ok = {"status": "ok", "backend": "compile", "scenario": "train", "speedup_ci_low": 1.0}
    rows = [ok, {**ok, "backend": "eager"}, {**ok, "status": "failed"},
            {**ok, "scenario": "shapes"}, {**ok, "speedup_ci_low": float("nan")}]
    assert sample_cells(rows, 5, 0) == [ok]
