"""The CLI: bad input, ``list``, and a quick eager run end to end."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.backends import BACKENDS
from bench.cli import main
from bench.schema import COLUMNS, read_meta
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


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "--device", "cpu", "--profile", "quick", "--out", str(out)]) == 0
    return out


def test_quick_run_has_an_ok_row_per_case(quick_run):
    df = pd.read_csv(quick_run / "results.csv")
    assert list(df.columns) == COLUMNS
    assert len(df) == 2 * len(WORKLOADS)
    assert set(zip(df["workload"], df["scenario"], strict=True)) == {
        (w, s) for w in WORKLOADS for s in ("train", "infer")
    }
    untrainable = (df["workload"] == "tensor_ops") & (df["scenario"] == "train")
    assert df[untrainable]["status"].tolist() == ["unsupported"]
    assert "only the infer scenario" in df[untrainable]["error"].iloc[0]
    df = df[~untrainable]
    assert len(df) == 11 and set(df["status"]) == {"ok"}  # the notes' 5 networks x 2 + 1
    for col in ["step_median_s", "first_call_s", "samples_per_s", "flops_per_step",
                "achieved_flops_per_s", "eager_step_median_s", "case_wall_s"]:
        assert (df[col] > 0).all(), col
    assert (df["case_wall_s"] > df["first_call_s"] + df["step_median_s"]).all()
    assert (df["steady_wall_s"] > df["step_median_s"] * df["repeats"]).all()  # blocks + warm-up
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
    assert len(meta["invocations"]) == 1 and meta["invocations"][0]["utc_time"] == \
        meta["utc_time"]
