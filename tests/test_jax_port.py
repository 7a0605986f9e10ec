"""The JAX port against torch eager as the oracle, for every workload (CPU, tiny shapes): the
forward, one update, and the ``jax_eager`` / ``jax_jit`` backends over three steps."""

from __future__ import annotations

import dataclasses
import logging
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from torch import nn

from bench.backends.base import Unsupported
from bench.backends.jax_backends import JaxEager, JaxJit, jax_device
from bench.schema import SCENARIOS
from models import WORKLOADS, Workload, build_workload, trainable_workloads
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
