"""The regression rule with literal numbers, the compare command on synthetic run folders, a
planted slowdown caught end to end, the export for github-action-benchmark, and history."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pandas as pd
import pytest

from bench.case import RunConfig, case_matrix
from bench.cli import main
from bench.compare import (
    IMPROVEMENT,
    NO_CHANGE,
    REGRESSION,
    Interval,
    compare_frames,
    judge_count,
    judge_status,
    judge_time,
)
from bench.export import github_action_benchmark
from bench.history import append_history, history_name
from bench.profiles import PROFILES
from bench.results import ResultsWriter, rows_frame
from bench.runner import run_matrix


def test_15_percent_inside_wide_noise_is_no_change():
    t = judge_time(Interval(1.00, 0.90, 1.10), Interval(1.15, 1.05, 1.25), 0.10)
    assert t.label == NO_CHANGE
    assert t.change == pytest.approx(0.15)
    assert t.low == pytest.approx(1.05 / 1.10 - 1) and t.high == pytest.approx(1.25 / 0.90 - 1)


def test_15_percent_with_tight_intervals_is_a_regression():
    assert judge_time(Interval(1.00, 0.99, 1.01), Interval(1.15, 1.14, 1.16)).label == REGRESSION
    assert judge_time(Interval(1.15, 1.14, 1.16), Interval(1.00, 0.99, 1.01)).label == IMPROVEMENT


def test_change_outside_noise_but_under_threshold_is_no_change():
    assert judge_time(Interval(1.00, 0.99, 1.01), Interval(1.05, 1.04, 1.06)).label == NO_CHANGE
    assert judge_time(Interval(1.00, 0.99, 1.01), Interval(1.05, 1.04, 1.06), 0.04).label \
        == REGRESSION


def test_status_and_counts_are_exact():
    assert judge_status("ok", "mismatch") == (REGRESSION, "status ok -> mismatch")
    assert judge_status("timeout", "ok")[0] == IMPROVEMENT
    assert judge_status("failed", "unsupported") == (NO_CHANGE, "status failed -> unsupported")
    assert judge_count("graph_breaks", 0, 1) == (REGRESSION, "new graph break (0 -> 1)")
    assert judge_count("recompiles", 1, 3) == (REGRESSION, "more recompiles (1 -> 3)")
    assert judge_count("graph_breaks", 2, 0)[0] == IMPROVEMENT
    assert judge_count("graph_breaks", math.nan, 1) == (NO_CHANGE, "")


def row(backend, median_s, half_s, eager_s=None, workload="manual_mlp", **kw):
    """One results row with literal times (seconds) and a symmetric interval."""
    return {"run_id": "r", "workload": workload, "scenario": "train", "backend": backend,
            "device": "cpu", "batch_size": 100, "status": "ok", "repeats": 20,
            "step_median_s": median_s, "step_ci_low_s": median_s - half_s,
            "step_ci_high_s": median_s + half_s,
            "eager_step_median_s": median_s if eager_s is None else eager_s, **kw}


def frame(rows):
    return rows_frame(rows)


def verdicts(base, cur, **kw):
    lines = compare_frames(frame(base), frame(cur), **kw)
    return dict(zip(lines["case"], lines["verdict"], strict=True)), lines


def test_uniform_machine_slowdown_is_not_a_regression():
    """Everything 30% slower (a slower machine): ratios to eager are unchanged."""
    base = [row("eager", 1.0e-3, 1e-5), row("compile", 0.5e-3, 5e-6, eager_s=1.0e-3)]
    cur = [row("eager", 1.3e-3, 1.3e-5), row("compile", 0.65e-3, 6.5e-6, eager_s=1.3e-3)]
    got, lines = verdicts(base, cur)
    assert got == {"manual_mlp/train/eager/cpu": NO_CHANGE,
                   "manual_mlp/train/compile/cpu": NO_CHANGE}
    assert lines["why"].iloc[0] == "raw time: regression, not gated (--absolute gates it)"
    got, _ = verdicts(base, cur, absolute=True)
    assert set(got.values()) == {REGRESSION}


def test_ok_to_mismatch_and_new_graph_break_are_flagged():
    base = [row("compile", 1e-3, 1e-5, graph_breaks=0, recompiles=0),
            row("jit_script", 1e-3, 1e-5, workload="sequential_sgd")]
    cur = [row("compile", 1e-3, 1e-5, graph_breaks=1, recompiles=0),
           row("jit_script", 1e-3, 1e-5, workload="sequential_sgd", status="mismatch")]
    got, lines = verdicts(base, cur)
    assert set(got.values()) == {REGRESSION}
    assert list(lines["why"]) == ["new graph break (0 -> 1)", "status ok -> mismatch"]


def test_missing_case_is_a_regression_and_a_new_one_is_reported():
    got, lines = verdicts([row("eager", 1e-3, 1e-5)], [row("compile", 1e-3, 1e-5)])
    assert got == {"manual_mlp/train/eager/cpu": REGRESSION,
                   "manual_mlp/train/compile/cpu": NO_CHANGE}
    assert list(lines["why"]) == ["missing in CURRENT", "new case (not in BASELINE)"]


def write_run(folder, rows):
    ResultsWriter(folder).add_many(rows)
    return str(folder)


def test_planted_slowdown_in_synthetic_folders_fails_compare(tmp_path, capsys):
    """compile 2x slower in CURRENT, eager unchanged: exit 1 naming the case."""
    rows = [row("eager", 2.0e-3, 2e-5), row("compile", 1.0e-3, 2e-5, eager_s=2.0e-3)]
    slow = [rows[0], row("compile", 2.0e-3, 4e-5, eager_s=2.0e-3)]
    a, b = write_run(tmp_path / "a", rows), write_run(tmp_path / "b", slow)
    assert main(["compare", a, a]) == 0
    capsys.readouterr()
    assert main(["compare", a, b]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION manual_mlp/train/compile/cpu: ratio to eager +100.0%" in out
    assert "1 regression, 0 improvement, 1 no change" in out


def test_compare_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    a = write_run(tmp_path / "a", [row("eager", 1e-3, 1e-5)])
    assert main(["compare", a, str(tmp_path / "nowhere")]) == 2
    pd.DataFrame({"workload": ["x"]}).to_csv(tmp_path / "results.csv", index=False)
    assert main(["compare", a, str(tmp_path)]) == 2
    assert main(["compare", a, a, "--threshold", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 3
    assert "no results file" in err and "lacks columns" in err and "threshold" in err


def test_planted_slowdown_is_caught_end_to_end(tmp_path, tiny, monkeypatch, capsys):
    """Two real in-process runs at tiny shapes; BENCH_PLANT_SLOWDOWN doubles jit_script."""
    profile = replace(PROFILES["quick"], min_run_time_s=0.1, max_run_time_s=1.0)
    cases = case_matrix(["manual_mlp"], ["train"], ["eager", "jit_script"], "cpu")
    folders = []
    for plant in ("", "jit_script=2.0"):
        monkeypatch.setenv("BENCH_PLANT_SLOWDOWN", plant)
        out = tmp_path / (plant or "base")
        cfg = RunConfig("r", "cpu", profile, 1, tiny)
        run_matrix(cases, cfg, ResultsWriter(out), {"warnings": []})
        folders.append(str(out))
    assert main(["compare", *folders]) == 1
    assert "REGRESSION manual_mlp/train/jit_script/cpu: ratio to eager +" in capsys.readouterr().out


def test_export_is_what_github_action_benchmark_reads(tmp_path, capsys):
    rows = [row("eager", 2e-3, 2e-5), row("compile", 1e-3, 1e-5, eager_s=2e-3),
            row("jit_script", 1e-3, 1e-5, status="failed")]
    run = write_run(tmp_path / "run", rows)
    assert main(["export", run, "--out", str(tmp_path / "bench.json")]) == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    assert isinstance(data, list) and data
    for entry in data:  # the action's BenchmarkResult: name, unit, value; range, extra optional
        assert isinstance(entry["name"], str) and isinstance(entry["unit"], str)
        assert isinstance(entry["value"], float)
        assert set(entry) <= {"name", "unit", "value", "range", "extra"}
        assert all(isinstance(entry[k], str) for k in ("range", "extra") if k in entry)
    assert [(e["name"], e["unit"], e["value"]) for e in data] == [
        ("manual_mlp/train/eager/cpu", "s", 2e-3), ("manual_mlp/train/compile/cpu", "s", 1e-3),
        ("manual_mlp/train/compile/cpu vs eager", "ratio", 0.5)]
    assert github_action_benchmark(frame(rows)) == data
    assert main(["export", run, "--format", "csv"]) == 2


def test_history_keeps_each_run_in_its_own_folder(tmp_path):
    run = tmp_path / "run"
    write_run(run, [row("eager", 1e-3, 1e-5)])
    meta = {"utc_time": "2025-01-31T12:05:01+00:00", "git_commit": "70b08ae1234+dirty"}
    (run / "meta.json").write_text(json.dumps(meta))
    assert history_name(meta) == "2025-01-31T120501Z_70b08ae-dirty"
    first, second = append_history(run, tmp_path / "h"), append_history(run, tmp_path / "h")
    assert first.name == "2025-01-31T120501Z_70b08ae-dirty" and second.name.endswith("-2")
    assert sorted(p.name for p in first.iterdir()) == ["meta.json", "results.csv"]


def test_run_with_history_then_compare_and_export(tmp_path, capsys):
    """One real eager case: ``--history`` keeps a copy that compare and export read."""
    out, hist = tmp_path / "run", tmp_path / "hist"
    assert main(["run", "--workloads", "manual_mlp", "--scenarios", "infer", "--profile",
                 "quick", "--out", str(out), "--history", str(hist)]) == 0
    (kept,) = hist.iterdir()
    assert sorted(p.name for p in kept.iterdir()) == ["meta.json", "results.csv"]
    assert main(["compare", str(out), str(kept)]) == 0
    assert "0 regression, 0 improvement, 1 no change" in capsys.readouterr().out
    assert main(["export", str(kept)]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["name"] == "manual_mlp/infer/eager/cpu" and entry["unit"] == "s"
