"""The case runner's rules: a wrong backend is ``mismatch``, a raising one ``failed``, an
inexpressible case ``unsupported`` (from declarations, before anything is built), and the rest
of the run stays ``ok``."""

from __future__ import annotations

import pytest
import torch

from bench import runner, schema
from bench.backends import BACKENDS, BackendBase, Prepared
from bench.backends.base import torch_params
from bench.profiles import Profile
from bench.runner import Case, RunConfig, case_row, run_case
from models import WORKLOADS
from tests.conftest import TINY

TINY_PROFILE = Profile("test", warmup_steps=1, min_run_time_s=0.01, max_run_time_s=0.05,
                       ci_halfwidth=0.5, case_timeout_s=60, min_blocks=3)
CFG = RunConfig("test", TINY_PROFILE, threads=1, workload=TINY)


class OffByOnePercent(BackendBase):
    """Planted bug: eager's output scaled by 1.01."""

    name, compiles = "wrong", False

    def prepare(self, work, scenario):
        fn, args = work.step(scenario.mode, scenario.prints)
        return Prepared(step=lambda: fn(*args) * 1.01, params=torch_params(work))


class Raises(BackendBase):
    """Planted crash on the first step."""

    name, compiles = "raises", False

    def prepare(self, work, scenario):
        def step():
            raise RuntimeError("planted failure\nsecond line")

        return Prepared(step=step, params=torch_params(work))


class RefusesDebug(BackendBase):
    """Refuses the debug scenario by name; would crash if anything were built."""

    name, compiles = "refuses_debug", False
    refuses = {"debug": "planted refusal"}

    def prepare(self, work, scenario):
        raise AssertionError("prepare of a refused case")


@pytest.fixture
def planted(monkeypatch):
    for backend in (OffByOnePercent(), Raises(), RefusesDebug()):
        monkeypatch.setitem(BACKENDS, backend.name, backend)
    return BACKENDS


@pytest.mark.parametrize("workload", ["sequential_sgd", "mnist_cnn"])
def test_planted_backends_are_marked_and_the_rest_is_ok(planted, workload):
    refs = runner.References()
    rows = {b: run_case(Case(workload, s, b, "cpu"), CFG, refs)[0]
            for b in ["eager", "wrong", "raises"] for s in ["infer"]}
    assert rows["eager"]["status"] == "ok"
    assert rows["eager"]["parity_rel_err"] < 1e-5
    assert rows["wrong"]["status"] == "mismatch"
    assert rows["wrong"]["eager_step_median_s"] > 0  # eager timed alongside, same process
    assert rows["wrong"]["parity_rel_err"] == pytest.approx(0.01, rel=1e-3)
    assert "parity error" in rows["wrong"]["error"]
    assert rows["raises"]["status"] == "failed"
    assert rows["raises"]["error"] == "RuntimeError: planted failure"


def test_training_mismatch_is_caught(planted):
    row, _ = run_case(Case("sequential_adam", "train", "wrong", "cpu"), CFG)
    assert row["status"] == "mismatch"  # the loss is off by 1%, the parameters are not


def test_export_training_is_unsupported_with_a_reason(planted):
    row, _ = run_case(Case("sequential_sgd", "train", "export_aoti", "cpu"), CFG)
    assert row["status"] == "unsupported" and "not exportable" in row["error"]


def test_refusals_are_decided_before_anything_is_built(planted, monkeypatch):
    monkeypatch.setattr(runner, "build_workload", lambda *a: pytest.fail("built a workload"))
    case = Case("tensor_ops", "shapes", "export_aoti", "cpu")  # the workload's reason first
    row, warns = run_case(case, CFG)
    assert row == case_row(case, "test", status="unsupported",
                           error=WORKLOADS["tensor_ops"].refuses["train"]) and warns == []
    assert row["dtype"] == schema.DTYPE
    row, _ = run_case(Case("manual_mlp", "debug", "refuses_debug", "cpu"), CFG)
    assert (row["status"], row["error"]) == ("unsupported", "planted refusal")


def test_ok_row_fields(planted):
    row, warns = run_case(Case("manual_mlp", "train", "eager", "cpu"), CFG)
    assert row["status"] == "ok" and warns == []
    assert row["eager_step_median_s"] == row["step_median_s"]  # eager is its own baseline
    assert row["repeats"] >= 3
    assert row["step_ci_low_s"] <= row["step_median_s"] <= row["step_ci_high_s"]
    assert row["flops_per_step"] == 2 * 2 * 8 * 20 * 8 + 3 * 2 * 8 * 8 * 3
    assert row["compile_s"] is None  # eager builds no graph
    assert torch.isfinite(torch.tensor(row["final_loss"]))


@pytest.mark.parametrize("backend", ["jit_trace", "compile"])
def test_dropout_network_is_checked_on_a_workload_of_its_own(backend):
    # The CNN trains with dropout, so parity cannot run on the timed workload; the rule must
    # be read before the backend swaps the module for its own (TorchScript's has no
    # nn.Dropout inside), else the check ran with dropout on and failed (seen: error 1.0).
    row, _ = run_case(Case("mnist_cnn", "train", backend, "cpu"), CFG)
    assert row["status"] == "ok", row.get("error")
    assert row["parity_rel_err"] < 1e-3


def test_a_network_without_dropout_is_checked_in_place(monkeypatch):
    calls = []
    monkeypatch.setattr(runner.parity, "check", lambda *a: calls.append(a) or (True, 0.0))
    row, _ = run_case(Case("sequential_adam", "train", "eager", "cpu"), CFG)
    assert row["status"] == "ok" and row["parity_rel_err"] < 1e-3
    assert not calls  # no second workload was built for the check


def test_references_are_shared_through_their_folder(tmp_path, monkeypatch):
    case = Case("manual_mlp", "infer", "eager", "cpu")
    ref = runner.References(tmp_path).get(case, TINY)
    assert [p.name for p in tmp_path.iterdir()] == ["manual_mlp-infer-cpu.npz"]  # no temp file
    monkeypatch.setattr(runner.parity, "build_reference", lambda *a: pytest.fail("rebuilt"))
    again = runner.References(tmp_path).get(case, TINY)  # another process's view: loaded
    assert (again.eager_err, again.deterministic) == (ref.eager_err, ref.deterministic)
    assert all((a == b).all() for a, b in zip(again.pieces, ref.pieces, strict=True))
