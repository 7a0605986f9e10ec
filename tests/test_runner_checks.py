"""The runner's two guards before a number is believed: eager must agree with itself
(``eager_two_runs_differ``, as in PyTorch's harness), and a case must run in the precision
the run asked for (``dtype mismatch``, apart from parity's numeric check)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench import parity, runner
from bench.backends import BACKENDS, BackendBase, Prepared
from bench.backends.base import torch_params
from bench.dtypes import dtype_fields, dtype_name
from bench.runner import Case, run_case
from bench.schema import SCENARIOS
from models import WORKLOADS
from tests.conftest import TINY
from tests.test_runner import CFG


@pytest.fixture
def noisy_eager(monkeypatch):
    """``sequential_sgd``'s forward with noise from an unseeded generator: eager that does
    not agree with itself."""
    cls = WORKLOADS["sequential_sgd"]
    forward = cls.infer

    def infer(self, x):
        out = forward(self, x)
        noise = np.random.default_rng().standard_normal(tuple(out.shape)) * 1e-3
        return out + torch.as_tensor(noise, dtype=out.dtype, device=out.device)

    monkeypatch.setattr(cls, "infer", infer)


def test_nondeterministic_eager_cannot_be_judged(noisy_eager):
    ref = parity.build_reference("sequential_sgd", SCENARIOS["infer"], TINY)
    assert not ref.deterministic and ref.rerun_err > 1e-4
    for backend in ("eager", "jit_trace"):
        row, _ = run_case(Case("sequential_sgd", "infer", backend, "cpu"), CFG)
        assert row["status"] == "failed"  # kept out of speedups, the backend not blamed
        assert row["error"].startswith("eager_two_runs_differ: two float32 eager runs differ by ")
        measured = float(row["error"].split(" differ by ")[1].split()[0])
        assert measured > 1e-4 and "> 1e-06" in row["error"] and "step_median_s" not in row


@pytest.mark.parametrize("workload, scenario", [("sequential_sgd", "train"),
                                                ("manual_mlp", "infer"),
                                                ("autograd_mlp", "shapes8")])
def test_deterministic_eager_passes_the_check(workload, scenario):
    ref = parity.build_reference(workload, SCENARIOS[scenario], TINY)
    assert ref.deterministic and ref.rerun_err == 0.0 and ref.rerun_problem() is None


def test_rerun_difference_is_kept_in_the_shared_file(tmp_path):
    ref = parity.Reference([np.ones(3)], 1e-7, False, 2e-3)
    ref.save(tmp_path / "r.npz")
    again = parity.Reference.load(tmp_path / "r.npz")
    assert again.rerun_err == 2e-3 and again.rerun_problem().startswith("eager_two_runs_differ")
    assert parity.Reference([np.ones(3)], 0.0, False, parity.EAGER_RERUN_TOL).rerun_problem() \
        is None  # the bound itself passes
    np.savez(tmp_path / "old.npz", eager_err=0.0, deterministic=True, piece0=np.ones(3))
    assert runner._load_reference(tmp_path / "old.npz") is None  # older file: built again


class HalfOutput(BackendBase):
    """Planted precision bug: eager's inference output handed back in float16."""

    name, compiles = "half_out", False

    def prepare(self, work, scenario):
        fn, args = work.step(scenario.mode, scenario.prints)
        return Prepared(step=lambda: fn(*args).half(), params=torch_params(work))


class HalfParams(BackendBase):
    """Planted precision bug: the module's parameters cast to float16, the step upcast back."""

    name, compiles = "half_params", False

    def prepare(self, work, scenario):
        fn, args = work.step(scenario.mode, scenario.prints)
        work.module.half()
        return Prepared(step=lambda: work.module(args[0].half()).float(),
                        params=torch_params(work))


@pytest.fixture
def half(monkeypatch):
    for backend in (HalfOutput(), HalfParams()):
        monkeypatch.setitem(BACKENDS, backend.name, backend)


def test_torch_workload_records_float32():
    row, _ = run_case(Case("sequential_sgd", "train", "eager", "cpu"), CFG)
    assert (row["status"], row["dtype"]) == ("ok", "float32")


def test_half_precision_step_is_a_dtype_mismatch_not_a_parity_failure(half):
    row, _ = run_case(Case("sequential_sgd", "infer", "half_out", "cpu"), CFG)
    assert row["status"] == "mismatch" and row["dtype"] == "params=float32 out=float16"
    assert row["error"] == "dtype mismatch: ran params=float32 out=float16, requested float32"
    assert row["parity_rel_err"] >= 0  # parity still measured, but not the verdict
    row, _ = run_case(Case("sequential_sgd", "infer", "half_params", "cpu"), CFG)
    assert row["status"] == "mismatch" and row["dtype"] == "params=float16 out=float32"


def test_dtype_names_across_frameworks():
    assert dtype_name(torch.zeros(1, dtype=torch.bfloat16)) == "bfloat16"
    assert dtype_name(np.zeros(1, np.float64)) == dtype_name(torch.float64) == "float64"
    assert dtype_fields({"loss": "float32"}, torch.float32) == {"dtype": "float32"}
    fields = dtype_fields({"out": "float32"}, torch.float64)  # JAX without x64, say
    assert fields["status"] == "mismatch" and fields["error"].startswith("dtype mismatch: ")


def test_jax_backend_records_what_jax_ran():
    jnp = pytest.importorskip("jax.numpy")
    assert dtype_name(jnp.zeros(2, jnp.float32)) == "float32"
    row, _ = run_case(Case("sequential_sgd", "infer", "jax_jit", "cpu"), CFG)
    assert (row["status"], row["dtype"]) == ("ok", "float32"), row.get("error")
