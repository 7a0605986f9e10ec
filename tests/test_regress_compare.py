"""The regression rule with literal numbers, the compare command on synthetic run folders and
a planted slowdown caught end to end. ``row`` and ``write_run`` serve the other
``test_regress_*`` files too."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest

from bench.case import RunConfig, case_matrix
from bench.cli import main
from bench.errors import UsageError
from bench.matrix import run_matrix
from bench.profiles import PROFILES
from bench.regress.compare import (
    IMPROVEMENT,
    NO_CHANGE,
    REGRESSION,
    TimeChange,
    as_speedup,
    compare_frames,
    fmt_speedup,
    judge_count,
    judge_status,
    judge_time,
)
from bench.regress.ratios import Interval
from bench.results import ResultsWriter, rows_frame


def row(backend, median_s, half_s, eager_s=None, workload="manual_mlp", **kw):
    """One results row with literal times (seconds) and a symmetric interval."""
    return {"run_id": "r", "workload": workload, "scenario": "train", "backend": backend,
            "device": "cpu", "batch_size": 100, "status": "ok", "repeats": 20,
            "step_median_s": median_s, "step_ci_low_s": median_s - half_s,
            "step_ci_high_s": median_s + half_s,
            "eager_step_median_s": median_s if eager_s is None else eager_s, **kw}


def write_run(folder, rows, meta=None):
    """A run folder as the bench writes it: the rows' results files, and ``meta`` if given."""
    writer = ResultsWriter(folder)
    writer.add_many(rows)
    if meta is not None:
        writer.write_meta(meta)
    return str(folder)


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


def verdicts(base, cur, **kw):
    lines = compare_frames(rows_frame(base), rows_frame(cur), **kw)
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


def test_a_case_twice_in_one_run_is_refused_naming_the_run():
    rows = [row("eager", 1e-3, 1e-5)]
    with pytest.raises(UsageError) as err:
        compare_frames(rows_frame(rows), rows_frame(rows * 2))
    assert str(err.value) == \
        "results file CURRENT/results.csv has the case manual_mlp/train/eager/cpu twice"


def test_planted_slowdown_in_synthetic_folders_fails_compare(tmp_path, capsys):
    """compile 2x slower in CURRENT, eager unchanged: exit 1 naming the case."""
    rows = [row("eager", 2.0e-3, 2e-5), row("compile", 1.0e-3, 2e-5, eager_s=2.0e-3)]
    slow = [rows[0], row("compile", 2.0e-3, 4e-5, eager_s=2.0e-3)]
    a, b = write_run(tmp_path / "a", rows), write_run(tmp_path / "b", slow)
    assert main(["compare", a, a]) == 0
    capsys.readouterr()
    assert main(["compare", a, b]) == 1
    out = capsys.readouterr().out
    # people read the speedup (eager's time over the case's), as in the report: 2x -> 1x
    assert "REGRESSION manual_mlp/train/compile/cpu: speedup 2.00x -> 1.00x, -50.0% " \
           "[-52.0%, -48.0%]" in out
    assert "1 regression, 0 improvement, 1 no change" in out
    assert "threshold 10%: a speedup that falls by more than 9.1% or rises by more than " \
           "11.1%, and non-overlapping 95% intervals" in out
    assert "speedup change [95% range]" in out and "ratio" not in out
    assert "ok     2.00x -> 1.00x -50.0% [-52.0%, -48.0%]" in out  # the table


@pytest.mark.parametrize("ratio_change, speedup_change", [(1.0, -0.5), (0.25, -0.2),
                                                          (-0.5, 1.0), (0.0, 0.0)])
def test_a_change_of_the_time_relative_to_eager_is_shown_as_the_speedups(ratio_change,
                                                                         speedup_change):
    shown = as_speedup(TimeChange(REGRESSION, ratio_change, ratio_change - 0.1,
                                  ratio_change + 0.1))
    assert shown.label == REGRESSION and shown.change == pytest.approx(speedup_change)
    assert shown.low == pytest.approx(1 / (1 + ratio_change + 0.1) - 1)  # the range reversed
    assert shown.high == pytest.approx(1 / (1 + ratio_change - 0.1) - 1)
    assert fmt_speedup(1 / 0.257) == "3.89x" and fmt_speedup(0.0047) == "0.0047x"


def test_the_gate_is_the_same_read_as_a_speedup():
    """At the 10% threshold a speedup of 2.00x that falls to 1.81x (-9.5%) is a regression,
    to 1.84x (-8%) is not: the gate still judges the time relative to eager (+10%)."""
    base = Interval(0.5, 0.499, 0.501)
    assert judge_time(base, Interval(1 / 1.81, 0.552, 0.553)).label == REGRESSION
    assert judge_time(base, Interval(1 / 1.84, 0.543, 0.544)).label == NO_CHANGE


def test_compare_notes_what_the_runs_differ_in(tmp_path, capsys):
    """The note comes from both meta.json files; a missing or broken one only drops it."""
    rows = [row("eager", 1e-3, 1e-5)]
    a = write_run(tmp_path / "a", rows, {"threads": 1, "torch": "2.14.1"})
    b = write_run(tmp_path / "b", rows, {"threads": 2, "torch": "2.14.1"})
    assert main(["compare", a, b]) == 0
    assert "note: runs differ in threads 1 vs 2\n" in capsys.readouterr().out
    for text in (None, "{not json", "[1, 2]"):
        meta = tmp_path / "b" / "meta.json"
        meta.unlink(missing_ok=True)
        if text is not None:
            meta.write_text(text)
        assert main(["compare", a, b]) == 0
        assert "note:" not in capsys.readouterr().out


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
        cfg = RunConfig(run_id="r", profile=profile, threads=1, workload=tiny)
        run_matrix(cases, cfg, ResultsWriter(out), {"warnings": []})
        folders.append(str(out))
    assert main(["compare", *folders]) == 1
    assert "REGRESSION manual_mlp/train/jit_script/cpu: speedup " in capsys.readouterr().out
