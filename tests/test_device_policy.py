"""What can be checked of the GPU path without a GPU: dispatch, precision policy, the refusal."""

from __future__ import annotations

import json

import pytest
import torch

from bench.cli import main
from bench.device import available_devices, check_device, torch_sync
from bench.errors import UsageError
from bench.precision import apply_precision, policy


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU refusal")
def test_cuda_is_refused_with_one_line_and_exit_2(capsys, tmp_path):
    assert available_devices() == ["cpu"]
    with pytest.raises(UsageError, match="not available here"):
        check_device("cuda")
    assert main(["run", "--device", "cuda", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "valid here: cpu" in err
    assert not (tmp_path / "results.csv").exists()


def test_cpu_sync_is_a_no_op_and_cuda_sync_is_torch_synchronize():
    assert torch_sync("cpu")() is None
    assert torch_sync("cuda") is torch.cuda.synchronize


def test_precision_policy_is_applied_and_restorable():
    try:
        on = apply_precision(True)
        assert on == {"tf32_matmul": True, "tf32_cudnn": True, "float32_matmul_precision": "high"}
        off = apply_precision(False)
        assert off == policy() == {"tf32_matmul": False, "tf32_cudnn": False,
                                   "float32_matmul_precision": "highest"}
    finally:
        apply_precision(False)


def test_run_records_the_policy_and_roofline(tmp_path):
    args = ["run", "--workloads", "manual_mlp", "--scenarios", "infer", "--backends", "eager",
            "--profile", "quick", "--rounds", "1", "--out", str(tmp_path)]
    assert main([*args, "--tf32"]) == 0
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["precision"]["tf32_matmul"] is True
    assert meta["roofline"]["matmul_flops_per_s"] > 1e8
    assert meta["roofline"]["copy_bytes_per_s"] > 1e8
    apply_precision(False)
