"""``python -m bench run`` as validate -> plan -> execute, each step on its own and without
measuring anything: the arguments checked before anything is written, the meta built once
(with the backend registry, the roofline, the shard, the isolation and the invocations), a
resumed folder's meta kept, and the executor choosing a process per case from the backend's
``own_process``. The end-to-end quick run is ``tests/test_cli.py``'s."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import bench.cli
from bench.backends import BACKENDS, backend_infos
from bench.case import Case
from bench.cli import RunPlan, build_parser, execute_run, main, plan_run, run_one, validate_run
from bench.errors import UsageError
from bench.schema import SCENARIOS, Scenario, read_meta, write_json

ROOFLINE = {"matmul_flops_per_s": 1e9, "copy_bytes_per_s": 1e9, "launch_floor_s": 1e-6}


def _args(*argv: str):
    return build_parser().parse_args(["run", *argv])


@pytest.fixture(autouse=True)
def no_roofline(monkeypatch):
    """The plan measures the machine's roofline for a few seconds: not in these tests."""
    monkeypatch.setattr(bench.cli, "measure_roofline", lambda device, threads: ROOFLINE)


@pytest.mark.parametrize("argv, says", [
    (["--profile", "forever"], "unknown profile 'forever'; valid: quick, full"),
    (["--order", "random"], "unknown order 'random'; valid: shuffled, workload, backend"),
    (["--isolation", "none"], "unknown isolation 'none'; valid: process, in-process"),
    (["--rounds", "0"], "--rounds must be a whole number from 1 to 50, got 0; omit it for "
                        "the profile's (3)"),
    (["--cross-check", "-1"], "--cross-check must be 0 or more cells, got -1"),
    (["--resume"], "--resume needs --out: the run folder to complete"),
    (["--shard", "3/2"], "bad --shard '3/2'; need 1 <= I <= N"),
    (["--scenarios", ""],
     "no scenario given; valid: train, infer, shapes, shapes8, shapes_droplast, debug, or all "
     "alone"),
])
def test_validate_names_the_problem(argv, says):
    with pytest.raises(UsageError) as err:
        validate_run(_args(*argv))
    assert str(err.value) == says


def test_validate_gives_the_device_and_this_shards_cases():
    device, cases = validate_run(_args("--workloads", "manual_mlp,mnist_cnn", "--backends",
                                       "eager,compile", "--scenarios", "train", "--shard",
                                       "2/2", "--order", "backend"))
    assert device == "cpu"
    assert [c.label for c in cases] == ["mnist_cnn/train/eager/cpu",
                                        "mnist_cnn/train/compile/cpu"]


def test_a_registered_scenario_is_a_valid_name(monkeypatch):
    monkeypatch.setitem(SCENARIOS, "tiny", Scenario("tiny", "infer", "a throwaway scenario"))
    _, cases = validate_run(_args("--workloads", "manual_mlp", "--scenarios", "tiny",
                                  "--backends", "eager"))
    assert [c.scenario for c in cases] == ["tiny"]


def test_the_plan_holds_the_whole_meta(tmp_path):
    args = _args("--profile", "quick", "--out", str(tmp_path), "--shard", "1/3", "--threads",
                 "2", "--timeout", "7")
    plan = plan_run(args, "cpu", [])
    meta = plan.meta
    assert plan.out == tmp_path and plan.timeout_s == 7 and plan.in_process
    assert plan.cfg.run_id == meta["run_id"] and meta["run_id"].endswith("-cpu")
    assert plan.cfg.threads == meta["threads"] == 2 and plan.cfg.profile.name == "quick"
    assert meta["roofline"] == ROOFLINE and meta["shard"] == "1/3"
    assert meta["isolation"] == "in-process" and meta["warnings"] == []
    assert meta["backends"] == [info.to_json() for info in backend_infos()]
    assert [b["name"] for b in meta["backends"]] == list(BACKENDS)
    from bench.meta import INVOCATION

    assert meta["invocations"] == [{k: meta[k] for k in INVOCATION}]
    assert "resumed_from" not in meta
    assert not (tmp_path / "meta.json").exists()  # planning writes nothing


def test_the_profile_decides_the_isolation_unless_told(tmp_path):
    full = plan_run(_args("--out", str(tmp_path), "--profile", "full"), "cpu", [])
    assert not full.in_process and full.meta["isolation"] == "process per case"
    told = plan_run(_args("--out", str(tmp_path), "--isolation", "in-process"), "cpu", [])
    assert told.in_process and told.meta["isolation"] == "in-process"


def test_a_resumed_plan_keeps_the_folders_meta(tmp_path):
    first = {"run_id": "r1", "device": "cpu", "utc_time": "t0", "git_commit": "c0",
             "command": "python -m bench run", "isolation": "in-process",
             "warnings": ["eager: UserWarning: once"]}
    write_json(tmp_path / "meta.json", first)
    plan = plan_run(_args("--out", str(tmp_path), "--resume"), "cpu", [])
    meta = plan.meta
    assert meta["run_id"] == plan.cfg.run_id == "r1" and meta["resumed_from"] == "t0"
    assert meta["warnings"] == first["warnings"]
    assert meta["invocations"][0] == {"utc_time": "t0", "git_commit": "c0",
                                      "command": "python -m bench run", "isolation": "in-process"}
    assert len(meta["invocations"]) == 2 and meta["invocations"][1]["utc_time"] == meta["utc_time"]


def test_resuming_another_devices_folder_is_refused(tmp_path, capsys):
    write_json(tmp_path / "meta.json", {"run_id": "r1", "device": "cuda"})
    argv = ["run", "--out", str(tmp_path), "--resume", "--workloads", "manual_mlp"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"python -m bench: error: cannot resume {tmp_path}: it was measured on cuda, " \
                  "not cpu\n"


def test_an_unreadable_meta_is_one_line_too(tmp_path, capsys):
    (tmp_path / "meta.json").write_text("{not json")
    assert main(["run", "--out", str(tmp_path), "--resume", "--workloads", "manual_mlp"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"unreadable meta.json {tmp_path / 'meta.json'}" in err


def _plan(tmp_path: Path, in_process: bool = True, **kw) -> RunPlan:
    plan = plan_run(_args("--out", str(tmp_path), "--profile", "quick"), "cpu",
                    [Case("manual_mlp", "train", "eager", "cpu")])
    return replace(plan, in_process=in_process, **kw)


def test_execute_writes_the_meta_once_then_runs_the_matrix(tmp_path, monkeypatch, capsys):
    seen = {}

    def fake_matrix(cases, cfg, writer, meta, execute):
        seen["meta_on_disk"] = read_meta(tmp_path)
        seen["cases"], seen["execute"] = cases, execute
        return []

    monkeypatch.setattr(bench.cli, "run_matrix", fake_matrix)
    plan = _plan(tmp_path)
    assert execute_run(plan) == 0
    after = read_meta(tmp_path)  # the invocation's wall time is added once the matrix ends
    assert after["wall_s"] == after["invocations"][-1]["wall_s"] >= 0
    before = json.loads(json.dumps(plan.meta, default=str))
    del before["wall_s"], before["invocations"][-1]["wall_s"]
    assert seen["meta_on_disk"] == before
    assert seen["cases"] == plan.cases and (tmp_path / ".references").is_dir()
    assert seen["execute"].keywords == {"refs": tmp_path / ".references",
                                        "timeout_s": plan.timeout_s, "in_process": True}
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith(
        f"results: {tmp_path}/results.csv, results.parquet, meta.json (wall time 0 min ")
    assert out[0] == f"run folder: {tmp_path} ({len(plan.cases)} cases)"


def test_ctrl_c_keeps_the_cases_done_and_exits_130(tmp_path, monkeypatch, capsys):
    def interrupted(cases, cfg, writer, meta, execute):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench.cli, "run_matrix", interrupted)
    assert execute_run(_plan(tmp_path)) == 130
    assert capsys.readouterr().err.splitlines()[-1] == \
        f"interrupted: 0 cases kept in {tmp_path} (--resume to finish)"


@pytest.mark.parametrize("in_process, backend, scenario, where", [
    (False, "eager", "train", "isolated"),
    (True, "eager", "train", "in-process"),
    (True, "export_aoti", "infer", "isolated"),  # own_process: a package load crashed a shared one
    (True, "export_aoti", "train", "in-process"),
])
def test_one_case_runs_where_its_backend_asks(in_process, backend, scenario, where,
                                              monkeypatch):
    assert ("infer" in BACKENDS["export_aoti"].own_process) and not BACKENDS["eager"].own_process
    monkeypatch.setattr(bench.cli, "run_isolated", lambda *a: ("isolated", a))
    monkeypatch.setattr(bench.cli, "run_in_process", lambda *a: ("in-process", a))
    case = Case("manual_mlp", scenario, backend, "cpu")
    got, passed = run_one(case, "cfg", refs=Path("refs"), timeout_s=3.0, in_process=in_process)
    assert got == where and passed == (case, "cfg", Path("refs"), 3.0)
