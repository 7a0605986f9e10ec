"""Issue 16, "Faults": a run killed with ``kill -9`` takes its case's worker and its temp
folders along; Ctrl-C always stops a run (exit 130, the rows measured kept), even when the
interrupt is swallowed inside a case; in-process, a case's timeout covers the compiler's
warm-up. Real ``python -m bench`` processes on the tiniest case, CPU."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bench import inprocess, isolate, toolchain
from bench.case import Case, RunConfig
from bench.matrix import run_matrix
from bench.profiles import PROFILES
from bench.results import ResultsWriter
from bench.runner import case_row

ROOT = Path(__file__).resolve().parent.parent
RUN = [sys.executable, "-m", "bench", "run", "--workloads", "manual_mlp", "--backends", "eager",
       "--profile", "quick", "--order", "workload", "--rounds", "1"]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


# --- processes, as /proc sees them ----------------------------------------------------------
def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped is dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _pids_mentioning(text: str) -> list[int]:
    """The live processes whose command line contains ``text``."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and text in cmd and _alive(int(proc.name)):
            pids.append(int(proc.name))
    return pids


def _within(seconds: float, check) -> bool:
    """Whether ``check()`` turns true within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _start(tmp_path: Path, *args: str, sleep: str) -> tuple[subprocess.Popen, Path]:
    """``python -m bench run`` on the tiniest cases with ``sleep`` planted and its own temp
    folder (returned)."""
    temp = tmp_path / "scratch-temp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "BENCH_PLANT_SLEEP": sleep}
    proc = subprocess.Popen([*RUN, *args, "--out", str(tmp_path / "run")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    return proc, temp


def _no_scratch_left(temp: Path) -> bool:
    return not list(temp.glob(f"{isolate.SCRATCH_PREFIX}*")) and not _pids_mentioning(str(temp))


def _kill_leftovers(temp: Path) -> None:
    for pid in _pids_mentioning(str(temp)):
        os.kill(pid, signal.SIGKILL)


# --- kill -9 ----------------------------------------------------------------------------------
@linux_only
def test_kill_9_of_the_run_takes_its_worker_and_temp_folders_along(tmp_path):
    proc, temp = _start(tmp_path, "--scenarios", "infer", "--isolation", "process",
                        sleep="manual_mlp/infer/eager/cpu=300")
    try:
        assert _within(300, lambda: proc.poll() is not None
                       or _pids_mentioning("bench.worker " + str(temp)))
        assert proc.poll() is None, proc.communicate()[1]
        worker = _pids_mentioning("bench.worker " + str(temp))[0]
        os.kill(proc.pid, signal.SIGKILL)  # the parent only: its worker is in a session of its own
        proc.wait()
        assert _within(5, lambda: not _alive(worker))
        assert _within(10, lambda: _no_scratch_left(temp))  # the guard removed it, and went
    finally:
        proc.kill()
        proc.communicate()
        _kill_leftovers(temp)


def test_a_worker_whose_parent_is_gone_before_it_armed_dies_at_once():
    # -1 is no process's parent: the parent it was spawned by is gone by the time it arms
    code = "from bench.worker import die_with_parent; die_with_parent(-1); print('alive')"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == -signal.SIGKILL and out.stdout == ""


@linux_only
def test_without_prctl_the_watchdog_kills_an_orphaned_worker(tmp_path):
    code = ("import sys, time, bench.worker as w; w._prctl_death_signal = lambda: False; "
            "w.die_with_parent(int(sys.argv[1])); print('armed', flush=True); time.sleep(60)")
    middle = subprocess.Popen(["sh", "-c", f'"{sys.executable}" -c "{code}" $$ & echo $!; wait'],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(middle.stdout.readline())
    try:
        assert middle.stdout.readline() == "armed\n"
        middle.kill()  # the worker's parent dies; prctl is not there to help
        middle.wait()
        assert _within(5, lambda: not _alive(child))
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
        middle.stdout.close()


def test_stale_scratch_folders_of_dead_runs_are_swept(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()  # its pid is free now
    dead = tmp_path / f"{isolate.SCRATCH_PREFIX}{gone.pid}-abc"
    live = tmp_path / f"{isolate.SCRATCH_PREFIX}{os.getpid()}-def"
    other = tmp_path / "evc-run-notapid"
    for folder in (dead, live, other):
        (folder / "case-1").mkdir(parents=True)
    isolate.sweep_stale(tmp_path)
    assert not dead.exists() and live.exists() and other.exists()


def test_a_case_process_keeps_its_temporary_files_in_its_case_folder(tmp_path):
    assert isolate.cache_env(tmp_path)["TMPDIR"] == str(tmp_path)
    assert isolate.scratch_root().parent == Path(isolate.tempfile.gettempdir())


# --- Ctrl-C -----------------------------------------------------------------------------------
@linux_only
@pytest.mark.parametrize("isolation", ["in-process", "process"])
def test_ctrl_c_during_a_case_stops_the_run_keeps_the_rows_and_exits_130(tmp_path, isolation):
    proc, temp = _start(tmp_path, "--scenarios", "train,infer", "--isolation", isolation,
                        sleep="manual_mlp/infer/eager/cpu=300")
    results = tmp_path / "run" / "results.csv"
    try:
        assert _within(300, lambda: proc.poll() is not None or (
            results.exists() and len(pd.read_csv(results)) == 1))
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.5)  # into the sleeping case
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130
        assert err.splitlines()[-1].startswith("interrupted: 1 cases kept in ")
        df = pd.read_csv(results)
        assert list(df["scenario"]) == ["train"] and list(df["status"]) == ["ok"]
        assert _within(10, lambda: _no_scratch_left(temp))  # the worker too, in isolation
    finally:
        proc.kill()
        proc.communicate()
        _kill_leftovers(temp)


def _swallowed(signum: int | None, seconds: float = 1) -> None:
    """A signal (``signum``, sent now; or an alarm already set) while a garbage-collector
    callback runs: the exception its handler raises is "ignored" (printed, not raised), as
    once in XLA's callback during a compile case."""

    def callback(phase, info):
        if phase == "start":
            if signum is not None:
                os.kill(os.getpid(), signum)
            time.sleep(seconds)  # the handler runs here, inside the callback

    gc.callbacks.append(callback)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(callback)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_swallowed_inside_a_case_still_stops_the_run(tmp_path):
    cases = [Case("manual_mlp", s, "eager", "cpu") for s in ("train", "infer", "debug")]
    ran = []

    def execute(case, cfg):
        ran.append(case.scenario)
        if case.scenario == "infer":
            _swallowed(signal.SIGINT)  # the case goes on and returns its row
        return case_row(case, cfg.run_id, status="ok"), []

    writer, before = ResultsWriter(tmp_path), signal.getsignal(signal.SIGINT)
    cfg = RunConfig("swallowed", PROFILES["quick"], 1)
    with pytest.raises(KeyboardInterrupt):
        run_matrix(cases, cfg, writer, {"warnings": []}, execute=execute)
    assert ran == ["train", "infer"]  # the run stopped: debug never started
    # kept: the case done before; the interrupted one is left to --resume
    assert list(pd.read_csv(tmp_path / "results.csv")["scenario"]) == ["train"]
    assert signal.getsignal(signal.SIGINT) is before  # the handler put back


# --- in-process timeout -----------------------------------------------------------------------
def test_in_process_the_timeout_covers_the_compilers_warm_up(tmp_path, monkeypatch):
    monkeypatch.setitem(toolchain.COMPILE_ONE_OP, "torch", lambda device: time.sleep(60))
    monkeypatch.setattr(toolchain, "_WARMED", set())
    cfg = RunConfig("warm-up", PROFILES["quick"], 1)
    start = time.monotonic()
    row, warns = inprocess.run_in_process(Case("manual_mlp", "infer", "compile", "cpu"), cfg,
                                        tmp_path, 1.0)
    assert time.monotonic() - start < 5  # about the timeout, not the 60 s warm-up
    assert row["status"] == "timeout" and row["error"] == "no result within 1 s"
    assert warns == [] and toolchain._WARMED == set()  # cut short: the next case warms up again


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("then_s", [60, 0])
def test_in_process_a_timeout_swallowed_on_its_way_still_ends_the_case(tmp_path, monkeypatch,
                                                                        then_s):
    """The alarm lands in a gc callback during the warm-up; the case then hangs (60 s: the
    alarm goes off again) or ends at once (0 s: the row is a timeout all the same)."""
    monkeypatch.setitem(toolchain.COMPILE_ONE_OP, "torch",
                        lambda device: (_swallowed(None, 2), time.sleep(then_s)))
    monkeypatch.setattr(toolchain, "_WARMED", set())
    monkeypatch.setattr(isolate, "run_case", lambda case, cfg, refs: ({"status": "ok"}, []))
    cfg = RunConfig("swallowed", PROFILES["quick"], 1)
    start = time.monotonic()
    row, _ = inprocess.run_in_process(Case("manual_mlp", "infer", "compile", "cpu"), cfg,
                                    tmp_path, 1.0)
    assert time.monotonic() - start < 10
    assert row["status"] == "timeout" and row["error"] == "no result within 1 s"
