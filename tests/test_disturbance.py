"""The disturbance monitor: literal /proc/stat numbers, and a real busy process beside a window."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.disturbance import CpuSample, Window, read_proc_stat, sample


def test_proc_stat_fields_by_hand():
    text = "cpu  300 10 60 200 5 2 3 20 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
    busy, steal = read_proc_stat(text, ticks_per_s=100)
    assert busy == pytest.approx((300 + 10 + 60 + 2 + 3) / 100)  # idle and iowait left out
    assert steal == pytest.approx(0.20)
    with pytest.raises(ValueError, match="aggregate"):
        read_proc_stat("intr 1 2 3\n", 100)


def test_window_arithmetic_by_hand():
    a = CpuSample(wall_s=10.0, own_cpu_s=1.0, busy_s=100.0, steal_s=5.0)
    quiet = Window.between(a, CpuSample(12.0, 4.8, 104.0, 5.02))  # 2 s, own 3.8 of 4.0 busy
    assert quiet.other_cpu_s == pytest.approx(0.2)
    assert quiet.other_cores == pytest.approx(0.1)
    assert quiet.steal_fraction == pytest.approx(0.02 / 4.02)
    assert not quiet.disturbed()
    loaded = Window.between(a, CpuSample(12.0, 2.8, 104.0, 5.0))  # other 2.2 s over 2 s
    assert loaded.other_cores == pytest.approx(1.1)
    assert loaded.disturbed()
    assert loaded.describe() == "other processes 1.10 cores, steal 0.0%"
    stolen = Window.between(a, CpuSample(12.0, 4.0, 103.0, 5.5))  # 0.5 s of 3.5 s stolen
    assert stolen.disturbed()


def test_unknown_system_time_is_never_flagged():
    w = Window.between(CpuSample(0, 0, None, None), CpuSample(1, 1, None, None))
    assert w.other_cores is None and not w.disturbed()
    assert "unknown" in w.describe()


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux's /proc/stat")
def test_a_busy_process_beside_the_window_is_seen():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it start spinning
        start = sample()
        time.sleep(1.0)  # this process idles; the other one burns a core
        window = Window.between(start, sample())
    finally:
        busy.kill()
        busy.wait()
    assert window.own_cpu_s < 0.1
    assert window.other_cores > 0.6  # about one core, whatever else the machine runs
    assert window.disturbed()


def test_a_run_beside_a_busy_process_says_so(tmp_path, monkeypatch, capsys):
    """A planted busy loop for the whole run: every timed window is re-measured, still
    disturbed, flagged in its row, and the terminal warns in one line."""
    import pandas as pd

    from bench import cli
    from bench.profiles import PROFILES, Profile

    monkeypatch.setitem(PROFILES, "test", Profile(
        "test", warmup_steps=1, min_run_time_s=0.2, max_run_time_s=0.5, ci_halfwidth=0.5,
        case_timeout_s=60, in_process=True, min_blocks=3, disturbed_retries=1))
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        status = cli.main(["run", "--workloads", "manual_mlp", "--backends", "eager,jit_trace",
                           "--scenarios", "infer", "--profile", "test", "--threads", "1",
                           "--out", str(tmp_path / "run")])
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert status == 0
    df = pd.read_csv(tmp_path / "run" / "results.csv")
    assert (df["disturbed"] == 1).all()
    assert (df["other_cpu_cores"] > 0.2).all()
    assert "warning: the machine was busy: 2 of 2 timed cases" in capsys.readouterr().err


def test_a_disturbed_best_static_row_is_not_judged():
    from reports.claim import DISTURBED, HOLDS, judge_claim

    assert judge_claim(1.8) == HOLDS
    assert judge_claim(1.8, disturbed=1) == DISTURBED
    assert judge_claim(float("nan"), disturbed=1) is None


def test_a_machine_that_stays_busy_is_not_retried(monkeypatch):
    """Retries are for a passing disturbance: after ``BUSY_STREAK`` windows in a row disturbed
    through all their retries, a window is timed once, until one comes back clean."""
    from types import SimpleNamespace

    from bench import measure
    from bench.profiles import PROFILES

    busy = iter([True] * 3 * 3 + [True, False] + [True] * 3)  # the machine's state, try by try
    tries: list[int] = []

    class FakeWindow:
        @staticmethod
        def between(start, end):
            state = next(busy)
            return SimpleNamespace(disturbed=lambda: state)

    monkeypatch.setattr(measure, "Window", FakeWindow)
    monkeypatch.setattr(measure, "sample", lambda: None)
    monkeypatch.setattr(measure, "steady_state", lambda *a: tries.append(1) or {})
    monkeypatch.setattr(measure, "_busy_streak", [0])
    cfg = SimpleNamespace(profile=PROFILES["quick"], threads=1)  # 2 retries
    counts = []
    for _ in range(6):
        before = len(tries)
        measure.watched_steady_state({}, lambda: None, cfg)
        counts.append(len(tries) - before)
    # three windows retried twice, then once each while busy; a clean one resets the streak
    assert counts == [3, 3, 3, 1, 1, 3]
