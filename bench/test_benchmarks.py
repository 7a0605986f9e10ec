"""pytest-benchmark entry point: ``pytest bench/ --benchmark-only`` times each case of
workload x scenario (train, infer) x backend x device with the suite's own registries and
``prepare``, after the suite's parity check against float64 eager (``bench.parity``); a case
the backend cannot express is skipped with its reason. Narrow the matrix with ``-k`` or with
``--bench-workloads``/``--bench-backends``/``--bench-scenarios``/``--bench-devices`` (or the
``BENCH_*`` variables, see ``bench/conftest.py``).

The timed call is one step followed by the device's synchronize; the first call (graph
building) is timed once before and kept in ``extra_info`` with the parity error and the graph
counters. Unlike ``python -m bench run`` all cases share this process, so compile caches
warmed by an earlier case (or by the parity run just before) can shorten ``first_call_s``.
"""

from __future__ import annotations

import pytest

from bench import parity
from bench.backends import BACKENDS, Unsupported
from bench.backends.compiled import reset_dynamo
from bench.case import Case, case_matrix
from bench.cli import parse_names
from bench.device import DEVICES, available_devices, torch_sync
from bench.errors import one_line
from bench.plant import maybe_slow
from bench.precision import apply_precision
from bench.runner import References
from bench.timing import time_first_call
from models import WORKLOADS, WorkloadConfig, build_workload

STEADY_SCENARIOS = ("train", "infer")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    opt = metafunc.config.getoption
    devices = parse_names(opt("--bench-devices"), DEVICES, "device")
    if opt("--bench-devices") == "all":
        devices = available_devices()
    cases = [c for d in devices for c in case_matrix(
        parse_names(opt("--bench-workloads"), WORKLOADS, "workload"),
        parse_names(opt("--bench-scenarios"), STEADY_SCENARIOS, "scenario"),
        parse_names(opt("--bench-backends"), BACKENDS, "backend"), d)]
    metafunc.parametrize("case", cases, ids=[c.label for c in cases])


@pytest.fixture(scope="session")
def references() -> References:
    """Float64 eager references, built once per workload, scenario and device."""
    apply_precision(False)  # the suite's default policy: full float32, TF32 off
    return References()


def test_step(benchmark, case: Case, references: References) -> None:
    if case.device not in available_devices():
        pytest.skip(f"device {case.device} is not available here")
    wcfg = WorkloadConfig(device=case.device)
    backend = BACKENDS[case.backend]
    sync = torch_sync(case.device)
    try:
        reset_dynamo()
        passed, err = parity.check(lambda w: backend.prepare(w, case.scenario), case.workload,
                                   case.scenario, wcfg, references.get(case, wcfg))
        reset_dynamo()  # the timed workload compiles afresh and owns Dynamo's counters
        prepared = backend.prepare(build_workload(case.workload, wcfg), case.scenario)
        step = maybe_slow(case.backend, prepared.step)
        first_call_s, _ = time_first_call(step, sync)
    except (Unsupported, NotImplementedError) as exc:
        pytest.skip(f"{case.backend} unsupported: {one_line(str(exc))}")
    benchmark.group = f"{case.workload}/{case.scenario}/{case.device}"
    benchmark.extra_info.update(first_call_s=first_call_s, parity_rel_err=err,
                                parity_passed=passed)
    assert passed, f"parity error {err:.3g} against float64 eager: not timed"

    def synced_step() -> None:
        step()
        sync()

    benchmark(synced_step)
    benchmark.extra_info.update({k: v for k, v in prepared.counters().items()
                                 if k in ("graph_breaks", "recompiles", "compile_phases")})
