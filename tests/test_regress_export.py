"""The export for github-action-benchmark, and the ratio to eager it shares with compare."""

from __future__ import annotations

import json
import math

import pytest

from bench.cli import main
from bench.regress.export import github_action_benchmark
from bench.regress.ratios import Interval, eager_ratio, raw_time
from bench.results import rows_frame
from tests.test_regress_compare import row, write_run


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
    assert github_action_benchmark(rows_frame(rows)) == data
    assert main(["export", run, "--format", "csv"]) == 2


def test_export_entry_text_is_unchanged():
    """The exact strings a published dashboard already holds."""
    (_, ratio) = github_action_benchmark(rows_frame([row("compile", 1e-3, 1e-5, eager_s=2e-3)]))
    assert ratio == {"name": "manual_mlp/train/compile/cpu vs eager", "unit": "ratio",
                     "value": 0.5, "range": "0.495 .. 0.505 (95% CI of the median)",
                     "extra": "run r; 20 repeats; batch 100; eager median 0.002 s, same process"}


@pytest.mark.parametrize("eager_s", [math.nan, 0.0, -1.0, math.inf, None, "x"])
def test_no_ratio_without_a_finite_positive_eager_time(eager_s):
    r = row("compile", 1e-3, 1e-5) | {"eager_step_median_s": eager_s}
    assert eager_ratio(r) is None
    assert [e["unit"] for e in github_action_benchmark(rows_frame([r]))] == ["s"]


def test_ratio_is_the_interval_over_eagers_median():
    assert raw_time(row("compile", 1.0, 0.1)) == Interval(1.0, 0.9, 1.1)
    got = eager_ratio(row("compile", 1.0, 0.5, eager_s=2.0))
    assert got == Interval(0.5, 0.25, 0.75)
    assert eager_ratio(row("eager", 1.0, 0.1, eager_s=2.0)) is None  # eager is its own baseline
