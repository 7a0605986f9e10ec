"""Every torch backend computes what eager computes (tiny shapes, CPU), or says why it cannot."""

from __future__ import annotations

import functools

import pytest

from bench import parity
from bench.backends import BACKENDS, Unsupported
from bench.backends.compiled import reset_dynamo
from models import TRAINABLE, WORKLOADS, build_workload
from tests.conftest import TINY

TORCH_BACKENDS = [name for name in BACKENDS if not name.startswith("jax")]


@functools.cache
def _reference(workload: str, scenario: str) -> parity.Reference:
    return parity.build_reference(workload, scenario, TINY)


def _check(backend: str, workload: str, scenario: str) -> tuple[bool, float]:
    reset_dynamo()
    ref = _reference(workload, scenario)
    assert ref.deterministic  # eager twice gives bit-identical numbers on the CPU
    return parity.check(lambda w: BACKENDS[backend].prepare(w, scenario), workload, scenario,
                        TINY, ref)


@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("backend", TORCH_BACKENDS)
def test_inference_matches_eager(backend, workload):
    passed, err = _check(backend, workload, "infer")
    assert passed, f"{backend} {workload}: relative error {err:.3g}"
    assert err < 1e-5


@pytest.mark.parametrize("workload", TRAINABLE)
@pytest.mark.parametrize("backend", ["jit_trace", "jit_script", "compile"])
def test_training_matches_eager(backend, workload):
    passed, err = _check(backend, workload, "train")
    assert passed, f"{backend} {workload}: relative error {err:.3g}"


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_export_training_is_unsupported(workload):
    with pytest.raises(Unsupported, match="not exportable"):
        BACKENDS["export_aoti"].prepare(build_workload(workload, TINY), "train")


def test_registry_names_follow_design():
    assert TORCH_BACKENDS == ["eager", "jit_script", "jit_trace", "compile",
                              "compile_reduce_overhead", "compile_max_autotune",
                              "compile_dynamic", "compile_static", "export_aoti"]


def test_jax_jit_reports_its_compile_phases():
    work = build_workload("sequential_adam", TINY)
    prepared = BACKENDS["jax_jit"].prepare(work, "train")
    prepared.step()
    prepared.step()  # a second step compiles nothing more
    phases = dict(p.split("=") for p in prepared.counters()["compile_phases"].split())
    assert list(phases) == ["trace", "lower", "compile"]
    seconds = {k: float(v.rstrip("s")) for k, v in phases.items()}
    assert seconds["compile"] > 0 and sum(seconds.values()) < 60
    assert prepared.counters()["recompiles"] == 0
