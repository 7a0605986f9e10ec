"""Runs you can trust: a case per process with a timeout, resume after a kill, shards, merge."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from bench.case import case_matrix, parse_shard, shard
from bench.cli import main
from bench.errors import UsageError
from bench.schema import COLUMNS

# threads fixed: --resume checks them
RUN = ["run", "--workloads", "manual_mlp", "--backends", "eager", "--profile", "quick",
       "--threads", "1", "--order", "workload", "--rounds", "1", "--isolation", "process"]


def test_a_sleeping_case_times_out_and_its_neighbour_is_ok(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_PLANT_SLEEP", "manual_mlp/train/eager/cpu=120")
    assert main([*RUN, "--timeout", "30", "--out", str(tmp_path)]) == 0
    df = pd.read_csv(tmp_path / "results.csv").set_index("scenario")
    assert df.loc["train", "status"] == "timeout"
    assert df.loc["train", "error"] == "no result within 30 s"
    assert df.loc["infer", "status"] == "ok" and df.loc["infer", "step_median_s"] > 0
    assert df.loc["infer", "peak_mem_bytes"] > 0  # the case process's own rise in RSS


def test_in_process_a_sleeping_case_times_out_too(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_PLANT_SLEEP", "manual_mlp/train/eager/cpu=120")
    run = [*RUN[:-1], "in-process"]
    start = time.time()
    assert main([*run, "--timeout", "5", "--out", str(tmp_path)]) == 0
    assert time.time() - start < 60  # the alarm cut the 120 s sleep short
    df = pd.read_csv(tmp_path / "results.csv").set_index("scenario")
    assert df.loc["train", "status"] == "timeout"
    assert df.loc["train", "error"] == "no result within 5 s"
    assert df.loc["infer", "status"] == "ok" and df.loc["infer", "step_median_s"] > 0
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["isolation"] == "in-process"


def test_killed_run_resumes_and_measures_each_case_once(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "bench", *RUN, "--scenarios", "train,infer,debug",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    results = out / "results.csv"
    deadline = time.time() + 120
    while not (results.exists() and len(pd.read_csv(results)) >= 1) and time.time() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # a hard kill, mid-run
    proc.wait()
    kept = pd.read_csv(results)
    assert 1 <= len(kept) < 3
    assert main([*RUN, "--scenarios", "train,infer,debug", "--out", str(out), "--resume"]) == 0
    df = pd.read_csv(results)
    assert sorted(df["scenario"]) == ["debug", "infer", "train"]  # each exactly once
    assert set(df["status"]) == {"ok"}
    assert df.set_index("scenario").loc[kept["scenario"][0], "run_id"] == kept["run_id"][0]
    assert df["run_id"].nunique() == 1


def test_shards_partition_the_matrix():
    cases = case_matrix(["a", "b", "c"], ["train", "infer"], ["eager", "compile"], "cpu")
    parts = [shard(cases, i, 3) for i in (1, 2, 3)]
    assert sorted(sum(parts, []), key=cases.index) == cases
    assert sum(len(p) for p in parts) == len(cases) == 12
    assert parse_shard("2/3") == (2, 3)
    for bad in ["0/3", "4/3", "x", "1-3"]:
        with pytest.raises(UsageError):
            parse_shard(bad)


def _fake_run(folder, device, torch_version="2.14.1"):
    folder.mkdir()
    row = {c: None for c in COLUMNS} | {"run_id": folder.name, "workload": "manual_mlp",
                                        "scenario": "train", "backend": "eager",
                                        "device": device, "status": "ok",
                                        "step_median_s": 1e-3}
    pd.DataFrame([row], columns=COLUMNS).to_csv(folder / "results.csv", index=False)
    meta = {"run_id": folder.name, "device": device, "torch": torch_version, "warnings": []}
    (folder / "meta.json").write_text(json.dumps(meta))


def test_merge_refuses_mixed_devices(tmp_path, capsys):
    _fake_run(tmp_path / "a", "cpu")
    _fake_run(tmp_path / "b", "cuda")
    status = main(["merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                   str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "different device" in err
    assert not (tmp_path / "m" / "results.csv").exists()


def test_merge_refuses_a_case_measured_twice(tmp_path, capsys):
    _fake_run(tmp_path / "a", "cpu")
    _fake_run(tmp_path / "b", "cpu")
    assert main(["merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                 str(tmp_path / "m")]) == 2
    assert "measured twice" in capsys.readouterr().err


def test_warm_compile_only_where_a_cold_compile_is_reported(tmp_path):
    """A second process reuses the cold one's caches and times the first call again
    (``compile_warm_s``) for a steady-state case; a shape sequence reports no cold
    ``compile_s``, so it gets no warm one either."""
    from dataclasses import replace

    from bench.case import Case, RunConfig
    from bench.isolate import run_isolated
    from bench.profiles import PROFILES
    from models import WorkloadConfig

    cfg = RunConfig("warm", replace(PROFILES["quick"], warm_compile=True, rounds=1), 1,
                    WorkloadConfig())
    rows = {s: run_isolated(Case("manual_mlp", s, "jit_trace", "cpu"), cfg, tmp_path, 120)[0]
            for s in ("infer", "shapes")}
    assert rows["infer"]["status"] == "ok" and rows["infer"]["compile_s"] is not None
    assert rows["infer"]["compile_warm_s"] >= 0
    assert rows["shapes"]["status"] == "ok" and rows["shapes"].get("compile_warm_s") is None


def test_a_later_round_compiles_with_the_first_rounds_caches(tmp_path):
    """With rounds, the case's cache folder outlives its first round: the second round's
    first call is warm (``compile_warm_s``), and no second process is spawned for it."""
    from dataclasses import replace

    from bench.case import Case, RunConfig
    from bench.isolate import case_folder, run_isolated
    from bench.profiles import PROFILES

    cfg = RunConfig("rounds", replace(PROFILES["quick"], rounds=2), 1)
    case = Case("manual_mlp", "infer", "compile", "cpu")
    first = run_isolated(case, cfg, tmp_path, 300)[0]
    assert first["status"] == "ok" and first.get("compile_warm_s") is None
    assert any(case_folder(case).iterdir())  # kept for the next round
    second = run_isolated(case, replace(cfg, round=2), tmp_path, 300)[0]
    assert 0 <= second["compile_warm_s"] < first["compile_s"]
    assert not case_folder(case).exists() or not any(case_folder(case).iterdir())


def test_the_compilers_warm_up_builds_in_the_runs_toolchain_folder(tmp_path, monkeypatch):
    """Every case process starts its compilers in one folder for the whole run (where
    Inductor's CPU-ISA probe is built once), never in the case's own cache folder, whose
    compile stays cold; the parent points its workers there."""
    from bench import toolchain
    from bench.isolate import cache_env

    monkeypatch.setenv(toolchain.TOOLCHAIN_ENV, str(tmp_path / "toolchain"))
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "case"))
    toolchain.COMPILE_ONE_OP["torch"]("cpu")
    assert any((tmp_path / "toolchain").iterdir()) and not (tmp_path / "case").exists()
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "case")  # put back
    env = cache_env(tmp_path / "a-case")
    assert env[toolchain.TOOLCHAIN_ENV].endswith("toolchain")
    assert env["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "a-case" / "inductor")
