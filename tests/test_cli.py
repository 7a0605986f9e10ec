"""The CLI: bad input, ``list``, the defaults (the main benchmark, shown in ``--help``), and a
quick eager run end to end."""

from __future__ import annotations

import argparse
import re

import pandas as pd
import pytest

from bench.backends import BACKENDS
from bench.cli import build_parser, main
from bench.schema import COLUMNS, KEY, read_meta
from bench.validate import validate_run
from models import WORKLOADS


@pytest.mark.parametrize(
    "argv, names",
    [
        (["run", "--workloads", "resnet50"], "manual_mlp"),
        (["run", "--backends", "tensorrt"], "eager"),
        (["run", "--scenarios", "serve"], "train, infer"),
        (["run", "--profile", "forever"], "quick, full"),
        (["run", "--device", "tpu"], "cpu, cuda"),
        (["run", "--threads", "0"], "positive integer"),
        (["reproduce", "--workload", "resnet50"], "mnist_cnn"),
        (["frobnicate"], "list"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, names, capsys, tmp_path):
    status = main([*argv, *(["--out", str(tmp_path)] if argv[0] == "run" else [])])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and names in err
    assert not (tmp_path / "results.csv").exists()


def test_list_names_every_workload(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in [*WORKLOADS, "train", "infer", "eager", "cpu"]:
        assert name in out


def _run_args(*argv: str):
    return build_parser().parse_args(["run", *argv])


def test_the_default_run_is_the_main_benchmark(capsys):
    """No arguments: every backend, the quick profile, on CPU, every workload in train and
    infer except the pair no backend can express (tensor_ops/train), which one line names."""
    args = _run_args()
    assert (args.device, args.backends, args.profile) == ("cpu", "all", "quick")
    device, cases = validate_run(args)
    pairs = {(c.workload, c.scenario) for c in cases}
    assert pairs == {(w, s) for w in WORKLOADS for s in ("train", "infer")} - {
        ("tensor_ops", "train")}
    assert {c.backend for c in cases} == set(BACKENDS) and device == "cpu"
    assert len(cases) == (2 * len(WORKLOADS) - 1) * len(BACKENDS)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(
        "left out, as every chosen backend refuses them: tensor_ops/train (tensor_ops has no "
        "parameters to train: only the infer scenario)")
    assert out.rstrip().endswith("name both (e.g. --workloads tensor_ops --scenarios train)")


@pytest.mark.parametrize("argv, kept", [
    (["--workloads", "tensor_ops", "--scenarios", "train"], True),  # asked for by name
    (["--workloads", "tensor_ops", "--scenarios", "train,infer"], True),
    (["--workloads", "tensor_ops"], False),  # the scenarios are the default
    (["--scenarios", "train,infer"], False),  # the workloads are the default (all)
    (["--workloads", "all", "--scenarios", "all"], False),  # all is not a name
])
def test_a_pair_every_backend_refuses_runs_only_when_named(argv, kept, capsys):
    _, cases = validate_run(_run_args(*argv, "--backends", "eager"))
    assert (("tensor_ops", "train") in {(c.workload, c.scenario) for c in cases}) == kept
    assert ("left out" in capsys.readouterr().out) != kept


def test_a_backend_that_refuses_training_leaves_it_out(capsys):
    """export_aoti alone refuses every train step: the default matrix is its infer cases."""
    _, cases = validate_run(_run_args("--backends", "export_aoti"))
    assert {c.scenario for c in cases} == {"infer"} and len(cases) == len(WORKLOADS)
    assert "manual_mlp/train, " in capsys.readouterr().out


def test_a_matrix_left_empty_is_one_line_and_exit_2(capsys, tmp_path):
    argv = ["run", "--backends", "export_aoti", "--scenarios", "train", "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nothing to run: left out, as every chosen backend" in err


def _subparser(command: str):
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


@pytest.mark.parametrize("command", ["run", "compare", "export", "merge", "reproduce"])
def test_help_shows_every_default_once(command, capsys):
    """Each option's block of ``--help`` says its default once: its value (a flag: off), or
    in words where the default is decided later (None: the profile's, all threads...)."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    blocks = re.split(r"\n  (?=-)", text.split("options:", 1)[1])[1:]  # one per option
    flat = {b.split()[0]: " ".join(b.split()) for b in blocks}  # "--device": "--device ..."
    actions = [a for a in _subparser(command)._actions if a.option_strings and not a.required
               and a.default is not argparse.SUPPRESS]
    assert actions and {a.option_strings[0] for a in actions} <= set(flat)
    for action in actions:
        shown = flat[action.option_strings[0]]
        assert shown.count("default") == 1 and "(default: None)" not in shown, shown
        if action.nargs == 0:
            assert shown.endswith("(default: off)"), shown
        elif action.default is not None:  # (argparse may wrap a value at its hyphens)
            assert f"(default:{action.default}" in "".join(shown.split()), shown
    if command == "run":
        for option, says in [("--device", "(default: cpu)"), ("--backends", "(default: all)"),
                             ("--profile", "(default: quick)"), ("--workloads", "(default: all;"),
                             ("--scenarios", "(default: train,infer)"),
                             ("--threads", "(default: all)"), ("--out", "runs/<run_id>")]:
            assert says in flat[option], option


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "--device", "cpu", "--backends", "eager", "--out", str(out)]) == 0
    return out


def test_quick_run_has_an_ok_row_per_case(quick_run):
    df = pd.read_csv(quick_run / "results.csv")
    assert list(df.columns) == COLUMNS
    assert set(zip(df["workload"], df["scenario"], strict=True)) == {
        (w, s) for w in WORKLOADS for s in ("train", "infer")} - {("tensor_ops", "train")}
    assert len(df) == 11 and set(df["status"]) == {"ok"}  # the notes' 5 networks x 2 + 1
    for col in ["step_median_s", "first_call_s", "samples_per_s", "flops_per_step",
                "achieved_flops_per_s", "eager_step_median_s", "case_wall_s"]:
        assert (df[col] > 0).all(), col
    assert (df["case_wall_s"] > df["first_call_s"] + df["step_median_s"]).all()
    rounds = pd.read_csv(quick_run / "rounds.csv")  # every case in each of the quick 3 rounds
    assert sorted(rounds.groupby(KEY).size().unique()) == [3] and set(rounds["step"]) == {
        "backend"}  # eager has no twin
    assert (rounds["steady_wall_s"] > rounds["median_s"] * rounds["blocks"]).all()  # + warm-up
    for _, one in rounds.groupby("round"):  # each round visits every case once, in its order
        assert sorted(one["position"]) == list(range(1, 12))
    assert (df["rounds"] == 3).all() and df["speedup"].isna().all()  # eager: no twin
    assert (df["steady_wall_s"] < df["case_wall_s"]).all()
    assert (df["peak_mem_bytes"] >= 0).all()
    traffic = df.set_index("workload")["bytes_per_step"]  # stated by tensor_ops alone
    assert traffic["tensor_ops"] == 269_238_336 and traffic.drop("tensor_ops").isna().all()
    ops = df[df["workload"] == "tensor_ops"].iloc[0]
    assert ops["achieved_bytes_per_s"] == pytest.approx(269_238_336 / ops["step_median_s"])
    cnn_mem = df[df["workload"] == "mnist_cnn"].set_index("scenario")["peak_mem_bytes"]
    assert cnn_mem["train"] > 100e6  # 25.7M float32 weights, their gradients and Adam's state
    assert cnn_mem["train"] > cnn_mem["infer"]
    assert (df["step_iqr_s"] >= 0).all()
    assert (df["step_ci_low_s"] <= df["step_median_s"]).all()
    assert (df["step_median_s"] <= df["step_ci_high_s"]).all()
    assert (df["repeats"] >= 3).all()
    # float32 eager against its float64 reference (train: the parameter updates, ~1e-3 at lr 1e-4)
    assert (df["parity_rel_err"] < 1e-2).all()
    cnn = df[(df["workload"] == "mnist_cnn") & (df["scenario"] == "train")].iloc[0]
    assert cnn["samples_per_s"] == pytest.approx(64 / cnn["step_median_s"])
    assert pd.read_parquet(quick_run / "results.parquet").equals(
        pd.read_csv(quick_run / "results.csv"))


def test_quick_run_meta(quick_run):
    meta = read_meta(quick_run)
    assert meta["device"] == "cpu" and meta["threads"] >= 1
    assert meta["torch"] and meta["python"] and meta["host_cpu"]
    assert meta["precision"]["float32_matmul_precision"] in {"highest", "high", "medium"}
    assert meta["shard"] == "1/1" and meta["isolation"] == "in-process"  # the quick profile's
    assert set(meta["roofline"]) == {"matmul_flops_per_s", "copy_bytes_per_s", "launch_floor_s"}
    assert [b["name"] for b in meta["backends"]] == list(BACKENDS)  # the reports' order
    assert meta["dynamo"] == {"recompile_limit": 8, "accumulated_recompile_limit": 256}
    assert len(meta["invocations"]) == 1 and meta["invocations"][0]["utc_time"] == \
        meta["utc_time"]
