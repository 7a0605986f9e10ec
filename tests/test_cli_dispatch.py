"""The subcommands hand their arguments to the modules that do the work (the regression side
in ``bench.regress``, the notes in ``bench.notes``) and return their exit status; and the
pytest-benchmark entry lives outside the default test run but is collected when named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import bench.cli
from bench.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("argv, target, expected", [
    (["compare", "a", "b"], "compare_runs", ("a", "b", 0.10, False)),
    (["compare", "a", "b", "--threshold", "0.3", "--absolute"], "compare_runs",
     ("a", "b", 0.3, True)),
    (["export", "r"], "export", (Path("r"), "github-action-benchmark", None)),
    (["export", "r", "--format", "x", "--out", "o.json"], "export", (Path("r"), "x", "o.json")),
    (["merge", "a", "b", "--out", "m"], "merge", ([Path("a"), Path("b")], Path("m"), False)),
    (["reproduce"], "reproduce", ("all", None, None, 0, None, 1)),
    (["reproduce", "--workload", "mnist_cnn", "--epochs", "1", "--data-root", "d", "--seed",
      "3", "--preview", "p.png", "--seeds", "5"], "reproduce",
     ("mnist_cnn", 1, "d", 3, "p.png", 5)),
])
def test_each_subcommand_dispatches_its_arguments(argv, target, expected, monkeypatch):
    calls = []
    monkeypatch.setattr(bench.cli, target, lambda *a: calls.append(a) or 7)
    assert main(argv) == 7
    assert calls == [expected]


def test_history_goes_through_the_regression_side(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench.cli, "measure_roofline", lambda device, threads: {})
    monkeypatch.setattr(bench.cli, "run_matrix", lambda *a, **k: [])
    monkeypatch.setattr(bench.cli, "append_history", lambda run, hist: hist / "kept")
    argv = ["run", "--workloads", "manual_mlp", "--profile", "quick", "--out",
            str(tmp_path / "run"), "--history", str(tmp_path / "h")]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"history: {tmp_path / 'h' / 'kept'}"


def test_a_usage_error_from_a_subcommand_is_one_line(monkeypatch, capsys):
    def refuse(*args):
        raise KeyError("unknown workload 'x'; valid: manual_mlp")

    monkeypatch.setattr(bench.cli, "reproduce", refuse)
    assert main(["reproduce", "--workload", "x"]) == 2
    assert capsys.readouterr().err == \
        "python -m bench: error: unknown workload 'x'; valid: manual_mlp\n"


def test_the_benchmark_entry_is_left_out_of_the_default_run():
    from tests import conftest

    assert conftest.collect_ignore == ["benchmarks"]
    in_package = [*(ROOT / "bench").rglob("test_*.py"), *(ROOT / "bench").rglob("conftest.py")]
    assert in_package == []  # nothing of pytest's inside the installed package


def test_the_benchmark_entry_is_collected_when_named():
    cmd = [sys.executable, "-m", "pytest", "tests/benchmarks", "--collect-only", "-q",
           "-p", "no:cacheprovider", "--bench-workloads", "manual_mlp",
           "--bench-backends", "eager,compile", "--bench-devices", "cpu"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300).stdout
    ids = sorted(line.split("[", 1)[1].rstrip("]") for line in out.splitlines()
                 if "test_step[" in line)
    assert ids == sorted(f"manual_mlp/{s}/{b}/cpu" for s in ("train", "infer")
                         for b in ("eager", "compile"))
