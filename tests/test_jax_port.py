"""The JAX port against torch eager as the oracle, for every workload (CPU, tiny shapes): the
forward, one update, and the ``jax_eager`` / ``jax_jit`` backends over three steps."""

from __future__ import annotations

import dataclasses
import functools
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from torch import nn

from bench.backends.base import Unsupported
from bench.backends.jax_backends import JaxEager, JaxJit, jax_device
from models import WORKLOADS, Workload, build_workload
from models.jax_port import dropout, dropout_rate, port
from tests.conftest import TINY

STEPS = 3


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


@functools.cache
def torch_reference(name: str) -> dict[str, list[np.ndarray]]:
    """Torch eager on a fresh workload: the eval forward ``[(B, n_out)]``, the ``losses`` of
    ``STEPS`` train steps, the parameters after the first (``params1``) and the last."""
    work = fresh(name)
    with torch.no_grad():
        out = numpy64([work.module.eval()(work.batch[0])])
    fn, args = work.step("train")
    losses = [fn(*args)]
    params1 = numpy64(work.module.parameters())
    losses += [fn(*args) for _ in range(STEPS - 1)]
    return {"out": out, "losses": [np.array([float(v) for v in losses])],
            "params1": params1, "params": numpy64(work.module.parameters())}


def rel(pieces, ref: list[np.ndarray]) -> float:
    """Largest relative L2 error of matching arrays (shapes must agree), in float64."""
    pieces = [np.asarray(p, dtype=np.float64) for p in pieces]
    assert [p.shape for p in pieces] == [r.shape for r in ref]
    return max(float(np.linalg.norm(p - r) / np.linalg.norm(r)) for p, r in zip(pieces, ref))


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_port_forward_and_one_update_match_torch(name):
    ref = torch_reference(name)
    work = fresh(name)
    program = port(work)
    assert program.section == type(work).section
    assert rel([program.forward(program.params, program.batch[0])], ref["out"]) <= 1e-5
    state, loss = program.train_step(program.init_state(), *program.batch, jax.random.key(0))
    assert rel([loss], [ref["losses"][0][0]]) <= 1e-5
    assert rel(program.params_in_torch_order(state), ref["params1"]) <= 1e-5


@pytest.mark.parametrize("backend", [JaxEager(), JaxJit()], ids=lambda b: b.name)
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_backends_match_three_torch_eager_steps(name, backend):
    ref = torch_reference(name)
    infer = backend.prepare(fresh(name), "infer")
    assert rel([infer.step()], ref["out"]) <= 1e-5
    prepared = backend.prepare(fresh(name), "train")
    losses = [float(prepared.step()) for _ in range(STEPS)]
    assert rel([losses], ref["losses"]) <= 1e-4
    params = prepared.params()
    assert all(p.dtype == np.float64 for p in params)
    assert rel(params, ref["params"]) <= 1e-4
    if backend.compiles:
        assert infer.counters() == prepared.counters() == {"recompiles": 0}


def test_cnn_dropout_rate_is_read_at_port_time_and_scaled_like_torch():
    assert dropout_rate(build_workload("mnist_cnn", TINY).module) == 0.5
    assert dropout_rate(fresh("mnist_cnn").module) == 0.0
    h = dropout(jnp.ones(10_000), 0.5, jax.random.key(1))
    assert set(np.unique(np.asarray(h)).tolist()) == {0.0, 2.0}  # inverted: kept / (1 - p)
    assert abs(float(h.mean()) - 1.0) < 0.05
    assert dropout(h, 0.5, None) is h  # eval mode: the identity


@pytest.mark.skipif(jax.devices()[0].platform == "gpu", reason="JAX has a GPU here")
def test_cuda_without_a_jax_gpu_is_unsupported():
    work = types.SimpleNamespace(cfg=dataclasses.replace(TINY, device="cuda"))
    with pytest.raises(Unsupported, match="no gpu device"):
        jax_device(work)
