"""The training recipes beside ``compile`` (bench/backends/recipes.py) do what their names
say, on tiny shapes: which part is compiled, which update ran, what they refuse and why."""

from __future__ import annotations

import pytest
import torch
from torch._dynamo.utils import counters

from bench.backends import BACKENDS, refusal
from bench.backends.base import update_rule
from bench.backends.compiled import reset_dynamo
from bench.case import Case
from bench.runner import run_case
from bench.schema import SCENARIOS
from models import WORKLOADS, build_workload
from tests.conftest import TINY
from tests.test_runner import CFG

TRAIN, INFER = SCENARIOS["train"], SCENARIOS["infer"]


def _prepared(backend: str, workload: str, scenario=TRAIN, steps: int = 3):
    reset_dynamo()
    work = build_workload(workload, TINY)
    prepared = BACKENDS[backend].prepare(work, scenario)
    for _ in range(steps):
        prepared.step()
    return work, prepared


def test_compile_module_compiles_the_forward_alone():
    work, prepared = _prepared("compile_module", "sequential_adam")
    found = prepared.counters()
    assert (found["graphs"], found["graph_breaks"], found["recompiles"]) == (1, 0, 0)
    assert work.module._compiled_call_impl is not None  # model.compile(), in place
    assert update_rule(work) == "torch.optim.Adam (for-loop)"  # the optimizer stayed eager


def test_compile_optimizer_takes_a_new_learning_rate_without_a_recompile():
    work, prepared = _prepared("compile_optimizer", "sequential_adam")
    lr = work.optimizer.param_groups[0]["lr"]
    assert isinstance(lr, torch.Tensor) and lr.item() == pytest.approx(work.lr)
    graphs = counters["stats"]["unique_graphs"]
    before = [p.detach().clone() for p in work.module.parameters()]
    lr.fill_(0.0)  # what a schedule does: the step must now leave the parameters alone
    prepared.step()
    assert counters["stats"]["unique_graphs"] == graphs  # no recompile for the new value
    assert all(torch.equal(a, b) for a, b in zip(before, work.module.parameters(), strict=True))
    assert update_rule(work) == "torch.optim.Adam (for-loop, lr tensor)"


def test_compile_autograd_captures_backward_and_names_its_first_fullgraph_break():
    _, prepared = _prepared("compile_autograd", "sequential_sgd")
    assert counters["compiled_autograd"]["captures"] >= 1  # backward ran as a captured graph
    assert torch._dynamo.config.compiled_autograd is False  # eager's twin is left alone
    found = prepared.counters()
    assert "Tensor.backward()" in found["break_reasons"]
    assert "compiled autograd captured" in found["error"]
    assert "fullgraph=True: Unsupported: Unsupported Tensor.backward() call" in found["error"]


def test_a_skipped_function_is_named_in_the_break_reason():
    _, prepared = _prepared("compile", "sequential_adam", steps=1)
    assert "marked as skipped (Optimizer.zero_grad)" in prepared.counters()["break_reasons"]


def test_eager_fused_runs_the_fused_adam():
    work, _ = _prepared("eager_fused", "mnist_cnn", steps=1)
    assert work.optimizer.param_groups[0]["fused"] is True
    assert update_rule(work) == "torch.optim.Adam (fused)"


@pytest.mark.parametrize(("backend", "workload", "scenario", "because"), [
    ("compile_module", "manual_mlp", TRAIN, "calls neither the module's forward nor backward"),
    ("compile_autograd", "manual_mlp", TRAIN, "changes nothing of compile's step"),
    ("compile_autograd", "mnist_cnn", INFER, "no backward()"),
    ("compile_optimizer", "sequential_sgd", TRAIN, "updates its parameters by hand"),
    ("eager_fused", "autograd_mlp", TRAIN, "no torch.optim optimizer to fuse"),
    ("eager_fused", "mnist_cnn", INFER, "eager's step under another name"),
])
def test_a_recipe_refuses_what_it_cannot_change(backend, workload, scenario, because):
    assert because in refusal(BACKENDS[backend], WORKLOADS[workload], scenario, "cpu")


@pytest.mark.parametrize(("options", "rule"), [
    ({}, "torch.optim.Adam (for-loop)"), ({"foreach": True}, "torch.optim.Adam (foreach)"),
    ({"fused": True}, "torch.optim.Adam (fused)")])
def test_update_rule_names_the_adam_implementation(options, rule):
    work = build_workload("sequential_adam", TINY)
    work.setup_optimizer(**options)
    assert update_rule(work) == rule
    assert update_rule(build_workload("manual_mlp", TINY)) == "hand-written SGD"


def test_a_train_row_records_its_update_and_an_infer_row_none():
    row, _ = run_case(Case("sequential_adam", "train", "eager_fused", "cpu"), CFG)
    assert row["status"] == "ok" and row["optimizer"] == "torch.optim.Adam (fused)"
    row, _ = run_case(Case("sequential_adam", "infer", "compile_module", "cpu"), CFG)
    assert row["status"] == "ok" and row["optimizer"] is None and row["graph_breaks"] == 0


@pytest.mark.parametrize("backend", [n for n, b in BACKENDS.items() if b.compiles and refusal(
    b, WORKLOADS["sequential_sgd"], TRAIN, "cpu") is None])
def test_every_compiled_row_names_its_graphs_and_breaks(backend):
    row, _ = run_case(Case("sequential_sgd", "train", backend, "cpu"), CFG)
    assert row["status"] == "ok", row.get("error")
    assert row["graphs"] >= 1 and row["graph_breaks"] >= 0
    reasons = row["break_reasons"]
    assert isinstance(reasons, str) and reasons  # every compiled row says something
    if backend.startswith(("jit_", "jax_")):  # captured whole: no Dynamo, no break
        assert reasons.endswith("is captured whole or not at all") and row["graph_breaks"] == 0
    elif row["graph_breaks"] == 0:
        assert reasons == "none"
    else:
        assert "Tensor.backward()" in reasons  # sequential_sgd's step breaks at backward()
