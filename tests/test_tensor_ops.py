"""The ``tensor_ops`` workload: every backend's forward against eager (tiny n, CPU), training
refused with the workload's reason, and the analytic FLOPs and bytes on a literal example."""

from __future__ import annotations

import functools

import pytest
import torch

from bench import parity
from bench.backends import BACKENDS
from bench.backends.compiled import reset_dynamo
from bench.schema import SCENARIOS
from models import WORKLOADS, WorkloadConfig, build_workload
from models.tensor_ops import UNSUPPORTED

TINY_N = WorkloadConfig(batch_size=16)  # the chain on 16 x 16, mm 16 x 16 @ 16 x 16 (w)
# Every backend but the extra torch.compile modes (the default ``compile`` stands for them).
PARITY_BACKENDS = [name for name in BACKENDS if not name.startswith("compile_")]


@functools.cache
def _reference() -> parity.Reference:
    return parity.build_reference("tensor_ops", SCENARIOS["infer"], TINY_N)


@pytest.mark.parametrize("backend", PARITY_BACKENDS)
def test_inference_matches_eager(backend):
    reset_dynamo()
    ref = _reference()
    assert ref.deterministic
    infer = SCENARIOS["infer"]
    passed, err = parity.check(lambda w: BACKENDS[backend].prepare(w, infer), "tensor_ops",
                               infer, TINY_N, ref)
    assert passed, f"{backend}: relative error {err:.3g}"
    assert err < 1e-5


def test_parity_covers_the_required_backends():
    required = {"eager", "jit_script", "jit_trace", "compile", "export_aoti", "jax_eager",
                "jax_jit"}
    assert required <= set(PARITY_BACKENDS)


def test_registered_after_the_cnn_with_the_forward_shape():
    assert list(WORKLOADS)[list(WORKLOADS).index("mnist_cnn") + 1] == "tensor_ops"
    work = build_workload("tensor_ops", TINY_N)
    x, y = work.batch
    assert x.shape == (16, 16) and y.shape == (16,) and not y.any()
    fn, args = work.step("infer")
    out = fn(*args)
    assert out.shape == (16,) and not out.requires_grad
    assert torch.isfinite(out).all() and (out > 0).all()  # positive terms only
    assert not [p for p in work.module.parameters() if p.requires_grad]
    assert work.loss_fn(out, y) == out.mean()


def test_float64_reference_sees_the_same_data():
    f32 = build_workload("tensor_ops", TINY_N)
    f64 = build_workload("tensor_ops", WorkloadConfig(batch_size=16, dtype=torch.float64))
    assert torch.equal(f32.batch[0].double(), f64.batch[0])
    assert torch.equal(f32.module.b.double(), f64.module.b)


def test_training_is_refused_with_the_reason():
    work = build_workload("tensor_ops", TINY_N)
    with pytest.raises(NotImplementedError) as info:
        work.train_step(*work.batch)
    assert str(info.value) == UNSUPPORTED
    assert UNSUPPORTED == "tensor_ops has no parameters to train: only the infer scenario"
    for method in (work.flops, work.bytes_moved, work.bytes_moved_fused):
        with pytest.raises(NotImplementedError, match="only the infer scenario"):
            method("train")


def test_analytic_flops_and_bytes_at_n4():
    work = build_workload("tensor_ops", WorkloadConfig(batch_size=4))
    # n = 4, E = n * n = 16 elements, k = 16 columns of w, 4 bytes each (float32).
    # FLOPs: 7 element-wise ops x 16 = 112; mm (4x4 @ 4x16) 2 * 4 * 4 * 16 = 512;
    # mv (4x16 @ 16) 2 * 4 * 16 = 128; 752 in all.
    assert work.flops("infer") == 112 + 512 + 128 == 752
    # Eager traffic, elements read + written per op:
    #   clamp 16+16, add 10 16+16, abs 16+16, add b 32+16, div 32+16, mul 32+16, pow 16+16
    #   = 272; mm reads p (16) and w (64), writes 64 = 144; mv reads 64 + v 16, writes 4 = 84.
    #   272 + 144 + 84 = 500 elements x 4 bytes = 2000 bytes.
    assert work.bytes_moved("infer") == (272 + 144 + 84) * 4 == 2000
    # Fused: the chain reads a, b (32) and writes p (16) = 48; mm 144; mv 84: 276 x 4 = 1104.
    assert work.bytes_moved_fused("infer") == (48 + 144 + 84) * 4 == 1104


def test_analytic_counts_at_the_default_n():
    work = build_workload("tensor_ops", WorkloadConfig())
    assert work.batch_size == 4096
    e = 4096 * 4096
    assert work.flops("infer") == 7 * e + 2 * e * 16 + 2 * 4096 * 16 == 654_442_496
    assert work.bytes_moved("infer") == 1_208_762_432
    assert work.bytes_moved_fused("infer") == 269_238_336
    # memory-bound: fewer FLOPs per byte of the least traffic than either ridge point seen
    assert work.flops("infer") / work.bytes_moved_fused("infer") < 2.5
