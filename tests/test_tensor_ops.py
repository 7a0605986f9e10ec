"""The ``tensor_ops`` workload: every backend's forward against eager (tiny n, CPU), training
refused with the workload's reason, and the analytic FLOPs and bytes on a literal example."""

from __future__ import annotations

import functools

import pytest
import torch

from bench import parity
from bench.backends import BACKENDS
from bench.backends.compiled import reset_dynamo
from models import WORKLOADS, WorkloadConfig, build_workload
from models.tensor_ops import UNSUPPORTED

TINY_N = WorkloadConfig(batch_size=16)  # the chain on 16 x 16, mm 16 x 16 @ 16 x 16
# Every backend but the extra torch.compile modes (the default ``compile`` stands for them).
PARITY_BACKENDS = [name for name in BACKENDS if not name.startswith("compile_")]


@functools.cache
def _reference() -> parity.Reference:
    return parity.build_reference("tensor_ops", "infer", TINY_N)


@pytest.mark.parametrize("backend", PARITY_BACKENDS)
def test_inference_matches_eager(backend):
    reset_dynamo()
    ref = _reference()
    assert ref.deterministic
    passed, err = parity.check(lambda w: BACKENDS[backend].prepare(w, "infer"), "tensor_ops",
                               "infer", TINY_N, ref)
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
    # n = 4, E = n * n = 16 elements, 4 bytes each (float32).
    # FLOPs: 7 element-wise ops x 16 = 112; mm 2 * 4^3 = 128; mv 2 * 4^2 = 32; 272 in all.
    assert work.flops("infer") == 112 + 128 + 32 == 272
    # Eager traffic, elements read + written per op:
    #   clamp 16+16, add 10 16+16, abs 16+16, add b 32+16, div 32+16, mul 32+16, pow 16+16
    #   = 272; mm reads p, b (32), writes 16 = 48; mv reads 16 + v 4, writes 4 = 24.
    #   272 + 48 + 24 = 344 elements x 4 bytes = 1376 bytes.
    assert work.bytes_moved("infer") == (272 + 48 + 24) * 4 == 1376
    # Fused: the chain reads a, b (32) and writes p (16) = 48; mm 48; mv 24: 120 x 4 = 480.
    assert work.bytes_moved_fused("infer") == (48 + 48 + 24) * 4 == 480


def test_analytic_counts_at_the_default_n():
    work = build_workload("tensor_ops", WorkloadConfig())
    assert work.batch_size == 1024
    assert work.flops("infer") == 7 * 2**20 + 2 * 2**30 + 2 * 2**20 == 2_156_920_832
    assert work.bytes_moved("infer") == 88_088_576
    assert work.bytes_moved_fused("infer") == 29_368_320
