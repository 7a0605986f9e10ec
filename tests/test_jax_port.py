"""The JAX port against torch eager as the oracle, for every workload (CPU, tiny shapes): the
forward, one update, and the ``jax_eager`` / ``jax_jit`` backends over three steps."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import types
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from torch import nn

from bench.backends.base import Unsupported
from bench.backends.jax_backends import (
    JaxEager,
    JaxJit,
    jax_device,
    jax_thread_env,
    match_torch_threads,
)
from bench.meta import THREAD_ENV, collect_meta
from bench.schema import SCENARIOS
from models import WORKLOADS, Workload, build_workload, trainable_workloads
from models.jax_layout import channels_last_cnn
from models.jax_port import dropout, dropout_rate, port
from models.mlp import SequentialSGD
from tests.conftest import TINY

STEPS = 3
CPU = jax.devices("cpu")[0]
# Relative L2 errors allowed (float32). Weights after one step: 1e-5, after three: 1e-4. The
# updates (after - before) are checked too: at lr 1e-6 a doubled gradient would move the weights
# by 1e-6 of themselves, under any tolerance on the weights. Adam moves each weight by about
# lr * g / (|g| + 1e-8): where |g| is near 1e-8 it amplifies float32 rounding in g. Measured on
# the CNN: torch float32 itself ends 7e-6 off its float64 run on conv2's weight, JAX float32
# 3e-5 off torch's, its one-step update 6e-4 off (in float64 the two agree to 4e-14); the
# small Adam MLP's update 2e-5 off. A wrong gradient is off by O(1).
ONE_STEP_TOL = {name: 1e-4 if name == "mnist_cnn" else 1e-5 for name in WORKLOADS}
UPDATE_TOL = {name: 1e-5 for name in WORKLOADS} | {"sequential_adam": 1e-3, "mnist_cnn": 5e-3}


def fresh(name: str) -> Workload:
    """A tiny workload (the CNN: its 28x28 input, batch 4) with dropout off, since no two
    frameworks draw the same masks."""
    cfg = dataclasses.replace(TINY, batch_size=4) if name == "mnist_cnn" else TINY
    work = build_workload(name, cfg)
    for m in work.module.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return work


def numpy64(tensors) -> list[np.ndarray]:
    return [t.detach().cpu().double().numpy() for t in tensors]


def torch_reference(name: str) -> dict[str, list[np.ndarray]]:
    """Torch eager on a fresh workload: the eval forward ``[(B, n_out)]``, the ``losses`` of
    ``STEPS`` train steps, the parameters before (``params0``), after the first (``params1``)
    and after the last step (``params``)."""
    work = fresh(name)
    with torch.no_grad():
        out = numpy64([work.module.eval()(work.batch[0])])
    params0 = numpy64(work.module.parameters())
    fn, args = work.step("train")
    losses = [fn(*args)]
    params1 = numpy64(work.module.parameters())
    losses += [fn(*args) for _ in range(STEPS - 1)]
    return {"out": out, "losses": [np.array([float(v) for v in losses])], "params0": params0,
            "params1": params1, "params": numpy64(work.module.parameters())}


def minus(a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(x, dtype=np.float64) - y for x, y in zip(a, b, strict=True)]


def rel(pieces, ref: list[np.ndarray]) -> float:
    """Largest relative L2 error of matching arrays (shapes must agree), in float64."""
    pieces = [np.asarray(p, dtype=np.float64) for p in pieces]
    ref = [np.asarray(r, dtype=np.float64) for r in ref]
    assert [p.shape for p in pieces] == [r.shape for r in ref]
    return max(float(np.linalg.norm(p - r) / np.linalg.norm(r))
               for p, r in zip(pieces, ref, strict=True))


def check_backend(backend, name: str, ref: dict[str, list[np.ndarray]], caplog) -> None:
    """``backend``'s infer output, and its first and third train steps, against torch eager."""
    infer = backend.prepare(fresh(name), SCENARIOS["infer"])
    assert rel([infer.step()], ref["out"]) <= 1e-5
    train = backend.prepare(fresh(name), SCENARIOS["train"])
    p0, losses = ref["params0"], [float(train.step())]
    assert rel(train.params(), ref["params1"]) <= ONE_STEP_TOL[name]
    assert rel(minus(train.params(), p0), minus(ref["params1"], p0)) <= UPDATE_TOL[name]
    with jax.log_compiles(True), caplog.at_level(logging.WARNING):
        losses += [float(train.step()) for _ in range(STEPS - 1)]
    if backend.compiles:  # the first step built the only graph: no retrace, no recompile
        assert not [r for r in caplog.records if "Compiling jit(" in r.getMessage()]
        assert infer.counters()["recompiles"] == train.counters()["recompiles"] == 0
    params = train.params()
    assert all(p.dtype == np.float64 for p in params)
    assert rel([losses], ref["losses"]) <= 1e-4
    assert rel(params, ref["params"]) <= 1e-4
    assert rel(minus(params, p0), minus(ref["params"], p0)) <= UPDATE_TOL[name]


@pytest.mark.parametrize("name", trainable_workloads())
def test_jax_port_and_backends_match_torch_eager(name, caplog):
    """The program's forward; its update op by op (``jax_eager``, whose first step is
    ``train_step`` itself) and jitted (``jax_jit``), one and three steps."""
    ref = torch_reference(name)
    program = port(fresh(name), CPU)  # committed like the backends': shares their op cache
    assert program.section == WORKLOADS[name].section
    shapes = [p.shape for p in program.params_in_torch_order(program.init_state())]
    assert shapes == [p.shape for p in ref["params0"]]
    assert rel([program.forward(program.params, program.batch[0])], ref["out"]) <= 1e-5
    for backend in (JaxEager(), JaxJit()):
        check_backend(backend, name, ref, caplog)


def test_cnn_dropout_rate_is_read_at_port_time_and_scaled_like_torch():
    work = build_workload("mnist_cnn", dataclasses.replace(TINY, batch_size=4))
    assert dropout_rate(work.module) == 0.5 and dropout_rate(fresh("mnist_cnn").module) == 0.0
    program = port(work)
    args = (program.init_state(), *program.batch, jax.random.key(0))
    assert "random_bits" in str(jax.make_jaxpr(program.train_step)(*args))  # masks drawn
    assert "random_bits" not in str(jax.make_jaxpr(program.forward)(*args[0][:1], args[1]))
    h = dropout(jnp.ones(10_000), 0.5, jax.random.key(1))
    assert set(np.unique(np.asarray(h)).tolist()) == {0.0, 2.0}  # inverted: kept / (1 - p)
    assert abs(float(h.mean()) - 1.0) < 0.05
    assert dropout(h, 0.5, None) is h and dropout(h, 0.0, jax.random.key(1)) is h


class NoPort(SequentialSGD):
    """A workload that declares no JAX port (the default)."""

    name = "no_port"

    @classmethod
    def jax_port(cls):
        return None


def test_a_workload_without_a_port_is_unsupported_not_failed():
    assert NoPort.missing_port("jax") == "no JAX port of workload 'no_port'"
    with pytest.raises(NotImplementedError, match="no JAX port of workload 'no_port'"):
        JaxJit().prepare(NoPort(TINY), SCENARIOS["infer"])


@pytest.mark.skipif(jax.devices()[0].platform == "gpu", reason="JAX has a GPU here")
def test_cuda_without_a_jax_gpu_is_unsupported():
    work = types.SimpleNamespace(cfg=dataclasses.replace(TINY, device="cuda"))
    with pytest.raises(Unsupported, match="no gpu device"):
        jax_device(work)


def test_the_cnn_runs_channels_last_in_jax_with_torch_layouts_at_the_edges():
    """Weights HWIO and the batch NHWC, converted once at copy time; the step transposes no
    image; parameters come back in torch's layouts, exactly."""
    work = fresh("mnist_cnn")
    program = port(work, CPU)
    assert program.batch[0].shape == (4, 28, 28, 1)
    assert [p.shape for p in program.params[:4:2]] == [(3, 3, 1, 64), (3, 3, 64, 128)]
    torch_params = numpy64(work.module.parameters())
    back = program.params_in_torch_order(program.init_state())
    assert all(np.array_equal(b, t) for b, t in zip(back, torch_params, strict=True))
    jaxpr = jax.make_jaxpr(program.forward)(program.params, program.batch[0]).jaxpr
    assert [e.params["dimension_numbers"].lhs_spec for e in jaxpr.eqns
            if e.primitive.name == "conv_general_dilated"] == [(0, 3, 1, 2)] * 2  # NHWC
    assert all(e.invars[0].aval.ndim < 4 for e in jaxpr.eqns if e.primitive.name == "transpose")


def test_the_flatten_order_of_the_nhwc_port_is_torchs():
    """The first Linear on the port's (H, W, C) flatten, its columns reordered at copy time,
    gives what torch's Linear gives on its (C, H, W) flatten."""
    layout = channels_last_cnn()
    h = np.random.default_rng(0).standard_normal((2, 128, 14, 14))  # torch's NCHW activation
    w = np.random.default_rng(1).standard_normal((5, 14 * 14 * 128))  # (out, in)
    nhwc = h.transpose(0, 2, 3, 1).reshape(2, -1)
    np.testing.assert_allclose(nhwc @ layout.to_port(4, w).T, h.reshape(2, -1) @ w.T, rtol=1e-12)
    np.testing.assert_array_equal(layout.to_torch(4, layout.to_port(4, w)), w)


def test_a_new_cnn_batch_is_converted_once_outside_the_step():
    """``call`` on a torch batch of another size (the batch-size sequences' way) gives torch's
    logits: the NHWC copy is made when the batch reaches JAX, and reused."""
    work = fresh("mnist_cnn")
    x = work.make_batch(2)[0]
    with torch.no_grad():
        ref = numpy64([work.module.eval()(x)])
    infer = JaxJit().prepare(work, SCENARIOS["infer"])
    infer.step()  # the fixed batch of 4, already NHWC
    assert rel([infer.call(x)], ref) <= 1e-5 and rel([infer.call(x)], ref) <= 1e-5
    assert infer.counters()["recompiles"] == 1  # batch 4, then 2: one retrace, not two


def test_jax_thread_env_matches_torchs_count():
    one = jax_thread_env(1, "--a=1 --xla_cpu_multi_thread_eigen=true")
    assert one == {"PJRT_NPROC": "1", "XLA_FLAGS": "--a=1 --xla_cpu_multi_thread_eigen=false"}
    assert jax_thread_env(3, one["XLA_FLAGS"]) == {"PJRT_NPROC": "3", "XLA_FLAGS": "--a=1"}


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc")
def test_jax_takes_the_thread_count_given_before_it_starts():
    """In a fresh process: one thread given before JAX starts -> one XLA Eigen thread."""
    code = ("import os, json, jax; from bench.backends.jax_backends import match_torch_threads;"
            "given = match_torch_threads(1); jax.jit(lambda x: x @ x)(jax.numpy.ones((64, 64)));"
            "d = '/proc/self/task'; names = [open(f'{d}/{t}/comm').read() for t in os.listdir(d)];"
            "print(json.dumps([given, sum('XLAEigen' in n for n in names)]))")
    env = {k: v for k, v in os.environ.items() if k not in ("PJRT_NPROC", "NPROC", "XLA_FLAGS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parent.parent, timeout=120, check=True)
    given, eigen_threads = json.loads(out.stdout.splitlines()[-1])
    assert given == {"threads": 1, "applied": True, "PJRT_NPROC": "1",
                     "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}
    assert eigen_threads == 1


def test_a_thread_count_too_late_for_jax_is_warned_not_applied(monkeypatch):
    jax.devices()  # started, as in this module
    monkeypatch.setenv("PJRT_NPROC", "2")
    monkeypatch.setenv("XLA_FLAGS", "")
    with pytest.warns(RuntimeWarning, match="cannot take torch's 3 now: its cases run on 2"):
        given = match_torch_threads(3)
    assert given == {"threads": 2, "applied": False, "PJRT_NPROC": "2", "XLA_FLAGS": ""}
    assert os.environ["PJRT_NPROC"] == "2"


def test_meta_records_torch_and_jax_threads_and_their_environment(monkeypatch):
    monkeypatch.setenv("PJRT_NPROC", "2")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    meta = collect_meta("cpu", 2, "quick", 3, roofline={}, shard="1/1", isolation="in-process")
    assert meta["threads"] == meta["torch_threads"]["intra_op"] == 2
    assert meta["torch_threads"]["inter_op"] == torch.get_num_interop_threads()
    assert meta["jax_threads"]["threads"] == 2 and meta["jax_threads"]["PJRT_NPROC"] == "2"
    assert list(meta["thread_env"]) == list(THREAD_ENV)
    assert meta["thread_env"]["OMP_NUM_THREADS"] == "2"
    assert json.loads(json.dumps(meta)) == meta  # all of it fits in meta.json
