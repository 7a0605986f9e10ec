"""Every torch backend computes what eager computes (tiny shapes, CPU), or says why it cannot;
every backend declares what it is (the protocol the runner, the CLI and the reports read)."""

from __future__ import annotations

import functools

import pytest
import torch

from bench import parity, schema
from bench.backends import BACKENDS, Unsupported, backend_infos, refusal
from bench.backends.compiled import reset_dynamo
from bench.schema import SCENARIOS
from models import WORKLOADS, build_workload, trainable_workloads
from tests.conftest import TINY

TORCH_BACKENDS = [name for name, b in BACKENDS.items() if b.framework == "torch"]
TRAIN = SCENARIOS["train"]


@functools.cache
def _reference(workload: str, scenario: str) -> parity.Reference:
    return parity.build_reference(workload, SCENARIOS[scenario], TINY)


def _check(backend: str, workload: str, scenario: str) -> tuple[bool, float]:
    reset_dynamo()
    ref = _reference(workload, scenario)
    assert ref.deterministic  # eager twice gives bit-identical numbers on the CPU
    record = SCENARIOS[scenario]
    return parity.check(lambda w: BACKENDS[backend].prepare(w, record), workload, record,
                        TINY, ref)


def _cells(scenario: str, backends: list[str], workloads: list[str]) -> list[tuple[str, str]]:
    """The ``(backend, workload)`` pairs of ``scenario`` that no declaration refuses."""
    return [(b, w) for b in backends for w in workloads
            if refusal(BACKENDS[b], WORKLOADS[w], SCENARIOS[scenario], "cpu") is None
            or b in ("compile_reduce_overhead", "compile_max_autotune")]  # refused on CPU only


@pytest.mark.parametrize(("backend", "workload"), _cells("infer", TORCH_BACKENDS, list(WORKLOADS)))
def test_inference_matches_eager(backend, workload):
    passed, err = _check(backend, workload, "infer")
    assert passed, f"{backend} {workload}: relative error {err:.3g}"
    assert err < 1e-5


TRAIN_CHECKED = ["jit_trace", "jit_script", "compile", "eager_fused", "compile_module",
                 "compile_optimizer", "compile_autograd"]


@pytest.mark.parametrize(("backend", "workload"),
                         _cells("train", TRAIN_CHECKED, trainable_workloads()))
def test_training_matches_eager(backend, workload):
    passed, err = _check(backend, workload, "train")
    assert passed, f"{backend} {workload}: relative error {err:.3g}"


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_export_training_is_unsupported(workload):
    with pytest.raises(Unsupported, match="not exportable"):
        BACKENDS["export_aoti"].prepare(build_workload(workload, TINY), TRAIN)


@pytest.mark.parametrize("name", list(BACKENDS))
def test_every_backend_declares_the_protocol(name):
    backend = BACKENDS[name]
    info = backend.info()
    assert (info.name, info.framework, info.compiles, info.baseline) == (
        name, backend.framework, backend.compiles, backend.baseline)
    assert info.framework in schema.FRAMEWORKS
    assert set(backend.own_process) <= set(SCENARIOS)
    modes = {s.mode for s in SCENARIOS.values()}
    assert set(backend.refuses) <= set(SCENARIOS) | modes
    assert all(isinstance(r, str) and r for r in backend.refuses.values())


def test_backend_infos_follow_the_registry_and_one_baseline_per_framework():
    infos = backend_infos()
    assert [i.name for i in infos] == list(BACKENDS)
    baselines = {i.framework: i.name for i in infos if i.baseline}
    assert baselines == {"torch": "eager", "jax": "jax_eager"}


def test_refusals_come_from_declarations_in_order():
    aoti, jit = BACKENDS["export_aoti"], BACKENDS["jax_jit"]
    tensor_ops, mlp = WORKLOADS["tensor_ops"], WORKLOADS["manual_mlp"]
    for scenario in SCENARIOS.values():
        if scenario.trains:  # the workload's reason comes before the backend's
            assert refusal(aoti, tensor_ops, scenario, "cpu") == tensor_ops.refuses["train"]
            assert refusal(aoti, mlp, scenario, "cpu") == aoti.refuses["train"]
        else:
            assert (refusal(aoti, tensor_ops, scenario, "cpu")
                    is refusal(jit, mlp, scenario, "cpu") is None)


def test_reduce_overhead_is_refused_on_the_cpu_only():
    backend, mlp = BACKENDS["compile_reduce_overhead"], WORKLOADS["manual_mlp"]
    reason = refusal(backend, mlp, SCENARIOS["infer"], "cpu")
    assert "CUDA graphs" in reason and "not timed twice" in reason
    assert refusal(backend, mlp, SCENARIOS["infer"], "cuda") is None
    assert refusal(BACKENDS["compile"], mlp, SCENARIOS["infer"], "cpu") is None


@pytest.mark.parametrize("name,scenario", [("sequential_adam", "train"), ("mnist_cnn", "infer")])
def test_max_autotune_generates_the_default_modes_code_on_the_cpu(name, scenario):
    """The measurement behind ``compile_max_autotune``'s refusal on the CPU: the kernels and
    wrapper Inductor writes are the default mode's, up to the graph's id and input asserts.
    When a torch upgrade makes them differ, the backend is worth timing on the CPU again."""
    import re

    from torch._inductor.utils import run_and_get_code

    def code(mode):
        reset_dynamo()
        fn, args = build_workload(name, TINY).step(SCENARIOS[scenario].mode)
        _, written = run_and_get_code(torch.compile(fn, mode=mode), *args)
        return [re.sub(r"# AOT ID: .*|.*assert_size_stride.*|.*assert_alignment.*", "", c)
                for c in written]

    default = code(None)
    assert default and code("max-autotune-no-cudagraphs") == default
    assert "max-autotune" in refusal(BACKENDS["compile_max_autotune"], WORKLOADS[name],
                                     SCENARIOS[scenario], "cpu")
    assert refusal(BACKENDS["compile_max_autotune"], WORKLOADS[name], SCENARIOS[scenario],
                   "cuda") is None


def test_jax_jit_reports_its_compile_phases():
    work = build_workload("sequential_adam", TINY)
    prepared = BACKENDS["jax_jit"].prepare(work, TRAIN)
    prepared.step()
    prepared.step()  # a second step compiles nothing more
    phases = dict(p.split("=") for p in prepared.counters()["compile_phases"].split())
    assert list(phases) == ["trace", "lower", "compile"]
    seconds = {k: float(v.rstrip("s")) for k, v in phases.items()}
    assert seconds["compile"] > 0 and sum(seconds.values()) < 60
    assert prepared.counters()["recompiles"] == 0
